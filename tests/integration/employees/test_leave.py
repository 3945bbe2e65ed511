"""Employees' leave: GET /employees/{userId}/leave, PUT and DELETE /employees/{userId}/leave/{from} through
the handler against moto."""

import json
from datetime import UTC, date, datetime, timedelta

import boto3

from attendance.data.leave import LeaveStore
from attendance.domain.clock import parse_zone
from tests.integration.employees.conftest import ADMIN_KEY, READ_KEY
from tests.integration.permissions import calls_made, refused

SUMMER = "/employees/ANNA/leave/2025-07-28"


def _hire(call, user_id: str = "ANNA", name: str = "Anna Berg") -> None:
    assert call("PUT", f"/employees/{user_id}", {"name": name}, key=ADMIN_KEY).status == 201


def test_an_admin_records_changes_lists_and_removes_leave(call, template, stack):
    with calls_made() as calls:  # from the first call on: the function's client is made by it
        _hire(call)
        # When an admin records ANNA's summer vacation
        added = call(
            "PUT", SUMMER, {"to": "2025-08-08", "kind": "vacation", "note": " booked "}, key=ADMIN_KEY
        )
        # Then it is recorded (201), the note trimmed
        summer = {
            "userId": "ANNA",
            "from": "2025-07-28",
            "to": "2025-08-08",
            "kind": "vacation",
            "note": "booked",
        }
        assert (added.status, added.body) == (201, summer)
        # And the same first day again changes it (200), not a second leave
        changed = call("PUT", SUMMER, {"to": "2025-08-01", "kind": "vacation"}, key=ADMIN_KEY)
        assert (changed.status, changed.body["to"], changed.body.get("note")) == (200, "2025-08-01", None)
        # And a sick day in December, and a leave over the new year, are listed under each year they touch
        call("PUT", "/employees/ANNA/leave/2025-12-03", {"to": "2025-12-03", "kind": "sick"}, key=ADMIN_KEY)
        call("PUT", "/employees/ANNA/leave/2025-12-29", {"to": "2026-01-02", "kind": "other"}, key=ADMIN_KEY)
        listed = call("GET", "/employees/ANNA/leave", query={"year": "2025"}, key=READ_KEY)
        assert (listed.status, listed.body["userId"], listed.body["year"], listed.body["count"]) == (
            200,
            "ANNA",
            2025,
            3,
        )
        assert [(leave["from"], leave["kind"]) for leave in listed.body["leave"]] == [
            ("2025-07-28", "vacation"),
            ("2025-12-03", "sick"),
            ("2025-12-29", "other"),
        ]
        next_year = call("GET", "/employees/ANNA/leave", query={"year": "2026"}).body
        assert [leave["from"] for leave in next_year["leave"]] == ["2025-12-29"]
        # And removing one answers what was removed; removing it again is 404, naming it
        removed = call("DELETE", "/employees/ANNA/leave/2025-12-03", key=ADMIN_KEY)
        assert (removed.status, removed.body["kind"]) == (200, "sick")
        again = call("DELETE", "/employees/ANNA/leave/2025-12-03", key=ADMIN_KEY)
        assert (again.status, again.body["error"], again.body["message"]) == (
            404,
            "not_found",
            "no leave of ANNA from 2025-12-03",
        )
    assert call("GET", "/employees/ANNA/leave", query={"year": "2025"}).body["count"] == 2
    # And every call was one the role allows
    assert refused(template, "EmployeesFunction", stack, calls) == []


def test_a_leave_that_overlaps_another_is_refused_naming_it(call):
    _hire(call)
    call("PUT", SUMMER, {"to": "2025-08-08", "kind": "vacation"}, key=ADMIN_KEY)
    # When a sick leave is recorded on a day of the vacation
    reply = call(
        "PUT", "/employees/ANNA/leave/2025-08-08", {"to": "2025-08-12", "kind": "sick"}, key=ADMIN_KEY
    )
    # Then it is a conflict that says which leave is in the way, and nothing is stored
    assert (reply.status, reply.body["error"]) == (409, "overlaps")
    assert reply.body["message"] == "ANNA is already on vacation leave from 2025-07-28 to 2025-08-08"
    assert call("GET", "/employees/ANNA/leave", query={"year": "2025"}).body["count"] == 1
    # And another employee's leave on the same days is theirs alone
    _hire(call, "BEN", "Ben Ode")
    assert (
        call(
            "PUT", "/employees/BEN/leave/2025-08-08", {"to": "2025-08-12", "kind": "sick"}, key=ADMIN_KEY
        ).status
        == 201
    )


