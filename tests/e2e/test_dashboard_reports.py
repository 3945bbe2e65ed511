"""The dashboard's Reports page in a real browser: the daily report and a timesheet as tables, and a CSV
download that is the API's own CSV, byte for byte."""

import re
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import expect

from local_stack.running import RunningStack
from tests.e2e.browser import SCREENSHOTS, sign_in
from tests.e2e.today import past_the_first_minutes_of_today

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def zone_of(page) -> str:
    return page.locator('meta[name="company-zone"]').get_attribute("content")


def worked_today(stack: RunningStack, page) -> tuple[str, str]:
    """A new employee who came in and left a few minutes ago; returns (user, work day in the company's zone)."""
    user = f"REP-{uuid.uuid4().hex[:10]}"
    past_the_first_minutes_of_today(6)
    now = datetime.now(UTC).replace(microsecond=0)
    arrived = now - timedelta(minutes=5)
    stack.post_punch("REPORTS1", user, arrived, "in")
    stack.post_punch("REPORTS1", user, now - timedelta(minutes=1), "out")
    return user, arrived.astimezone(ZoneInfo(zone_of(page))).date().isoformat()


def add_to_directory(stack: RunningStack, user: str, name: str, department: str | None = None) -> None:
    added = httpx.put(
        f"{stack.api_url}/employees/{user}",
        json={"name": name, "department": department},
        headers={"Authorization": f"Bearer {stack.api_key}"},
        timeout=15,
    )
    assert added.status_code in (200, 201), added.text


def test_the_daily_report_as_a_table_and_its_csv_is_the_apis(page, stack: RunningStack) -> None:
    # Given an admin signed in, and an employee in the directory who punched in and out today
    sign_in(page, stack)
    user, day = worked_today(stack, page)
    add_to_directory(stack, user, "Rhea Porter")
    # When they open Reports and ask for that day's report
    page.get_by_role("link", name="Reports", exact=True).click()
    daily = page.get_by_role("region", name="Daily report")
    date = daily.get_by_label("Date")
    expect(date).to_have_value(datetime.now(ZoneInfo(zone_of(page))).date().isoformat())  # today, by default
    date.fill(day)
    daily.get_by_role("button", name="Show report").click()
    # Then the employee's row is in the table, with both punches
    report = daily.get_by_role("table", name=f"Daily report, {day}")
    row = report.get_by_role("row").filter(has_text=user)
    expect(row).to_have_count(1)
    expect(row.locator('td[data-label="Employee"]')).to_have_text(
        f"Rhea Porter{user}"
    )  # the name, the ID under it
    expect(row.locator('td[data-label="Punches"]')).to_have_text("2")
    # and its punch count opens the two punches behind that day, each with its clock
    row.get_by_role("button", name=f"The 2 punches of {user} on {day}").click()
    behind = daily.get_by_role("table", name=f"The punches of {user} that make up {day}")
    expect(behind.locator('td[data-label="Type"]')).to_have_text(["in", "out"])
    expect(behind.locator('td[data-label="Device"]')).to_have_text(["REPORTS1", "REPORTS1"])
    expect(
        daily.get_by_role("heading", name=f"Punches of Rhea Porter ({user}), work day {day}")
    ).to_be_visible()
    # And Download CSV saves the API's own CSV for that day (the key only ever in a header)
    with page.expect_download() as info:
        daily.get_by_role("button", name="Download CSV").click()
    download = info.value
    assert download.suggested_filename == f"daily-{day}.csv"
    assert download.url.startswith("blob:")
    assert stack.api_key not in download.url
    saved = Path(download.path()).read_bytes()
    expected = httpx.get(
        stack.api_url + "/reports/daily",
        params={"date": day, "format": "csv"},
        headers={"Authorization": f"Bearer {stack.api_key}"},
        timeout=15,
    )
    assert expected.status_code == 200, expected.text
    assert saved == expected.content
    assert user in saved.decode("utf-8-sig")
    # When they step to the day before, and back
    daily.get_by_role("button", name="Day before").click()
    before = (datetime.fromisoformat(day) - timedelta(days=1)).date().isoformat()
    # Then the date and the report are the day before's, without the employee, then the day's again
    expect(date).to_have_value(before)
    expect(daily).to_contain_text(f" on {before}.")
    expect(daily.get_by_role("row").filter(has_text=user)).to_have_count(0)
    expect(behind).to_be_hidden()  # the day it showed is not in this report
    # and the address names it, so that a reload keeps the day
    expect(page).to_have_url(re.compile(f"#/reports/daily/{before}$"))
    page.reload()
    expect(date).to_have_value(before)  # (locators find the reloaded page's elements)
    daily.get_by_role("button", name="Day after").click()
    expect(date).to_have_value(day)
    expect(report.get_by_role("row").filter(has_text=user)).to_have_count(1)


