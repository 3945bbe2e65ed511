"""The CRM secret, read from SSM Parameter Store (SecureString) through Powertools' cache, never logged.

It is asked for on every delivery and served from the cache for up to five minutes, so a rotated secret
is in use within that time without a new execution environment. A CRM that refuses the cached secret
(401) makes the next ask a fresh read: the secret may have been rotated a moment ago.
"""

import threading
import time

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities import parameters

logger = Logger(child=True)
SECRET_CACHE_SECONDS = 300  # a rotated secret is picked up within five minutes


class CrmSecret:
    """Thread-safe: the calls of a batch share one read when the cache is cold or has expired."""

    def __init__(self, parameter_name: str) -> None:
        self._name = parameter_name
        self._lock = threading.Lock()
        self._last: str | None = None  # kept through an SSM failure: an outage must not drop credentials
        self._retry_at = 0.0  # Powertools caches no failure: after one, SSM is not asked again for a while

    def current(self) -> str | None:
        """The secret as cached (at most five minutes old); if SSM fails, the last one read, if any."""
        if not self._name:
            return None
        with self._lock:
            return self._cached()

    def after_refusal(self, refused: str | None) -> str | None:
        """A fresh read after the CRM refused `refused`. Calls refused at the same moment share one read:
        whoever comes second finds the cache already holding a different secret."""
        if not self._name:
            return None
        with self._lock:
            cached = self._cached()
            return cached if cached != refused else self._read(force=True)

    def _cached(self) -> str | None:
        if time.monotonic() < self._retry_at:
            return self._last
        return self._read(force=False)

    def _read(self, force: bool) -> str | None:
        try:
            value = parameters.get_parameter(
                self._name, decrypt=True, max_age=SECRET_CACHE_SECONDS, force_fetch=force
            )
        except parameters.exceptions.GetParameterError:
            logger.warning(
                "CRM secret parameter not readable; calling the CRM with the last secret read, if any",
                extra={"parameter": self._name},
            )
            self._retry_at = time.monotonic() + SECRET_CACHE_SECONDS
            return self._last
        self._last, self._retry_at = value, 0.0
        return value
