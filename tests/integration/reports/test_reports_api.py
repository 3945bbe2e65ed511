"""GET /reports/daily and /reports/timesheet through the handler against moto."""

import csv
import io
from datetime import UTC, date, datetime, time, timedelta
from unittest.mock import ANY

import boto3
import pytest

from attendance.data.employees import EmployeeStore
from attendance.data.holidays import HolidayStore
from attendance.data.leave import LeaveStore
from attendance.domain.employees import Employee
from attendance.domain.holidays import Holiday
from attendance.domain.leave import Leave, LeaveKind
from attendance.domain.punch import PunchSource
from attendance.domain.timesheet import DEFAULT_SCHEDULE_ID, Schedule
from functions.reports import app as reports_app
from tests.integration.permissions import calls_made, refused
from tests.integration.reports.conftest import INGEST_KEY, OFFICE

INDIA = Schedule(start=time(9, 0), end=time(17, 0), grace_minutes=5, time_zone="+05:30")


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


@pytest.mark.parametrize("default_zone", ["+05:30"])
def test_fixed_offset_zones_report_like_named_ones(add_punch, schedules, get, default_zone):
    # Given an office on +05:30: RAVI on a +05:30 schedule, MEERA on none (the default zone, +05:30,
    # decides her day), every punch recorded in +05:30
    schedules.put("RAVI", INDIA)
    for user, at, kind in [
        ("RAVI", "2025-02-10 09:20:00", "in"),
        ("RAVI", "2025-02-10 17:00:00", "out"),
        ("MEERA", "2025-02-10 02:00:00", "in"),  # still the 9th in UTC
        ("MEERA", "2025-02-10 04:00:00", "out"),
    ]:
        add_punch(user, at, kind, zone="+05:30")
    # When HR asks for the day as JSON and as CSV, and for RAVI's timesheet
    status, body, _ = get("/reports/daily", date="2025-02-10")
    csv_status, text, _ = get("/reports/daily", date="2025-02-10", format="csv")
    sheet_status, sheet, _ = get(
        "/reports/timesheet", userId="RAVI", **{"from": "2025-02-10", "to": "2025-02-10"}
    )
    # Then every answer is a report, with times, lateness and work days in +05:30
    assert (status, csv_status, sheet_status) == (200, 200, 200)
    rows = {row["userId"]: row for row in body["rows"]}
    assert sheet["rows"] == [rows["RAVI"]]
    assert (rows["RAVI"]["firstIn"], rows["RAVI"]["lateMinutes"], rows["RAVI"]["workedMinutes"]) == (
        "2025-02-10T09:20:00",
        20,
        460,
    )
    assert (rows["RAVI"]["schedule"], rows["RAVI"]["timeZone"]) == ("09:00-17:00 +05:30", "+05:30")
    assert (rows["MEERA"]["firstIn"], rows["MEERA"]["workedMinutes"]) == ("2025-02-10T02:00:00", 120)
    assert (rows["MEERA"]["schedule"], rows["MEERA"]["timeZone"]) == (None, "+05:30")
    assert "2025-02-10,MEERA,,2025-02-10T02:00:00," in text  # no name: not in the directory


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


def test_a_day_says_how_many_of_its_punches_an_admin_added_by_hand(add_punch, get):
    # Given a day whose check-out an admin added by hand (the clock missed it), and a day of the clock's own
    add_punch("HANS", "2025-02-10 08:00:00", "in")
    add_punch("HANS", "2025-02-10 17:00:00", "out", source=PunchSource.MANUAL)
    add_punch("HANS", "2025-02-11 08:00:00", "in")
    add_punch("HANS", "2025-02-11 17:00:00", "out")
    # When the timesheet is read, as JSON and as CSV
    _, sheet, _ = get("/reports/timesheet", userId="HANS", **{"from": "2025-02-10", "to": "2025-02-11"})
    _, text, _ = get(
        "/reports/timesheet", userId="HANS", format="csv", **{"from": "2025-02-10", "to": "2025-02-11"}
    )
    # Then each day counts the punches added by hand among its punches, for whoever audits the hours
    assert [(row["punches"], row["addedByHand"]) for row in sheet["rows"]] == [(2, 1), (2, 0)]
    rows = csv.DictReader(io.StringIO(text.removeprefix("\ufeff")))
    assert [(row["date"], row["addedByHand"]) for row in rows] == [("2025-02-10", "1"), ("2025-02-11", "0")]