@pytest.mark.console_allows(r"status of 422")  # the browser's own line for the refused 40-day range
def test_a_timesheet_for_a_range_and_the_apis_limit_told_plainly(page, stack: RunningStack) -> None:
    sign_in(page, stack)
    user, day = worked_today(stack, page)
    add_to_directory(stack, user, "Tomas Sheet")
    page.get_by_role("link", name="Reports", exact=True).click()
    sheet = page.get_by_role("region", name="Timesheet")
    expect(sheet.get_by_text("enter an employee ID")).to_be_visible()  # nothing asked yet
    # When they ask for the employee's timesheet over the week up to that day
    first = (datetime.fromisoformat(day) - timedelta(days=6)).date().isoformat()
    sheet.get_by_label("Employee ID").fill(user)
    sheet.get_by_label("From").fill(first)
    sheet.get_by_label("To").fill(day)
    sheet.get_by_role("button", name="Show timesheet").click()
    # Then one work day is in the table, said to be the employee's by name
    expect(sheet).to_contain_text(f"1 work day for Tomas Sheet ({user}), {first} to {day}.")
    table = sheet.get_by_role("table", name=f"Timesheet for Tomas Sheet ({user}), {first} to {day}")
    expect(table.locator("tbody tr")).to_have_count(1)
    expect(table.locator('td[data-label="Date"]')).to_have_text(day)
    # And a range over 31 days gets the API's own reason, where the table was
    sheet.get_by_label("From").fill((datetime.fromisoformat(day) - timedelta(days=40)).date().isoformat())
    sheet.get_by_role("button", name="Show timesheet").click()
    expect(sheet.get_by_role("alert")).to_have_text("a timesheet covers at most 31 days")
    expect(table).to_be_hidden()