def test_bad_ranges_unknown_employees_and_bad_bodies_are_refused(call):
    _hire(call)
    # A last day before the first, or more than a year on: a rule across fields, 422 naming it
    for to, message in [("2025-07-27", "'to' must not be before 'from'"), ("2026-07-29", "at most 366 days")]:
        reply = call("PUT", SUMMER, {"to": to, "kind": "vacation"}, key=ADMIN_KEY)
        assert (reply.status, reply.body["error"]) == (422, "invalid_range"), to
        assert message in reply.body["message"]
    # Someone not in the directory: 404
    reply = call(
        "PUT", "/employees/NOBODY/leave/2025-07-28", {"to": "2025-07-28", "kind": "sick"}, key=ADMIN_KEY
    )
    assert (reply.status, reply.body["error"], reply.body["message"]) == (
        404,
        "not_found",
        "no employee NOBODY",
    )
    # And so is a list of their leave: the ID is mistyped, not someone without leave
    listed = call("GET", "/employees/NOBODY/leave", query={"year": "2025"})
    assert (listed.status, listed.body["message"]) == (404, "no employee NOBODY")
    # A kind the contract lacks, a malformed date, a blank or long note, a field it lacks: 400 naming it
    for path, body, field in [
        (SUMMER, {"to": "2025-08-01", "kind": "holiday"}, "kind"),
        (SUMMER, {"to": "01.08.2025", "kind": "sick"}, "to"),
        ("/employees/ANNA/leave/2025-02-30", {"to": "2025-08-01", "kind": "sick"}, "from"),
        (SUMMER, {"to": "2025-08-01", "kind": "sick", "note": "  "}, "note"),
        (SUMMER, {"to": "2025-08-01", "kind": "sick", "note": "x" * 201}, "note"),
        (SUMMER, {"to": "2025-08-01", "kind": "sick", "paid": True}, "paid"),
        ("/employees/ANNA/leave/1999-12-30", {"to": "2000-01-02", "kind": "vacation"}, "from"),
    ]:
        reply = call("PUT", path, body, key=ADMIN_KEY)
        assert (reply.status, reply.body["error"]) == (400, "invalid_request"), body
        assert field in json.dumps(reply.body["details"]), reply.body
    # And nothing was stored by any of them
    assert call("GET", "/employees/ANNA/leave", query={"year": "2025"}).body["leave"] == []


def test_a_read_key_may_list_but_not_change_leave(call):
    _hire(call)
    reply = call("PUT", SUMMER, {"to": "2025-08-01", "kind": "vacation"}, key=READ_KEY)
    assert (reply.status, reply.body["error"]) == (403, "forbidden")
    assert call("DELETE", SUMMER, key=READ_KEY).status == 403
    assert call("GET", "/employees/ANNA/leave", query={"year": "2025"}, key=None).status == 401


