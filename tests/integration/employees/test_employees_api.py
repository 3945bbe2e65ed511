"""GET/PUT /employees and GET /presence through the handler against moto."""

import importlib
import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import boto3
import pytest

from attendance.data.api_keys import ApiKeyStore
from attendance.data.aws import UNPROCESSED_RETRIES
from attendance.domain.clock import parse_zone
from attendance.domain.timesheet import DEFAULT_SCHEDULE_ID, Schedule
from functions.employees import app as employees_app
from local_stack.events import LambdaContext, http_api_event
from tests.integration.client_hooks import hooked
from tests.integration.dynamodb_throttling import throttled_batch_gets
from tests.integration.employees.conftest import ADMIN_KEY, INGEST_KEY, READ_KEY
from tests.integration.permissions import calls_made, refused

ROUTES = [
    ("GET", "/employees", None),
    ("GET", "/employees/EMP-A1", None),
    ("PUT", "/employees/EMP-A1", {"name": "Anna Berg"}),
    ("GET", "/presence", None),
    ("DELETE", "/employees/EMP-A1/schedule", None),
    ("GET", "/default-schedule", None),
    ("PUT", "/default-schedule", {"days": ["mon"], "start": "09:00", "end": "17:00", "timeZone": "UTC"}),
    ("DELETE", "/default-schedule", None),
    ("POST", "/employee-imports", None),
    ("GET", "/holidays", None),
    ("PUT", "/holidays/2025-12-25", {"name": "Christmas Day"}),
    ("DELETE", "/holidays/2025-12-25", None),
]
OFFICE = {"days": ["mon", "tue", "wed", "thu", "fri"], "start": "09:00", "end": "17:00", "graceMinutes": 5}


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
def test_an_ingest_only_key_is_refused_on_every_route(call, method, path, body):
    reply = call(method, path, body, key=INGEST_KEY)
    assert (reply.status, reply.body["error"]) == (403, "forbidden")


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
def test_no_key_is_401_on_every_route(call, method, path, body):
    assert call(method, path, body, key=None).status == 401


def test_an_employee_sent_as_an_array_is_a_400_and_not_stored(call):
    reply = call("PUT", "/employees/EMP-ARR", [{"name": "Anna Berg"}], key=ADMIN_KEY)
    assert (reply.status, reply.body["message"]) == (400, "body: should be a JSON object, not an array")
    assert call("GET", "/employees/EMP-ARR").status == 404


def test_a_read_key_lists_and_reads_but_cannot_change(call, directory):
    # Given an employee an admin added
    assert call("PUT", "/employees/EMP-R1", {"name": "Rita Roe"}, key=ADMIN_KEY).status == 201
    # When a read key lists, reads, and tries to rename her
    listed, shown = call("GET", "/employees"), call("GET", "/employees/EMP-R1")
    refused = call("PUT", "/employees/EMP-R1", {"name": "Someone Else"}, key=READ_KEY)
    # Then it sees her, and the change is refused and not made
    assert (listed.status, listed.body["count"]) == (200, 1)
    assert (shown.status, shown.body["name"]) == (200, "Rita Roe")
    assert (refused.status, refused.body["error"]) == (403, "forbidden")
    assert directory.get("EMP-R1").name == "Rita Roe"


