"""How long a batch may keep starting punches: the function's remaining time less a reserve for what must
follow the last one started (the stores in flight, the queue sends and the reply)."""

from collections.abc import Callable


class TimeBudget:
    def __init__(self, remaining_ms: Callable[[], int], reserve_seconds: float) -> None:
        self._remaining_ms = remaining_ms
        self._reserve_ms = reserve_seconds * 1000

    def allows_another(self) -> bool:
        return self._remaining_ms() > self._reserve_ms


UNLIMITED = TimeBudget(lambda: 2**31, 0)
