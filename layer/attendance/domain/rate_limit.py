"""Per-key request limits: a fixed window of one second, counted wherever the key's requests land.

A fixed window admits up to twice the limit across a window's edge; it needs one counter a key and
second and no read before the write, which a sliding window or a token bucket would."""

from dataclasses import dataclass

NO_LIMIT = 0
WINDOW_SECONDS = 1


@dataclass(frozen=True)
class Refusal:
    """A request over its key's limit: send again after `retry_after` seconds (the next window)."""

    limit: int
    retry_after: int = WINDOW_SECONDS


def window_of(instant: float) -> int:
    """The window an instant (seconds since the epoch) falls in."""
    return int(instant // WINDOW_SECONDS)


def judge(requests_in_window: int, limit: int) -> Refusal | None:
    """None when the window's `requests_in_window`-th request (this one included) is within `limit`."""
    if limit == NO_LIMIT or requests_in_window <= limit:
        return None
    return Refusal(limit)