def test_a_name_a_spreadsheet_would_run_as_a_formula_is_written_as_text(add_punch, get, stack):
    # Given an employee whose name and department in the directory start formulas
    EmployeeStore(boto3.client("dynamodb"), stack.refs["EmployeesTable"]).put(
        Employee(user_id="+4930123", name='=HYPERLINK("http://x","Pay")', department="@SUM(A1)")
    )
    add_punch("+4930123", "2025-02-10 09:00:00", "in")
    # When the day's report, the timesheet and the pay period are downloaded as CSV
    for path, query in (
        ("/reports/daily", {"date": "2025-02-10"}),
        ("/reports/timesheet", {"userId": "+4930123", "from": "2025-02-10", "to": "2025-02-10"}),
        ("/reports/period", {"from": "2025-02-10", "to": "2025-02-10"}),
    ):
        _, text, _ = get(path, format="csv", **query)
        # Then the ID, the name and the department are text to a spreadsheet, not formulas it would run
        (row,) = csv.DictReader(io.StringIO(text.removeprefix("\ufeff")))
        assert (row["userId"], row["name"], row["department"]) == (
            "'+4930123",
            '\'=HYPERLINK("http://x","Pay")',
            "'@SUM(A1)",
        ), path


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
        "name",
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
        "addedByHand",
        "department",
    ]
    ben = next(row for row in rows if row["userId"] == "BEN")
    assert ben["date"] == "2025-02-10"
    assert ben["firstIn"] == "2025-02-10T09:25:00"
    assert ben["lateMinutes"] == "25"
    assert ben["anomalies"] == "missing out"
    assert all(row["workedMinutes"].isdigit() for row in rows)
    assert "\r\n" in text


def test_each_row_names_the_employee_as_the_directory_does(a_day, get, stack, template):
    # Given ANNA and NIGHT1 in the directory, and BEN not in it
    directory = EmployeeStore(boto3.client("dynamodb"), stack.refs["EmployeesTable"])
    directory.put(Employee(user_id="ANNA", name="Anna Berg", department="Sales"))
    directory.put(Employee(user_id="NIGHT1", name="Nils Ström"))
    # When the day's report is asked for, as JSON and as CSV, and ANNA's timesheet
    with calls_made() as calls:
        reports_app.dependencies.cache_clear()
        _, body, _ = get("/reports/daily", date="2025-02-10")
        _, text, _ = get("/reports/daily", date="2025-02-10", format="csv")
        _, sheet, _ = get("/reports/timesheet", userId="ANNA", **{"from": "2025-02-10", "to": "2025-02-11"})
    # Then each row has the directory's name, and null (empty in the CSV) for an ID not in it
    assert {row["userId"]: row["name"] for row in body["rows"]} == {
        "ANNA": "Anna Berg",
        "BEN": None,
        "NIGHT1": "Nils Ström",
    }
    rows = csv.DictReader(io.StringIO(text.removeprefix("\ufeff")))
    assert {row["userId"]: row["name"] for row in rows} == {
        "ANNA": "Anna Berg",
        "BEN": "",
        "NIGHT1": "Nils Ström",
    }
    assert [row["name"] for row in sheet["rows"]] == ["Anna Berg", "Anna Berg"]
    # the CSV's and the timesheet's names read by key; the JSON's from the directory read once (one scan,
    # which also says who was absent); never a scan of the punches; all as the role allows
    operations = {operation for _, operation, _ in calls}
    assert "BatchGetItem" in operations
    scanned = [params["TableName"] for _, operation, params in calls if operation == "Scan"]
    assert scanned == [stack.refs["EmployeesTable"]]
    assert refused(template, "ReportsFunction", stack, calls) == []


def test_reports_need_the_reports_scope(a_day, get):
    assert get("/reports/daily", key=None, date="2025-02-10")[0] == 401
    status, body, _ = get("/reports/daily", key=INGEST_KEY, date="2025-02-10")
    assert (status, body["error"]) == (403, "forbidden")