def test_admin_adds_then_changes_an_employee_and_schedule(call, directory, schedules, employees_env, caplog):
    admin_key_id = (
        ApiKeyStore(boto3.client("dynamodb"), employees_env["API_KEYS_TABLE"]).find(ADMIN_KEY).key_id
    )
    # When an admin adds an employee with a Berlin office schedule since January (from today, the default,
    # it would hold only from today's work day in Berlin, which an hour before midnight UTC has not begun)
    schedule = OFFICE | {"timeZone": "Europe/Berlin", "effectiveFrom": "2026-01-01"}
    added = call(
        "PUT",
        "/employees/EMP-A1",
        {"name": "Anna Berg", "department": "Sales", "schedule": schedule},
        key=ADMIN_KEY,
    )
    # Then she is new (201), with the schedule rendered as the reports show it, and absent today (expected at
    # work or not, as her Monday-to-Friday schedule has it today: the tests below pin that down)
    assert added.status == 201
    assert isinstance(added.body.pop("expectedToday"), bool)
    assert added.body == {
        "userId": "EMP-A1",
        "name": "Anna Berg",
        "department": "Sales",
        "startedOn": None,
        "leftOn": None,
        "vacationDaysPerYear": None,
        "schedule": OFFICE
        | {
            "timeZone": "Europe/Berlin",
            "label": "09:00-17:00 Europe/Berlin",
            "isDefault": False,
            "effectiveFrom": "2026-01-01",
        },
        "nextSchedule": None,
        "status": "absent",
        "lastPunch": None,
        "onLeave": None,
    }
    assert schedules.history("EMP-A1").latest.schedule.label() == "09:00-17:00 Europe/Berlin"
    # When she moves department and her schedule is left out
    changed = call("PUT", "/employees/EMP-A1", {"name": "Anna Berg", "department": "Support"}, key=ADMIN_KEY)
    # Then the change is 200, the department is new and the schedule is kept
    assert (changed.status, changed.body["department"]) == (200, "Support")
    assert changed.body["schedule"]["label"] == "09:00-17:00 Europe/Berlin"
    assert call("GET", "/employees/EMP-A1").body == changed.body
    # And each change is logged with the admin key that made it, before and after
    logged = [record for record in caplog.records if record.getMessage().startswith("employee ")]
    assert [(record.getMessage(), record.changedBy) for record in logged] == [
        ("employee added", admin_key_id),
        ("employee changed", admin_key_id),
    ]
    assert (logged[1].before["department"], logged[1].after["department"]) == ("Sales", "Support")
    # And the directory keeps who changed it last
    item = boto3.client("dynamodb").get_item(
        TableName=employees_env["EMPLOYEES_TABLE"], Key={"userId": {"S": "EMP-A1"}}
    )["Item"]
    assert item["changedBy"] == {"S": admin_key_id}


def test_the_default_schedule_is_shown_as_the_default(call, schedules):
    # Given a default schedule, an employee without one of their own and one with theirs since January. From
    # today (by default) it would hold only from today's work day in +05:30, which late in UTC's evening is
    # not yet begun: they are still in yesterday's, under the default (CI failed on it at 19:14 UTC)
    call("PUT", "/employees/EMP-D1", {"name": "Dan Doe"}, key=ADMIN_KEY)
    call(
        "PUT",
        "/employees/EMP-D2",
        {"name": "Dee Doe", "schedule": OFFICE | {"timeZone": "+05:30", "effectiveFrom": "2026-01-01"}},
        key=ADMIN_KEY,
    )
    schedules.put(DEFAULT_SCHEDULE_ID, Schedule(time_zone="Europe/London"))
    # Then the list shows the default for the one, their own for the other
    rows = {row["userId"]: row["schedule"] for row in call("GET", "/employees").body["employees"]}
    assert (rows["EMP-D1"]["label"], rows["EMP-D1"]["isDefault"]) == ("09:00-17:00 Europe/London", True)
    assert (rows["EMP-D2"]["label"], rows["EMP-D2"]["isDefault"]) == ("09:00-17:00 +05:30", False)


def test_a_schedule_stored_without_work_days_is_shown_as_such_and_can_be_replaced(call, schedules):
    # Given a schedule with no work day, as an older admin tool could save it
    call("PUT", "/employees/EMP-E0", {"name": "Eve Empty"}, key=ADMIN_KEY)
    schedules.put("EMP-E0", Schedule(days=frozenset(), time_zone="UTC"))
    # Then the directory, her page and the presence board still answer, with no day expected of her
    listed = {row["userId"]: row for row in call("GET", "/employees").body["employees"]}
    assert (listed["EMP-E0"]["schedule"]["days"], listed["EMP-E0"]["expectedToday"]) == ([], False)
    assert call("GET", "/employees/EMP-E0").body == listed["EMP-E0"]
    assert call("GET", "/presence").status == 200
    # And an admin replaces it with one that has work days (since January: from today, it would hold only
    # from today's work day, which in the first hour of a UTC day has not begun)
    saved = call(
        "PUT",
        "/employees/EMP-E0",
        {"name": "Eve Empty", "schedule": OFFICE | {"timeZone": "UTC", "effectiveFrom": "2026-01-01"}},
        key=ADMIN_KEY,
    )
    assert (saved.status, saved.body["schedule"]["days"]) == (200, OFFICE["days"])


