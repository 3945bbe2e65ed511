"""How each CRM answer is judged, by the worker's CRM client over httpx's mock transport: no network, real
httpx responses and errors, the same code path as a delivery."""

import json
from datetime import UTC, datetime

import httpx
import pytest

from attendance.delivery.crm import CrmClient
from attendance.delivery.outcome import DeliveryOutcome, Verdict
from attendance.delivery.secrets import CrmSecret
from attendance.delivery.targets import TARGETS
from attendance.domain.punch import Punch, PunchSource, PunchType

PUNCH = Punch(
    log_id="abc",
    device_id="DEV001",
    user_id="1001",
    instant=datetime(2025, 2, 10, 8, 16, tzinfo=UTC),
    local_time="2025-02-10T09:16:00",
    time_zone="Europe/Berlin",
    type=PunchType.IN,
    source=PunchSource.API,
    received_at=datetime(2025, 2, 10, 8, 16, tzinfo=UTC),
)


def outcome(target_name: str, response: httpx.Response | Exception) -> DeliveryOutcome:
    def reply(request: httpx.Request) -> httpx.Response:
        if isinstance(response, Exception):
            raise response
        return response

    target = TARGETS[target_name]("http://crm.test/x")
    with httpx.Client(transport=httpx.MockTransport(reply)) as http:
        crm = CrmClient(target, CrmSecret(""), http, call_timeout=5)
        return crm.deliver(PUNCH, seconds_left=lambda: 5.0)


def answer(target_name: str, response: httpx.Response | Exception) -> Verdict:
    return outcome(target_name, response).verdict


@pytest.mark.parametrize(
    ("status", "verdict"),
    [
        (200, Verdict.DELIVERED),
        (201, Verdict.DELIVERED),
        (204, Verdict.DELIVERED),
        (409, Verdict.DELIVERED),
        (408, Verdict.TRANSIENT),
        (429, Verdict.RATE_LIMITED),  # even without Retry-After: a default pause, no attempt spent
        (500, Verdict.TRANSIENT),
        (502, Verdict.TRANSIENT),
        (503, Verdict.TRANSIENT),
        (400, Verdict.PERMANENT),
        (401, Verdict.PERMANENT),
        (404, Verdict.PERMANENT),
        (422, Verdict.PERMANENT),
    ],
)
def test_generic_status_codes(status, verdict):
    assert answer("generic", httpx.Response(status, json={})) == verdict


def frappe_417(message: str) -> httpx.Response:
    return httpx.Response(
        417,
        json={
            "exc_type": "ValidationError",
            "_server_messages": json.dumps([json.dumps({"message": message})]),
        },
    )


@pytest.mark.parametrize(
    ("response", "verdict"),
    [
        (httpx.Response(200, json={"message": {"name": "EMP-CKIN-1"}}), Verdict.DELIVERED),
        (frappe_417("This employee already has a log with the same timestamp."), Verdict.DELIVERED),
        (frappe_417("No Employee found for the given employee field value"), Verdict.PERMANENT),
        (httpx.Response(403, json={"exc_type": "PermissionError"}), Verdict.PERMANENT),
        (httpx.Response(502, text="Bad Gateway"), Verdict.TRANSIENT),
    ],
)
def test_frappe_answers(response, verdict):
    assert answer("frappe", response) == verdict


@pytest.mark.parametrize(
    ("error", "detail"),
    [
        (httpx.ConnectError("refused"), "CRM unreachable: ConnectError: refused"),
        (httpx.ReadTimeout("slow"), "CRM did not answer within 5.0 s"),
    ],
)
def test_transport_errors_are_transient(error, detail):
    assert outcome("generic", error) == DeliveryOutcome(Verdict.TRANSIENT, detail)


def test_generic_body_carries_the_offset_timestamp():
    request = TARGETS["generic"]("http://crm.test/x").request_for(PUNCH)
    assert request.json["timestamp"] == "2025-02-10T09:16:00+01:00"


@pytest.mark.parametrize(
    ("target_name", "authorization"), [("generic", "Bearer s3cret"), ("frappe", "token s3cret")]
)
def test_each_target_sends_the_secret_in_its_own_scheme_and_nothing_without_one(target_name, authorization):
    target = TARGETS[target_name]("http://crm.test/x")
    assert target.credentials("s3cret") == {"Authorization": authorization}
    assert target.credentials(None) == {}


def removal(target_name: str, status: int, body: dict | None = None) -> tuple[DeliveryOutcome, httpx.Request]:
    """How a removal of the record `crm/7 x` is sent and judged, by the same client as a delivery."""
    sent: list[httpx.Request] = []

    def reply(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(status, json=body) if body is not None else httpx.Response(status)

    target = TARGETS[target_name]("http://crm.test/x/")
    with httpx.Client(transport=httpx.MockTransport(reply)) as http:
        crm = CrmClient(target, CrmSecret(""), http, call_timeout=5)
        result = crm.remove("abc", "crm/7 x", seconds_left=lambda: 5.0)
    return result, sent[0]


@pytest.mark.parametrize(
    ("target_name", "url"),
    [
        ("generic", "http://crm.test/x/crm%2F7%20x"),
        ("frappe", "http://crm.test/x/api/resource/Employee%20Checkin/crm%2F7%20x"),
    ],
)
def test_a_removal_is_a_delete_of_the_reference_with_no_idempotency_key(target_name, url):
    result, request = removal(target_name, 202, {"message": "ok"})
    assert (request.method, str(request.url)) == ("DELETE", url)
    assert "Idempotency-Key" not in request.headers  # the punch's POST has the logId as its key
    assert request.content == b""
    assert result.verdict is Verdict.DELIVERED


@pytest.mark.parametrize(
    ("status", "verdict", "detail"),
    [
        (204, Verdict.DELIVERED, "removed (HTTP 204)"),
        (404, Verdict.DELIVERED, "gone already (HTTP 404"),
        (503, Verdict.TRANSIENT, "HTTP 503"),
        (429, Verdict.RATE_LIMITED, "HTTP 429"),
        (403, Verdict.PERMANENT, "HTTP 403"),
    ],
)
def test_a_removal_is_judged_gone_for_good_for_now_or_refused(status, verdict, detail):
    result, _ = removal("generic", status, {"error": "x"} if status != 204 else None)
    assert result.verdict is verdict
    assert result.detail.startswith(detail)


def test_frappe_refusing_to_delete_a_linked_check_in_is_permanent_with_its_message():
    messages = json.dumps([json.dumps({"message": "Cannot delete: linked with Attendance HR-ATT-0001"})])
    result, _ = removal("frappe", 417, {"exc_type": "LinkExistsError", "_server_messages": messages})
    assert result.verdict is Verdict.PERMANENT
    assert "linked with Attendance HR-ATT-0001" in result.detail
