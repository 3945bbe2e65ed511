"""API Gateway's route throttling, locally: a token bucket per route, as the stage's DefaultRouteSettings
set it (ThrottlingRateLimit tokens a second, up to ThrottlingBurstLimit), checked before the function is
invoked. A request that finds the bucket empty gets API Gateway's own 429, whichever key it carries."""

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from local_stack.template import Resolver

TOO_MANY_REQUESTS = b'{"message":"Too Many Requests"}'


@dataclass(frozen=True)
class ThrottleSettings:
    rate: float  # requests a second, steady
    burst: int  # requests at once


@dataclass
class TokenBucket:
    settings: ThrottleSettings
    clock: Callable[[], float] = time.monotonic
    _tokens: float = field(init=False)
    _filled_at: float = field(init=False)
    _lock: threading.Lock = field(init=False, default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._tokens = float(self.settings.burst)
        self._filled_at = self.clock()

    def take(self) -> bool:
        """One token if there is one: False when the request is throttled."""
        with self._lock:
            now = self.clock()
            refill = (now - self._filled_at) * self.settings.rate
            self._tokens = min(float(self.settings.burst), self._tokens + refill)
            self._filled_at = now
            if self._tokens < 1:
                return False
            self._tokens -= 1
            return True


class RouteThrottle:
    """A bucket for each route (its method and path template), all with the stage's settings."""

    def __init__(self, settings: ThrottleSettings | None) -> None:
        self._settings = settings
        self._buckets: dict[str, TokenBucket] = {}
        self._lock = threading.Lock()

    def admits(self, route_key: str) -> bool:
        if self._settings is None:
            return True
        with self._lock:
            bucket = self._buckets.setdefault(route_key, TokenBucket(self._settings))
        return bucket.take()


def stage_throttle(api: dict[str, Any], resolver: Resolver) -> ThrottleSettings | None:
    """The HTTP API's DefaultRouteSettings, resolved against the template's parameters; None when it
    sets no throttle (then only the account's limits apply, which no local run reaches)."""
    settings = resolver.resolve(api.get("Properties", {}).get("DefaultRouteSettings", {}))
    if "ThrottlingRateLimit" not in settings:
        return None
    rate = float(settings["ThrottlingRateLimit"])
    return ThrottleSettings(rate, int(settings.get("ThrottlingBurstLimit", rate)))
