"""POST /employees/{userId}/punches: an admin adds a punch the clock missed. It is stored, deduplicated and
queued as any other punch, marked as added by hand, read in its clock's time zone, and only admins may."""

import pytest

from attendance.domain.keys import Scope
from tests.integration.ingest.conftest import IngestApi, punch

ADMIN_KEY = "admin-key-for-missed-punches"


@pytest.fixture
def admin(keys) -> IngestApi:
    keys.create("hr", frozenset({Scope.ADMIN}), raw_key=ADMIN_KEY)
    return IngestApi(ADMIN_KEY)


def missed(user: str = "ANNA", **fields: str) -> tuple[dict[str, str], str]:
    body = {"deviceId": "FRONT", "timestamp": "2025-02-10T17:05:00", "type": "out"} | fields
    return body, f"/employees/{user}/punches"


def test_an_admin_adds_a_missed_punch_stored_and_queued_as_added_by_hand(
    admin, register_device, punches_table, queued
):
    # Given a clock in Berlin
    register_device("FRONT", time_zone="Europe/Berlin")
    # When an admin adds ANNA's missed check-out at 17:05 on it
    body, path = missed()
    reply = admin.post(body, path)
    # Then it is accepted, stored at 17:05 Berlin time (16:05 UTC), marked manual, and queued for the CRM
    assert reply.status == 202, reply.body
    [stored] = punches_table()
    assert stored["logId"] == reply.body["logId"]
    assert (stored["userId"], stored["deviceId"], stored["type"]) == ("ANNA", "FRONT", "out")
    assert (stored["localTime"], stored["timeZone"]) == ("2025-02-10T17:05:00", "Europe/Berlin")
    assert stored["punchTime"].startswith("2025-02-10T16:05:00")
    assert stored["source"] == "manual"
    assert queued() == [reply.body["logId"]]


def test_a_missed_punch_the_clock_sent_after_all_is_a_duplicate(admin, api, register_device, punches_table):
    # Given ANNA's check-out, sent by the clock
    register_device("FRONT", time_zone="Europe/Berlin")
    sent = api.post(punch(user="ANNA", at="2025-02-10T17:05:00", kind="out", device="FRONT"))
    assert sent.status == 202, sent.body
    # When an admin adds it by hand as well
    body, path = missed()
    reply = admin.post(body, path)
    # Then it is the duplicate of the clock's, and only one is stored
    assert (reply.status, reply.body["status"], reply.body["logId"]) == (409, "duplicate", sent.body["logId"])
    assert len(punches_table()) == 1


@pytest.mark.parametrize(
    ("body_change", "status", "named"),
    [
        ({"type": "lunch"}, 400, "type"),
        ({"timestamp": "10.02.2025 17:05"}, 400, "timestamp"),
        ({"userId": "BEN"}, 400, "userId"),  # the employee is the path's
        ({"timestamp": "2025-02-30T17:05:00"}, 422, "timestamp"),
    ],
)
def test_a_wrong_missed_punch_is_refused_naming_the_problem_and_nothing_is_stored(
    admin, register_device, punches_table, body_change, status, named
):
    register_device("FRONT", time_zone="Europe/Berlin")
    body, path = missed(**body_change)
    reply = admin.post(body, path)
    assert reply.status == status, reply.body
    assert named in str(reply.body), reply.body
    assert punches_table() == []


def test_only_an_admin_adds_punches_by_hand(api, register_device, punches_table):
    # Given a key that may send punches but is not an admin's
    register_device("FRONT")
    body, path = missed()
    # When it adds a punch for someone
    reply = api.post(body, path)
    # Then it is refused, and nothing is stored
    assert reply.status == 403, reply.body
    assert "admin" in reply.body["message"]
    assert punches_table() == []


def test_a_missed_punch_on_a_disabled_clock_is_refused(admin, register_device, punches_table):
    register_device("FRONT", enabled=False)
    body, path = missed()
    reply = admin.post(body, path)
    assert (reply.status, reply.body["error"]) == (403, "device_disabled"), reply.body
    assert punches_table() == []