@pytest.mark.parametrize(
    ("path", "query", "field", "message"),
    [
        ("/reports/daily", {}, "date", "date: Field required"),
        ("/reports/daily", {"date": "10/02/2025"}, "date", "YYYY-MM-DD"),
        ("/reports/daily", {"date": "2025-02-10T00:00:00"}, "date", "YYYY-MM-DD"),
        ("/reports/daily", {"date": "2025-02-10", "format": "xml"}, "format", "'json' or 'csv'"),
        ("/reports/daily", {"date": "2025-02-10", "userId": "a b"}, "userId", "only letters, digits"),
        (
            "/reports/timesheet",
            {"from": "2025-02-01", "to": "2025-02-10"},
            "userId",
            "userId: Field required",
        ),
    ],
)
def test_malformed_queries_are_400_naming_the_parameter(get, path, query, field, message):
    # Given a query that breaks the documented contract
    status, body, _ = get(path, **query)
    # Then a 400 names the parameter, in the message and in the details
    assert (status, body["error"]) == (400, "invalid_request")
    assert message in body["message"]
    assert {"location": "query", "field": field} | {"problem": ANY} in body["details"]


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [("2025-02-10", "2025-02-01", "before"), ("2025-01-01", "2025-02-01", "at most 31 days")],
)
def test_ranges_a_schema_cannot_refuse_are_422(get, start, end, message):
    status, body, _ = get("/reports/timesheet", userId="A", **{"from": start, "to": end})
    assert (status, body["error"]) == (422, "invalid_range")
    assert message in body["message"]


def test_a_month_is_allowed(get):
    assert get("/reports/timesheet", userId="A", **{"from": "2025-01-01", "to": "2025-01-31"})[0] == 200


def test_a_day_is_read_by_index_never_by_scan(a_day, get, stack):
    scans: list[str] = []
    boto3.DEFAULT_SESSION._session.register(
        "before-parameter-build.dynamodb.Scan", lambda params, **kwargs: scans.append(params["TableName"])
    )
    boto3.DEFAULT_SESSION._session.register(
        "before-call.dynamodb.Query", lambda **kwargs: scans.append("query")
    )
    get("/reports/daily", date="2025-02-10")
    get("/reports/timesheet", userId="ANNA", **{"from": "2025-02-10", "to": "2025-02-11"})
    assert [table for table in scans if table != "query"] == [
        stack.refs["EmployeesTable"]
    ]  # once: the absent
    assert scans.count("query") >= 4  # three dates by the date index, one range by the user index


@pytest.mark.parametrize(
    ("path", "query"),
    [
        ("/reports/daily", {"date": "0001-01-01"}),
        ("/reports/daily", {"date": "9999-12-31"}),
        ("/reports/timesheet", {"userId": "A", "from": "0001-01-01", "to": "0001-01-02"}),
        ("/reports/timesheet", {"userId": "A", "from": "9999-12-30", "to": "9999-12-31"}),
    ],
)
def test_the_first_and_last_days_of_the_calendar_are_empty_reports_not_errors(get, path, query):
    # Given a day whose neighbours do not exist (found by the contract fuzz: it was a 500)
    status, body, _ = get(path, **query)
    # Then the report is simply empty
    assert (status, body["count"]) == (200, 0)


@pytest.mark.parametrize("default_zone", ["UTC"])  # the zone the test reads "today" in, at any hour
def test_someone_at_work_today_is_not_missing_an_out_until_the_day_is_over(add_punch, get, default_zone):
    # Given someone who came in a few minutes ago (no schedule: the work day is today's date, in UTC)
    arrived = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    if arrived.date() != datetime.now(UTC).date():  # just after midnight: the punch was yesterday's
        arrived = datetime.now(UTC).replace(microsecond=0)
    add_punch("TODAY1", arrived.strftime("%Y-%m-%d %H:%M:%S"), "in", zone="UTC")
    # When today's report is asked for
    status, body, _ = get("/reports/daily", date=arrived.date().isoformat(), userId="TODAY1")
    # Then they are at work, not an anomaly (BEN of a day that is over is "missing out", above)
    assert status == 200
    [row] = body["rows"]
    assert (row["firstIn"] is not None, row["anomalies"]) == (True, [])