def test_admin_removes_an_own_schedule_and_the_default_applies_again(
    call, schedules, template, stack, employees_env, caplog
):
    # Given an employee with a night schedule of her own, and a company default
    night = {"days": ["mon", "tue"], "start": "22:00", "end": "06:00", "graceMinutes": 10, "timeZone": "UTC"}
    call("PUT", "/employees/EMP-RS", {"name": "Nina Night", "schedule": night}, key=ADMIN_KEY)
    schedules.put(DEFAULT_SCHEDULE_ID, Schedule(time_zone="Europe/London"))
    # When an admin removes her own schedule
    with calls_made() as calls:
        employees_app.dependencies.cache_clear()  # clients made while recording
        removed = call("DELETE", "/employees/EMP-RS/schedule", key=ADMIN_KEY)
    # Then she is shown on the default schedule, in the reply as in every read after it
    assert removed.status == 200
    assert (removed.body["schedule"]["label"], removed.body["schedule"]["isDefault"]) == (
        "09:00-17:00 Europe/London",
        True,
    )
    assert call("GET", "/employees/EMP-RS").body == removed.body
    assert "EMP-RS" not in schedules.get_many({"EMP-RS"})
    # And the removal is logged with the schedule it removed and the key that removed it, as the role allows
    [logged] = [record for record in caplog.records if record.getMessage() == "schedule removed"]
    assert (logged.userId, logged.schedule) == ("EMP-RS", "22:00-06:00 UTC")
    assert refused(template, "EmployeesFunction", stack, calls) == []
    # And removing it again is a 404 that says she has none of her own
    again = call("DELETE", "/employees/EMP-RS/schedule", key=ADMIN_KEY)
    assert (again.status, again.body["error"]) == (404, "no_own_schedule")


def test_removing_the_schedule_of_someone_not_in_the_directory_is_404_and_removes_nothing(call, schedules):
    schedules.put("EMP-GHOST", Schedule(time_zone="UTC"))  # set with the CLI, which needs no directory entry
    reply = call("DELETE", "/employees/EMP-GHOST/schedule", key=ADMIN_KEY)
    assert (reply.status, reply.body["error"]) == (404, "not_found")
    assert "EMP-GHOST" in schedules.get_many({"EMP-GHOST"})


def test_a_read_key_cannot_remove_a_schedule(call, schedules):
    call(
        "PUT",
        "/employees/EMP-RK",
        {"name": "Kim Key", "schedule": OFFICE | {"timeZone": "UTC"}},
        key=ADMIN_KEY,
    )
    reply = call("DELETE", "/employees/EMP-RK/schedule", key=READ_KEY)
    assert (reply.status, reply.body["error"]) == (403, "forbidden")
    assert "EMP-RK" in schedules.get_many({"EMP-RK"})


def test_someone_who_left_is_kept_with_their_last_day_and_no_longer_counted_absent(
    call, a_morning, company_zone
):
    # Given the morning's directory, where EMP-S4 has not punched today and is counted absent
    assert call("GET", "/presence").body["counts"]["absent"] == 1
    # When an admin records that EMP-S4 left yesterday, and that EMP-S3 leaves today
    today = datetime.now(ZoneInfo("UTC")).astimezone(parse_zone(company_zone)).date()
    for user, name, last_day in (
        ("EMP-S4", "Dan Away", today - timedelta(days=1)),
        ("EMP-S3", "Cat Out", today),
    ):
        reply = call(
            "PUT", f"/employees/{user}", {"name": name, "leftOn": last_day.isoformat()}, key=ADMIN_KEY
        )
        assert (reply.status, reply.body["leftOn"]) == (200, last_day.isoformat())
    # Then the one who left is no longer absent, and the one leaving today is still out as before
    presence = call("GET", "/presence").body
    assert presence["counts"]["absent"] == 0
    assert [person["userId"] for person in presence["out"]] == ["EMP-S3"]
    # And both stay in the directory with their last day
    listed = {row["userId"]: row["leftOn"] for row in call("GET", "/employees").body["employees"]}
    assert (listed["EMP-S4"], listed["EMP-S1"]) == ((today - timedelta(days=1)).isoformat(), None)
    # And saving them without a last day says they work here again: counted absent once more
    call("PUT", "/employees/EMP-S4", {"name": "Dan Away"}, key=ADMIN_KEY)
    assert call("GET", "/presence").body["counts"]["absent"] == 1


