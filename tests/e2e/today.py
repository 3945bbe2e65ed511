"""Tests whose punches must all fall on today, in the local stack's zone (UTC)."""

import time
from datetime import UTC, datetime, timedelta


def past_the_first_minutes_of_today(minutes: float) -> None:
    """In a day's first `minutes`, waits until they are over, so that punches up to `minutes` back are
    today's: the Live page, presence and today's report show today only. Any other time, returns at once."""
    now = datetime.now(UTC)
    since_midnight = now - now.replace(hour=0, minute=0, second=0, microsecond=0)
    time.sleep(max(0.0, (timedelta(minutes=minutes) - since_midnight).total_seconds()))
