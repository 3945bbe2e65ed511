"""attendance-sync core: domain (punches, dedup, time) and the data access layer every function shares."""
