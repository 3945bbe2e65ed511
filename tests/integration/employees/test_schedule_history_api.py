"""Schedule history through the employees API: a change takes effect from a day, the days before keep theirs."""

from datetime import date

import pytest

from attendance.domain.timesheet import DEFAULT_SCHEDULE_ID, Schedule
from tests.integration.employees.conftest import ADMIN_KEY

WEEK = {"days": ["mon", "tue", "wed", "thu", "fri"], "start": "09:00", "end": "17:00", "timeZone": "UTC"}
EVERY_DAY = WEEK | {"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]}


def put_schedule(call, user: str, schedule: dict, effective_from: str | None = None):
    body = {
        "name": "Anna Berg",
        "schedule": schedule | ({"effectiveFrom": effective_from} if effective_from else {}),
    }
    return call("PUT", f"/employees/{user}", body, key=ADMIN_KEY)


def test_a_change_from_a_day_keeps_the_schedule_before_it_and_get_shows_both(call):
    # Given ANNA on Monday to Friday since 2025
    assert put_schedule(call, "ANNA", WEEK, "2025-01-01").status == 201
    # When she works every day from 1 December 2026
    changed = put_schedule(call, "ANNA", EVERY_DAY, "2026-12-01")
    assert changed.status == 200
    # Then GET says what applies from when, and what applied before, until when
    shown = call("GET", "/employees/ANNA/schedule")
    assert shown.status == 200
    assert (shown.body["userId"], shown.body["effectiveFrom"]) == ("ANNA", "2026-12-01")
    assert shown.body["schedule"]["days"] == EVERY_DAY["days"]
    assert shown.body["schedule"]["label"] == "09:00-17:00 UTC"
    [earlier] = shown.body["history"]
    assert (earlier["effectiveFrom"], earlier["until"], earlier["schedule"]["days"]) == (
        "2025-01-01",
        "2026-11-30",
        WEEK["days"],
    )


def test_a_change_dated_back_replaces_what_held_from_that_day_on(call):
    put_schedule(call, "ANNA", WEEK, "2025-01-01")
    put_schedule(call, "ANNA", EVERY_DAY, "2026-12-01")
    # When the change should have been from 15 November: corrected
    put_schedule(call, "ANNA", EVERY_DAY, "2026-11-15")
    shown = call("GET", "/employees/ANNA/schedule").body
    assert shown["effectiveFrom"] == "2026-11-15"
    assert [(v["effectiveFrom"], v["until"]) for v in shown["history"]] == [("2025-01-01", "2026-11-14")]


def test_a_change_leaves_past_leave_counted_by_the_schedule_of_its_days(call):
    # Given ANNA on Monday to Friday since 2025 with 25 vacation days, a week off in August 2026 (five days)
    call(
        "PUT",
        "/employees/ANNA",
        {"name": "Anna Berg", "vacationDaysPerYear": 25, "schedule": WEEK | {"effectiveFrom": "2025-01-01"}},
        key=ADMIN_KEY,
    )
    call("PUT", "/employees/ANNA/leave/2026-08-03", {"to": "2026-08-09", "kind": "vacation"}, key=ADMIN_KEY)
    # and a weekend off in December
    call("PUT", "/employees/ANNA/leave/2026-12-05", {"to": "2026-12-06", "kind": "vacation"}, key=ADMIN_KEY)
    before = call("GET", "/employees/ANNA/leave", query={"year": "2026"}).body
    assert [leave["scheduledDays"] for leave in before["leave"]] == [5, 0]
    # When she works every day from 1 December
    every_day = EVERY_DAY | {"effectiveFrom": "2026-12-01"}
    call(
        "PUT",
        "/employees/ANNA",
        {"name": "Anna Berg", "vacationDaysPerYear": 25, "schedule": every_day},
        key=ADMIN_KEY,
    )
    # Then August still takes five days; the December weekend, now of her schedule, two
    after = call("GET", "/employees/ANNA/leave", query={"year": "2026"}).body
    assert [leave["scheduledDays"] for leave in after["leave"]] == [5, 2]
    assert (before["vacationDaysLeft"], after["vacationDaysLeft"]) == (20, 18)


def test_removing_a_schedule_from_a_day_keeps_it_before(call):
    put_schedule(call, "ANNA", WEEK, "2025-01-01")
    removed = call("DELETE", "/employees/ANNA/schedule", key=ADMIN_KEY, query={"effectiveFrom": "2026-12-01"})
    assert removed.status == 200
    shown = call("GET", "/employees/ANNA/schedule").body
    assert (shown["schedule"], shown["effectiveFrom"]) == (None, "2026-12-01")
    assert [(v["effectiveFrom"], v["until"]) for v in shown["history"]] == [("2025-01-01", "2026-11-30")]
    # And removing it again from then is a 404: she has none of her own from then
    again = call("DELETE", "/employees/ANNA/schedule", key=ADMIN_KEY, query={"effectiveFrom": "2026-12-01"})
    assert (again.status, again.body["error"]) == (404, "no_own_schedule")


def test_a_first_schedule_without_a_day_takes_effect_today(call):
    put_schedule(call, "ANNA", WEEK)
    shown = call("GET", "/employees/ANNA/schedule").body
    assert date.fromisoformat(shown["effectiveFrom"]) >= date(2026, 1, 1)
    assert shown["history"] == []


def test_the_schedule_of_someone_unknown_is_404(call):
    reply = call("GET", "/employees/NOBODY/schedule")
    assert (reply.status, reply.body["error"]) == (404, "not_found")


@pytest.mark.parametrize("effective_from", ["1999-12-31", "2101-01-01", "2026-13-01", "01.12.2026", 20261201])
def test_an_effective_day_outside_the_calendar_is_400_naming_it(call, directory, effective_from):
    reply = call(
        "PUT",
        "/employees/EMP-M1",
        {"name": "Anna", "schedule": WEEK | {"effectiveFrom": effective_from}},
        key=ADMIN_KEY,
    )
    assert (reply.status, reply.body["error"]) == (400, "invalid_request")
    assert [detail["field"] for detail in reply.body["details"]] == ["schedule.effectiveFrom"]
    assert directory.get("EMP-M1") is None


def test_a_removal_day_outside_the_calendar_is_400(call):
    put_schedule(call, "ANNA", WEEK, "2025-01-01")
    reply = call("DELETE", "/employees/ANNA/schedule", key=ADMIN_KEY, query={"effectiveFrom": "1999-01-01"})
    assert (reply.status, reply.body["error"]) == (400, "invalid_request")
    assert call("GET", "/employees/ANNA/schedule").body["history"] == []


def test_the_directory_shows_the_schedule_that_holds_and_a_change_saved_for_later(call, schedules):
    # Given ANNA on Monday to Friday since 2025, every day from 2099, and back to the default from 2100
    put_schedule(call, "ANNA", WEEK, "2025-01-01")
    put_schedule(call, "ANNA", EVERY_DAY, "2099-01-05")
    schedules.put(DEFAULT_SCHEDULE_ID, Schedule(time_zone="Europe/London"))
    # When HR reads her, alone and in the list
    shown = call("GET", "/employees/ANNA").body
    # Then the schedule is the one holding today, since its first day, and the next change comes beside it
    assert (shown["schedule"]["days"], shown["schedule"]["effectiveFrom"]) == (WEEK["days"], "2025-01-01")
    assert shown["nextSchedule"]["effectiveFrom"] == "2099-01-05"
    assert (shown["nextSchedule"]["schedule"]["days"], shown["nextSchedule"]["schedule"]["isDefault"]) == (
        EVERY_DAY["days"],
        False,
    )
    assert call("GET", "/employees").body["employees"] == [shown]
    # And when the later change is her schedule's removal, the next is the default's
    call("DELETE", "/employees/ANNA/schedule", key=ADMIN_KEY, query={"effectiveFrom": "2099-01-05"})
    ahead = call("GET", "/employees/ANNA").body["nextSchedule"]
    assert (ahead["effectiveFrom"], ahead["schedule"]["label"], ahead["schedule"]["isDefault"]) == (
        "2099-01-05",
        "09:00-17:00 Europe/London",
        True,
    )


def test_a_removal_saved_for_later_without_a_default_says_no_schedule_then(call):
    put_schedule(call, "ANNA", WEEK, "2025-01-01")
    call("DELETE", "/employees/ANNA/schedule", key=ADMIN_KEY, query={"effectiveFrom": "2099-01-05"})
    shown = call("GET", "/employees/ANNA").body
    assert shown["schedule"]["label"] == "09:00-17:00 UTC"
    assert shown["nextSchedule"] == {"effectiveFrom": "2099-01-05", "schedule": None}


def test_an_admin_sets_the_default_schedule_from_a_day_and_everyone_without_their_own_follows_it(
    call, caplog
):
    # Given BEN without a schedule of his own, and no default
    call("PUT", "/employees/BEN", {"name": "Ben Ode"}, key=ADMIN_KEY)
    assert call("GET", "/default-schedule").body == {"schedule": None, "effectiveFrom": None, "history": []}
    # When an admin sets a default since 2025, then every day from 2099
    first = call("PUT", "/default-schedule", WEEK | {"effectiveFrom": "2025-01-01"}, key=ADMIN_KEY)
    call("PUT", "/default-schedule", EVERY_DAY | {"effectiveFrom": "2099-01-05"}, key=ADMIN_KEY)
    # Then it answers with the default's versions, and GET shows them to a reader
    assert (first.status, first.body["schedule"]["label"], first.body["effectiveFrom"]) == (
        200,
        "09:00-17:00 UTC",
        "2025-01-01",
    )
    shown = call("GET", "/default-schedule").body
    assert (shown["effectiveFrom"], shown["schedule"]["days"]) == ("2099-01-05", EVERY_DAY["days"])
    assert [(v["effectiveFrom"], v["until"]) for v in shown["history"]] == [("2025-01-01", "2099-01-04")]
    # And BEN follows it: the week now, every day next
    ben = call("GET", "/employees/BEN").body
    assert (ben["schedule"]["isDefault"], ben["schedule"]["days"]) == (True, WEEK["days"])
    assert (ben["nextSchedule"]["effectiveFrom"], ben["nextSchedule"]["schedule"]["isDefault"]) == (
        "2099-01-05",
        True,
    )
    # And each change is logged with the key that made it
    logged = [record for record in caplog.records if record.getMessage() == "default schedule changed"]
    assert [(record.schedule, record.__dict__["from"]) for record in logged] == [
        ("09:00-17:00 UTC", "2025-01-01"),
        ("09:00-17:00 UTC", "2099-01-05"),
    ]


def test_an_admin_removes_the_default_schedule_from_a_day(call):
    call("PUT", "/default-schedule", WEEK | {"effectiveFrom": "2025-01-01"}, key=ADMIN_KEY)
    # When it is removed from 2099, the days before keep it
    removed = call("DELETE", "/default-schedule", key=ADMIN_KEY, query={"effectiveFrom": "2099-01-05"})
    assert (removed.status, removed.body["schedule"], removed.body["effectiveFrom"]) == (
        200,
        None,
        "2099-01-05",
    )
    assert removed.body["history"][0]["until"] == "2099-01-04"
    # And removing it again from then is a 404 saying there is none
    again = call("DELETE", "/default-schedule", key=ADMIN_KEY, query={"effectiveFrom": "2099-01-05"})
    assert (again.status, again.body["error"]) == (404, "no_default_schedule")


@pytest.mark.parametrize(
    ("body", "error", "message"),
    [
        (WEEK | {"timeZone": "Mars/Base"}, "invalid_time_zone", "timeZone: unknown time zone 'Mars/Base'"),
        (WEEK | {"end": "09:00"}, "invalid_schedule", "schedule: "),
    ],
)
def test_a_default_schedule_the_schema_cannot_refuse_is_a_422_naming_the_problem(call, body, error, message):
    reply = call("PUT", "/default-schedule", body, key=ADMIN_KEY)
    assert (reply.status, reply.body["error"]) == (422, error)
    assert reply.body["message"].startswith(message)
    assert call("GET", "/default-schedule").body["schedule"] is None


def test_a_default_schedule_with_a_field_it_does_not_have_is_a_400_naming_it(call):
    reply = call("PUT", "/default-schedule", WEEK | {"userId": "BEN"}, key=ADMIN_KEY)
    assert (reply.status, reply.body["error"]) == (400, "invalid_request")
    assert "userId" in reply.body["message"]
