"""The contract every CRM target meets."""

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

import httpx

from attendance.delivery.outcome import (
    DeliveryOutcome,
    Verdict,
    describe,
    is_transient_status,
    rate_limit_wait,
)
from attendance.domain.punch import Punch


@dataclass(frozen=True)
class CrmRequest:
    url: str
    json: dict[str, Any] | None
    method: str = "POST"


class CrmTarget(ABC):
    # The secret is not the target's: it is read for every call, so a rotated one is used at once.
    auth_scheme: ClassVar[str]  # the Authorization header's scheme; the secret follows it

    def __init__(self, url: str, options: dict[str, Any] | None = None) -> None:
        self.url = url
        self.options = options or {}

    @abstractmethod
    def request_for(self, punch: Punch) -> CrmRequest:
        """The HTTP POST that delivers this punch (credentials and Idempotency-Key are added by the caller)."""

    @abstractmethod
    def removal_for(self, reference: str) -> CrmRequest:
        """The HTTP request that removes the record the CRM gave `reference` for (a voided punch)."""

    def judge_removal(self, response: httpx.Response) -> DeliveryOutcome:
        """2xx removed, 404 gone already (removed before, or by hand): both done; else as a delivery."""
        if response.is_success or response.status_code == httpx.codes.NOT_FOUND:
            gone = "removed" if response.is_success else "gone already"
            return DeliveryOutcome(Verdict.DELIVERED, f"{gone} ({describe(response)})")
        return self.judge(response)

    def credentials(self, secret: str | None) -> dict[str, str]:
        return {"Authorization": f"{self.auth_scheme} {secret}"} if secret else {}

    def judge(self, response: httpx.Response) -> DeliveryOutcome:
        """2xx delivered, 429 (or 503 with Retry-After) rate limited, 408/5xx transient, other 4xx permanent;
        targets refine this."""
        if response.is_success:
            return DeliveryOutcome(Verdict.DELIVERED, "delivered", self.reference_in(response))
        wait = rate_limit_wait(response)
        if wait is not None:
            return DeliveryOutcome(Verdict.RATE_LIMITED, describe(response), retry_after=wait)
        if is_transient_status(response.status_code):
            return DeliveryOutcome(Verdict.TRANSIENT, describe(response))
        return DeliveryOutcome(Verdict.PERMANENT, describe(response))

    def reference_in(self, response: httpx.Response) -> str | None:
        return None