def test_someone_who_starts_later_is_not_absent_before_their_first_day(call, a_morning, company_zone):
    # Given the morning's directory, where EMP-S4 has not punched today and is counted absent
    assert call("GET", "/presence").body["counts"]["absent"] == 1
    # When an admin adds a new hire who starts tomorrow
    today = datetime.now(ZoneInfo("UTC")).astimezone(parse_zone(company_zone)).date()
    tomorrow = (today + timedelta(days=1)).isoformat()
    reply = call("PUT", "/employees/EMP-NEW", {"name": "Nia New", "startedOn": tomorrow}, key=ADMIN_KEY)
    assert (reply.status, reply.body["startedOn"]) == (201, tomorrow)
    # Then they are in the directory, but not yet absent
    assert call("GET", "/presence").body["counts"]["absent"] == 1
    # And once their first day is today, they are
    call("PUT", "/employees/EMP-NEW", {"name": "Nia New", "startedOn": today.isoformat()}, key=ADMIN_KEY)
    assert call("GET", "/presence").body["counts"]["absent"] == 2


def test_a_last_day_before_the_first_is_422_and_nothing_is_saved(call):
    body = {"name": "Oli Odd", "startedOn": "2026-12-01", "leftOn": "2026-11-30"}
    reply = call("PUT", "/employees/EMP-ODD", body, key=ADMIN_KEY)
    assert (reply.status, reply.body["error"], reply.body["message"]) == (
        422,
        "invalid_dates",
        "leftOn (2026-11-30) is before startedOn (2026-12-01)",
    )
    assert call("GET", "/employees/EMP-ODD").status == 404


@pytest.mark.parametrize(
    ("left_on", "problem"),
    [
        (
            "2026-13-01",
            "Input should be a valid date or datetime, month value is outside expected range of 1-12",
        ),
        (20261130, "must be a date as YYYY-MM-DD"),  # not a Unix time
        ("30.11.2026", "must be a date as YYYY-MM-DD"),
        ("", "must be a date as YYYY-MM-DD"),
    ],
)
def test_a_last_day_that_is_not_a_date_is_400_naming_it(call, left_on, problem):
    reply = call("PUT", "/employees/EMP-LD", {"name": "Lee Date", "leftOn": left_on}, key=ADMIN_KEY)
    assert reply.status == 400
    assert reply.body["details"] == [{"location": "body", "field": "leftOn", "problem": problem}]
    assert call("GET", "/employees/EMP-LD").status == 404


def test_an_unknown_employee_is_404(call):
    reply = call("GET", "/employees/EMP-NOBODY")
    assert (reply.status, reply.body["error"]) == (404, "not_found")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": "Anna", "department": 5}, "department"),
        ({"name": "Anna", "nmae": "typo"}, "nmae"),
        ({"name": "Anna", "schedule": OFFICE | {"timeZone": "UTC", "start": "9:00"}}, "schedule.start"),
        ({"name": "Anna", "schedule": OFFICE | {"timeZone": "UTC", "days": ["funday"]}}, "schedule.days.0"),
        ({"name": "Anna", "schedule": OFFICE | {"timeZone": "UTC", "days": []}}, "schedule.days"),
        (
            {"name": "Anna", "schedule": OFFICE | {"timeZone": "UTC", "graceMinutes": True}},
            "schedule.graceMinutes",
        ),
        (
            {"name": "Anna", "schedule": OFFICE | {"timeZone": "UTC", "graceMinutes": "5"}},
            "schedule.graceMinutes",
        ),
        ({"name": "Anna", "schedule": OFFICE}, "schedule.timeZone"),
    ],
)
def test_a_malformed_body_is_400_naming_the_field(call, directory, body, field):
    reply = call("PUT", "/employees/EMP-M1", body, key=ADMIN_KEY)
    assert (reply.status, reply.body["error"]) == (400, "invalid_request")
    assert [detail["field"] for detail in reply.body["details"]] == [field]
    assert directory.get("EMP-M1") is None


def test_a_body_that_is_not_json_is_400(call):
    reply = call("PUT", "/employees/EMP-M1", raw="{name: Anna", key=ADMIN_KEY)
    assert (reply.status, reply.body["error"]) == (400, "invalid_json")


