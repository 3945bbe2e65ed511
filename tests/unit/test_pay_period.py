"""A pay period's totals as worked examples: each employee's work days added up, as payroll reads them."""

from datetime import date, datetime, time

from attendance.domain.clock import parse_zone
from attendance.domain.period import period_totals
from attendance.domain.punch import PunchType
from attendance.domain.timesheet import DayReport, Schedule, TimedPunch, compute_day

OFFICE = Schedule(start=time(9, 0), end=time(17, 0), grace_minutes=5, time_zone="Europe/Berlin")


def worked(user: str, on: str, *punches: tuple[str, str], by_hand: int = 0) -> DayReport:
    """A finished work day from its punches ("HH:MM:SS" Berlin time, type); the last `by_hand` added by an
    admin."""
    zone = parse_zone(OFFICE.time_zone)
    timed = [
        TimedPunch(
            datetime.fromisoformat(f"{on}T{at}").replace(tzinfo=zone),
            PunchType(kind),
            by_hand=index >= len(punches) - by_hand,
        )
        for index, (at, kind) in enumerate(punches)
    ]
    return compute_day(user, date.fromisoformat(on), timed, OFFICE, "Europe/Berlin")


def test_a_fortnight_adds_up_to_its_days_as_their_rows_show_them():
    # Given ANNA's three days: on time with a break, late by 20 min and gone 30 min early, and a day she
    # forgot to check out (an admin added nothing), each day's times with seconds a row leaves out
    days = [
        worked(
            "ANNA",
            "2025-02-10",
            ("08:58:30", "in"),
            ("12:00:00", "break_out"),
            ("12:30:00", "break_in"),
            ("17:05:40", "out"),
        ),
        worked("ANNA", "2025-02-11", ("09:20:00", "in"), ("16:30:50", "out")),
        worked("ANNA", "2025-02-12", ("09:00:00", "in")),
    ]
    # When the period is totalled
    (anna,) = period_totals(days)
    # Then each duration is the sum of the days' whole minutes: 457 + 430 + 0 worked (8 h 7 min 10 s less
    # the 30 min break is 457 min; 7 h 10 min 50 s is 430), not the 888 the seconds would add up to
    assert (anna.user_id, anna.work_days, anna.punches) == ("ANNA", 3, 7)
    assert (anna.worked_minutes, anna.break_minutes, anna.overtime_minutes) == (457 + 430, 30, 5)
    assert (anna.late_days, anna.late_minutes) == (1, 20)
    assert (anna.early_leave_days, anna.early_leave_minutes) == (1, 29)
    # and the day with the missing check-out is named, for HR to fix before payroll
    assert anna.anomaly_days == (date(2025, 2, 12),)


def test_one_line_per_employee_by_id_with_what_was_added_by_hand():
    # Given BEN's day whose check-out an admin added, and ANNA's day of the clock's own punches, unordered
    days = [
        worked("BEN", "2025-02-10", ("09:00:00", "in"), ("17:00:00", "out"), by_hand=1),
        worked("ANNA", "2025-02-10", ("09:00:00", "in"), ("17:00:00", "out")),
        worked("BEN", "2025-02-11", ("09:00:00", "in"), ("17:00:00", "out")),
    ]
    # When the period is totalled
    totals = period_totals(days)
    # Then there is one line per employee, by ID, and BEN's says one punch was added by hand
    assert [(line.user_id, line.work_days, line.worked_minutes, line.added_by_hand) for line in totals] == [
        ("ANNA", 1, 480, 0),
        ("BEN", 2, 960, 1),
    ]
    assert all(line.anomaly_days == () for line in totals)


def test_no_work_days_no_lines():
    assert period_totals([]) == []


def test_an_expected_employee_without_a_work_day_has_a_line_of_zeros():
    # Given ANNA's day, and CARLA in the directory with no punch in the period (on leave, say)
    days = [worked("ANNA", "2025-02-10", ("09:00:00", "in"), ("17:00:00", "out"))]
    # When the period is totalled for everyone expected
    totals = period_totals(days, expected=["CARLA", "ANNA"])
    # Then CARLA has a line of zeros beside ANNA's, in ID order, for payroll to notice
    assert [(line.user_id, line.work_days, line.worked_minutes, line.punches) for line in totals] == [
        ("ANNA", 1, 480, 2),
        ("CARLA", 0, 0, 0),
    ]
