"""Frappe HR as Frappe HR behaves: check-ins keyed by employee and time (no idempotency key), and each
punch's instant sent as the site's wall clock shows it, whatever the zone of the device it came from."""

from collections.abc import Callable
from datetime import UTC, datetime

import boto3
import httpx
import pytest

from attendance.data.api_keys import ApiKeyStore
from attendance.data.devices import DeviceStore
from attendance.domain.devices import Device
from attendance.domain.keys import Scope
from local_stack.mock_crm import FRAPPE_PATHS, GENERIC_PATH, MockCrmServer
from tests.integration.ingest.conftest import INGEST_KEY, IngestApi, cold_start
from tests.integration.worker.conftest import (
    VISIBILITY_SECONDS,
    crm_view,
    held,
    put_secret,
    run_until,
    synced,
)

HRMS, ERPNEXT = FRAPPE_PATHS  # version 14 on, and before
ALREADY_THERE = "This employee already has a log with the same timestamp."


def frappe(worker_env: Callable[..., dict[str, str]], crm: MockCrmServer, **environment: str) -> None:
    put_secret("api-key:api-secret")
    worker_env(CRM_TARGET="frappe", CRM_URL=crm.url, **environment)


def check_in(
    crm: MockCrmServer,
    timestamp: str,
    employee: str = "1001",
    log_type: str | None = "IN",
    key: str | None = None,
    path: str = HRMS,
) -> httpx.Response:
    """A check-in as a Frappe client sends it: with our Idempotency-Key, or none (ERPNext's sync tool)."""
    body = {"employee_field_value": employee, "timestamp": timestamp, "device_id": "DEV001"}
    if log_type:
        body["log_type"] = log_type
    headers = {"Idempotency-Key": key} if key else {}
    return httpx.post(crm.url + path, json=body, headers=headers, timeout=5)


def refusal(response: httpx.Response) -> tuple[int, str, str]:
    messages = response.json()["_server_messages"]
    return response.status_code, response.json()["exc_type"], messages


def test_frappe_ignores_the_idempotency_key_and_refuses_the_same_employee_at_the_same_time(crm):
    assert check_in(crm, "2025-02-10 09:16:00", key="first-key").status_code == 200
    # A different key for the same employee and time: refused as Frappe refuses it
    again = check_in(crm, "2025-02-10 09:16:00.000000", key="another-key")
    status, exc_type, messages = refusal(again)
    assert (status, exc_type) == (417, "ValidationError")
    assert ALREADY_THERE in messages
    # The same key for another time: a check-in of its own
    assert check_in(crm, "2025-02-10 17:30:00", key="first-key").status_code == 200
    checkins = held(crm)
    assert set(checkins) == {"1001|2025-02-10 09:16:00|IN", "1001|2025-02-10 17:30:00|IN"}
    assert checkins["1001|2025-02-10 09:16:00|IN"]["deliveries"] == 2
    assert crm_view(crm)["attempts"] == {"1001|2025-02-10 09:16:00|IN": 2, "1001|2025-02-10 17:30:00|IN": 1}


def test_checkins_sent_with_no_key_at_other_times_are_each_accepted(crm):
    # ERPNext's sync tool sends no Idempotency-Key: every check-in at a new time is new
    times = ["2025-02-10 09:00:00", "2025-02-10 12:30:00", "2025-02-10 13:15:00", "2025-02-10 18:00:00"]
    answers = [check_in(crm, at) for at in times]
    assert [answer.status_code for answer in answers] == [200] * 4
    assert len({answer.json()["message"]["name"] for answer in answers}) == 4
    assert crm_view(crm)["count"] == 4
    # and one sent again is refused, still with no key to go by
    assert check_in(crm, times[1]).status_code == 417


@pytest.mark.parametrize(("path", "both_kept"), [(HRMS, True), (ERPNEXT, False)])
def test_from_version_14_the_log_type_is_part_of_the_key(crm, path, both_kept):
    assert check_in(crm, "2025-02-10 09:16:00", log_type="IN", path=path).status_code == 200
    out = check_in(crm, "2025-02-10 09:16:00", log_type="OUT", path=path)
    assert (out.status_code == 200) is both_kept
    assert crm_view(crm)["count"] == (2 if both_kept else 1)


def test_a_checkin_without_employee_or_timestamp_is_refused(crm):
    status, exc_type, messages = refusal(check_in(crm, ""))
    assert (status, exc_type) == (417, "ValidationError")
    assert "'employee_field_value' and 'timestamp' are required." in messages
    assert crm_view(crm)["count"] == 0


def test_the_generic_path_keeps_keying_by_idempotency_key(crm):
    punch = {"userId": "1001", "timestamp": "2025-02-10T09:16:00+00:00", "type": "in"}

    def post(key: str) -> httpx.Response:
        return httpx.post(crm.url + GENERIC_PATH, json=punch, headers={"Idempotency-Key": key}, timeout=5)

    assert [post(key).status_code for key in ("a", "b", "a")] == [201, 201, 200]
    assert {key: p["deliveries"] for key, p in held(crm).items()} == {"a": 2, "b": 1}