def test_someone_on_leave_today_is_counted_apart_from_the_absent(call, company_zone, everyone_expected_today):
    # Given ANNA and BEN in the directory, neither of whom punched today, and ANNA on vacation this week
    today = datetime.now(UTC).astimezone(parse_zone(company_zone)).date()
    _hire(call)
    _hire(call, "BEN", "Ben Ode")
    week = {"to": (today + timedelta(days=6)).isoformat(), "kind": "vacation"}
    call("PUT", f"/employees/ANNA/leave/{(today - timedelta(days=1)).isoformat()}", week, key=ADMIN_KEY)
    # When HR looks at who is in now, and at the directory
    counts = call("GET", "/presence").body["counts"]
    employees = {row["userId"]: row for row in call("GET", "/employees").body["employees"]}
    # Then BEN is absent and ANNA on leave, not absent; the directory says which leave, beside the status
    assert (counts["absent"], counts["onLeave"]) == (1, 1)
    assert [(employees[user]["status"], employees[user]["onLeave"]) for user in ("ANNA", "BEN")] == [
        ("absent", "vacation"),
        ("absent", None),
    ]
    assert call("GET", "/employees/ANNA").body["onLeave"] == "vacation"
    # And once the leave is removed, ANNA is absent again
    call("DELETE", f"/employees/ANNA/leave/{(today - timedelta(days=1)).isoformat()}", key=ADMIN_KEY)
    assert call("GET", "/presence").body["counts"]["absent"] == 2


def test_a_leave_is_kept_under_each_month_it_touches_and_changed_or_removed_whole(call, stack):
    # Given ANNA's leave from late July to early September: a copy in each of its three months
    _hire(call)
    call("PUT", SUMMER, {"to": "2025-09-05", "kind": "vacation"}, key=ADMIN_KEY)
    leave = LeaveStore(boto3.client("dynamodb"), stack.refs["LeaveTable"])
    assert [found.end for found in leave.between(date(2025, 9, 1), date(2025, 9, 30))] == [date(2025, 9, 5)]
    # When it is shortened to end in July
    call("PUT", SUMMER, {"to": "2025-07-31", "kind": "vacation"}, key=ADMIN_KEY)
    # Then August and September no longer hold it, and July holds it as changed
    assert leave.between(date(2025, 8, 1), date(2025, 9, 30)) == []
    assert [found.end for found in leave.between(date(2025, 7, 1), date(2025, 7, 31))] == [date(2025, 7, 31)]
    # And a day's leave is read from its month alone: one query, however many months the table holds
    with calls_made() as calls:
        LeaveStore(boto3.client("dynamodb"), stack.refs["LeaveTable"]).between(
            date(2025, 7, 30), date(2025, 7, 30)
        )
    assert [
        params["ExpressionAttributeValues"][":month"]
        for _, operation, params in calls
        if operation == "Query"
    ] == [{"S": "2025-07"}]
    # When it is lengthened again into September and then removed, no copy is left in any month
    call("PUT", SUMMER, {"to": "2025-09-05", "kind": "vacation"}, key=ADMIN_KEY)
    assert call("DELETE", SUMMER, key=ADMIN_KEY).body["to"] == "2025-09-05"
    assert leave.between(date(2025, 7, 1), date(2025, 9, 30)) == []
    scanned = boto3.client("dynamodb").scan(TableName=stack.refs["LeaveTable"])
    assert scanned["Count"] == 0


def test_each_leave_says_the_scheduled_days_it_takes_and_the_year_sums_them_by_kind(call):
    # Given ANNA on a Monday-to-Friday schedule who starts on Tuesday 30 December 2025, New Year's Day a
    # holiday, and BEN with no schedule at all (nor a default)
    week = {"days": ["mon", "tue", "wed", "thu", "fri"], "start": "09:00", "end": "17:00", "timeZone": "UTC"}
    week |= {"effectiveFrom": "2025-12-01"}
    call(
        "PUT",
        "/employees/ANNA",
        {"name": "Anna Berg", "schedule": week, "startedOn": "2025-12-30"},
        key=ADMIN_KEY,
    )
    _hire(call, "BEN", "Ben Ode")
    call("PUT", "/holidays/2026-01-01", {"name": "New Year's Day"}, key=ADMIN_KEY)
    # When each takes "other" leave from Monday 29 December to Friday 2 January, and 5 January off sick
    for user in ("ANNA", "BEN"):
        call(
            "PUT", f"/employees/{user}/leave/2025-12-29", {"to": "2026-01-02", "kind": "other"}, key=ADMIN_KEY
        )
        call(
            "PUT", f"/employees/{user}/leave/2026-01-05", {"to": "2026-01-05", "kind": "sick"}, key=ADMIN_KEY
        )
    # Then ANNA's leave over the new year takes three scheduled days (the 29th was before her time, the 1st a
    # holiday), of which 2025 holds two and 2026 one; the sick Monday is one
    of_2025 = call("GET", "/employees/ANNA/leave", query={"year": "2025"}).body
    of_2026 = call("GET", "/employees/ANNA/leave", query={"year": "2026"}).body
    assert [leave["scheduledDays"] for leave in of_2025["leave"]] == [3]
    assert [leave["scheduledDays"] for leave in of_2026["leave"]] == [3, 1]
    assert of_2025["scheduledDays"] == {"vacation": 0, "sick": 0, "unpaid": 0, "other": 2}
    assert of_2026["scheduledDays"] == {"vacation": 0, "sick": 1, "unpaid": 0, "other": 1}
    # And without a schedule nobody can say which days were his: null, not 0
    ben = call("GET", "/employees/BEN/leave", query={"year": "2026"}).body
    assert ([leave["scheduledDays"] for leave in ben["leave"]], ben["scheduledDays"]) == ([None, None], None)


