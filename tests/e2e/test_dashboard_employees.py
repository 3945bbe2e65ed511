"""The dashboard's Employees pages, as a person uses them in a real browser."""

import json
import re
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import expect

from local_stack.running import RunningStack, wait_for
from tests.e2e.browser import SCREENSHOTS, HeldReplies, call, register_clock, sign_in
from tests.e2e.feed_client import next_event, watching
from tests.e2e.stack_state import kept_as_it_is
from tests.e2e.today import past_the_first_minutes_of_today

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.mark.console_allows(r"status of 422")  # the browser's own line for the refused zone
def test_the_directory_an_employees_timesheet_and_an_admin_edit(page, stack: RunningStack) -> None:
    # Given an employee in the directory who clocked in just now
    user = f"E2E-DASH-EMP-{uuid.uuid4().hex[:8].upper()}"
    call(stack, "PUT", f"/employees/{user}", {"name": "Ada Example", "department": "Sales"})
    now = datetime.now(UTC).replace(microsecond=0).isoformat()
    device = f"E2E-DASH-DEV-{uuid.uuid4().hex[:6].upper()}"
    call(stack, "POST", "/punches", {"deviceId": device, "userId": user, "timestamp": now, "type": "in"})
    # and worked an hour and a half yesterday
    yesterday = (datetime.now(UTC) - timedelta(days=1)).replace(hour=8, minute=0, second=0, microsecond=0)
    for at, kind in ((yesterday, "in"), (yesterday + timedelta(minutes=90), "out")):
        call(
            stack,
            "POST",
            "/punches",
            {"deviceId": device, "userId": user, "timestamp": at.isoformat(), "type": kind},
        )

    # When an admin opens Employees
    sign_in(page, stack)
    page.get_by_role("link", name="Employees", exact=True).click()
    expect(page.get_by_role("heading", name="Employees", level=1)).to_be_visible()

    # Then the employee is listed with their department and today's status
    page.get_by_label("Filter").fill(user)
    listed = page.locator(f'tr[data-key="{user}"]')
    expect(listed).to_contain_text("Ada Example")
    expect(listed).to_contain_text("Sales")
    expect(listed.get_by_text("in", exact=True)).to_be_visible()

    # When the admin opens their page, then it shows the recent punches and this week's timesheet
    listed.get_by_role("link", name=user).click()
    expect(page.get_by_role("heading", name=f"Ada Example ({user})", level=1)).to_be_visible()
    expect(page.get_by_role("table", name=f"Punches of {user} by day")).to_be_visible()
    sheet = page.get_by_role("table", name=f"Timesheet of {user}")
    expect(sheet).to_be_visible()
    # and another range on asking: the two days up to today (the stack's zone is UTC)
    today = datetime.now(UTC).date()
    first = today - timedelta(days=1)
    page.get_by_label("From", exact=True).fill(first.isoformat())
    page.get_by_label("To", exact=True).fill(today.isoformat())
    page.get_by_role("button", name="Show timesheet").click()
    chosen = page.get_by_role("table", name=f"Timesheet of {user}, {first} to {today}")
    expect(chosen.get_by_role("cell", name=today.isoformat(), exact=True)).to_be_visible()
    # with each day's figures in the words of the Reports page
    worked = chosen.locator(f'tr[data-key="{first}"] td[data-label="Worked"]')
    expect(worked).to_have_text("1 h 30 min")

    # When the admin changes the department
    page.get_by_label("Department").fill("Logistics")
    page.get_by_role("button", name="Save changes").click()
    # Then the page shows the change, and so does the API
    expect(page.locator(".employee-facts")).to_contain_text("Logistics")
    assert call(stack, "GET", f"/employees/{user}").json()["department"] == "Logistics"

    # When the admin gives them a schedule of their own, from yesterday (the field says today until changed,
    # and what a change does to the days before)
    page.get_by_label("Give them their own schedule").check()
    page.get_by_label("Shift start").fill("06:00")
    page.get_by_label("Shift end").fill("14:00")
    # (in the schedule's zone: one where it is already, or still, another day than in the company's UTC)
    applies = page.get_by_label("Applies from")
    elsewhere = next(
        z for z in ("Pacific/Kiritimati", "Etc/GMT+12") if datetime.now(ZoneInfo(z)).date() != today
    )
    page.get_by_label("Schedule time zone").fill(elsewhere)
    expect(applies).to_have_value(datetime.now(ZoneInfo(elsewhere)).date().isoformat())
    page.get_by_label("Schedule time zone").fill("UTC")
    expect(applies).to_have_value(today.isoformat())
    expect(page.locator(".schedule-note")).to_have_text(
        "A schedule change applies from this day on: the reports of the days before keep the schedule that held "
        "then, so a pay period already paid keeps its figures. A day before an earlier change replaces it from "
        "that day on."
    )
    applies.fill(first.isoformat())
    page.get_by_role("button", name="Save changes").click()
    # Then the timesheet on the page is computed again with it, and the API says from when it applies
    schedule = page.get_by_role("table", name=f"Timesheet of {user}").locator('td[data-label="Schedule"]')
    expect(schedule.first).to_have_text("06:00-14:00 UTC")
    history = call(stack, "GET", f"/employees/{user}/schedule").json()
    assert (history["effectiveFrom"], history["schedule"]["label"]) == (first.isoformat(), "06:00-14:00 UTC")

    # When the admin types a zone that does not exist (the field suggests the zones the browser knows)
    zone = page.get_by_label("Schedule time zone")
    assert page.locator("#edit-known-zones option[value='Europe/Berlin']").count() == 1
    zone.fill("Mars/Olympus")
    page.get_by_role("button", name="Save changes").click()
    # Then the problem is said at the field, which is marked invalid and focused, and above it by its label
    expect(page.get_by_role("alert")).to_have_text("Schedule time zone: unknown time zone 'Mars/Olympus'")
    expect(zone).to_have_attribute("aria-invalid", "true")
    expect(zone).to_have_accessible_description("unknown time zone 'Mars/Olympus'")
    expect(zone).to_be_focused()
    # and once it is put right, the mark goes
    zone.fill("Europe/Berlin")
    page.get_by_role("button", name="Save changes").click()
    expect(schedule.first).to_have_text("06:00-14:00 Europe/Berlin")
    expect(zone).not_to_have_attribute("aria-invalid", "true")

    # When the admin puts them back on the company's default schedule: the box unticked, saved
    own = page.get_by_label("Give them their own schedule")
    expect(own).to_have_accessible_name(re.compile("untick to put them on the company's default schedule"))
    own.uncheck()
    page.get_by_role("button", name="Save changes").click()
    # Then the page says so, their schedule is no longer their own, and the timesheet is computed again
    expect(page.get_by_text("Ada Example saved, on ")).to_be_visible()
    expect(page.locator(".employee-facts")).not_to_contain_text("06:00-14:00 Europe/Berlin")
    expect(schedule.first).not_to_have_text("06:00-14:00 Europe/Berlin")
    after = call(stack, "GET", f"/employees/{user}").json()["schedule"]
    assert after is None or after["isDefault"], after
    # (the label says which: the shared stack may or may not have a default by now)
    stays = (
        "they stay on the company's default schedule"
        if after
        else "they stay without one; the company has no default"
    )
    expect(own).to_have_accessible_name(re.compile(f"unticked: {stays}"))

    # When the admin records that today is their last working day
    last_day = datetime.now(UTC).date().isoformat()  # the stack's zone is UTC
    page.get_by_label("Last working day").fill(last_day)
    page.get_by_role("button", name="Save changes").click()
    # Then their page says they are leaving, and the directory keeps the day
    expect(page.locator(".employee-facts")).to_contain_text(f"leaving: last day {last_day}")
    assert call(stack, "GET", f"/employees/{user}").json()["leftOn"] == last_day

    # When the admin gives a first working day after the last, the API's reason is shown at the field
    page.get_by_label("First working day").fill("2099-01-04")
    page.get_by_role("button", name="Save changes").click()
    # (the fields called as the form labels them)
    expect(page.get_by_role("alert")).to_contain_text(
        f"Last working day ({last_day}) is before First working day (2099-01-04)"
    )
    expect(page.get_by_label("Last working day")).to_have_attribute("aria-invalid", "true")
    # And with a first day before it, their page shows it and the directory keeps it
    page.get_by_label("First working day").fill("2024-03-01")
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator(".employee-facts")).to_contain_text("First working day2024-03-01")
    assert call(stack, "GET", f"/employees/{user}").json()["startedOn"] == "2024-03-01"


