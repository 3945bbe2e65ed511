"""What a CRM answer means for a punch: delivered, worth another try, or hopeless."""

from dataclasses import dataclass
from enum import StrEnum

import httpx


class Verdict(StrEnum):
    DELIVERED = "delivered"  # 2xx, or the CRM already has this punch
    TRANSIENT = "transient"  # timeout, connection error, 408, 429, 5xx: try again later
    PERMANENT = "permanent"  # any other 4xx: retrying cannot help


@dataclass(frozen=True)
class DeliveryOutcome:
    verdict: Verdict
    detail: str  # the CRM reference when delivered, else the error for people
    crm_reference: str | None = None


TRANSIENT_STATUSES = frozenset({408, 425, 429})


def is_transient_status(status: int) -> bool:
    return status in TRANSIENT_STATUSES or status >= 500


def describe(response: httpx.Response, limit: int = 300) -> str:
    """'HTTP 422: {"error": ...}' cut to a readable length."""
    text = " ".join(response.text.split())
    return f"HTTP {response.status_code}: {text[:limit]}" if text else f"HTTP {response.status_code}"