def test_a_vacation_allowance_is_counted_down_by_the_scheduled_days_of_vacation(call):
    # Given ANNA on a Monday-to-Friday schedule since 2024 with 25 vacation days a year
    week = {"days": ["mon", "tue", "wed", "thu", "fri"], "start": "09:00", "end": "17:00", "timeZone": "UTC"}
    week |= {"effectiveFrom": "2024-01-01"}
    saved = call(
        "PUT",
        "/employees/ANNA",
        {"name": "Anna Berg", "schedule": week, "vacationDaysPerYear": 25},
        key=ADMIN_KEY,
    )
    assert (saved.status, saved.body["vacationDaysPerYear"]) == (201, 25)
    # When she takes two weeks of vacation in August (ten scheduled days) and a sick day, which is no vacation
    call("PUT", "/employees/ANNA/leave/2025-08-04", {"to": "2025-08-15", "kind": "vacation"}, key=ADMIN_KEY)
    call("PUT", "/employees/ANNA/leave/2025-09-01", {"to": "2025-09-01", "kind": "sick"}, key=ADMIN_KEY)
    # Then the year's list says what is left: 25 less 10
    listed = call("GET", "/employees/ANNA/leave", query={"year": "2025"}).body
    assert (listed["vacationDaysPerYear"], listed["vacationDaysLeft"]) == (25, 15)
    # And a year without vacation has it all; booking more than the allowance goes below zero, for HR to see
    assert call("GET", "/employees/ANNA/leave", query={"year": "2024"}).body["vacationDaysLeft"] == 25
    call("PUT", "/employees/ANNA/leave/2025-10-06", {"to": "2025-11-14", "kind": "vacation"}, key=ADMIN_KEY)
    assert call("GET", "/employees/ANNA/leave", query={"year": "2025"}).body["vacationDaysLeft"] == 15 - 30
    # And without an allowance there is nothing to count down
    call("PUT", "/employees/ANNA", {"name": "Anna Berg"}, key=ADMIN_KEY)
    listed = call("GET", "/employees/ANNA/leave", query={"year": "2025"}).body
    assert (listed["vacationDaysPerYear"], listed["vacationDaysLeft"]) == (None, None)


def test_an_allowance_is_a_whole_number_of_days_up_to_a_year(call):
    for allowance in (367, -1, 2.5, "25", True):
        reply = call(
            "PUT", "/employees/ANNA", {"name": "Anna Berg", "vacationDaysPerYear": allowance}, key=ADMIN_KEY
        )
        assert (reply.status, reply.body["error"]) == (400, "invalid_request"), allowance
        assert "vacationDaysPerYear" in json.dumps(reply.body["details"]), reply.body
    assert call("GET", "/employees/ANNA").status == 404  # nothing was stored
    assert (
        call("PUT", "/employees/ANNA", {"name": "Anna Berg", "vacationDaysPerYear": 0}, key=ADMIN_KEY).status
        == 201
    )