@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded", "multipart/form-data", None])
def test_a_body_that_is_not_json_by_its_content_type_is_415(employees_env, directory, content_type):
    # Given a form body the resolver could parse, or a multipart type without a boundary
    headers = {"authorization": f"Bearer {ADMIN_KEY}"} | (
        {"content-type": content_type} if content_type else {}
    )
    event = http_api_event("PUT", "/employees/EMP-F1", "name=Anna", headers)
    response = employees_app.lambda_handler(event, LambdaContext("employees"))
    # Then it is refused as not JSON, and nothing is written
    assert (response["statusCode"], json.loads(response["body"])["error"]) == (415, "unsupported_media_type")
    assert directory.get("EMP-F1") is None


def test_a_body_that_is_not_utf8_is_400(employees_env, directory):
    headers = {"authorization": f"Bearer {ADMIN_KEY}", "content-type": "application/json"}
    event = http_api_event("PUT", "/employees/EMP-F1", b'{"name": "\xff\xfe"}', headers)
    response = employees_app.lambda_handler(event, LambdaContext("employees"))
    assert (response["statusCode"], json.loads(response["body"])["error"]) == (400, "invalid_json")
    assert directory.get("EMP-F1") is None


def test_a_malformed_user_id_is_400(call):
    reply = call("GET", "/employees/EMP%20A1")
    assert (reply.status, reply.body["details"][0]["field"]) == (400, "userId")


def test_an_unknown_time_zone_is_422_and_nothing_is_written(call, directory, schedules):
    body = {"name": "Zed", "schedule": OFFICE | {"timeZone": "Mars/Olympus_Mons"}}
    reply = call("PUT", "/employees/EMP-Z1", body, key=ADMIN_KEY)
    assert (reply.status, reply.body["error"]) == (422, "invalid_time_zone")
    assert "Mars/Olympus_Mons" in reply.body["message"]
    assert directory.get("EMP-Z1") is None
    assert schedules.get_many({"EMP-Z1"}) == {}


@pytest.mark.parametrize(
    ("schedule", "error", "named"),
    [
        ({"timeZone": "+99:00"}, "invalid_time_zone", "'+99:00'"),
        (
            {"start": "08:00", "end": "08:00", "timeZone": "UTC"},
            "invalid_schedule",
            "start and end are both 08:00",
        ),
    ],
)
def test_a_schedule_that_cannot_be_is_422_and_nothing_is_written(
    call, directory, schedules, schedule, error, named
):
    # Given a zone no place has, or a shift that ends when it starts (a work day would have no edge)
    reply = call("PUT", "/employees/EMP-Z2", {"name": "Zed", "schedule": OFFICE | schedule}, key=ADMIN_KEY)
    # Then it is refused naming the problem, and neither the employee nor the schedule is written
    assert (reply.status, reply.body["error"]) == (422, error)
    assert named in reply.body["message"]
    assert directory.get("EMP-Z2") is None
    assert schedules.get_many({"EMP-Z2"}) == {}


def test_other_methods_are_405_with_allow(call):
    reply = call("DELETE", "/employees/EMP-A1", key=ADMIN_KEY)
    assert (reply.status, reply.headers["Allow"]) == (405, "GET, PUT")
    reply = call("PUT", "/employees/EMP-A1/schedule", OFFICE, key=ADMIN_KEY)
    assert (reply.status, reply.headers["Allow"]) == (405, "DELETE, GET")


@pytest.fixture
def a_morning(call, punch, everyone_expected_today):
    """Four people in the directory, expected at work today, and a fifth who punches but is not in it."""
    for user, name in [
        ("EMP-S1", "Ann In"),
        ("EMP-S2", "Bob Break"),
        ("EMP-S3", "Cat Out"),
        ("EMP-S4", "Dan Away"),
    ]:
        call("PUT", f"/employees/{user}", {"name": name, "department": "Ops"}, key=ADMIN_KEY)
    punch("EMP-S1", "in", 180)
    punch("EMP-S1", "break_out", 120)
    last_in = punch("EMP-S1", "break_in", 90, device="DEV-LOBBY")
    punch("EMP-S2", "in", 150)
    punch("EMP-S2", "break_out", 10)
    punch("EMP-S3", "in", 170)
    punch("EMP-S3", "out", 5)
    punch("EMP-S4", "in", 24 * 60)  # yesterday, at this time
    punch("EMP-S4", "out", 23 * 60)
    punch("EMP-X9", "overtime_in", 30)  # not in the directory
    return last_in