def test_a_checkin_frappe_already_holds_is_delivered_whatever_key_it_came_with(
    worker_env, trigger, enqueue, crm, stored
):
    # Given Frappe holding a check-in for 1001 at 09:16 sent with no Idempotency-Key (by another tool, or
    # by a worker that stopped after Frappe stored it and before it could record the delivery)
    frappe(worker_env, crm)
    assert check_in(crm, "2025-02-10 09:16:00").status_code == 200
    # When the worker delivers that punch, under its own logId as Idempotency-Key
    log_id = enqueue(user="1001", at=datetime(2025, 2, 10, 9, 16, tzinfo=UTC))
    run_until(trigger, synced(stored, log_id))
    # Then Frappe refused it as already held, and the punch counts as delivered, once, with no retry
    [checkin] = crm_view(crm)["punches"]
    assert (checkin["key"], checkin["deliveries"]) == ("1001|2025-02-10 09:16:00|IN", 2)
    record = stored(log_id)
    assert record["attempts"] == 1
    assert record["history"][-1]["detail"] == "Frappe already had this check-in"


@pytest.fixture
def ingest(use_function_env: Callable[..., dict[str, str]]) -> tuple[IngestApi, DeviceStore]:
    """The real ingest handler under its template environment, and the device registry it reads."""
    environment = cold_start(use_function_env("IngestFunction", MAX_PAST_DAYS="3650"))
    dynamodb = boto3.client("dynamodb")
    ApiKeyStore(dynamodb, environment["API_KEYS_TABLE"]).create(
        "test", frozenset({Scope.INGEST}), raw_key=INGEST_KEY
    )
    return IngestApi(INGEST_KEY), DeviceStore(dynamodb, environment["DEVICES_TABLE"])


def punch_from(api: IngestApi, device: str, user: str, at: str) -> str:
    reply = api.post({"deviceId": device, "userId": user, "timestamp": at, "type": "in"})
    assert reply.status == 202, reply.body
    return reply.body["logId"]


def site_times(crm: MockCrmServer) -> dict[str, str]:
    return {p["body"]["employee_field_value"]: p["body"]["timestamp"] for p in crm_view(crm)["punches"]}


def test_devices_in_two_zones_feeding_one_site_give_the_sites_wall_clock_times(
    worker_env, trigger, crm, stored, ingest
):
    # Given a Frappe site in India, and clocks registered in Berlin and New York
    frappe(worker_env, crm, CRM_TIME_ZONE="Asia/Kolkata")
    api, devices = ingest
    devices.put(Device(device_id="BERLIN-1", time_zone="Europe/Berlin"))
    devices.put(Device(device_id="NEWYORK-1", time_zone="America/New_York"))
    # When each clock records 09:00 on its own wall clock (Berlin once in winter, once in summer time)
    log_ids = [
        punch_from(api, "BERLIN-1", "B-WINTER", "2025-02-10T09:00:00"),
        punch_from(api, "BERLIN-1", "B-SUMMER", "2025-07-10T09:00:00"),
        punch_from(api, "NEWYORK-1", "NY", "2025-02-10T09:00:00"),
    ]
    run_until(trigger, synced(stored, *log_ids))
    # Then Frappe got each as India's clocks showed it: 08:00 UTC, 07:00 UTC and 14:00 UTC
    assert site_times(crm) == {
        "B-WINTER": "2025-02-10 13:30:00",
        "B-SUMMER": "2025-07-10 12:30:00",
        "NY": "2025-02-10 19:30:00",
    }


@pytest.mark.parametrize(
    "stack_parameters",
    [{"PunchVisibilityTimeout": str(VISIBILITY_SECONDS), "DefaultTimeZone": "Asia/Kolkata"}],
)
def test_without_a_crm_time_zone_the_site_is_in_the_stacks_zone(
    worker_env, trigger, crm, stored, ingest, stack_parameters
):
    # Given a stack in India's zone and CrmTimeZone left at its default
    frappe(worker_env, crm)
    api, devices = ingest
    devices.put(Device(device_id="BERLIN-1", time_zone="Europe/Berlin"))
    # When a Berlin clock and a clock with no registered zone (read in the stack's) each record 09:00
    log_ids = [
        punch_from(api, "BERLIN-1", "BERLIN", "2025-02-10T09:00:00"),
        punch_from(api, "UNREGISTERED-1", "LOCAL", "2025-02-10T09:00:00"),
    ]
    run_until(trigger, synced(stored, *log_ids))
    # Then Frappe got both in India's time: the Berlin punch moved, the local one as its clock showed it
    assert site_times(crm) == {"BERLIN": "2025-02-10 13:30:00", "LOCAL": "2025-02-10 09:00:00"}
