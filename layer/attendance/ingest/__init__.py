"""Ingest logic: from a request body to stored, deduplicated, queued punches."""
