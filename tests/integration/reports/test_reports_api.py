"""GET /reports/daily and /reports/timesheet through the handler against moto."""

import csv
import io
from datetime import time

import boto3
import pytest

from attendance.domain.timesheet import DEFAULT_SCHEDULE_ID, Schedule
from tests.integration.reports.conftest import INGEST_KEY

OFFICE = Schedule(start=time(9, 0), end=time(17, 0), grace_minutes=5, time_zone="Europe/Berlin")
NIGHTS = Schedule(
    days=frozenset(range(7)), start=time(22, 0), end=time(6, 0), grace_minutes=10, time_zone="Europe/Berlin"
)


@pytest.fixture
def a_day(add_punch, schedules):
    """Monday 10 February 2025 at a small office, and a night watchman."""
    schedules.put(DEFAULT_SCHEDULE_ID, OFFICE)
    schedules.put("NIGHT1", NIGHTS)
    for user, at, kind in [
        ("ANNA", "2025-02-10 08:58:00", "in"),
        ("ANNA", "2025-02-10 12:00:00", "break_out"),
        ("ANNA", "2025-02-10 12:30:00", "break_in"),
        ("ANNA", "2025-02-10 17:05:00", "out"),
        ("BEN", "2025-02-10 09:25:00", "in"),  # forgot to check out
        ("NIGHT1", "2025-02-10 21:55:00", "in"),
        ("NIGHT1", "2025-02-11 06:02:00", "out"),
        ("ANNA", "2025-02-11 09:00:00", "in"),
        ("ANNA", "2025-02-11 17:00:00", "out"),
        ("NIGHT1", "2025-02-09 22:00:00", "in"),
        ("NIGHT1", "2025-02-10 06:00:00", "out"),  # the night before
    ]:
        add_punch(user, at, kind)


def test_daily_report_for_everyone(a_day, get):
    status, body, _ = get("/reports/daily", date="2025-02-10")
    assert status == 200
    rows = {row["userId"]: row for row in body["rows"]}
    assert body["count"] == 3
    assert (rows["ANNA"]["firstIn"], rows["ANNA"]["lastOut"]) == (
        "2025-02-10T08:58:00",
        "2025-02-10T17:05:00",
    )
    assert (rows["ANNA"]["workedMinutes"], rows["ANNA"]["breakMinutes"], rows["ANNA"]["overtimeMinutes"]) == (
        457,
        30,
        5,
    )
    assert rows["ANNA"]["anomalies"] == []
    assert (rows["BEN"]["lateMinutes"], rows["BEN"]["anomalies"]) == (25, ["missing out"])
    assert rows["NIGHT1"]["firstIn"] == "2025-02-10T21:55:00"  # the shift that started on the 10th
    assert rows["NIGHT1"]["lastOut"] == "2025-02-11T06:02:00"
    assert rows["NIGHT1"]["workedMinutes"] == 487
    assert rows["NIGHT1"]["schedule"] == "22:00-06:00 Europe/Berlin"


def test_daily_report_for_one_employee(a_day, get):
    _, body, _ = get("/reports/daily", date="2025-02-10", userId="BEN")
    assert [row["userId"] for row in body["rows"]] == ["BEN"]


def test_timesheet_over_a_range(a_day, get):
    status, body, _ = get("/reports/timesheet", userId="ANNA", **{"from": "2025-02-10", "to": "2025-02-11"})
    assert status == 200
    assert [(row["date"], row["workedMinutes"]) for row in body["rows"]] == [
        ("2025-02-10", 457),
        ("2025-02-11", 480),
    ]


def test_csv_opens_cleanly_in_a_spreadsheet(a_day, get):
    status, text, headers = get("/reports/daily", date="2025-02-10", format="csv")
    assert status == 200
    assert headers["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="daily-2025-02-10.csv"' in headers["Content-Disposition"]
    assert text.startswith("\ufeff")  # UTF-8 with a BOM, which spreadsheets need to read it as UTF-8
    rows = list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))
    assert list(rows[0]) == [
        "date",
        "userId",
        "firstIn",
        "lastOut",
        "workedMinutes",
        "breakMinutes",
        "overtimeMinutes",
        "lateMinutes",
        "earlyLeaveMinutes",
        "punches",
        "anomalies",
        "schedule",
        "timeZone",
    ]
    ben = next(row for row in rows if row["userId"] == "BEN")
    assert ben["date"] == "2025-02-10"
    assert ben["firstIn"] == "2025-02-10T09:25:00"
    assert ben["lateMinutes"] == "25"
    assert ben["anomalies"] == "missing out"
    assert all(row["workedMinutes"].isdigit() for row in rows)
    assert "\r\n" in text


def test_reports_need_the_reports_scope(a_day, get):
    assert get("/reports/daily", key=None, date="2025-02-10")[0] == 401
    status, body, _ = get("/reports/daily", key=INGEST_KEY, date="2025-02-10")
    assert (status, body["error"]) == (403, "forbidden")


@pytest.mark.parametrize(
    ("path", "query", "message"),
    [
        ("/reports/daily", {}, "'date' is required"),
        ("/reports/daily", {"date": "10/02/2025"}, "YYYY-MM-DD"),
        ("/reports/daily", {"date": "2025-02-10", "format": "xml"}, "json or csv"),
        ("/reports/timesheet", {"from": "2025-02-01", "to": "2025-02-10"}, "'userId' is required"),
        ("/reports/timesheet", {"userId": "A", "from": "2025-02-10", "to": "2025-02-01"}, "before"),
        ("/reports/timesheet", {"userId": "A", "from": "2025-01-01", "to": "2025-02-01"}, "at most 31 days"),
    ],
)
def test_bad_queries_are_named(get, path, query, message):
    status, body, _ = get(path, **query)
    assert status == 400
    assert message in body["message"]


def test_a_month_is_allowed(get):
    assert get("/reports/timesheet", userId="A", **{"from": "2025-01-01", "to": "2025-01-31"})[0] == 200


def test_a_day_is_read_by_index_never_by_scan(a_day, get):
    scans: list[str] = []
    boto3.DEFAULT_SESSION._session.register(
        "before-call.dynamodb.Scan", lambda **kwargs: scans.append("scan")
    )
    boto3.DEFAULT_SESSION._session.register(
        "before-call.dynamodb.Query", lambda **kwargs: scans.append("query")
    )
    get("/reports/daily", date="2025-02-10")
    get("/reports/timesheet", userId="ANNA", **{"from": "2025-02-10", "to": "2025-02-11"})
    assert "scan" not in scans
    assert scans.count("query") >= 4  # three dates by the date index, one range by the user index
