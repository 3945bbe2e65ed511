"""What a CRM answer means for a punch: delivered, worth another try, or hopeless."""

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

import httpx

from attendance.delivery.backpressure import DEFAULT_RATE_LIMIT_SECONDS, retry_after_seconds


class Verdict(StrEnum):
    DELIVERED = "delivered"  # 2xx, or the CRM already has this punch
    TRANSIENT = "transient"  # timeout, connection error, 408, 5xx: try again later
    PERMANENT = "permanent"  # any other 4xx: retrying cannot help
    RATE_LIMITED = "rate limited"  # 429, or 503 with Retry-After: try again after the wait, no attempt spent
    PACED = "paced"  # not called: the configured rate, or the invocation's time left, gives it no turn


@dataclass(frozen=True)
class DeliveryOutcome:
    verdict: Verdict
    detail: str  # the CRM reference when delivered, else the error for people
    crm_reference: str | None = None
    retry_after: float | None = None  # RATE_LIMITED and PACED: seconds to wait before the next try


TRANSIENT_STATUSES = frozenset({408, 425, 429})


def is_transient_status(status: int) -> bool:
    return status in TRANSIENT_STATUSES or status >= 500


def rate_limit_wait(response: httpx.Response, now: datetime | None = None) -> float | None:
    """How long the CRM asks us to hold back, if this answer is a rate limit: a 429 (with its Retry-After,
    else a default pause) or a 503 with a Retry-After. None for any other answer: a 503 without one is
    an outage, and counts as a failed attempt."""
    status = response.status_code
    if status not in (httpx.codes.TOO_MANY_REQUESTS, httpx.codes.SERVICE_UNAVAILABLE):
        return None
    wait = retry_after_seconds(response.headers.get("Retry-After"), now or datetime.now(UTC))
    if wait is None and status == httpx.codes.TOO_MANY_REQUESTS:
        return DEFAULT_RATE_LIMIT_SECONDS
    return wait


def describe(response: httpx.Response, limit: int = 300) -> str:
    """'HTTP 422: {"error": ...}' cut to a readable length."""
    text = " ".join(response.text.split())
    return f"HTTP {response.status_code}: {text[:limit]}" if text else f"HTTP {response.status_code}"
