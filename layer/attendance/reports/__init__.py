"""Reports: timesheets from stored punches, as JSON or CSV."""
