"""Per-key request limits on the ingest routes, so that one key's flood cannot take the others' share."""

import time
from collections.abc import Callable

from aws_lambda_powertools import Logger

from attendance.data.errors import StoreUnavailable
from attendance.data.request_counts import RequestCounts
from attendance.domain.keys import ApiKey
from attendance.domain.rate_limit import NO_LIMIT, Refusal, judge, window_of

_logger = Logger(child=True)


class KeyRateLimiter:
    def __init__(
        self, counts: RequestCounts, default_limit: int, clock: Callable[[], float] = time.time
    ) -> None:
        self._counts = counts
        self._default_limit = default_limit
        self._clock = clock

    def check(self, key: ApiKey) -> Refusal | None:
        """Count this request of `key`; a Refusal when it is over the key's limit. A key with no limit
        costs no write. When the count cannot be kept the request goes through: a limiter outage must
        not stop punches."""
        limit = key.requests_per_second(self._default_limit)
        if limit == NO_LIMIT:
            return None
        try:
            count = self._counts.add(key.key_id, window_of(self._clock()))
        except StoreUnavailable:
            _logger.warning("request not counted; let through", extra={"keyId": key.key_id}, exc_info=True)
            return None
        return judge(count, limit)
