"""The employee directory and who is in now: shared by the employees API and the admin CLI."""
