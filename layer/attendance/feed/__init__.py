"""The live feed: who may watch (tokens), what they watch (rooms), and what they see (events)."""
