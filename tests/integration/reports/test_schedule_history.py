"""Reports over schedule changes: each work day is computed with the schedule that held on it, so a month
already paid keeps its figures."""

from datetime import date, time

import boto3
import pytest

from attendance.data.employees import EmployeeStore
from attendance.domain.employees import Employee
from attendance.domain.timesheet import DEFAULT_SCHEDULE_ID, Schedule
from tests.integration.reports.conftest import NIGHTS, OFFICE

BERLIN = "Europe/Berlin"
DAYS = Schedule(days=frozenset(range(7)), start=time(9, 0), end=time(17, 0), time_zone=BERLIN)
OCTOBER = {"from": "2026-10-01", "to": "2026-10-31"}
DECEMBER = {"from": "2026-12-01", "to": "2026-12-31"}


@pytest.fixture
def night_worker(add_punch, schedules, stack):
    """NIGHT1 in the directory on nights (a schedule saved before history was kept): two nights in October,
    1020 minutes, the last night of November, and the first day shift of December."""
    EmployeeStore(boto3.client("dynamodb"), stack.refs["EmployeesTable"]).put(
        Employee(user_id="NIGHT1", name="Nils Night", started_on=date(2026, 10, 1))
    )
    schedules.put("NIGHT1", NIGHTS)
    for at, kind in [
        ("2026-10-05 22:00:00", "in"),
        ("2026-10-06 06:00:00", "out"),  # 480
        ("2026-10-06 21:30:00", "in"),
        ("2026-10-07 06:30:00", "out"),  # 540
        ("2026-11-30 22:00:00", "in"),
        ("2026-12-01 06:02:00", "out"),  # the last night: its check-out on the morning the days start
        ("2026-12-01 08:55:00", "in"),
        ("2026-12-01 17:05:00", "out"),
    ]:
        add_punch("NIGHT1", at, kind)


def nils(body: dict) -> dict:
    [line] = [line for line in body["rows"] if line["userId"] == "NIGHT1"]
    return line


def test_a_night_worker_moved_to_days_keeps_octobers_figures(night_worker, schedules, get):
    # Given October's period as payroll paid it
    status, paid, _ = get("/reports/period", **OCTOBER)
    assert (status, nils(paid)["workedMinutes"], nils(paid)["anomalyDays"]) == (200, 1020, [])
    # When NIGHT1 is moved to days from 1 December
    schedules.change("NIGHT1", DAYS, date(2026, 12, 1))
    # Then October's period is what was paid, to the figure (scheduled days, absences and all)
    assert get("/reports/period", **OCTOBER)[1] == paid
    # And the last night of November keeps its check-out, on the night shift
    _, sheet, _ = get("/reports/timesheet", userId="NIGHT1", **{"from": "2026-11-30", "to": "2026-12-01"})
    rows = {row["date"]: row for row in sheet["rows"]}
    assert (rows["2026-11-30"]["workedMinutes"], rows["2026-11-30"]["anomalies"]) == (482, [])
    assert rows["2026-11-30"]["schedule"] == "22:00-06:00 Europe/Berlin"
    # And December is by the day schedule: the first day shift on time, not a punch outside any shift
    assert (rows["2026-12-01"]["workedMinutes"], rows["2026-12-01"]["anomalies"]) == (490, [])
    assert rows["2026-12-01"]["schedule"] == "09:00-17:00 Europe/Berlin"
    assert nils(get("/reports/period", **DECEMBER)[1])["anomalyDays"] == []


def test_a_change_dated_back_replaces_what_held_from_that_day_on(night_worker, schedules, get):
    # Given NIGHT1 moved to days from 1 December, which was a mistake: the days started on 6 October
    schedules.change("NIGHT1", DAYS, date(2026, 12, 1))
    # When it is corrected
    schedules.change("NIGHT1", DAYS, date(2026, 10, 6))
    # Then the night of the 5th keeps the nights' figures; from the 6th the days' apply
    _, sheet, _ = get("/reports/timesheet", userId="NIGHT1", **{"from": "2026-10-05", "to": "2026-10-06"})
    labels = {row["date"]: row["schedule"] for row in sheet["rows"]}
    assert labels["2026-10-05"] == "22:00-06:00 Europe/Berlin"
    assert labels["2026-10-06"] == "09:00-17:00 Europe/Berlin"


def test_a_schedule_removed_from_a_day_leaves_the_days_before_with_it(a_day, schedules, get):
    # Given the office as the default and NIGHT1's nights (a_day), and the day's report as it was
    before = get("/reports/daily", date="2025-02-10")[1]
    # When NIGHT1's own schedule is removed from 1 March
    schedules.change("NIGHT1", None, date(2025, 3, 1))
    # Then 10 February is as it was: the nights held then
    assert get("/reports/daily", date="2025-02-10")[1] == before
    # And from March the default's office hours apply to them
    assert schedules.history("NIGHT1").on(date(2025, 3, 1)) is None


def test_a_change_of_the_default_leaves_the_days_before_it_on_the_old_default(a_day, schedules, get):
    # Given the day's report with ANNA and BEN on the office default
    before = get("/reports/daily", date="2025-02-10")[1]
    # When the default becomes every day 22:00-06:00 from 1 March
    schedules.change(DEFAULT_SCHEDULE_ID, NIGHTS, date(2025, 3, 1))
    # Then 10 February is as it was; a day of March is by the new default
    assert get("/reports/daily", date="2025-02-10")[1] == before
    assert schedules.history(DEFAULT_SCHEDULE_ID).on(date(2025, 3, 3)) == NIGHTS
    assert schedules.history(DEFAULT_SCHEDULE_ID).on(date(2025, 2, 28)) == OFFICE
