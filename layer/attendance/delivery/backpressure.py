"""Keeping the CRM within its rate: each invocation paces its calls, and a CRM that asks us to wait is obeyed.

The mapping runs at most `concurrency` invocations at once (its MaximumConcurrency, also the function's
reserved concurrency), so the invocations can be laid out on that many slots, each running one invocation
after another. An invocation starts its calls at least `interval` apart, and it ends no sooner than
`interval` after its last call started (the CRM's answer and the table writes usually take longer
already). So on every slot, across invocations and execution environments alike, calls start at least
`interval` apart, without any shared state. With `interval` = 1 / floor(rate / concurrency) (plus a
millisecond), no one-second window holds more than `rate` call starts; when `rate` is below
`concurrency`, each slot makes one call every concurrency / rate seconds, which keeps the rate on average
only. An invocation has about 6 s for its calls, so a worker waits at most MAX_INTERVAL_SECONDS between
them: a rate below concurrency / MAX_INTERVAL_SECONDS is not kept (the CRM's 429s are still obeyed).
"""

import math
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

# SQS delays a message by 15 minutes at most; a longer Retry-After is honoured by that much, then asked again.
MAX_DELAY_SECONDS = 900
# A 429 without a usable Retry-After still means "too many requests": back off this long.
DEFAULT_RATE_LIMIT_SECONDS = 30
# Each interval is stretched by this share: a call reaches the CRM some milliseconds after it starts, and
# that jitter, between several workers, must not fit one call too many into a second at the CRM.
MARGIN = 0.05
MAX_INTERVAL_SECONDS = 4.0


def pacing_interval(rate_per_second: float, concurrency: int) -> float:
    """Seconds between the call starts of one invocation; 0 when the rate is unlimited (0)."""
    if rate_per_second <= 0:
        return 0.0
    share = math.floor(rate_per_second / concurrency)
    interval = 1 / share if share >= 1 else concurrency / rate_per_second
    return min(interval, MAX_INTERVAL_SECONDS) * (1 + MARGIN)


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """A Retry-After header's wait: delta-seconds or an HTTP date (a past date: 0); None when unusable."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:  # an HTTP date is always GMT
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - now).total_seconds())


def queue_delay(seconds: float) -> int:
    """A wait as an SQS DelaySeconds: whole seconds, rounded up, at most SQS's maximum."""
    return min(MAX_DELAY_SECONDS, max(0, math.ceil(seconds)))


class CallPacer:
    """One invocation's pacing: call starts `interval` apart, shared by the threads delivering its batch."""

    def __init__(
        self,
        interval: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._interval = interval
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._next = clock()  # when the next call may start
        self._held_until = 0.0  # the end of a pause the CRM asked for
        self._last_start: float | None = None

    def acquire(self, seconds_left: float) -> bool:
        """Wait for this call's turn and take it; False when the turn, plus the interval the invocation
        must then last, would not end within `seconds_left` (nothing taken), or when the CRM asked for a
        pause while this call waited for its turn."""
        with self._lock:
            now = self._clock()
            turn = max(now, self._next)
            if turn + self._interval - now > seconds_left:
                return False
            self._next = turn + self._interval
            self._last_start = turn
        if turn > now:
            self._sleep(turn - now)
        with self._lock:
            return self._held_until <= turn

    def hold(self, seconds: float) -> None:
        """The CRM asked for a pause: no call of this invocation starts before it is over."""
        with self._lock:
            self._held_until = max(self._held_until, self._clock() + seconds)
            self._next = max(self._next, self._held_until)

    def seconds_to_next(self) -> float:
        """How long until a call could start on this slot: what a punch left uncalled should wait."""
        with self._lock:
            return max(0.0, self._next - self._clock())

    def settle(self) -> None:
        """Before the invocation ends: wait out the interval after its last call, so that the next
        invocation on this slot may call at once. A pause from hold() is not waited for."""
        with self._lock:
            if self._last_start is None:
                return
            wait = self._last_start + self._interval - self._clock()
        if wait > 0:
            self._sleep(wait)