def test_someone_who_left_is_listed_as_left_not_absent(page, stack: RunningStack) -> None:
    # Given someone whose last working day was yesterday, and who has not punched since
    user = f"E2E-LEFT-{uuid.uuid4().hex[:8].upper()}"
    yesterday = (datetime.now(UTC).date() - timedelta(days=1)).isoformat()
    call(stack, "PUT", f"/employees/{user}", {"name": "Lou Left", "leftOn": yesterday})
    # When an admin opens Employees
    sign_in(page, stack)
    page.get_by_role("link", name="Employees", exact=True).click()
    # Then they are counted apart from the absent, and not listed with those who work here
    expect(page.get_by_role("list", name="Employees by status today")).to_contain_text("left")
    page.get_by_label("Filter").fill(user)
    row = page.locator(f'tr[data-key="{user}"]')
    expect(page.get_by_text(re.compile(r"\d+ who ha(s|ve) left not shown"))).to_be_visible()
    expect(row).to_have_count(0)
    # When the admin asks to see those who have left, they are listed as left, with their last day
    page.get_by_label("Show those who have left").check()
    expect(row.locator(".badge")).to_have_text("left")
    expect(row).to_contain_text(f"last day {yesterday}")


def test_someone_who_starts_next_week_is_listed_as_starting_not_absent(page, stack: RunningStack) -> None:
    # Given a new hire whose first working day is next week
    user = f"E2E-NEW-{uuid.uuid4().hex[:8].upper()}"
    first_day = (datetime.now(UTC).date() + timedelta(days=7)).isoformat()
    call(stack, "PUT", f"/employees/{user}", {"name": "Nia New", "startedOn": first_day})
    # When an admin opens Employees
    sign_in(page, stack)
    page.get_by_role("link", name="Employees", exact=True).click()
    # Then they are counted as starting, apart from the absent, and listed with their first day
    expect(page.get_by_role("list", name="Employees by status today")).to_contain_text("starting")
    page.get_by_label("Filter").fill(user)
    row = page.locator(f'tr[data-key="{user}"]')
    expect(row.locator(".badge")).to_have_text("starting")
    expect(row).to_contain_text(f"first day {first_day}")