def test_statuses_come_from_the_last_punch_of_today(call, a_morning):
    # When the directory is listed
    reply = call("GET", "/employees")
    # Then each status follows the day's last punch, and yesterday's punches leave Dan absent
    statuses = {row["userId"]: row["status"] for row in reply.body["employees"]}
    assert statuses == {"EMP-S1": "in", "EMP-S2": "on_break", "EMP-S3": "out", "EMP-S4": "absent"}
    # And the last punch is named: time (with offset), type and device
    ann = call("GET", "/employees/EMP-S1").body
    assert ann["status"] == "in"
    assert ann["lastPunch"] == {"time": a_morning, "type": "break_in", "deviceId": "DEV-LOBBY"}
    assert call("GET", "/employees/EMP-S4").body["lastPunch"] is None


def test_presence_counts_and_lists_who_is_in_on_break_and_out(call, a_morning, company_zone):
    reply = call("GET", "/presence")
    assert reply.status == 200
    body = reply.body
    assert body["counts"] == {"in": 2, "onBreak": 1, "out": 1, "absent": 1, "onLeave": 0}
    assert body["timeZone"] == company_zone
    assert body["at"].endswith(company_zone)
    # Then those present are listed with name and department; one not in the directory by userId alone
    assert [(e["userId"], e["name"]) for e in body["in"]] == [("EMP-S1", "Ann In"), ("EMP-X9", None)]
    assert body["in"][1]["lastPunch"]["type"] == "overtime_in"
    assert [e["userId"] for e in body["onBreak"]] == ["EMP-S2"]
    assert [(e["userId"], e["department"]) for e in body["out"]] == [("EMP-S3", "Ops")]
    # And the absent are only counted
    assert "absent" not in body


def test_only_those_the_calendar_expects_today_are_counted_absent(call, schedules, company_zone):
    # Given four people in the directory without a punch today: one on a schedule of every day, one on a
    # schedule of every day but today, one on no schedule at all (and no default), one who starts tomorrow
    today = datetime.now(ZoneInfo("UTC")).astimezone(parse_zone(company_zone)).date()
    every_day = {"start": "09:00", "end": "17:00", "timeZone": company_zone}
    days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    but_today = [day for index, day in enumerate(days) if index != today.weekday()]
    for user, fields in (
        ("EMP-ON", {"schedule": every_day | {"days": days}}),
        ("EMP-OFF", {"schedule": every_day | {"days": but_today}}),
        ("EMP-NONE", {}),
        ("EMP-LATER", {"schedule": every_day | {"days": days}, "startedOn": str(today + timedelta(days=1))}),
    ):
        assert call("PUT", f"/employees/{user}", {"name": user} | fields, key=ADMIN_KEY).status == 201

    # When HR looks at who is in now, and at the directory
    def seen() -> tuple[int, dict[str, bool]]:
        listed = call("GET", "/employees").body["employees"]
        return call("GET", "/presence").body["counts"]["absent"], {
            e["userId"]: e["expectedToday"] for e in listed
        }

    # Then only the one expected today is absent; the others have no punch, but nobody expected one
    assert seen() == (1, {"EMP-ON": True, "EMP-OFF": False, "EMP-NONE": False, "EMP-LATER": False})
    # And on a company holiday nobody is expected
    assert call("PUT", f"/holidays/{today}", {"name": "Founders' Day"}, key=ADMIN_KEY).status == 201
    assert seen() == (0, {"EMP-ON": False, "EMP-OFF": False, "EMP-NONE": False, "EMP-LATER": False})


def test_presence_reads_punches_by_the_date_index_never_by_scan(call, a_morning, employees_env):
    # Given every DynamoDB call the handler makes is recorded
    calls: list[tuple[str, dict]] = []
    recorder = lambda model, params, **_: calls.append((model.name, params))  # noqa: E731
    with hooked({"provide-client-params.dynamodb": recorder}):
        importlib.reload(employees_app)  # new clients, which carry the recorder
        assert call("GET", "/presence").status == 200
    # Then the punches table was only queried, on its byLocalDate index
    punches = [
        (name, params) for name, params in calls if params.get("TableName") == employees_env["PUNCHES_TABLE"]
    ]
    assert punches
    assert {(name, params.get("IndexName")) for name, params in punches} == {("Query", "byLocalDate")}


