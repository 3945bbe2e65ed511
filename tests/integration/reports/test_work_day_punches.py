"""GET /reports/workday-punches: the punches behind one employee's work day, as the reports count them."""

from datetime import UTC, datetime
from unittest.mock import ANY

import boto3
import pytest

from attendance.data.punches import PunchStore, VoidDetails
from attendance.domain.punch import SyncStatus
from functions.reports import app as reports_app
from tests.integration.permissions import calls_made, refused
from tests.integration.reports.conftest import INGEST_KEY

PATH = "/reports/workday-punches"


@pytest.fixture
def punch_store(stack) -> PunchStore:
    return PunchStore(boto3.client("dynamodb"), stack.refs["PunchesTable"])


def times(body: dict) -> list[tuple[str, str]]:
    return [(p["localTime"], p["type"]) for p in body["punches"]]


def test_a_night_shift_lists_the_punches_of_the_night_it_started(a_day, get):
    # Given NIGHT1 (22:00-06:00) came in on the 10th and left on the 11th, and worked the night before too
    # When HR asks for the punches of their work day of the 10th
    status, body, _ = get(PATH, userId="NIGHT1", date="2025-02-10")
    # Then they are that night's two, in time order: not the 06:00 out of the night before
    assert (status, body["userId"], body["date"], body["count"]) == (200, "NIGHT1", "2025-02-10", 2)
    assert times(body) == [("2025-02-10T21:55:00", "in"), ("2025-02-11T06:02:00", "out")]
    # And the timesheet's row of that day counts the same punches
    _, sheet, _ = get("/reports/timesheet", userId="NIGHT1", **{"from": "2025-02-10", "to": "2025-02-10"})
    assert sheet["rows"][0]["punches"] == body["count"]


def test_each_punch_is_listed_whole_with_its_delivery_status(a_day, get, punch_store):
    # Given ANNA's in delivered and her break refused by the CRM for good
    _, body, _ = get(PATH, userId="ANNA", date="2025-02-10")
    log_ids = {p["type"]: p["logId"] for p in body["punches"]}
    now = datetime.now(UTC)
    punch_store.record_delivery(log_ids["in"], now, SyncStatus.SYNCED, "HTTP 201")
    punch_store.record_delivery(log_ids["break_out"], now, SyncStatus.FAILED, "HTTP 422: unknown employee")
    # When her day is read again
    status, body, _ = get(PATH, userId="ANNA", date="2025-02-10")
    # Then her four punches of that day are there, each with how its delivery stands
    assert status == 200
    assert [(p["type"], p["syncStatus"], p["lastError"]) for p in body["punches"]] == [
        ("in", "synced", None),
        ("break_out", "failed", "HTTP 422: unknown employee"),
        ("break_in", "pending", None),
        ("out", "pending", None),
    ]
    assert body["punches"][0] == {
        "logId": log_ids["in"],
        "userId": "ANNA",
        "deviceId": "DEV1",
        "punchTime": "2025-02-10T07:58:00Z",
        "localTime": "2025-02-10T08:58:00",
        "timeZone": "Europe/Berlin",
        "type": "in",
        "source": "api",
        "receivedAt": ANY,
        "syncStatus": "synced",
        "attempts": 1,
        "lastError": None,
    }


def test_a_voided_punch_is_not_behind_the_day_any_more(a_day, get, punch_store):
    # Given BEN's only punch of the day, voided
    _, body, _ = get(PATH, userId="BEN", date="2025-02-10")
    (punch,) = body["punches"]
    now = datetime.now(UTC)
    punch_store.request_void(punch["logId"], now, VoidDetails("hr", "a test punch"))
    assert punch_store.finish_void(punch["logId"], now, "never delivered")
    # When his day is read
    status, body, _ = get(PATH, userId="BEN", date="2025-02-10")
    # Then it is empty, as the report of that day is
    assert (status, body["count"], body["punches"]) == (200, 0, [])
    assert get("/reports/daily", date="2025-02-10", userId="BEN")[1]["rows"] == []


def test_someone_without_punches_that_day_has_an_empty_list(a_day, get):
    assert get(PATH, userId="NOBODY", date="2025-02-10")[1] == {
        "userId": "NOBODY",
        "date": "2025-02-10",
        "count": 0,
        "punches": [],
    }


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ({"date": "2025-02-10"}, "userId", "Field required"),
        ({"userId": "ANNA"}, "date", "Field required"),
        ({"userId": "ANNA", "date": "10/02/2025"}, "date", "YYYY-MM-DD"),
        ({"userId": "ANNA BERG", "date": "2025-02-10"}, "userId", "no spaces"),
    ],
)
def test_malformed_queries_are_400_naming_the_parameter(get, query, field, message):
    status, body, _ = get(PATH, **query)
    assert (status, body["error"]) == (400, "invalid_request")
    assert message in body["message"]
    assert {"location": "query", "field": field} | {"problem": ANY} in body["details"]


def test_it_needs_a_key_that_may_read_reports(a_day, get):
    assert get(PATH, key=None, userId="ANNA", date="2025-02-10")[0] == 401
    assert get(PATH, key=INGEST_KEY, userId="ANNA", date="2025-02-10")[0] == 403


def test_it_reads_by_index_and_key_as_the_role_allows(a_day, get, stack, template):
    with calls_made() as calls:
        reports_app.dependencies.cache_clear()
        assert get(PATH, userId="ANNA", date="2025-02-10")[1]["count"] == 4
    operations = {operation for _, operation, _ in calls}
    assert operations == {"GetItem", "Query", "BatchGetItem"}
    assert refused(template, "ReportsFunction", stack, calls) == []