PERIOD = {"from": "2025-02-10", "to": "2025-02-11"}


def test_a_pay_period_is_one_line_per_employee_adding_up_their_timesheet(a_day, get, stack, template):
    # Given the office's two days, ANNA in the directory
    EmployeeStore(boto3.client("dynamodb"), stack.refs["EmployeesTable"]).put(
        Employee(user_id="ANNA", name="Anna Berg")
    )
    # When HR asks for the period's totals, and for ANNA's timesheet over it
    with calls_made() as calls:
        reports_app.dependencies.cache_clear()
        status, body, _ = get("/reports/period", **PERIOD)
        _, sheet, _ = get("/reports/timesheet", userId="ANNA", **PERIOD)
    # Then there is a line per employee who worked in it, by ID
    assert (status, body["from"], body["to"], body["count"]) == (200, "2025-02-10", "2025-02-11", 3)
    lines = {line["userId"]: line for line in body["rows"]}
    assert list(lines) == ["ANNA", "BEN", "NIGHT1"]
    # ANNA's adds up her timesheet's rows
    anna = lines["ANNA"]
    assert anna["name"] == "Anna Berg"
    for field in ("workedMinutes", "breakMinutes", "overtimeMinutes", "lateMinutes", "punches"):
        assert anna[field] == sum(row[field] for row in sheet["rows"]), field
    assert (anna["workDays"], anna["workedMinutes"], anna["anomalyDays"]) == (2, 457 + 480, [])
    # BEN came in late and never checked out: the day is named for HR to fix before payroll
    ben = lines["BEN"]
    assert (ben["name"], ben["lateDays"], ben["lateMinutes"], ben["anomalyDays"]) == (
        None,
        1,
        25,
        ["2025-02-10"],
    )
    # the night shift that started on the 9th is not in the period; the one of the 10th is, whole
    assert (lines["NIGHT1"]["workDays"], lines["NIGHT1"]["workedMinutes"]) == (1, 487)
    # and the punches were read by the date index (the one scan is the directory's), as the role allows
    scanned = {params["TableName"] for _, operation, params in calls if operation == "Scan"}
    assert scanned == {stack.refs["EmployeesTable"]}
    assert refused(template, "ReportsFunction", stack, calls) == []


def test_a_day_whose_leaving_time_is_unknown_is_no_early_leave_for_payroll(add_punch, schedules, get):
    # Given the office's default schedule (09:00-17:00) and BEN, back from lunch at 13:00, who never checked out
    schedules.put(DEFAULT_SCHEDULE_ID, OFFICE)
    for at, kind in [("09:00:00", "in"), ("12:00:00", "out"), ("13:00:00", "in")]:
        add_punch("BEN", f"2025-02-10 {at}", kind)
    # When HR reads his timesheet and payroll the period
    _, sheet, _ = get("/reports/timesheet", userId="BEN", **PERIOD)
    _, period, _ = get("/reports/period", **PERIOD)
    # Then the day is to check, and no early leave is guessed from the out at 12:00
    (row,) = sheet["rows"]
    assert (row["earlyLeaveMinutes"], row["anomalies"]) == (0, ["missing out"])
    (ben,) = period["rows"]
    assert (ben["earlyLeaveDays"], ben["earlyLeaveMinutes"], ben["anomalyDays"]) == (0, 0, ["2025-02-10"])


def test_a_pay_period_names_the_days_with_punches_added_by_hand(add_punch, schedules, get):
    # Given BEN, whose check-out on the 10th an admin added by hand (a missed punch), and a whole day on the 11th
    schedules.put(DEFAULT_SCHEDULE_ID, OFFICE)
    add_punch("BEN", "2025-02-10 09:00:00", "in")
    add_punch("BEN", "2025-02-10 17:00:00", "out", source=PunchSource.MANUAL)
    add_punch("BEN", "2025-02-11 09:00:00", "in")
    add_punch("BEN", "2025-02-11 17:00:00", "out")
    # When payroll reads the period, as JSON and as CSV
    _, period, _ = get("/reports/period", **PERIOD)
    _, text, _ = get("/reports/period", format="csv", **PERIOD)
    # Then the day with the punch added by hand is named for a look before the hours are paid, though no
    # anomaly is left on it
    (ben,) = period["rows"]
    assert (ben["addedByHand"], ben["addedByHandDays"], ben["anomalyDays"]) == (1, ["2025-02-10"], [])
    (line,) = csv.DictReader(io.StringIO(text.removeprefix("\ufeff")))
    assert line["addedByHandDays"] == "2025-02-10"


