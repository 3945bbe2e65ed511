"""A pay period's totals as worked examples: each employee's work days added up, as payroll reads them;
against the calendar, holidays and leave."""

from datetime import date, datetime, time, timedelta

import pytest
from pydantic import ValidationError

from attendance.domain.clock import parse_zone
from attendance.domain.leave import Leave, LeaveKind, leave_by_day
from attendance.domain.period import TimeOff, expected_days, period_totals, scheduled_leave
from attendance.domain.punch import PunchType
from attendance.domain.timesheet import DayReport, Schedule, TimedPunch, compute_day

OFFICE = Schedule(start=time(9, 0), end=time(17, 0), grace_minutes=5, time_zone="Europe/Berlin")


def worked(
    user: str, on: str, *punches: tuple[str, str], by_hand: int = 0, time_off: TimeOff | None = None
) -> DayReport:
    """A finished work day from its punches ("HH:MM:SS" Berlin time, type); the last `by_hand` added by an
    admin; `time_off`: the holidays and leave that may give them the day off."""
    zone = parse_zone(OFFICE.time_zone)
    timed = [
        TimedPunch(
            datetime.fromisoformat(f"{on}T{at}").replace(tzinfo=zone),
            PunchType(kind),
            by_hand=index >= len(punches) - by_hand,
        )
        for index, (at, kind) in enumerate(punches)
    ]
    work_day = date.fromisoformat(on)
    day_off = (time_off or TimeOff()).day_off(user, work_day)
    return compute_day(user, work_day, timed, OFFICE, "Europe/Berlin", day_off=day_off)


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
    totals = period_totals(days, expected={"CARLA": None, "ANNA": None})
    # Then CARLA has a line of zeros beside ANNA's, in ID order, for payroll to notice
    assert [(line.user_id, line.work_days, line.worked_minutes, line.punches) for line in totals] == [
        ("ANNA", 1, 480, 2),
        ("CARLA", 0, 0, 0),
    ]


# ---- against the calendar: scheduled days, holidays, absences ----

WEEK = [date(2025, 4, 14) + timedelta(days=n) for n in range(7)]  # Monday 14 April to Sunday 20 April 2025
GOOD_FRIDAY = date(2025, 4, 18)
BERLIN = parse_zone("Europe/Berlin")


def test_a_week_on_the_office_schedule_with_a_holiday_and_a_day_missed():
    # Given the office's Monday-to-Friday week with Good Friday off, seen the following Monday
    expected = expected_days(OFFICE, WEEK, {GOOD_FRIDAY}, datetime(2025, 4, 21, 8, tzinfo=BERLIN))
    # And ANNA worked Monday, Tuesday, Thursday and (though no one asked her to) Saturday
    days = [
        worked("ANNA", f"2025-04-{day}", ("09:00:00", "in"), ("17:00:00", "out")) for day in (14, 15, 17, 19)
    ]
    # When the week is totalled
    (anna,) = period_totals(days, {"ANNA": expected})
    # Then four days were scheduled (Friday is a holiday, the weekend is not hers), and Wednesday is missed
    assert (anna.scheduled_days, anna.holidays, anna.absent_days) == (4, 1, (date(2025, 4, 16),))
    assert anna.work_days == 4  # Saturday's work counts, as any work day


def test_a_day_whose_shift_has_not_ended_is_no_absence_yet():
    # Given Wednesday at 16:59 Berlin time, one minute before the shift ends, and no punch that day
    now = datetime(2025, 4, 16, 16, 59, tzinfo=BERLIN)
    expected = expected_days(OFFICE, WEEK, set(), now)
    days = [worked("ANNA", f"2025-04-{day}", ("09:00:00", "in"), ("17:00:00", "out")) for day in (14, 15)]
    # When the week is totalled
    (anna,) = period_totals(days, {"ANNA": expected})
    # Then the whole week's five days are scheduled, and no day is missed yet: she may still come
    assert (anna.scheduled_days, anna.absent_days) == (5, ())
    # And a minute later, Wednesday is an absence
    later = expected_days(OFFICE, WEEK, set(), now + timedelta(minutes=1))
    assert period_totals(days, {"ANNA": later})[0].absent_days == (date(2025, 4, 16),)


def test_after_their_last_working_day_nothing_is_expected():
    # Given CARLA, whose last working day was Tuesday, who never punched that week
    after_the_week = datetime(2025, 5, 1, tzinfo=BERLIN)
    expected = expected_days(OFFICE, WEEK, {GOOD_FRIDAY}, after_the_week, (None, date(2025, 4, 15)))
    # When the week is totalled
    (carla,) = period_totals([], {"CARLA": expected})
    # Then only Monday and Tuesday were hers to work, both missed, and Good Friday is not hers to be off
    assert (carla.scheduled_days, carla.holidays, carla.absent_days) == (2, 0, tuple(WEEK[:2]))


