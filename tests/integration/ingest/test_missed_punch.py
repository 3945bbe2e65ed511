"""POST /employees/{userId}/punches: an admin adds a punch the clock missed. It is stored, deduplicated and
queued as any other punch, marked as added by hand, read in its clock's time zone, and only admins may."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from attendance.data.punches import PunchStore, VoidDetails
from attendance.domain.keys import Scope
from local_stack.template import Resolver
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


def test_a_missed_punch_later_than_now_is_refused_though_a_clock_may_run_that_far_ahead(
    admin, api, register_device, punches_table
):
    # Given a time half an hour from now, within what a clock running ahead may send
    register_device("FRONT", time_zone="Europe/Berlin")
    later = (datetime.now(UTC) + timedelta(minutes=30)).isoformat(timespec="seconds")
    # When an admin adds it as ANNA's missed check-out, and a clock sends it for BEN
    by_hand = admin.post(*missed(timestamp=later))
    from_clock = api.post(punch(user="BEN", at=later, kind="out", device="FRONT"))
    # Then the admin's is refused naming the problem (it has not happened) and only the clock's is stored
    assert (by_hand.status, by_hand.body["error"]) == (422, "invalid_timestamp")
    assert "later than now" in by_hand.body["message"]
    assert from_clock.status == 202, from_clock.body
    assert [stored["userId"] for stored in punches_table()] == ["BEN"]


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


@pytest.fixture
def voided(stack: Resolver) -> Callable[[str], None]:
    """Void a stored punch as the worker finishes a void (its CRM record, if any, removed)."""
    store = PunchStore(boto3.client("dynamodb"), stack.refs["PunchesTable"])

    def void(log_id: str) -> None:
        now = datetime.now(UTC)
        store.request_void(log_id, now, VoidDetails("key hr", "wrong type"))
        assert store.finish_void(log_id, now, "voided before the CRM had it: no call")

    return void


def test_the_right_punch_added_beside_one_voided_for_its_wrong_type_is_accepted(
    admin, api, register_device, voided
):
    # Given ANNA's check-out at 17:05, which the clock recorded as a check-in, voided by an admin
    register_device("FRONT", time_zone="Europe/Berlin")
    wrong = api.post(punch(user="ANNA", at="2025-02-10T17:05:00", kind="in", device="FRONT")).body["logId"]
    voided(wrong)
    # When the clock sends that punch again, or a tap it recorded beside it
    again = api.post(punch(user="ANNA", at="2025-02-10T17:05:00", kind="in", device="FRONT"))
    tap = api.post(punch(user="ANNA", at="2025-02-10T17:05:30", kind="in", device="FRONT"))
    # Then neither brings it back: both are its duplicates
    assert (again.status, again.body["logId"]) == (409, wrong)
    assert (tap.status, tap.body["logId"]) == (409, wrong)
    # When the admin adds the check-out by hand, at the same minute
    body, path = missed(timestamp="2025-02-10T17:05:00", type="out")
    right = admin.post(body, path)
    # Then it is accepted: the voided punch does not count, so it is no near duplicate of it
    assert right.status == 202, right.body
    # and the rule holds among the punches that count: another near it is its duplicate
    body, path = missed(timestamp="2025-02-10T17:05:20", type="out")
    near = admin.post(body, path)
    assert (near.status, near.body["logId"]) == (409, right.body["logId"])


def test_a_punch_being_voided_still_counts_until_the_void_is_done(admin, api, register_device, stack):
    # Given a check-in whose void has been asked for but not finished (its CRM record not removed yet)
    register_device("FRONT", time_zone="Europe/Berlin")
    wrong = api.post(punch(user="ANNA", at="2025-02-10T17:05:00", kind="in", device="FRONT")).body["logId"]
    store = PunchStore(boto3.client("dynamodb"), stack.refs["PunchesTable"])
    store.request_void(
        wrong,
        datetime.now(UTC),
        VoidDetails("key hr", "wrong type"),
    )
    # When the admin adds the check-out beside it
    body, path = missed(timestamp="2025-02-10T17:05:00", type="out")
    reply = admin.post(body, path)
    # Then it is still its near duplicate: the void may yet be refused by the CRM
    assert (reply.status, reply.body["logId"]) == (409, wrong)