def test_a_pay_period_as_csv_for_payroll(a_day, get):
    # When the period's totals are downloaded as CSV
    status, text, headers = get("/reports/period", format="csv", **PERIOD)
    # Then it is a spreadsheet's file named for the period, one line per employee
    assert (status, headers["Content-Type"]) == (200, "text/csv; charset=utf-8")
    assert 'filename="period-2025-02-10-2025-02-11.csv"' in headers["Content-Disposition"]
    assert text.startswith("\ufeff")
    assert "\r\n" in text
    rows = list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))
    assert list(rows[0]) == [
        "userId",
        "name",
        "department",
        "from",
        "to",
        "workDays",
        "workedMinutes",
        "breakMinutes",
        "overtimeMinutes",
        "lateDays",
        "lateMinutes",
        "earlyLeaveDays",
        "earlyLeaveMinutes",
        "punches",
        "addedByHand",
        "anomalyDays",
        "scheduledDays",
        "holidays",
        "absentDays",
        "vacationDays",
        "sickDays",
        "unpaidLeaveDays",
        "otherLeaveDays",
        "addedByHandDays",
    ]
    ben = next(row for row in rows if row["userId"] == "BEN")
    assert (ben["from"], ben["to"], ben["workDays"], ben["lateMinutes"], ben["anomalyDays"]) == (
        "2025-02-10",
        "2025-02-11",
        "1",
        "25",
        "2025-02-10",
    )


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        ("2025-02-10", "2025-02-01", "before"),
        ("2025-01-01", "2025-02-01", "a pay period covers at most 31 days"),
    ],
)
def test_a_pay_period_beyond_the_limit_is_422(get, start, end, message):
    status, body, _ = get("/reports/period", **{"from": start, "to": end})
    assert (status, body["error"]) == (422, "invalid_range")
    assert message in body["message"]


def test_a_pay_period_without_punches_is_empty_and_needs_the_reports_scope(get):
    assert get("/reports/period", **{"from": "9999-12-01", "to": "9999-12-31"})[1]["rows"] == []
    assert get("/reports/period", key=None, **PERIOD)[0] == 401
    assert get("/reports/period", key=INGEST_KEY, **PERIOD)[0] == 403


def test_a_department_asked_for_narrows_the_day_and_the_pay_period(a_day, get, stack):
    # Given ANNA in Sales, NIGHT1 in Security, and BEN not in the directory
    directory = EmployeeStore(boto3.client("dynamodb"), stack.refs["EmployeesTable"])
    directory.put(Employee(user_id="ANNA", name="Anna Berg", department="Sales"))
    directory.put(Employee(user_id="NIGHT1", name="Nils Ström", department="Security"))
    # When HR asks for Sales' day and period, typed as a person would, and for a department nobody is in
    _, day, _ = get("/reports/daily", date="2025-02-10", department=" sales")
    _, period, _ = get("/reports/period", department="SALES", **PERIOD)
    _, text, _ = get("/reports/period", department="Sales", format="csv", **PERIOD)
    _, nobody, _ = get("/reports/period", department="Finance", **PERIOD)
    _, everyone, _ = get("/reports/daily", date="2025-02-10")
    # Then only Sales' employee is in them, each row naming the department as the directory does
    assert [(row["userId"], row["department"]) for row in day["rows"]] == [("ANNA", "Sales")]
    assert (period["department"], [row["userId"] for row in period["rows"]]) == ("SALES", ["ANNA"])
    (line,) = csv.DictReader(io.StringIO(text.removeprefix("\ufeff")))
    assert (line["userId"], line["department"], line["workDays"]) == ("ANNA", "Sales", "2")
    assert (nobody["count"], nobody["rows"]) == (0, [])
    # and without one, everyone is there: BEN, not in the directory, with no department
    assert {row["userId"]: row["department"] for row in everyone["rows"]} == {
        "ANNA": "Sales",
        "BEN": None,
        "NIGHT1": "Security",
    }