def test_before_their_first_working_day_nothing_is_expected():
    # Given DORA, who starts on Thursday and works Thursday but not on her second day, Good Friday, a holiday
    after_the_week = datetime(2025, 5, 1, tzinfo=BERLIN)
    expected = expected_days(OFFICE, WEEK, {GOOD_FRIDAY}, after_the_week, (date(2025, 4, 17), None))
    days = [worked("DORA", "2025-04-17", ("09:00:00", "in"), ("17:00:00", "out"))]
    # When the week is totalled
    (dora,) = period_totals(days, {"DORA": expected})
    # Then Thursday alone was hers to work, and she did: no absence for the days before she started
    assert (dora.scheduled_days, dora.holidays, dora.absent_days) == (1, 1, ())


def test_without_a_schedule_nothing_is_known_to_be_expected():
    # Given DAN in the directory without any schedule, and an ID that punched but is not in the directory
    days = [worked("GHOST", "2025-04-14", ("09:00:00", "in"), ("17:00:00", "out"))]
    # When the week is totalled
    dan, ghost = period_totals(days, {"DAN": None})
    # Then neither has scheduled days or absences: no one can say which days were theirs
    assert [
        (line.user_id, line.scheduled_days, line.holidays, line.absent_days) for line in (dan, ghost)
    ] == [
        ("DAN", None, 0, ()),
        ("GHOST", None, 0, ()),
    ]


# ---- leave ----


def test_leave_days_are_counted_by_kind_and_are_no_absence():
    # Given ERIK's vacation from the Friday before to Wednesday (over the weekend and Good Friday's week),
    # then a sick Thursday, and the week seen after it
    away = leave_by_day(
        [
            Leave(user_id="ERIK", start=date(2025, 4, 11), end=date(2025, 4, 16), kind=LeaveKind.VACATION),
            Leave(user_id="ERIK", start=date(2025, 4, 17), end=date(2025, 4, 17), kind=LeaveKind.SICK),
        ]
    )["ERIK"]
    after_the_week = datetime(2025, 5, 1, tzinfo=BERLIN)
    expected = expected_days(OFFICE, WEEK, {GOOD_FRIDAY}, after_the_week, leave=away)
    # When the week is totalled, ERIK having worked no day of it
    (erik,) = period_totals([], {"ERIK": expected})
    # Then Monday to Thursday were scheduled (Friday a holiday), three on vacation and one sick: no absence;
    # the vacation's weekend days were no scheduled days, so they are not counted
    assert (erik.scheduled_days, erik.holidays, erik.absent_days) == (4, 1, ())
    assert erik.leave_days == {
        LeaveKind.VACATION: 3,
        LeaveKind.SICK: 1,
        LeaveKind.UNPAID: 0,
        LeaveKind.OTHER: 0,
    }


def test_a_day_without_leave_is_still_missed_and_work_on_leave_still_counts():
    # Given FINN on unpaid leave on Tuesday only, who came in on it anyway and missed Wednesday
    away = {date(2025, 4, 15): LeaveKind.UNPAID}
    expected = expected_days(OFFICE, WEEK, {GOOD_FRIDAY}, datetime(2025, 5, 1, tzinfo=BERLIN), leave=away)
    days = [worked("FINN", f"2025-04-{day}", ("09:00:00", "in"), ("17:00:00", "out")) for day in (14, 15, 17)]
    # When the week is totalled
    (finn,) = period_totals(days, {"FINN": expected})
    # Then Wednesday is his absence, Tuesday's work counts, and Tuesday is a leave day as recorded
    assert (finn.work_days, finn.absent_days, finn.leave_days[LeaveKind.UNPAID]) == (
        3,
        (date(2025, 4, 16),),
        1,
    )


def test_a_leave_is_a_range_of_at_most_a_year():
    # A leave of one day, and of a year and a day less one (366 days), are leaves
    assert list(Leave(user_id="A", start=date(2025, 4, 14), end=date(2025, 4, 14), kind="sick").days()) == [
        date(2025, 4, 14)
    ]
    Leave(user_id="A", start=date(2024, 1, 1), end=date(2024, 12, 31), kind="other")  # 366 days, a leap year
    # And one backwards, or of 367 days, is refused naming the rule
    with pytest.raises(ValidationError, match="'to' must not be before 'from'"):
        Leave(user_id="A", start=date(2025, 4, 14), end=date(2025, 4, 13), kind="sick")
    with pytest.raises(ValidationError, match="at most 366 days"):
        Leave(user_id="A", start=date(2024, 1, 1), end=date(2025, 1, 1), kind="other")