def test_a_status_count_lists_only_those_with_that_status(page, stack: RunningStack) -> None:
    # Given one employee who came in just now, one who works every day and has not punched today, and one
    # with no schedule, whom nobody expects on any day
    tag = uuid.uuid4().hex[:6].upper()
    present, away, unscheduled = f"E2E-IN-{tag}", f"E2E-AWAY-{tag}", f"E2E-FREE-{tag}"
    every_day = {"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "start": "00:00", "end": "23:59"}
    for user, fields in (
        (present, {"name": "Ines Here"}),
        (away, {"name": "Abe Away", "schedule": every_day | {"timeZone": "UTC"}}),
        (unscheduled, {"name": "Fay Free"}),
    ):
        call(stack, "PUT", f"/employees/{user}", fields)
    stack.post_punch("E2E-STATUS-DOOR", present)
    # When HR opens Employees and chooses the absent count
    sign_in(page, stack)
    page.goto(f"{stack.api_url}/#/employees")
    counts = page.get_by_role("list", name="Employees by status today")
    absent = counts.get_by_role("button", name=re.compile("absent$"))
    absent.click()
    # Then only the absent are listed, the count says it is chosen, and keeps the keyboard's focus
    expect(absent).to_have_attribute("aria-pressed", "true")
    expect(absent).to_be_focused()
    listed = page.get_by_role("table", name=re.compile(r"employees: absent$"))
    expect(listed.locator(f'tr[data-key="{away}"]')).to_have_count(1)
    expect(listed.locator(f'tr[data-key="{present}"]')).to_have_count(0)
    expect(listed.locator(f'tr[data-key="{unscheduled}"]')).to_have_count(0)
    expect(listed.locator(".badge")).to_have_text(["absent"] * listed.locator("tbody tr").count())
    # When they choose those not expected today, then the one without a schedule is listed, saying why
    counts.get_by_role("button", name=re.compile("not expected$")).click()
    free = page.locator(f'tr[data-key="{unscheduled}"]')
    expect(free).to_contain_text("not expected no schedule")
    # When they choose the in count instead, then the one who came in is listed and not the absent one
    counts.get_by_role("button", name=re.compile("in$")).click()
    expect(page.locator(f'tr[data-key="{present}"]')).to_have_count(1)
    expect(page.locator(f'tr[data-key="{away}"]')).to_have_count(0)
    # and choosing it again lists everyone
    counts.get_by_role("button", name=re.compile("in$")).click()
    expect(page.get_by_role("table", name=re.compile("employees, status today"))).to_be_visible()
    expect(page.locator(f'tr[data-key="{away}"]')).to_have_count(1)


@pytest.mark.console_allows(r"status of 404")  # the browser's own line: the ID is not in the directory
def test_an_id_not_in_the_directory_has_its_punches_shown_and_can_be_added(page, stack: RunningStack) -> None:
    # Given an ID that clocked in at a door but is in no directory
    user = f"E2E-NEW-{uuid.uuid4().hex[:8].upper()}"
    now = datetime.now(UTC).replace(microsecond=0).isoformat()
    call(
        stack,
        "POST",
        "/punches",
        {"deviceId": "E2E-NEW-DOOR", "userId": user, "timestamp": now, "type": "in"},
    )
    # When an admin follows a link to it
    sign_in(page, stack)
    page.goto(f"{stack.api_url}/#/employees/{user}")
    # Then the page says it is not in the directory, and still shows its punches
    expect(page.get_by_role("heading", name=f"Employee {user}", level=1)).to_be_visible()
    expect(page.get_by_text(f"{user} is not in the directory.")).to_be_visible()
    days = page.get_by_role("table", name=f"Punches of {user} by day")
    expect(days.get_by_role("cell", name=datetime.now(UTC).date().isoformat(), exact=True)).to_be_visible()
    expect(page.get_by_role("table", name=f"Timesheet of {user}")).to_be_visible()
    # When the admin adds it, with a name and a department
    page.get_by_label("Name").fill("Nina Newcomer")
    page.get_by_label("Department").fill("Warehouse")
    page.get_by_role("button", name="Add to the directory").click()
    # Then it is an employee: its page says so, the form is for changes now, and the API has it
    expect(page.get_by_role("heading", name=f"Nina Newcomer ({user})", level=1)).to_be_visible()
    expect(page.locator(".employee-facts")).to_contain_text("Warehouse")
    expect(page.get_by_text(f"{user} is not in the directory.")).to_have_count(0)
    expect(page.get_by_role("button", name="Save changes")).to_be_visible()
    assert call(stack, "GET", f"/employees/{user}").json()["name"] == "Nina Newcomer"


def a_clock_on_another_day(stack: RunningStack, prefix: str) -> tuple[str, str]:
    """A clock registered in a zone where it is already, or still, another day than in the company's (UTC),
    and that zone."""
    today = datetime.now(UTC).date()
    zone = next(z for z in ("Pacific/Kiritimati", "Etc/GMT+12") if datetime.now(ZoneInfo(z)).date() != today)
    return register_clock(stack, prefix, timeZone=zone), zone


def test_a_missed_punch_at_a_clock_in_another_zone_is_dated_by_that_clocks_today(
    page, stack: RunningStack
) -> None:
    # Given a clock in a zone where it is already, or still, another day than in the company's (UTC)
    device, elsewhere = a_clock_on_another_day(stack, "E2E-FAR-DEV")
    user = f"E2E-FAR-{uuid.uuid4().hex[:8].upper()}"
    call(stack, "PUT", f"/employees/{user}", {"name": "Fay Far"})
    sign_in(page, stack)
    page.goto(f"{stack.api_url}/#/employees/{user}")
    # When an admin chooses that clock to add a missed punch
    page.get_by_label("Clock", exact=True).select_option(device)
    # Then the date is that clock's today, and no later day can be chosen: its time is entered as it shows it
    clock_today = datetime.now(ZoneInfo(elsewhere)).date().isoformat()
    date_field = page.get_by_label("Date", exact=True)
    expect(date_field).to_have_value(clock_today)
    expect(date_field).to_have_attribute("max", clock_today)
    expect(page.get_by_label("Time", exact=True)).to_have_accessible_description(
        f"the clock's time, {elsewhere}"
    )


def test_the_day_a_missing_punch_is_asked_for_stays_whichever_clock_is_then_chosen(
    page, stack: RunningStack
) -> None:
    # Given a clock in a zone where it is already, or still, another day than in the company's (UTC)
    far, elsewhere = a_clock_on_another_day(stack, "E2E-PICKED-FAR")
    today = datetime.now(UTC).date()
    # and an employee whose check-out at a clock in the company's zone, at midnight, has no check-in today
    front = register_clock(stack, "E2E-PICKED-DEV", name="Front door")
    user = f"E2E-PICKED-{uuid.uuid4().hex[:8].upper()}"
    call(stack, "PUT", f"/employees/{user}", {"name": "Pia Picked"})
    checked_out = {"deviceId": front, "userId": user, "timestamp": f"{today}T00:00:00", "type": "out"}
    call(stack, "POST", "/punches", checked_out)
    sign_in(page, stack)
    page.goto(f"{stack.api_url}/#/employees/{user}")
    day = page.get_by_role("table", name=f"Punches of {user} by day").locator(f'tr[data-key="{today}"]')
    expect(day).to_contain_text("missing in")
    clock = page.get_by_label("Clock", exact=True)
    expect(clock).to_have_value(front)  # the clock they used last, whose today is the company's

    # When the admin asks to add today's missing check-in, then looks at the other clock
    day.get_by_role("button", name=f"Add the missing in of {today}").click()
    date_field = page.get_by_label("Date", exact=True)
    expect(date_field).to_have_value(today.isoformat())
    clock.select_option(far)
    # Then the day they asked for stays: it is no longer a suggestion that follows the clock's today
    expect(page.get_by_label("Time", exact=True)).to_have_accessible_description(
        f"the clock's time, {elsewhere}"
    )
    expect(date_field).to_have_value(today.isoformat())
    # and nor does it move when they go back to the clock they meant
    clock.select_option(front)
    expect(date_field).to_have_value(today.isoformat())
    expect(page.get_by_label("Type", exact=True)).to_have_value("in")


@pytest.mark.console_allows(r"status of 409")  # the browser's own line for the punch added twice
def test_an_admin_adds_a_forgotten_check_out_and_the_day_adds_up(page, stack: RunningStack) -> None:
    # Given an employee who clocked in at a registered clock yesterday and forgot to clock out
    user = f"E2E-MISSED-{uuid.uuid4().hex[:8].upper()}"
    device = register_clock(stack, "E2E-MISSED-DEV", name="Side door")
    call(stack, "PUT", f"/employees/{user}", {"name": "Max Missed"})
    yesterday = datetime.now(UTC).date() - timedelta(days=1)  # the stack's zone is UTC
    clocked_in = {"deviceId": device, "userId": user, "timestamp": f"{yesterday}T08:00:00", "type": "in"}
    call(stack, "POST", "/punches", clocked_in)
    # and clocked in today at the main gate: the clock the form offers first
    gate = register_clock(stack, "E2E-MISSED-GATE", name="Main gate")
    now = datetime.now(UTC).replace(microsecond=0, tzinfo=None).isoformat()
    call(stack, "POST", "/punches", {"deviceId": gate, "userId": user, "timestamp": now, "type": "in"})
    # When an admin opens their page, then yesterday is missing its check-out
    sign_in(page, stack)
    page.goto(f"{stack.api_url}/#/employees/{user}")
    day = page.get_by_role("table", name=f"Punches of {user} by day").locator(f'tr[data-key="{yesterday}"]')
    expect(day).to_contain_text("missing out")

    clock = page.get_by_label("Clock", exact=True)
    expect(clock).to_have_value(gate)  # their last clock today

    # When the admin asks to add that day's missing check-out
    day.get_by_role("button", name=f"Add the missing out of {yesterday}").click()
    # Then the form is filled for it, at the clock of that day, whose time it asks for, and waits for it
    expect(page.get_by_label("Date", exact=True)).to_have_value(yesterday.isoformat())
    expect(page.get_by_label("Type", exact=True)).to_have_value("out")
    expect(clock).to_have_value(device)
    time = page.get_by_label("Time", exact=True)
    expect(time).to_have_accessible_description("the clock's time, UTC")
    expect(time).to_be_focused()
    # When the admin gives 16:30 at the side door, in that clock's time, and adds it
    time.fill("16:30")
    page.get_by_role("button", name="Add punch").click()
    # Then the page says so, and the day adds up: eight and a half hours, nothing missing
    expect(page.get_by_text(f"Added: Out at 16:30 on {yesterday} at {device}")).to_be_visible()
    expect(day.locator('td[data-label="Worked"]')).to_have_text("8 h 30 min")
    expect(day).not_to_contain_text("missing out")
    expect(day.locator('td[data-label="Punches"]')).to_have_text(
        "2 1 by hand"
    )  # for whoever checks the hours
    sheet = page.get_by_role("table", name=f"Timesheet of {user}")
    expect(sheet.locator(f'tr[data-key="{yesterday}"] td[data-label="Worked"]')).to_have_text("8 h 30 min")
    # and it is stored as added by hand, and reaches the HR system like any punch
    punches = call(stack, "GET", f"/devices/{device}/punches").json()["punches"]
    added = next(p for p in punches if p["type"] == "out")
    assert (added["userId"], added["localTime"], added["source"]) == (user, f"{yesterday}T16:30:00", "manual")
    wait_for(lambda: added["logId"] in stack.crm_log_ids())

    # When the admin adds it again
    page.get_by_role("button", name="Add punch").click()
    # Then nothing is added twice
    expect(page.get_by_text(f"Already recorded: {user} has this punch")).to_be_visible()
    assert len(call(stack, "GET", f"/devices/{device}/punches").json()["punches"]) == 2
    # When the admin then adds an out at 08:00 by mistake, on the minute of the check-in
    time.fill("08:00")
    page.get_by_role("button", name="Add punch").click()
    # Then the page does not call it recorded: it was not added, as it is too close to another punch
    refusal = page.get_by_role("alert")
    expect(refusal).to_contain_text(f"Not added: {user} has another punch less than 60 s from this one")
    expect(page.get_by_text("Already recorded")).to_have_count(0)
    assert len(call(stack, "GET", f"/devices/{device}/punches").json()["punches"]) == 2


@pytest.mark.console_allows(r"status of 400")  # the browser's own line for the refused edits
def test_a_refusal_calls_the_fields_by_the_forms_labels_not_the_apis_names(page, stack: RunningStack) -> None:
    # Given an admin on an employee's page, in a browser that lets any number through (the fields' own
    # limits taken off, so that the API is the one to refuse them)
    user = f"LABELS-{uuid.uuid4().hex[:8].upper()}"
    call(stack, "PUT", f"/employees/{user}", {"name": "Lea Label"})
    sign_in(page, stack)
    page.goto(f"{stack.api_url}/#/employees/{user}")
    expect(page.get_by_role("heading", name=f"Lea Label ({user})", level=1)).to_be_visible()
    page.locator("#edit-vacation-days, #edit-grace").evaluate_all(
        "inputs => inputs.forEach((input) => input.removeAttribute('max'))"
    )

    # When they save a vacation allowance and a grace beyond what the API takes
    page.get_by_label("Vacation days a year").fill("400")
    page.get_by_label("Give them their own schedule").check()
    page.get_by_label("Grace (minutes)").fill("300")
    page.get_by_role("button", name="Save changes").click()

    # Then the refusal names both fields as the form labels them, not by the API's names
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Vacation days a year: ")
    expect(alert).to_contain_text("Grace (minutes): ")
    expect(alert).not_to_contain_text("vacationDaysPerYear")
    expect(alert).not_to_contain_text("graceMinutes")
    # and each field is marked at fault
    expect(page.get_by_label("Vacation days a year")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Grace (minutes)")).to_have_attribute("aria-invalid", "true")

    # When the request carries a field the form does not have, which the API refuses
    def with_a_stranger(route) -> None:
        body = json.loads(route.request.post_data or "{}") | {"nickname": "Lea"}
        route.continue_(post_data=json.dumps(body))

    page.get_by_label("Vacation days a year").fill("20")
    page.get_by_label("Grace (minutes)").fill("5")
    page.route(f"**/employees/{user}", with_a_stranger)
    page.get_by_role("button", name="Save changes").click()

    # Then that one keeps the API's name
    expect(alert).to_contain_text("nickname: ")


@pytest.mark.console_allows(
    r"status of 404"
)  # the browser's own line: the new ID is not in the directory yet
def test_an_admin_adds_an_employee_from_the_directory(page, stack: RunningStack) -> None:
    user = f"NEW-{uuid.uuid4().hex[:8].upper()}"
    # Given an admin on the Employees page
    sign_in(page, stack)
    page.get_by_role("link", name="Employees", exact=True).click()
    add = page.get_by_role("form", name="Add an employee")
    new_id = add.get_by_label("Employee ID")
    # When they give an ID the clocks could not have (a space), then the form holds it back, saying why
    new_id.fill("has space")
    add.get_by_role("button", name="Add").click()
    assert new_id.evaluate("input => input.validity.patternMismatch")
    expect(page.get_by_role("heading", name="Employees", level=1)).to_be_visible()
    # When they give a new one, then its page opens with the form to add them, the cursor in Name
    new_id.fill(user)
    add.get_by_role("button", name="Add").click()
    expect(page.get_by_role("heading", name=f"Employee {user}", level=1)).to_be_visible()
    expect(page.get_by_label("Name")).to_be_focused()
    # When they fill it in and add them
    page.get_by_label("Name").fill("Nia Newcomer")
    page.get_by_label("Department").fill("Support")
    page.get_by_role("button", name="Add to the directory").click()
    # Then they are in the directory, listed with their department
    expect(page.get_by_role("heading", name=f"Nia Newcomer ({user})", level=1)).to_be_visible()
    page.get_by_role("link", name="← All employees").click()
    page.get_by_label("Filter").fill(user)
    expect(page.locator(f'tr[data-key="{user}"]')).to_contain_text("Support")
    # When the ID is given again, then their page opens as it is, and the page says they are there already
    new_id.fill(user)
    add.get_by_role("button", name="Add").click()
    expect(page.get_by_text(f"{user} is already in the directory: Nia Newcomer.")).to_be_visible()
    expect(page.get_by_role("heading", name=f"Nia Newcomer ({user})", level=1)).to_be_visible()
    expect(page.get_by_role("button", name="Save changes")).to_be_visible()


def test_hr_opens_a_days_punches_and_voids_the_one_punched_twice(page, stack: RunningStack) -> None:
    # Given an employee who badged in twice yesterday by mistake, then out
    user = f"E2E-TWICE-{uuid.uuid4().hex[:8].upper()}"
    call(stack, "PUT", f"/employees/{user}", {"name": "Tina Twice"})
    yesterday = datetime.now(UTC).date() - timedelta(days=1)  # the stack's zone is UTC
    log_ids = {
        time: stack.post_punch(
            "E2E-TWICE-DOOR", user, datetime.fromisoformat(f"{yesterday}T{time}:00+00:00"), kind
        )
        for kind, time in [("in", "08:00"), ("in", "08:20"), ("out", "16:30")]
    }
    wait_for(lambda: set(log_ids.values()) <= stack.crm_log_ids())
    # When an admin opens their page: yesterday looks wrong
    sign_in(page, stack)
    page.goto(f"{stack.api_url}/#/employees/{user}")
    day = page.get_by_role("table", name=f"Punches of {user} by day").locator(f'tr[data-key="{yesterday}"]')
    expect(day).to_contain_text("duplicate-looking sequence")

    # When they open that day's punches from its punch count
    count = day.get_by_role("button", name=f"The 3 punches of {user} on {yesterday}")
    count.click()
    # Then the three are listed in time order, each delivered
    expect(count).to_have_attribute("aria-expanded", "true")
    listed = page.get_by_role("table", name=f"The punches of {user} that make up {yesterday}")
    rows = listed.locator("tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.locator('td[data-label="Type"]')).to_have_text(["in", "in", "out"])
    expect(rows.locator('td[data-label="Delivery"]').get_by_text("delivered", exact=True)).to_have_count(3)

    # When they void the second in, with a reason
    second = listed.locator(f'tr[data-key="{log_ids["08:20"]}"]')
    second.get_by_role("button", name=re.compile("^Void ")).click()
    expect(page.get_by_role("dialog")).to_contain_text("Void Tina Twice's in punch")
    page.get_by_role("dialog").get_by_label("Reason").fill("badged twice")
    page.get_by_role("dialog").get_by_role("button", name="Void").click()
    # Then, once it has left the CRM, the day is right: two punches, 8 h 30 min worked, nothing odd
    expect(rows).to_have_count(2)
    expect(rows.locator('td[data-label="Time"]')).to_contain_text(["08:00", "16:30"])
    expect(day.locator('td[data-label="Punches"]')).to_have_text("2")
    expect(day.locator('td[data-label="Worked"]')).to_have_text("8 h 30 min")
    expect(day).not_to_contain_text("duplicate-looking sequence")
    # and so is the timesheet over that day (the current week's may not hold yesterday, on a Monday)
    page.get_by_label("From", exact=True).fill(yesterday.isoformat())
    page.get_by_role("button", name="Show timesheet").click()
    sheet = page.get_by_role("table", name=f"Timesheet of {user}")
    expect(sheet.locator(f'tr[data-key="{yesterday}"] td[data-label="Worked"]')).to_have_text("8 h 30 min")
    assert log_ids["08:20"] not in stack.crm_log_ids()
    assert {log_ids["08:00"], log_ids["16:30"]} <= stack.crm_log_ids()


def test_hr_corrects_a_check_out_the_clock_recorded_as_a_check_in(page, stack: RunningStack) -> None:
    # Given an employee whose evening check-out the clock recorded as a check-in yesterday
    user = f"E2E-FIX-{uuid.uuid4().hex[:8].upper()}"
    call(stack, "PUT", f"/employees/{user}", {"name": "Otto Outwards"})
    yesterday = datetime.now(UTC).date() - timedelta(days=1)  # the stack's zone is UTC
    at = {time: datetime.fromisoformat(f"{yesterday}T{time}:00+00:00") for time in ("08:00", "16:30")}
    morning, wrong = (stack.post_punch("E2E-FIX-DOOR", user, moment, "in") for moment in at.values())
    wait_for(lambda: {morning, wrong} <= stack.crm_log_ids())
    # When an admin opens that day's punches on the employee's page
    sign_in(page, stack)
    page.goto(f"{stack.api_url}/#/employees/{user}")
    day = page.get_by_role("table", name=f"Punches of {user} by day").locator(f'tr[data-key="{yesterday}"]')
    expect(day).to_contain_text("missing out")
    day.get_by_role("button", name=f"The 2 punches of {user} on {yesterday}").click()
    listed = page.get_by_role("table", name=f"The punches of {user} that make up {yesterday}")
    rows = listed.locator("tbody tr")
    expect(rows.locator('td[data-label="Type"]')).to_have_text(["in", "in"])

    # When they void the 16:30 in, to be added again as an out
    listed.locator(f'tr[data-key="{wrong}"]').get_by_role("button", name=re.compile("^Void ")).click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Reason").fill("pressed In on the way out")
    correction = dialog.get_by_label("Add it again as (for a punch of the wrong type)")
    expect(correction.locator("option")).to_have_text(
        ["Nothing: only void it", "Out", "Break out", "Break in", "Overtime in", "Overtime out"]
    )
    correction.select_option("out")
    dialog.get_by_role("button", name="Void").click()
    expect(page.get_by_text("Voiding Otto Outwards's punch")).to_contain_text("comes back as out")

    # Then, once the worker is done, the day is an in and an out, 8 h 30 min, nothing missing
    expect(rows.locator('td[data-label="Type"]')).to_have_text(["in", "out added by hand"])
    expect(rows.locator('td[data-label="Time"]')).to_contain_text(["08:00", "16:30"])
    expect(day.locator('td[data-label="Worked"]')).to_have_text("8 h 30 min")
    expect(day).not_to_contain_text("missing out")
    expect(day.locator('td[data-label="Punches"]')).to_contain_text("1 by hand")

    # and the CRM holds the check-in and the check-out (once the worker has delivered it), not the wrong
    # check-in
    def held() -> list[tuple[str, bool]]:
        punches = [punch["body"] for punch in stack.crm_held()["punches"] if punch["body"]["userId"] == user]
        return sorted((punch["type"], punch["logId"] == wrong) for punch in punches)

    wait_for(lambda: len(held()) > 1)
    assert held() == [("in", False), ("out", False)]
    # and the Deliveries page lists the correction for review: whose punch, why, and what it became
    page.get_by_role("link", name="Deliveries", exact=True).click()
    voided = page.get_by_role("table", name=re.compile("^Voided punches, latest first")).locator(
        f'tr[data-key="{wrong}"]'
    )
    expect(voided.locator('td[data-label="Employee"]')).to_contain_text("Otto Outwards")
    expect(voided.locator('td[data-label="Status"]')).to_have_text("voided")
    expect(voided.locator('td[data-label="Reason"]')).to_have_text("pressed In on the way out")
    expect(voided.locator('td[data-label="Added again as"]')).to_have_text("out")
    how = voided.locator('td[data-label="How it went"]')
    expect(how).to_contain_text(re.compile(r"^Removed from the CRM \(its record [^)]+\); added again as out"))
    # (in words: the note as recorded is for admins, a click away)
    expect(how.get_by_text(re.compile(r"^voided; .* removed \(HTTP 204\) in the CRM"))).to_be_hidden()


@pytest.mark.console_allows(r"status of 409")  # the browser's own line for the refused correction
def test_a_refused_correction_is_said_in_the_void_dialog_at_its_field(page, stack: RunningStack) -> None:
    # Given a check-in corrected to a check-out yesterday (voided, and added again as an out)
    user = f"E2E-BACK-{uuid.uuid4().hex[:8].upper()}"
    call(stack, "PUT", f"/employees/{user}", {"name": "Bea Back"})
    yesterday = (datetime.now(UTC).date() - timedelta(days=1)).isoformat()  # the stack's zone is UTC
    wrong = stack.post_punch(
        "E2E-BACK-DOOR", user, datetime.fromisoformat(f"{yesterday}T16:30:00+00:00"), "in"
    )
    wait_for(lambda: wrong in stack.crm_log_ids())
    call(stack, "POST", f"/punches/{wrong}/void", {"reason": "pressed In", "correctedType": "out"})

    def punches() -> list[dict]:
        query = f"/reports/workday-punches?userId={user}&date={yesterday}"
        return call(stack, "GET", query).json()["punches"]

    wait_for(lambda: [punch["type"] for punch in punches()] == ["out"])
    # When an admin, on second thoughts, voids the out to have the in back
    sign_in(page, stack)
    page.goto(f"{stack.api_url}/#/employees/{user}")
    days = page.get_by_role("table", name=f"Punches of {user} by day")
    days.get_by_role("button", name=f"The 1 punch of {user} on {yesterday}").click()
    listed = page.get_by_role("table", name=f"The punches of {user} that make up {yesterday}")
    listed.get_by_role("button", name=re.compile("^Void ")).click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Reason").fill("it was an in after all")
    correction = dialog.get_by_label("Add it again as")
    correction.select_option("in")
    dialog.get_by_role("button", name="Void").click()
    # Then the dialog stays open and says why not, at "Add it again as", the reason kept for another try
    expect(dialog.get_by_role("alert")).to_contain_text("that in punch was stored before")
    expect(correction).to_have_attribute("aria-invalid", "true")
    expect(correction).to_have_accessible_description(re.compile("void this one alone"))
    expect(correction).to_be_focused()
    expect(dialog.get_by_label("Reason")).to_have_value("it was an in after all")
    page.screenshot(path=SCREENSHOTS / "void-refused-correction.png")
    # and voiding it alone, as it says, is done
    correction.select_option("")
    dialog.get_by_role("button", name="Void").click()
    expect(dialog).to_have_count(0)
    expect(listed.locator("tbody tr")).to_have_count(0)
    assert punches() == []


@pytest.mark.console_allows(r"status of 422")  # the browser's own line for the refused file
def test_an_admin_imports_the_directory_from_a_spreadsheets_csv(page, stack: RunningStack, tmp_path) -> None:
    # Given an employee in the Support department, and the spreadsheet HR keeps, which moves her to Sales
    # and has a newcomer (saved by Excel: a byte-order mark, CRLF, a quoted name)
    tag = uuid.uuid4().hex[:6].upper()
    moved, newcomer = f"IMP-{tag}-1", f"IMP-{tag}-2"
    call(stack, "PUT", f"/employees/{moved}", {"name": "Ida Moved", "department": "Support"})
    staff = tmp_path / "staff.csv"
    staff.write_bytes(
        f'\ufeffuserId,name,department\r\n{moved},Ida Moved,Sales\r\n{newcomer},"Neu, Nora",Ops\r\n'.encode()
    )
    # When an admin checks the file on the Employees page
    sign_in(page, stack)
    page.goto(f"{stack.api_url}/#/employees")
    page.get_by_text("Import employees from a CSV file").click()
    page.get_by_label("CSV file").set_input_files(staff)
    page.get_by_role("button", name="Check file").click()
    # Then it shows what the import does, and nothing has changed yet
    expect(
        page.get_by_text("staff.csv: 1 employee to add, 1 employee to change, 0 as they are.")
    ).to_be_visible()
    plan = page.get_by_role("table", name="What importing staff.csv does")
    expect(plan.locator(f'tr[data-key="{moved}"]')).to_contain_text("department: Support → Sales")
    expect(plan.locator(f'tr[data-key="{newcomer}"]')).to_contain_text("Neu, Nora, Ops")
    assert call(stack, "GET", f"/employees/{moved}").json()["department"] == "Support"
    # When they import it
    page.get_by_role("button", name="Import 2 changes").click()
    # Then the directory is the file's, listed at once
    expect(page.get_by_text("Imported staff.csv: 1 employee added, 1 changed.")).to_be_visible()
    directory = page.get_by_role("table", name=re.compile("employees, status today"))
    expect(directory.locator(f'tr[data-key="{newcomer}"]')).to_contain_text("Neu, Nora")
    expect(directory.locator(f'tr[data-key="{moved}"]')).to_contain_text("Sales")

    # When they download the directory to edit it, then the file is the API's export, with both in it
    with page.expect_download() as info:
        page.get_by_role("button", name="Download the directory (CSV)").click()
    assert info.value.suggested_filename == "employees.csv"
    saved = Path(info.value.path()).read_bytes()
    assert saved == call(stack, "GET", "/employees?format=csv").content
    assert f'{newcomer},"Neu, Nora",Ops,' in saved.decode("utf-8-sig")

    # When a file with a row missing its name is checked
    staff.write_text(f"userId,name\n{newcomer},Nora Neu\nIMP-{tag}-3,\n")
    page.get_by_label("CSV file").set_input_files(staff)
    page.get_by_role("button", name="Check file").click()
    # Then the line is named, and nothing is offered for import
    expect(page.get_by_role("alert")).to_have_text(
        "Nothing was imported. Fix this line of the file and check it again:"
    )
    expect(page.get_by_text(re.compile(r"^line 3: name"))).to_be_visible()
    expect(page.get_by_role("button", name=re.compile("^Import "))).to_have_count(0)


def test_a_delivery_told_while_a_days_punches_are_read_is_not_lost_with_the_reply(
    page, stack: RunningStack
) -> None:
    # Given an employee's punch of today that the CRM refuses for now (503: the worker will try again)
    user = f"E2E-DAYREAD-{uuid.uuid4().hex[:6]}"
    call(stack, "PUT", f"/employees/{user}", {"name": "Rita Race"})
    httpx.post(stack.crm_url + "/crm/_behaviour", json={"failUsers": [user], "status": 503}, timeout=5)
    past_the_first_minutes_of_today(2)
    log_id = stack.post_punch("DEV001", user, datetime.now(UTC) - timedelta(minutes=1))
    # and an admin opening the day's punches on the employee's page, the reply read before it is delivered
    # (held back)
    held = HeldReplies(page, "**/reports/workday-punches*")
    sign_in(page, stack)
    page.goto(f"{stack.api_url}/#/employees/{user}")
    day = datetime.now(UTC).date().isoformat()  # the stack's zone is UTC
    days = page.get_by_role("table", name=f"Punches of {user} by day")
    days.get_by_role("button", name=f"The 1 punch of {user} on {day}").click()
    before = held.first("the day's punches")
    assert before.json()["punches"][0]["syncStatus"] != "synced"
    # When the CRM takes it, and the feed tells the page before the reply comes
    with watching(stack, f"user:{user}") as client:
        httpx.post(stack.crm_url + "/crm/_behaviour", json={"failUsers": []}, timeout=5)
        assert next_event(client, "punch.delivered").punch.log_id == log_id
    time.sleep(1)  # the page's own feed connection heard it at the same time
    held.release()
    # Then the punch reads delivered, not what the older reply said
    listed = page.get_by_role("table", name=f"The punches of {user} that make up {day}")
    expect(listed.locator('td[data-label="Delivery"]').get_by_text("delivered", exact=True)).to_be_visible()


def clock_in_told_before_the_reply(stack: RunningStack, held: HeldReplies, user: str) -> None:
    """The employee clocks in (a minute ago); the reply held back comes once the feed has told the punch."""
    past_the_first_minutes_of_today(2)
    with watching(stack, f"user:{user}") as client:
        stack.post_punch("E2E-READ-DOOR", user, datetime.now(UTC) - timedelta(minutes=1))
        next_event(client, "punch.accepted")
    time.sleep(1)  # the page's own feed connection heard it at the same time
    held.release()


def test_a_punch_told_while_the_directory_is_read_shows_in_the_employees_status(
    page, stack: RunningStack
) -> None:
    # Given an employee with no punch today, and an admin opening Employees, whose directory is read before
    # the employee punches and its reply held back
    user = f"E2E-DIRREAD-{uuid.uuid4().hex[:6]}"
    call(stack, "PUT", f"/employees/{user}", {"name": "Dora Directory"})
    sign_in(page, stack)
    page.wait_for_load_state("networkidle")  # the Live page, where signing in lands, has read what it reads
    held = HeldReplies(page, "**/employees")
    page.get_by_role("link", name="Employees", exact=True).click()
    before = held.first("the employees")
    assert {e["userId"]: e["status"] for e in before.json()["employees"]}[user] != "in"
    # When the employee clocks in, and the feed tells the page before that reply comes
    clock_in_told_before_the_reply(stack, held, user)
    # Then the employee's status today is in, not what the older reply said
    listed = page.locator(f'tr[data-key="{user}"]')
    expect(listed.get_by_text("in", exact=True)).to_be_visible()


def test_a_punch_while_an_employees_page_reads_them_shows_in_their_status(page, stack: RunningStack) -> None:
    # Given an employee with no punch today, and an admin opening their page, which reads them before they
    # punch, its reply held back
    user = f"E2E-ONEREAD-{uuid.uuid4().hex[:6]}"
    call(stack, "PUT", f"/employees/{user}", {"name": "Ona Onepage"})
    sign_in(page, stack)
    held = HeldReplies(page, f"**/employees/{user}")
    page.goto(f"{stack.api_url}/#/employees/{user}")
    assert held.first("the employee").json()["status"] != "in"
    # When they clock in, and the feed tells the page before that reply comes
    clock_in_told_before_the_reply(stack, held, user)
    # Then their page says they are in, not what the older reply said
    expect(page.get_by_role("heading", name=f"Ona Onepage ({user})", level=1)).to_be_visible()
    today = page.locator(".employee-facts dt", has_text=re.compile("^Today$")).locator(
        "xpath=following-sibling::dd"
    )
    expect(today.get_by_text("in", exact=True)).to_be_visible()


UTC_WEEK = {"days": ["mon", "tue", "wed", "thu", "fri"], "start": "09:00", "end": "17:00", "timeZone": "UTC"}


def on_a_week_since_2025(stack: RunningStack, prefix: str, name: str) -> str:
    """A new employee on their own week schedule (09:00-17:00 UTC) since 2025: their userId."""
    user = f"{prefix}-{uuid.uuid4().hex[:6].upper()}"
    call(
        stack,
        "PUT",
        f"/employees/{user}",
        {"name": name, "schedule": UTC_WEEK | {"effectiveFrom": "2025-01-01"}},
    )
    return user


def test_a_schedule_change_saved_for_later_shows_beside_the_schedule_that_holds(
    page, stack: RunningStack
) -> None:
    # Given an employee on their own week schedule since 2025
    user = on_a_week_since_2025(stack, "E2E-NEXT", "Nell Next")
    # When an admin opens their page and saves nights from 5 January 2099
    sign_in(page, stack)
    page.goto(f"{stack.api_url}/#/employees/{user}")
    expect(page.get_by_role("heading", name=f"Nell Next ({user})", level=1)).to_be_visible()
    page.get_by_label("Shift start").fill("22:00")
    page.get_by_label("Shift end").fill("06:00")
    page.get_by_label("Applies from").fill("2099-01-05")
    page.get_by_role("button", name="Save changes").click()
    # Then their page says which schedule holds, since when, and which comes from when
    facts = page.locator(".employee-facts")
    expect(facts).to_contain_text("Schedule09:00-17:00 UTC, since 2025-01-01")
    expect(facts).to_contain_text("Next schedulefrom 2099-01-05: 22:00-06:00 UTC")
    # When, on the page opened again, the admin changes only the department
    page.reload()
    page.get_by_label("Department").fill("Night desk")
    page.get_by_role("button", name="Save changes").click()
    expect(facts).to_contain_text("Night desk")
    # Then the change saved for 2099 stands: the form's schedule, as it holds, is not sent again from today
    expect(facts).to_contain_text("Next schedulefrom 2099-01-05: 22:00-06:00 UTC")
    ahead = call(stack, "GET", f"/employees/{user}").json()["nextSchedule"]
    assert (ahead["effectiveFrom"], ahead["schedule"]["label"]) == ("2099-01-05", "22:00-06:00 UTC")
    # And the directory lists the change beneath the schedule
    page.get_by_role("link", name="← All employees").click()
    page.get_by_label("Filter").fill(user)
    cell = page.locator(f'tr[data-key="{user}"] td[data-label="Schedule"]')
    expect(cell).to_have_text("09:00-17:00 UTCfrom 2099-01-05: 22:00-06:00 UTC")
    page.screenshot(path=SCREENSHOTS / "employees-next-schedule.png", full_page=True)


def test_a_page_left_open_overnight_keeps_a_change_saved_for_later(page, stack: RunningStack) -> None:
    # Given an employee on a week schedule since 2025 with nights saved from 2099, and their page opened by an
    # admin yesterday, ten minutes before midnight (the stack's zone is UTC)
    user = on_a_week_since_2025(stack, "E2E-NIGHTLY", "Olga Open")
    nights = UTC_WEEK | {"start": "22:00", "end": "06:00", "effectiveFrom": "2099-01-05"}
    call(stack, "PUT", f"/employees/{user}", {"name": "Olga Open", "schedule": nights})
    today = datetime.now(UTC).date()
    page.clock.set_fixed_time(datetime.combine(today, datetime.min.time(), UTC) - timedelta(minutes=10))
    sign_in(page, stack)
    page.goto(f"{stack.api_url}/#/employees/{user}")
    expect(page.get_by_role("heading", name=f"Olga Open ({user})", level=1)).to_be_visible()
    expect(page.get_by_label("Applies from")).to_have_value((today - timedelta(days=1)).isoformat())
    # When, the next day, the admin changes only the department and saves
    page.clock.set_fixed_time(datetime.now(UTC))
    page.get_by_label("Department").fill("Mornings")
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator(".employee-facts")).to_contain_text("Mornings")
    # Then the schedule is as it was: no version from yesterday, and the nights still from 2099
    history = call(stack, "GET", f"/employees/{user}/schedule").json()
    assert (history["effectiveFrom"], history["schedule"]["label"]) == ("2099-01-05", "22:00-06:00 UTC")
    assert [version["effectiveFrom"] for version in history["history"]] == ["2025-01-01"]
    # And the day offered for a change is today's
    expect(page.get_by_label("Applies from")).to_have_value(today.isoformat())


def test_a_save_from_a_page_opened_before_another_admins_change_keeps_that_change(
    page, stack: RunningStack
) -> None:
    # Given an employee's page open in an admin's browser
    user = f"E2E-TWO-{uuid.uuid4().hex[:6].upper()}"
    call(
        stack,
        "PUT",
        f"/employees/{user}",
        {"name": "Tom Two", "department": "Sales", "vacationDaysPerYear": 25},
    )
    sign_in(page, stack)
    page.goto(f"{stack.api_url}/#/employees/{user}")
    expect(page.get_by_label("Department")).to_have_value("Sales")
    # When another admin (or an import) records their last working day and a new allowance meanwhile
    leaving = (datetime.now(UTC).date() + timedelta(days=30)).isoformat()
    changed = {"name": "Tom Two", "department": "Sales", "vacationDaysPerYear": 20, "leftOn": leaving}
    call(stack, "PUT", f"/employees/{user}", changed)
    # and the first admin changes only the department on the page opened before, and saves
    page.get_by_label("Department").fill("Support")
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator(".employee-facts")).to_contain_text("Support")
    # Then the other admin's changes stay, and the form shows the employee as saved
    saved = call(stack, "GET", f"/employees/{user}").json()
    assert (saved["department"], saved["leftOn"], saved["vacationDaysPerYear"]) == ("Support", leaving, 20)
    expect(page.get_by_label("Last working day")).to_have_value(leaving)
    expect(page.get_by_label("Vacation days a year")).to_have_value("20")


def test_a_schedule_changed_by_another_admin_since_the_page_opened_is_not_overwritten_unasked(
    page, stack: RunningStack
) -> None:
    # Given an employee on 09:00-17:00 of their own, whose page is open in an admin's browser
    user = f"E2E-RACE-{uuid.uuid4().hex[:6].upper()}"
    call(stack, "PUT", f"/employees/{user}", {"name": "Rae Race", "schedule": UTC_WEEK})
    sign_in(page, stack)
    page.goto(f"{stack.api_url}/#/employees/{user}")
    expect(page.get_by_label("Shift end")).to_have_value("17:00")
    # When another admin moves them to 08:00-16:00 meanwhile
    call(
        stack,
        "PUT",
        f"/employees/{user}",
        {"name": "Rae Race", "schedule": UTC_WEEK | {"start": "08:00", "end": "16:00"}},
    )
    # and this admin, on the page opened before, changes the shift's end to 18:00 and saves
    page.get_by_label("Shift end").fill("18:00")
    page.get_by_role("button", name="Save changes").click()
    # Then nothing is saved: the page says whose change it would undo, and what holds now
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text(
        "Not saved: another admin changed the schedule of Rae Race since this page showed it"
    )
    expect(alert).to_contain_text("08:00")
    expect(page.locator(".employee-facts")).to_contain_text("08:00")
    assert call(stack, "GET", f"/employees/{user}").json()["schedule"]["end"] == "16:00"
    # When the admin, having seen it, saves again
    page.get_by_role("button", name="Save changes").click()
    # Then their schedule holds
    expect(page.get_by_text("Saved.", exact=True)).to_be_visible()
    assert call(stack, "GET", f"/employees/{user}").json()["schedule"]["end"] == "18:00"


@pytest.mark.console_allows(r"status of 422")  # the browser's own line for the refused zone
def test_an_admin_sets_the_company_default_schedule_and_those_without_their_own_follow_it(
    page, stack: RunningStack
) -> None:
    # Given an employee without a schedule of their own, and a default week since 2025 (the shared stack's
    # default put back afterwards)
    user = f"E2E-DEFAULT-{uuid.uuid4().hex[:6].upper()}"
    call(stack, "PUT", f"/employees/{user}", {"name": "Dee Fault"})
    with kept_as_it_is(stack, "SchedulesTable", "userId"):
        call(stack, "PUT", "/default-schedule", UTC_WEEK | {"effectiveFrom": "2025-01-01"})
        # When an admin opens the company's default schedule on Employees and sets 08:00-16:00 from 2099
        sign_in(page, stack)
        page.get_by_role("link", name="Employees", exact=True).click()
        section = page.locator("details.default-schedule")
        section.locator("summary").click()
        form = page.get_by_role("form", name="Change the default schedule")
        form.get_by_label("Shift start").fill("08:00")
        form.get_by_label("Shift end").fill("16:00")
        form.get_by_label("Schedule time zone").fill("UTC")
        form.get_by_label("Applies from").fill("2099-01-05")
        form.get_by_role("button", name="Save default schedule").click()
        # Then its versions list it from that day, as the API has it
        latest = section.locator('tr[data-key="2099-01-05"]')
        expect(latest.locator("td")).to_have_text(["2099-01-05", "–", "08:00-16:00 UTC"])
        assert call(stack, "GET", "/default-schedule").json()["effectiveFrom"] == "2099-01-05"
        # And the directory shows it as the employee's next schedule, the default's
        page.get_by_label("Filter").fill(user)
        cell = page.locator(f'tr[data-key="{user}"] td[data-label="Schedule"]')
        expect(cell).to_have_text("09:00-17:00 UTC (default)from 2099-01-05: 08:00-16:00 UTC (default)")
        page.screenshot(path=SCREENSHOTS / "employees-default-schedule.png", full_page=True)
        # When the admin types a zone that does not exist, the problem is said at the field
        form.get_by_label("Schedule time zone").fill("Mars/Olympus")
        form.get_by_role("button", name="Save default schedule").click()
        expect(form.get_by_label("Schedule time zone")).to_have_accessible_description(
            "unknown time zone 'Mars/Olympus'"
        )
        # When the admin removes it from that day, confirming it
        form.get_by_label("Schedule time zone").fill("UTC")
        form.get_by_role("button", name="Remove from that day").click()
        page.get_by_role("dialog").get_by_role("button", name="Remove default").click()
        # Then from that day there is none, the days before keep the week, and the employee's next schedule
        # says so
        expect(section.locator('tr[data-key="2099-01-05"] td')).to_have_text(
            ["2099-01-05", "–", "none (removed)"]
        )
        expect(cell).to_have_text("09:00-17:00 UTC (default)from 2099-01-05: none")
        default = call(stack, "GET", "/default-schedule").json()
        assert (default["schedule"], default["effectiveFrom"]) == (None, "2099-01-05")
        assert [(v["effectiveFrom"], v["until"]) for v in default["history"]] == [
            ("2025-01-01", "2099-01-04")
        ]