def test_a_report_with_a_column_for_another_zone_stays_within_the_window(page, stack: RunningStack) -> None:
    # Given an employee whose schedule keeps another zone than the company's, who punched today
    user = f"REP-ZONE-{uuid.uuid4().hex[:8]}"
    schedule = {"days": ["mon", "tue", "wed", "thu", "fri"], "start": "08:00", "end": "16:00"}
    schedule["timeZone"] = "America/Argentina/Buenos_Aires"
    reply = httpx.put(
        f"{stack.api_url}/employees/{user}",
        json={"name": "Zoe Zone", "department": "Field", "schedule": schedule},
        headers={"Authorization": f"Bearer {stack.api_key}"},
        timeout=15,
    )
    assert reply.status_code < 300, reply.text
    now = datetime.now(UTC).replace(microsecond=0)
    stack.post_punch("REPORTS1", user, now - timedelta(minutes=3), "in")
    day = (now - timedelta(minutes=3)).astimezone(ZoneInfo(schedule["timeZone"])).date().isoformat()
    # When an admin on a 1280-pixel window shows that day's report for them
    page.set_viewport_size({"width": 1280, "height": 800})
    sign_in(page, stack)
    page.get_by_role("link", name="Reports", exact=True).click()
    daily = page.get_by_role("region", name="Daily report")
    daily.get_by_label("Date").fill(day)
    daily.get_by_label("Employee ID (optional)").fill(user)
    daily.get_by_role("button", name="Show report").click()
    # Then the table has its Zone column, and the page is no wider than the window (the table scrolls)
    report = daily.get_by_role("table", name=f"Daily report, {day}")
    expect(report.get_by_role("columnheader", name="Zone")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280


def test_a_pay_period_has_a_line_each_and_a_day_to_check_opens_in_the_daily_report(
    page, stack: RunningStack
) -> None:
    # Given an employee who worked today, and one who came in yesterday and never checked out
    sign_in(page, stack)
    user, day = worked_today(stack, page)
    team = f"Payroll {uuid.uuid4().hex[:6]}"
    add_to_directory(stack, user, "Paula Period", department=team)
    idle = f"IDLE-{uuid.uuid4().hex[:10]}"  # in the same team, before Paula by ID (lines are by ID), never punched
    add_to_directory(stack, idle, "Ivo Idle", department=team)
    forgetful = f"REP-{uuid.uuid4().hex[:10]}"
    came_in = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
    stack.post_punch("REPORTS1", forgetful, came_in, "in")
    yesterday = came_in.astimezone(ZoneInfo(zone_of(page))).date().isoformat()
    # and one whose check-out yesterday an admin added by hand (a missed punch): no anomaly left
    mended = f"REP-{uuid.uuid4().hex[:10]}"
    add_to_directory(stack, mended, "Mia Mended")
    stack.post_punch("REPORTS1", mended, came_in, "in")
    added = httpx.post(
        f"{stack.api_url}/employees/{mended}/punches",
        json={
            "deviceId": "REPORTS1",
            "timestamp": (came_in + timedelta(minutes=5)).isoformat(),
            "type": "out",
        },
        headers={"Authorization": f"Bearer {stack.api_key}"},
        timeout=15,
    )
    assert added.status_code < 300, added.text
    # When HR opens Reports and asks for the totals from yesterday to today
    page.get_by_role("link", name="Reports", exact=True).click()
    period = page.get_by_role("region", name="Pay period")
    period.get_by_label("From").fill(yesterday)
    period.get_by_label("To").fill(day)
    period.get_by_role("button", name="Show totals").click()
    # Then each has one line: Paula's one day of two punches, nothing to check
    totals = period.get_by_role("table", name=f"Pay period {yesterday} to {day}, one line per employee")
    paula = totals.get_by_role("row").filter(has_text=user)
    expect(paula.locator('td[data-label="Employee"]')).to_have_text(f"Paula Period{user}")
    expect(paula.locator('td[data-label="Days"]')).to_have_text("1")
    expect(paula.locator('td[data-label="Punches"]')).to_have_text("2")
    expect(paula.locator('td[data-label="To check"]')).to_have_text("–")
    # and the forgotten check-out's day is one to check, which opens in the daily report, for that employee
    forgot = totals.get_by_role("row").filter(has_text=forgetful)
    forgot.get_by_role("button", name=f"The daily report of {forgetful} on {yesterday}").click()
    daily = page.get_by_role("region", name="Daily report")
    expect(daily.get_by_label("Date")).to_have_value(yesterday)
    report = daily.get_by_role("table", name=f"Daily report, {yesterday} for {forgetful}")
    expect(report.locator('td[data-label="Anomalies"]')).to_have_text("missing out")
    # and the day with a punch added by hand is one to check too, said so
    mia = totals.get_by_role("row").filter(has_text=mended)
    expect(mia.locator('td[data-label="To check"]')).to_have_text(f"{yesterday}added by hand")
    # And Timesheet opens Paula's days over the period, the totals still there
    paula.get_by_role("button", name=f"Timesheet of {user}, {yesterday} to {day}").click()
    sheet = page.get_by_role("region", name="Timesheet")
    expect(sheet).to_contain_text(f"1 work day for Paula Period ({user}), {yesterday} to {day}.")
    expect(paula).to_be_visible()
    # And Download CSV saves the API's own file for the period
    with page.expect_download() as info:
        period.get_by_role("button", name="Download CSV").click()
    assert info.value.suggested_filename == f"period-{yesterday}-{day}.csv"
    expected = httpx.get(
        stack.api_url + "/reports/period",
        params={"from": yesterday, "to": day, "format": "csv"},
        headers={"Authorization": f"Bearer {stack.api_key}"},
        timeout=15,
    )
    assert expected.status_code == 200, expected.text
    assert Path(info.value.path()).read_bytes() == expected.content
    # And Last month and This month each pick a whole month in one click (this one up to today)
    this_month = datetime.now(ZoneInfo(zone_of(page))).date()
    last_month_ends = this_month.replace(day=1) - timedelta(days=1)
    period.get_by_role("button", name="Last month").click()
    expect(period.get_by_label("From")).to_have_value(last_month_ends.replace(day=1).isoformat())
    expect(period.get_by_label("To")).to_have_value(last_month_ends.isoformat())
    expect(period).to_contain_text(f", {last_month_ends.replace(day=1)} to {last_month_ends}.")
    period.get_by_role("button", name="This month").click()
    expect(period.get_by_label("From")).to_have_value(this_month.replace(day=1).isoformat())
    expect(period.get_by_label("To")).to_have_value(this_month.isoformat())
    # And a department, typed in any case (the directory's are offered), narrows the totals to its people
    department = period.get_by_label("Department (optional)")
    department.focus()
    expect(period.locator(f'datalist option[value="{team}"]')).to_have_count(1)
    department.fill(team.lower())
    period.get_by_role("button", name="Show totals").click()
    month = f"{this_month.replace(day=1)} to {this_month}"
    narrowed = period.get_by_role(
        "table", name=f"Pay period {month} in {team.lower()}, one line per employee"
    )
    expect(narrowed.locator('td[data-label="Employee"]')).to_have_text(
        [f"Ivo Idle{idle}", f"Paula Period{user}"]
    )
    # and a colleague in the directory without a punch this month has a line saying so, for payroll to see
    idle_days = narrowed.get_by_role("row").filter(has_text=idle).locator('td[data-label="Days"]')
    expect(idle_days).to_have_text("0 no punch")
    expect(period).to_contain_text("1 without a punch.")


def test_holidays_set_in_the_reports_page_are_no_absence_in_a_pay_period(page, stack: RunningStack) -> None:
    # Given an employee on a Monday-to-Friday schedule who punched on neither day of a past Monday and Tuesday
    sign_in(page, stack)
    user = f"ABS-{uuid.uuid4().hex[:10]}"
    team = f"Calendar {uuid.uuid4().hex[:6]}"
    office = {
        "days": ["mon", "tue", "wed", "thu", "fri"],
        "start": "09:00",
        "end": "17:00",
        "timeZone": "UTC",
        "effectiveFrom": "2024-01-01",  # the week below is its: a schedule applies from a day on
    }
    added = httpx.put(
        f"{stack.api_url}/employees/{user}",
        json={"name": "Abe Absent", "department": team, "schedule": office},
        headers={"Authorization": f"Bearer {stack.api_key}"},
        timeout=15,
    )
    assert added.status_code == 201, added.text
    # When an admin makes Tuesday 5 March 2024 a holiday on the Reports page
    page.get_by_role("link", name="Reports", exact=True).click()
    holidays = page.get_by_role("region", name="Holidays")
    holidays.get_by_label("Date", exact=True).fill("2024-03-05")
    holidays.get_by_label("Name", exact=True).fill("Founders' Day")
    holidays.get_by_role("button", name="Add holiday").click()
    # Then 2024's list shows it, with its weekday
    listed = holidays.get_by_role("table", name="Company holidays, 2024")
    founders = listed.get_by_role("row").filter(has_text="2024-03-05")
    expect(founders.locator("td")).to_have_text(["2024-03-05", "Tuesday", "Founders' Day", "Remove"])
    # And the pay period over that Monday and Tuesday counts Monday alone as scheduled, and missed
    period = page.get_by_role("region", name="Pay period")
    period.get_by_label("From").fill("2024-03-04")
    period.get_by_label("To").fill("2024-03-05")
    period.get_by_label("Department (optional)").fill(team)
    period.get_by_role("button", name="Show totals").click()
    line = period.get_by_role("row").filter(has_text=user)
    expect(line.locator('td[data-label="Days"]')).to_have_text("0 of 1 scheduled, 1 holiday")
    expect(line.locator('td[data-label="Absent"]')).to_have_text("12024-03-04")
    expect(period).to_contain_text("1 absent day in all.")
    # And the daily report of that Monday names him as absent, his page a click away
    daily = page.get_by_role("region", name="Daily report")
    daily.get_by_label("Date").fill("2024-03-04")
    daily.get_by_label("Department (optional)").fill(team)
    daily.get_by_role("button", name="Show report").click()
    expect(daily).to_contain_text(f"0 employees on 2024-03-04 in {team}. 1 absent.")
    absent = daily.get_by_role("list", name="Absent on 2024-03-04")
    expect(absent.get_by_role("link", name="Abe Absent")).to_have_attribute("href", f"#/employees/{user}")
    expect(absent).to_contain_text("09:00-17:00 UTC")
    page.screenshot(path=SCREENSHOTS / "reports-holidays.png", full_page=True)
    # And when the admin removes the holiday, the totals shown are read again: both days were owed
    founders.get_by_role("button", name="Remove Founders' Day on 2024-03-05").click()
    page.get_by_role("dialog").get_by_role("button", name="Remove holiday").click()
    expect(holidays).to_contain_text("No holidays in 2024.")
    expect(line.locator('td[data-label="Days"]')).to_have_text("0 of 2 scheduled")
    expect(line.locator('td[data-label="Absent"]')).to_have_text("22024-03-042024-03-05")