def test_a_leave_takes_the_scheduled_days_in_it_of_an_allowance():
    # Given a vacation from Saturday 12 April to Tuesday 22 April 2025, over Good Friday and Easter Monday
    easter = {GOOD_FRIDAY, date(2025, 4, 21)}
    vacation = Leave(user_id="ERIK", start=date(2025, 4, 12), end=date(2025, 4, 22), kind=LeaveKind.VACATION)
    # When the days it takes are counted on the office's Monday-to-Friday schedule
    taken = scheduled_leave(OFFICE, [vacation], easter)
    # Then they are the eleven days' weekdays less the two holidays: 14-17 and the 22nd
    assert sorted(taken) == [date(2025, 4, day) for day in (14, 15, 16, 17, 22)]
    assert set(taken.values()) == {LeaveKind.VACATION}
    # And for someone who left on the Wednesday, only Monday to Wednesday
    assert len(scheduled_leave(OFFICE, [vacation], easter, (None, date(2025, 4, 16)))) == 3


def test_a_day_whose_leaving_time_is_unknown_is_no_early_leave_day():
    # Given BEN back from lunch at 13:00 who never checked out, and the next day an out at 01:30 alone
    days = [
        worked("BEN", "2025-02-10", ("09:00:00", "in"), ("12:00:00", "out"), ("13:00:00", "in")),
        worked("BEN", "2025-02-11", ("01:30:00", "out")),
    ]
    # When the period is totalled
    (ben,) = period_totals(days)
    # Then neither day is counted as an early leave (nobody knows when he left), and both are days to check
    assert (ben.early_leave_days, ben.early_leave_minutes) == (0, 0)
    assert ben.anomaly_days == (date(2025, 2, 10), date(2025, 2, 11))


def test_the_calendar_gives_a_holiday_to_everyone_and_a_leave_to_whoever_takes_it():
    # Given Good Friday a holiday, and GRETA on vacation on the Thursday before it
    time_off = TimeOff(
        frozenset({GOOD_FRIDAY}),
        leave_by_day(
            [Leave(user_id="GRETA", start=date(2025, 4, 17), end=date(2025, 4, 17), kind=LeaveKind.VACATION)]
        ),
    )
    # When it is asked who has which day off
    asked = {
        (user_id, day.day): time_off.day_off(user_id, day)
        for user_id in ("GRETA", "HUGO")
        for day in (date(2025, 4, 16), date(2025, 4, 17), GOOD_FRIDAY)
    }
    # Then Good Friday is everyone's, Thursday GRETA's alone, and Wednesday nobody's
    assert asked == {
        ("GRETA", 16): False,
        ("GRETA", 17): True,
        ("GRETA", 18): True,
        ("HUGO", 16): False,
        ("HUGO", 17): False,
        ("HUGO", 18): True,
    }


def test_work_on_a_holiday_or_on_leave_is_overtime_and_no_late_or_early_leave_day():
    # Given GRETA on vacation on Thursday, who came in from 10:00 to 12:00 on it and on Good Friday, a holiday
    time_off = TimeOff(
        frozenset({GOOD_FRIDAY}),
        {"GRETA": {date(2025, 4, 17): LeaveKind.VACATION}},
    )
    days = [
        worked("GRETA", f"2025-04-{day}", ("10:00:00", "in"), ("12:00:00", "out"), time_off=time_off)
        for day in (17, 18)
    ]
    expected = expected_days(
        OFFICE, WEEK, time_off.holidays, datetime(2025, 5, 1, tzinfo=BERLIN), leave=time_off.leave_of("GRETA")
    )
    # When the week is totalled
    (greta,) = period_totals(days, {"GRETA": expected})
    # Then both days count as work days, all of their four hours overtime, neither late nor left early
    assert (greta.work_days, greta.worked_minutes, greta.overtime_minutes) == (2, 240, 240)
    assert (greta.late_days, greta.late_minutes, greta.early_leave_days, greta.early_leave_minutes) == (
        0,
        0,
        0,
        0,
    )
    # and Thursday is still a day of vacation, no absence (Monday to Wednesday, without a punch, are)
    assert (greta.leave_days[LeaveKind.VACATION], greta.absent_days) == (1, tuple(WEEK[:3]))
