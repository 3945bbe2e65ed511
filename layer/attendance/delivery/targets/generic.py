"""The generic JSON target: POST {CRM_URL} with the punch, optional bearer token; 409 means 'already have it'.
A voided punch is removed with DELETE {CRM_URL}/{id}, the id the CRM answered the POST with."""

from urllib.parse import quote

import httpx

from attendance.delivery.outcome import DeliveryOutcome, Verdict
from attendance.delivery.targets.base import CrmRequest, CrmTarget
from attendance.domain.punch import Punch


class GenericTarget(CrmTarget):
    auth_scheme = "Bearer"

    def request_for(self, punch: Punch) -> CrmRequest:
        body = {
            "logId": punch.log_id,
            "deviceId": punch.device_id,
            "userId": punch.user_id,
            "timestamp": punch.timestamp_with_offset,
            "localTime": punch.local_time,
            "type": punch.type.value,
        }
        return CrmRequest(self.url, body)

    def removal_for(self, reference: str) -> CrmRequest:
        return CrmRequest(f"{self.url.rstrip('/')}/{quote(reference, safe='')}", None, "DELETE")

    def judge(self, response: httpx.Response) -> DeliveryOutcome:
        if response.status_code == httpx.codes.CONFLICT:
            return DeliveryOutcome(
                Verdict.DELIVERED, "CRM already had this punch", self.reference_in(response)
            )
        return super().judge(response)

    def reference_in(self, response: httpx.Response) -> str | None:
        try:
            body = response.json()
        except ValueError:
            return None
        reference = body.get("id") or body.get("reference") if isinstance(body, dict) else None
        return str(reference) if reference else None
