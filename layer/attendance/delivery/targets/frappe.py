"""Frappe HR / ERPNext Employee Checkin.

POST {base}/api/method/<module>.hr.doctype.employee_checkin.employee_checkin.add_log_based_on_employee_field
with `Authorization: token <api_key>:<api_secret>`. The module is `hrms` from version 14 on, `erpnext`
before. The timestamp is naive, in the site's local time: we send the punch's instant as the site's
wall clock shows it (option `time_zone`, UTC when not given), so devices in any zone feed one site.

Frappe has no idempotency key: it refuses a check-in when the employee already has one at the same
time (and, from version 14, of the same log type), with 417 "This employee already has a log with the
same timestamp". A check-in sent again (a redelivered message) is answered so, and is delivered.

A voided punch's check-in is deleted through the REST API, `DELETE {base}/api/resource/Employee Checkin/
{name}` (202 "ok"; 404 DoesNotExistError when it is gone already; 417 LinkExistsError, say, when Frappe
will not delete it).
"""

import json
from datetime import datetime
from urllib.parse import quote

import httpx

from attendance.delivery.outcome import DeliveryOutcome, Verdict, describe
from attendance.delivery.targets.base import CrmRequest, CrmTarget
from attendance.domain.clock import parse_zone
from attendance.domain.punch import Punch, PunchType

_METHOD = "{module}.hr.doctype.employee_checkin.employee_checkin.add_log_based_on_employee_field"
_LOG_TYPE = {
    PunchType.IN: "IN",
    PunchType.BREAK_IN: "IN",
    PunchType.OVERTIME_IN: "IN",
    PunchType.OUT: "OUT",
    PunchType.BREAK_OUT: "OUT",
    PunchType.OVERTIME_OUT: "OUT",
}
_ALREADY_THERE = "already has a log with the same timestamp"
CHECKIN_DOCTYPE = "Employee Checkin"


class FrappeTarget(CrmTarget):
    auth_scheme = "token"  # the secret is "api_key:api_secret"

    @property
    def endpoint(self) -> str:
        module = "hrms" if int(self.options.get("version", 15)) >= 14 else "erpnext"
        return f"{self.url.rstrip('/')}/api/method/{_METHOD.format(module=module)}"

    def request_for(self, punch: Punch) -> CrmRequest:
        body = {
            "employee_field_value": punch.user_id,
            "timestamp": site_time(punch.instant, self.options.get("time_zone", "UTC")),
            "device_id": punch.device_id,
            "log_type": _LOG_TYPE[punch.type],
        }
        return CrmRequest(self.endpoint, body)

    def removal_for(self, reference: str) -> CrmRequest:
        url = f"{self.url.rstrip('/')}/api/resource/{quote(CHECKIN_DOCTYPE)}/{quote(reference, safe='')}"
        return CrmRequest(url, None, "DELETE")

    def judge(self, response: httpx.Response) -> DeliveryOutcome:
        if response.status_code == httpx.codes.EXPECTATION_FAILED:  # Frappe's ValidationError
            message = _frappe_message(response)
            if _ALREADY_THERE in message:
                return DeliveryOutcome(Verdict.DELIVERED, "Frappe already had this check-in")
            return DeliveryOutcome(
                Verdict.PERMANENT, f"HTTP 417: {message}" if message else describe(response)
            )
        return super().judge(response)

    def reference_in(self, response: httpx.Response) -> str | None:
        try:
            name = response.json().get("message", {}).get("name")
        except (ValueError, AttributeError):
            return None
        return str(name) if name else None


def site_time(instant: datetime, zone: str) -> str:
    """The instant as a clock in the site's zone shows it: Frappe reads the naive timestamp so."""
    return instant.astimezone(parse_zone(zone)).strftime("%Y-%m-%d %H:%M:%S")


def _frappe_message(response: httpx.Response) -> str:
    """Frappe puts its messages, JSON-encoded twice, in `_server_messages`; `exception` has the rest."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:300]
    messages = []
    try:
        for raw in json.loads(body.get("_server_messages", "[]")):
            messages.append(json.loads(raw).get("message", "") if raw.startswith("{") else raw)
    except (ValueError, TypeError, AttributeError):
        pass
    messages.append(str(body.get("exception", "")))
    return " ".join(" ".join(m.split()) for m in messages if m)[:300]
