"""Employees' leave in the dashboard, in a real browser: recorded and removed on an employee's page, and
counted on the Reports page (the pay period's days on leave, the daily report's who was on leave)."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from local_stack.running import RunningStack
from tests.e2e.browser import call, sign_in

pytestmark = pytest.mark.e2e

OFFICE = {"days": ["mon", "tue", "wed", "thu", "fri"], "start": "09:00", "end": "17:00", "timeZone": "UTC"}
OFFICE |= {"effectiveFrom": "2024-01-01"}  # the days below are its: a schedule applies from a day on


def test_a_leave_recorded_for_today_turns_the_pages_today_to_on_leave(page, stack: RunningStack) -> None:
    # Given an employee without a punch today, and an admin on their page
    user = f"E2E-TODAY-{uuid.uuid4().hex[:8].upper()}"
    call(stack, "PUT", f"/employees/{user}", {"name": "Tia Today"})
    today = datetime.now(UTC).date().isoformat()  # the stack's zone is UTC
    sign_in(page, stack)
    page.goto(f"{stack.api_url}/#/employees/{user}")
    facts = page.locator("dl.facts")
    expect(facts).not_to_contain_text("on leave")
    # When the admin records a sick day for today
    page.get_by_label("First day", exact=True).fill(today)
    page.get_by_label("Kind", exact=True).select_option("sick")
    page.get_by_role("button", name="Record leave").click()
    # Then Today says so without a reload
    expect(facts).to_contain_text("on leave sick")


@pytest.mark.console_allows(r"status of (409|422)")  # the browser's own lines for the refused leaves
def test_an_admin_records_leave_on_an_employees_page_and_removes_it(page, stack: RunningStack) -> None:
    # Given an employee in the directory with no leave, and an admin on their page
    user = f"E2E-LEAVE-{uuid.uuid4().hex[:8].upper()}"
    call(stack, "PUT", f"/employees/{user}", {"name": "Lena Leave", "schedule": OFFICE})
    today = datetime.now(UTC).date()  # this year's leave is listed; the stack's zone is UTC
    year, month = today.year, 3 if today.month > 6 else 9  # twelve days that are not today's
    first, last = f"{year}-{month:02d}-13", f"{year}-{month:02d}-24"
    sign_in(page, stack)
    page.goto(f"{stack.api_url}/#/employees/{user}")
    leave = page.get_by_role("region", name="Leave", exact=True)
    expect(leave.get_by_text(f"No leave recorded in {year}.")).to_be_visible()

    # When the admin records twelve days of vacation, with a note
    page.get_by_label("First day", exact=True).fill(first)
    page.get_by_label("Last day", exact=True).fill(last)
    page.get_by_label("Kind", exact=True).select_option("vacation")
    page.get_by_label("Note", exact=True).fill("booked early")
    page.get_by_role("button", name="Record leave").click()
    # Then the page says so, and the year's list has it: its days, the scheduled days it takes (the API's
    # count: the weekdays, less any holiday the shared stack holds then), its kind and its note
    expect(leave.get_by_text(f"Recorded: vacation from {first} to {last} (12 days).")).to_be_visible()
    stored = call(stack, "GET", f"/employees/{user}/leave?year={year}").json()["leave"]
    assert [{key: value for key, value in entry.items() if key != "scheduledDays"} for entry in stored] == [
        {"userId": user, "from": first, "to": last, "kind": "vacation", "note": "booked early"}
    ]
    scheduled = stored[0]["scheduledDays"]
    assert 7 <= scheduled <= 10  # twelve days hold two weekends, and none of them is a holiday of every day
    listed = leave.get_by_role("table", name=f"Leave of {user} in {year}")
    row = listed.locator(f'tr[data-key="{first}"]')
    expect(row.locator("td")).to_have_text(
        [first, last, "12", str(scheduled), "vacation", "booked early", "ChangeRemove"]
    )
    expect(leave.get_by_role("status")).to_have_text(
        f"1 leave in {year}: {scheduled} scheduled days in the year ({scheduled} vacation)."
    )

    # When they record a sick day on the vacation's last day
    page.get_by_label("First day", exact=True).fill(last)
    page.get_by_label("Kind", exact=True).select_option("sick")
    page.get_by_role("button", name="Record leave").click()
    # Then the API's refusal names the leave in the way, both days are marked, and nothing is added
    expect(leave.get_by_role("alert")).to_have_text(
        f"{user} is already on vacation leave from {first} to {last}"
    )
    expect(page.get_by_label("First day", exact=True)).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Last day", exact=True)).to_have_accessible_description(
        f"{user} is already on vacation leave from {first} to {last}"
    )
    expect(listed.locator("tbody tr")).to_have_count(1)

    # When the last day is put before the first, then the API's reason is said at the last day, the days
    # called as the form labels them
    page.get_by_label("First day", exact=True).fill(f"{year}-{month:02d}-28")
    page.get_by_label("Last day", exact=True).fill(f"{year}-{month:02d}-26")
    page.get_by_role("button", name="Record leave").click()
    expect(page.get_by_label("Last day", exact=True)).to_have_accessible_description(
        "'Last day' must not be before 'First day'"
    )
    expect(page.get_by_label("First day", exact=True)).not_to_have_attribute("aria-invalid", "true")

    # When the admin removes the vacation, confirming it
    row.get_by_role("button", name=f"Remove the vacation from {first}").click()
    page.get_by_role("dialog").get_by_role("button", name="Remove leave").click()
    # Then the list is empty again, and so is the API's
    expect(leave.get_by_text(f"No leave recorded in {year}.")).to_be_visible()
    assert call(stack, "GET", f"/employees/{user}/leave?year={year}").json()["count"] == 0


def test_leave_recorded_through_the_api_is_no_absence_in_the_reports(page, stack: RunningStack) -> None:
    # Given an employee on a Monday-to-Friday schedule who did not punch in the week of 4 March 2024, two
    # days of it on vacation and one sick
    user = f"E2E-AWAY-{uuid.uuid4().hex[:8].upper()}"
    team = f"Leave {uuid.uuid4().hex[:6]}"
    call(
        stack, "PUT", f"/employees/{user}", {"name": "Vera Vacation", "department": team, "schedule": OFFICE}
    )
    call(stack, "PUT", f"/employees/{user}/leave/2024-03-05", {"to": "2024-03-06", "kind": "vacation"})
    call(stack, "PUT", f"/employees/{user}/leave/2024-03-07", {"to": "2024-03-07", "kind": "sick"})
    # When HR shows that week's pay period for the team
    sign_in(page, stack)
    page.get_by_role("link", name="Reports", exact=True).click()
    period = page.get_by_role("region", name="Pay period")
    period.get_by_label("From", exact=True).fill("2024-03-04")
    period.get_by_label("To", exact=True).fill("2024-03-08")
    period.get_by_label("Department (optional)", exact=True).fill(team)
    period.get_by_role("button", name="Show totals").click()
    # Then the line counts the three days on leave, by kind, and only Monday and Friday as absent
    line = period.get_by_role("row").filter(has_text=user)
    expect(line.locator('td[data-label="Days"]')).to_have_text(
        "0 of 5 scheduled 3 on leave: 2 vacation, 1 sick"
    )
    expect(line.locator('td[data-label="Absent"]')).to_have_text("22024-03-042024-03-08")
    expect(period).to_contain_text("2 absent days in all. 3 days on leave (2 vacation, 1 sick).")

    # When HR shows the daily report of the Tuesday
    daily = page.get_by_role("region", name="Daily report")
    daily.get_by_label("Date", exact=True).fill("2024-03-05")
    daily.get_by_label("Department (optional)", exact=True).fill(team)
    daily.get_by_role("button", name="Show report").click()
    # Then she is on leave, not absent, her page a click away
    expect(daily).to_contain_text(f"0 employees on 2024-03-05 in {team}. 1 on leave.")
    away = daily.get_by_role("list", name="On leave on 2024-03-05")
    expect(away.get_by_role("link", name="Vera Vacation")).to_have_attribute("href", f"#/employees/{user}")
    expect(away).to_contain_text("vacation")
    expect(daily.get_by_role("list", name="Absent on 2024-03-05")).to_have_count(0)


def test_someone_on_leave_today_is_listed_as_on_leave_not_absent(page, stack: RunningStack) -> None:
    # Given an employee without a punch today, on sick leave since yesterday
    user = f"E2E-SICK-{uuid.uuid4().hex[:8].upper()}"
    call(stack, "PUT", f"/employees/{user}", {"name": "Sven Sick"})
    today = datetime.now(UTC).date()
    sick = {"to": (today + timedelta(days=3)).isoformat(), "kind": "sick"}
    call(stack, "PUT", f"/employees/{user}/leave/{(today - timedelta(days=1)).isoformat()}", sick)
    # When an admin opens Employees
    sign_in(page, stack)
    page.get_by_role("link", name="Employees", exact=True).click()
    # Then they are counted as on leave, apart from the absent, and listed with the leave's kind
    expect(page.get_by_role("list", name="Employees by status today")).to_contain_text("on leave")
    page.get_by_label("Filter").fill(user)
    row = page.locator(f'tr[data-key="{user}"]')
    expect(row.locator(".badge")).to_have_text("on leave")
    expect(row).to_contain_text("sick")


def test_an_admin_sets_a_vacation_allowance_and_sees_what_is_left(page, stack: RunningStack) -> None:
    # Given an employee on the office schedule with a week's vacation this year (Monday to Friday: five
    # scheduled days, less any holiday the shared stack holds then), and no allowance yet
    user = f"E2E-ALLOW-{uuid.uuid4().hex[:8].upper()}"
    call(stack, "PUT", f"/employees/{user}", {"name": "Alma Allowance", "schedule": OFFICE})
    year = datetime.now(UTC).year
    monday = next(
        day for day in (datetime(year, 3, d, tzinfo=UTC).date() for d in range(2, 9)) if day.weekday() == 0
    )
    friday = monday + timedelta(days=4)
    call(stack, "PUT", f"/employees/{user}/leave/{monday}", {"to": friday.isoformat(), "kind": "vacation"})
    taken = call(stack, "GET", f"/employees/{user}/leave?year={year}").json()["scheduledDays"]["vacation"]
    sign_in(page, stack)
    page.goto(f"{stack.api_url}/#/employees/{user}")
    leave = page.get_by_role("region", name="Leave", exact=True)
    expect(leave.get_by_role("status")).not_to_contain_text("Vacation allowance")
    # When the admin gives them 20 vacation days a year and saves
    page.get_by_label("Vacation days a year", exact=False).fill("20")
    page.get_by_role("button", name="Save changes").click()
    # Then the page shows the allowance, and the Leave section what is left of it this year
    expect(page.locator("dl.facts")).to_contain_text("20 days")
    expect(leave.get_by_role("status")).to_contain_text(
        f"Vacation allowance: {20 - taken} of 20 days left in {year}."
    )
    assert call(stack, "GET", f"/employees/{user}").json()["vacationDaysPerYear"] == 20


def test_typing_the_first_day_of_a_recorded_leave_shows_it_to_change(page, stack: RunningStack) -> None:
    # Given an employee's sick leave of three days, with a note, recorded this year
    user = f"E2E-RETYPE-{uuid.uuid4().hex[:8].upper()}"
    call(stack, "PUT", f"/employees/{user}", {"name": "Rex Retype", "schedule": OFFICE})
    year = datetime.now(UTC).year
    first, last = f"{year}-02-09", f"{year}-02-11"
    call(
        stack,
        "PUT",
        f"/employees/{user}/leave/{first}",
        {"to": last, "kind": "sick", "note": "flu, doctor's note"},
    )
    sign_in(page, stack)
    page.goto(f"{stack.api_url}/#/employees/{user}")
    leave = page.get_by_role("region", name="Leave", exact=True)
    expect(leave.locator(f'tr[data-key="{first}"]')).to_be_visible()
    # When an admin types its first day in the form
    page.get_by_label("First day", exact=True).fill(first)
    # Then the form shows that leave, to change
    expect(page.get_by_label("Last day", exact=True)).to_have_value(last)
    expect(page.get_by_label("Kind", exact=True)).to_have_value("sick")
    expect(page.get_by_label("Note", exact=True)).to_have_value("flu, doctor's note")
    # And when they put its last day a day later and save, the rest stays as it was
    page.get_by_label("Last day", exact=True).fill(f"{year}-02-12")
    page.get_by_role("button", name="Change leave").click()
    expect(leave.get_by_text(f"Changed: sick leave from {first} to {year}-02-12 (4 days).")).to_be_visible()
    [stored] = call(stack, "GET", f"/employees/{user}/leave?year={year}").json()["leave"]
    assert (stored["to"], stored["kind"], stored["note"]) == (f"{year}-02-12", "sick", "flu, doctor's note")