def test_everyone_in_the_directory_has_a_line_even_without_a_punch(a_day, get, stack):
    # Given CARLA in Sales, on leave the whole period; DORA, who left before it; EVA, who leaves during it
    directory = EmployeeStore(boto3.client("dynamodb"), stack.refs["EmployeesTable"])
    directory.put(Employee(user_id="CARLA", name="Carla Diaz", department="Sales"))
    directory.put(Employee(user_id="DORA", name="Dora Left", left_on=date(2025, 2, 9)))
    directory.put(Employee(user_id="EVA", name="Eva Going", left_on=date(2025, 2, 10)))
    # When payroll asks for the period, and for Sales'
    _, body, _ = get("/reports/period", **PERIOD)
    _, sales, _ = get("/reports/period", department="sales", **PERIOD)
    # Then CARLA and EVA have a line of zeros, for payroll to see, and DORA none: she had left
    lines = {line["userId"]: line for line in body["rows"]}
    assert list(lines) == ["ANNA", "BEN", "CARLA", "EVA", "NIGHT1"]
    carla = lines["CARLA"]
    assert (carla["name"], carla["department"], carla["workDays"], carla["workedMinutes"]) == (
        "Carla Diaz",
        "Sales",
        0,
        0,
    )
    assert (carla["punches"], carla["anomalyDays"]) == (0, [])
    assert [line["userId"] for line in sales["rows"]] == ["CARLA"]


def test_a_pay_period_counts_scheduled_days_holidays_and_absences(a_day, get, stack, template):
    # Given the office's default Monday-to-Friday schedule, Tuesday 11 February a company holiday, and in the
    # directory ANNA and BEN (who punched), CARLA (who did not) and EVA, whose last working day is Monday
    holidays = HolidayStore(boto3.client("dynamodb"), stack.refs["HolidaysTable"])
    holidays.put(Holiday(day=date(2025, 2, 11), name="Company day"), "hr")
    directory = EmployeeStore(boto3.client("dynamodb"), stack.refs["EmployeesTable"])
    # FRED, who starts on the holiday, and GINA, who starts after the period
    for user_id, name, started_on, left_on in [
        ("ANNA", "Anna Berg", None, None),
        ("BEN", "Ben Ode", None, None),
        ("CARLA", "Carla Diaz", None, None),
        ("EVA", "Eva Going", None, date(2025, 2, 10)),
        ("FRED", "Fred First", date(2025, 2, 11), None),
        ("GINA", "Gina Later", date(2025, 3, 1), None),
    ]:
        directory.put(Employee(user_id=user_id, name=name, started_on=started_on, left_on=left_on))
    # When payroll asks for Monday and Tuesday
    with calls_made() as calls:
        _, body, _ = get("/reports/period", **PERIOD)
    # Then Monday alone was a scheduled day; Tuesday is a holiday, though ANNA's work on it still counts
    lines = {line["userId"]: line for line in body["rows"]}
    against_calendar = {
        user_id: (line["workDays"], line["scheduledDays"], line["holidays"], line["absentDays"])
        for user_id, line in lines.items()
    }
    assert against_calendar == {
        "ANNA": (2, 1, 1, []),
        "BEN": (1, 1, 1, []),
        "CARLA": (0, 1, 1, ["2025-02-10"]),  # missed Monday
        "EVA": (0, 1, 0, ["2025-02-10"]),  # missed her last day; the holiday came after it
        "FRED": (0, 0, 1, []),  # Monday was before his time; and GINA, who had not started, has no line
        "NIGHT1": (1, None, 0, []),  # not in the directory: nobody knows what was expected of that ID
    }
    assert refused(template, "ReportsFunction", stack, calls) == []  # the holidays read by query, as allowed
    # And the CSV carries the same, the absences joined as the days to check are
    _, text, _ = get("/reports/period", format="csv", **PERIOD)
    carla = next(
        row for row in csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))) if row["userId"] == "CARLA"
    )
    assert (carla["scheduledDays"], carla["holidays"], carla["absentDays"]) == ("1", "1", "2025-02-10")


