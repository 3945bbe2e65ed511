"""GET /reports/punches: a day's latest punches from every device, with their delivery status."""

from datetime import UTC, datetime
from unittest.mock import ANY

import boto3
import pytest

from attendance.data.punches import PunchStore
from attendance.domain.punch import SyncStatus
from functions.reports import app as reports_app
from tests.integration.permissions import calls_made, refused
from tests.integration.reports.conftest import INGEST_KEY


@pytest.fixture
def a_morning(add_punch):
    """Monday 10 February 2025 at two doors; the evening before and the day after are other dates."""
    for user, at, kind, device in [
        ("NIGHT1", "2025-02-09 22:00:00", "in", "GATE"),
        ("NIGHT1", "2025-02-10 06:00:00", "out", "GATE"),
        ("ANNA", "2025-02-10 08:58:00", "in", "DOOR"),
        ("BEN", "2025-02-10 09:25:00", "in", "GATE"),
        ("CARL", "2025-02-10 09:31:00", "in", "DOOR"),
        ("ANNA", "2025-02-10 12:00:00", "break_out", "DOOR"),
        ("ANNA", "2025-02-11 09:00:00", "in", "DOOR"),
    ]:
        add_punch(user, at, kind, device=device)


@pytest.fixture
def punch_store(stack) -> PunchStore:
    return PunchStore(boto3.client("dynamodb"), stack.refs["PunchesTable"])


def listed(body: dict) -> list[tuple[str, str, str]]:
    return [(p["userId"], p["localTime"][11:16], p["deviceId"]) for p in body["punches"]]


def test_a_days_punches_newest_first_from_every_device(a_morning, get):
    # When HR asks for the day's latest punches
    status, body, _ = get("/reports/punches", date="2025-02-10")
    # Then every punch of that device-local date is there, newest first, whatever its device or shard
    assert (status, body["date"], body["count"]) == (200, "2025-02-10", 5)
    assert listed(body) == [
        ("ANNA", "12:00", "DOOR"),
        ("CARL", "09:31", "DOOR"),
        ("BEN", "09:25", "GATE"),
        ("ANNA", "08:58", "DOOR"),
        ("NIGHT1", "06:00", "GATE"),
    ]
    assert body["punches"][0] == {
        "logId": ANY,
        "userId": "ANNA",
        "deviceId": "DOOR",
        "punchTime": "2025-02-10T11:00:00Z",
        "localTime": "2025-02-10T12:00:00",
        "timeZone": "Europe/Berlin",
        "type": "break_out",
        "source": "api",
        "receivedAt": ANY,
        "syncStatus": "pending",
        "attempts": 0,
        "lastError": None,
    }


def test_the_limit_keeps_the_newest_across_shards(a_morning, get):
    status, body, _ = get("/reports/punches", date="2025-02-10", limit="2")
    assert (status, listed(body)) == (200, [("ANNA", "12:00", "DOOR"), ("CARL", "09:31", "DOOR")])


def test_each_punch_carries_its_delivery_status(a_morning, get, punch_store):
    # Given one punch delivered and one the CRM refused for good
    _, body, _ = get("/reports/punches", date="2025-02-10")
    by_user = {(p["userId"], p["type"]): p["logId"] for p in body["punches"]}
    now = datetime.now(UTC)
    punch_store.record_delivery(by_user["BEN", "in"], now, SyncStatus.SYNCED, "HTTP 201")
    punch_store.record_delivery(by_user["CARL", "in"], now, SyncStatus.FAILED, "HTTP 422: unknown employee")
    # When the list is read again
    _, body, _ = get("/reports/punches", date="2025-02-10")
    # Then each punch says how its delivery stands
    states = {p["userId"]: (p["syncStatus"], p["attempts"], p["lastError"]) for p in body["punches"]}
    assert states["BEN"] == ("synced", 1, None)
    assert states["CARL"] == ("failed", 1, "HTTP 422: unknown employee")
    assert states["NIGHT1"] == ("pending", 0, None)


def test_a_day_without_punches_is_an_empty_list(get):
    assert get("/reports/punches", date="2025-02-10")[1] == {"date": "2025-02-10", "count": 0, "punches": []}


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ({}, "date", "date: Field required"),
        ({"date": "10/02/2025"}, "date", "YYYY-MM-DD"),
        ({"date": "2025-02-10", "limit": "0"}, "limit", "greater than or equal to 1"),
        ({"date": "2025-02-10", "limit": "201"}, "limit", "less than or equal to 200"),
        ({"date": "2025-02-10", "limit": "ten"}, "limit", "integer"),
    ],
)
def test_malformed_queries_are_400_naming_the_parameter(get, query, field, message):
    status, body, _ = get("/reports/punches", **query)
    assert (status, body["error"]) == (400, "invalid_request")
    assert message in body["message"]
    assert {"location": "query", "field": field} | {"problem": ANY} in body["details"]


def test_it_needs_a_key_that_may_read(a_morning, get):
    assert get("/reports/punches", key=None, date="2025-02-10")[0] == 401
    assert get("/reports/punches", key=INGEST_KEY, date="2025-02-10")[0] == 403


def test_it_reads_by_index_and_key_as_the_role_allows(a_morning, get, stack, template):
    with calls_made() as calls:
        reports_app.dependencies.cache_clear()
        assert get("/reports/punches", date="2025-02-10")[0] == 200
    operations = {operation for _, operation, _ in calls}
    assert operations >= {"Query", "BatchGetItem"}
    assert "Scan" not in operations
    assert refused(template, "ReportsFunction", stack, calls) == []