def test_names_are_read_by_id_for_the_ids_asked(call, directory, template, stack):
    # Given a directory of three
    for user_id, name in [("EMP-N1", "Nora Lind"), ("EMP-N2", "Omar Haddad"), ("EMP-N3", "Pia Sousa")]:
        assert call("PUT", f"/employees/{user_id}", {"name": name}, key=ADMIN_KEY).status == 201
    # When a page asks for the names of two of them and of an ID the directory lacks
    with calls_made() as calls:
        employees_app.dependencies.cache_clear()  # clients made while recording
        reply = call("GET", "/employee-names", query={"userId": "EMP-N3,EMP-N1,GHOST"})
    # Then it gets those two names and the unknown ID, and nothing else
    assert reply.status == 200
    assert reply.body == {
        "names": {"EMP-N1": "Nora Lind", "EMP-N3": "Pia Sousa"},
        "notInDirectory": ["GHOST"],
    }
    # And the names were read by key, never by reading the directory or the punches, as the role allows
    operations = [
        (operation, params.get("TableName") or next(iter(params.get("RequestItems", {})), None))
        for _, operation, params in calls
        if operation != "GetItem"
    ]  # GetItem: the API key
    assert operations == [("BatchGetItem", stack.refs["EmployeesTable"])]
    assert refused(template, "EmployeesFunction", stack, calls) == []


def test_a_hundred_names_in_one_request_and_not_one_more(call):
    hundred = ",".join(f"EMP-{n}" for n in range(100))
    assert call("GET", "/employee-names", query={"userId": hundred}).body["notInDirectory"][:2] == [
        "EMP-0",
        "EMP-1",
    ]
    reply = call("GET", "/employee-names", query={"userId": hundred + ",EMP-100"})
    assert (reply.status, reply.body["error"]) == (400, "invalid_request")
    assert "userId" in reply.body["message"]


@pytest.mark.parametrize(
    ("query", "named"),
    [({}, "userId"), ({"userId": "EMP 1"}, "userId"), ({"userId": "EMP-1,,EMP-2"}, "userId")],
)
def test_names_without_good_ids_are_a_400_naming_the_parameter(call, query, named):
    reply = call("GET", "/employee-names", query=query)
    assert reply.status == 400
    assert named in reply.body["message"]


def test_names_need_a_read_key(call):
    assert call("GET", "/employee-names", key=None, query={"userId": "EMP-1"}).status == 401
    refused_reply = call("GET", "/employee-names", key=INGEST_KEY, query={"userId": "EMP-1"})
    assert (refused_reply.status, refused_reply.body["error"]) == (403, "forbidden")


def test_names_left_unprocessed_by_a_throttled_table_are_asked_again_after_a_wait(call, monkeypatch):
    # Given five employees, and a directory table throttled to two keys a read
    for n in range(5):
        assert call("PUT", f"/employees/EMP-T{n}", {"name": f"Tia {n}"}, key=ADMIN_KEY).status == 201
    waits: list[float] = []
    monkeypatch.setattr("attendance.data.aws.time.sleep", waits.append)
    with throttled_batch_gets(processed=2) as asked:
        employees_app.dependencies.cache_clear()  # clients made now, as the table answers now
        # When a page asks for their names
        reply = call("GET", "/employee-names", query={"userId": ",".join(f"EMP-T{n}" for n in range(5))})
    # Then it gets all five: the keys left over were asked again, two at a time, after growing waits
    assert reply.status == 200
    assert reply.body["names"] == {f"EMP-T{n}": f"Tia {n}" for n in range(5)}
    assert asked == [5, 3, 1]
    assert len(waits) == 2
    assert 0 <= waits[0] <= 0.05
    assert 0 <= waits[1] <= 0.1


def test_a_table_throttled_for_long_is_a_503_to_retry_not_an_endless_loop(call, monkeypatch):
    # Given a directory table that reads one key a request, and a page asking for twenty names
    waits: list[float] = []
    monkeypatch.setattr("attendance.data.aws.time.sleep", waits.append)
    with throttled_batch_gets(processed=1) as asked:
        employees_app.dependencies.cache_clear()
        reply = call("GET", "/employee-names", query={"userId": ",".join(f"EMP-L{n}" for n in range(20))})
    # Then after a bounded number of tries (2.55 s of waits at most) it is told to try again later
    assert reply.status == 503
    assert reply.body["error"] == "unavailable"
    assert len(asked) == UNPROCESSED_RETRIES + 1
    assert sum(waits) <= 2.55