def test_a_daily_report_names_who_was_expected_and_did_not_come(a_day, get, stack, template):
    # Given the office's default Monday-to-Friday schedule and, in the directory, ANNA (who punched on Monday
    # the 10th), CARLA and HANS of Ops (who did not), EVA (who left the day before) and FRED (who starts on
    # Tuesday the 11th, a company holiday)
    HolidayStore(boto3.client("dynamodb"), stack.refs["HolidaysTable"]).put(
        Holiday(day=date(2025, 2, 11), name="Company day"), "hr"
    )
    directory = EmployeeStore(boto3.client("dynamodb"), stack.refs["EmployeesTable"])
    for employee in [
        Employee(user_id="ANNA", name="Anna Berg"),
        Employee(user_id="CARLA", name="Carla Diaz"),
        Employee(user_id="HANS", name="Hans Ops", department="Ops"),
        Employee(user_id="EVA", name="Eva Gone", left_on=date(2025, 2, 9)),
        Employee(user_id="FRED", name="Fred First", started_on=date(2025, 2, 11)),
    ]:
        directory.put(employee)
    # When HR reads Monday's report
    with calls_made() as calls:
        status, monday, _ = get("/reports/daily", date="2025-02-10")
        _, ops, _ = get("/reports/daily", date="2025-02-10", department="ops")
        _, carla, _ = get("/reports/daily", date="2025-02-10", userId="CARLA")
        _, anna, _ = get("/reports/daily", date="2025-02-10", userId="ANNA")
    # Then CARLA and HANS are named as absent, with the schedule that expected them; EVA and FRED are not
    assert status == 200
    assert monday["absent"] == [
        {
            "userId": "CARLA",
            "name": "Carla Diaz",
            "department": None,
            "schedule": "09:00-17:00 Europe/Berlin",
        },
        {"userId": "HANS", "name": "Hans Ops", "department": "Ops", "schedule": "09:00-17:00 Europe/Berlin"},
    ]
    # And a department's or one employee's report names only theirs
    assert [person["userId"] for person in ops["absent"]] == ["HANS"]
    assert ([person["userId"] for person in carla["absent"]], anna["absent"]) == (["CARLA"], [])
    assert refused(template, "ReportsFunction", stack, calls) == []  # the directory by scan, one by key
    # And on the holiday, and on a Saturday, nobody was expected
    assert get("/reports/daily", date="2025-02-11")[1]["absent"] == []
    assert get("/reports/daily", date="2025-02-15")[1]["absent"] == []


def test_leave_is_counted_by_kind_and_is_no_absence(a_day, get, stack, template):
    # Given the default Monday-to-Friday schedule and, in the directory, CARLA on vacation from the Friday
    # before to Monday the 10th, DORA off sick on Tuesday the 11th, and HANS, who did not come either day
    directory = EmployeeStore(boto3.client("dynamodb"), stack.refs["EmployeesTable"])
    for user_id, name in [("CARLA", "Carla Diaz"), ("DORA", "Dora Ill"), ("HANS", "Hans Ops")]:
        directory.put(Employee(user_id=user_id, name=name))
    leave = LeaveStore(boto3.client("dynamodb"), stack.refs["LeaveTable"])
    leave.put(
        Leave(user_id="CARLA", start=date(2025, 2, 7), end=date(2025, 2, 10), kind=LeaveKind.VACATION), "hr"
    )
    leave.put(
        Leave(user_id="DORA", start=date(2025, 2, 11), end=date(2025, 2, 11), kind=LeaveKind.SICK), "hr"
    )
    # When payroll reads Monday and Tuesday, and HR each day's report
    with calls_made() as calls:
        _, period, _ = get("/reports/period", **PERIOD)
        _, monday, _ = get("/reports/daily", date="2025-02-10")
        _, tuesday, _ = get("/reports/daily", date="2025-02-11")
    # Then each leave day is counted by its kind, as a scheduled day, and is no absence
    lines = {line["userId"]: line for line in period["rows"]}
    leave_and_absence = {
        user_id: (
            lines[user_id]["scheduledDays"],
            lines[user_id]["vacationDays"],
            lines[user_id]["sickDays"],
            lines[user_id]["unpaidLeaveDays"],
            lines[user_id]["otherLeaveDays"],
            lines[user_id]["absentDays"],
        )
        for user_id in ("CARLA", "DORA", "HANS")
    }
    assert leave_and_absence == {
        "CARLA": (2, 1, 0, 0, 0, ["2025-02-11"]),
        "DORA": (2, 0, 1, 0, 0, ["2025-02-10"]),
        "HANS": (2, 0, 0, 0, 0, ["2025-02-10", "2025-02-11"]),
    }
    # And each day's report names who was on leave apart from who was absent
    assert [(row["userId"], row["kind"]) for row in monday["onLeave"]] == [("CARLA", "vacation")]
    assert [row["userId"] for row in monday["absent"]] == ["DORA", "HANS"]
    assert [(row["userId"], row["kind"]) for row in tuesday["onLeave"]] == [("DORA", "sick")]
    assert [row["userId"] for row in tuesday["absent"]] == ["CARLA", "HANS"]
    assert refused(template, "ReportsFunction", stack, calls) == []  # the leave read by query, as allowed
    # And the CSV carries the counts
    _, text, _ = get("/reports/period", format="csv", **PERIOD)
    carla = next(
        row for row in csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))) if row["userId"] == "CARLA"
    )
    assert (carla["vacationDays"], carla["sickDays"], carla["absentDays"]) == ("1", "0", "2025-02-11")


def test_work_on_a_holiday_or_a_day_of_leave_is_overtime_never_late_or_early(
    add_punch, schedules, get, stack, template
):
    # Given the office's default schedule (09:00-17:00 Berlin), Monday 9 November 2026 a company holiday,
    # BEN on vacation on Tuesday the 10th, and each of them in from 10:00 to 12:00 on their day off
    schedules.put(DEFAULT_SCHEDULE_ID, OFFICE)
    HolidayStore(boto3.client("dynamodb"), stack.refs["HolidaysTable"]).put(
        Holiday(day=date(2026, 11, 9), name="Company day"), "hr"
    )
    directory = EmployeeStore(boto3.client("dynamodb"), stack.refs["EmployeesTable"])
    for user_id, name in [("ANNA", "Anna Berg"), ("BEN", "Ben Ode")]:
        directory.put(Employee(user_id=user_id, name=name))
    LeaveStore(boto3.client("dynamodb"), stack.refs["LeaveTable"]).put(
        Leave(user_id="BEN", start=date(2026, 11, 10), end=date(2026, 11, 10), kind=LeaveKind.VACATION), "hr"
    )
    for user_id, on in [("ANNA", "2026-11-09"), ("BEN", "2026-11-10")]:
        add_punch(user_id, f"{on} 10:00:00", "in")
        add_punch(user_id, f"{on} 12:00:00", "out")
    days = {"from": "2026-11-09", "to": "2026-11-10"}
    # When HR reads the holiday's report and BEN's timesheet, and payroll the two days
    with calls_made() as calls:
        _, holiday, _ = get("/reports/daily", date="2026-11-09")
        _, sheet, _ = get("/reports/timesheet", userId="BEN", **days)
        _, period, _ = get("/reports/period", **days)
    # Then no work was expected of either: no lateness, no early leave, the two hours all overtime, each
    # day flagged as work outside any shift
    judged = [
        (
            row["userId"],
            row["lateMinutes"],
            row["earlyLeaveMinutes"],
            row["overtimeMinutes"],
            row["anomalies"],
        )
        for row in holiday["rows"] + sheet["rows"]
    ]
    assert judged == [
        ("ANNA", 0, 0, 120, ["punch outside any shift"]),
        ("BEN", 0, 0, 120, ["punch outside any shift"]),
    ]
    # And the period counts no late or early-leave day; the work counts as a work day, and the leave as leave
    lines = {
        line["userId"]: (
            line["workDays"],
            line["overtimeMinutes"],
            line["lateDays"],
            line["earlyLeaveDays"],
            line["holidays"],
            line["vacationDays"],
        )
        for line in period["rows"]
    }
    assert lines == {"ANNA": (1, 120, 0, 0, 1, 0), "BEN": (1, 120, 0, 0, 1, 1)}
    assert refused(template, "ReportsFunction", stack, calls) == []  # holidays and leave read by query
