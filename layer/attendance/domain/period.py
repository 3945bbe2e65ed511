"""A pay period's totals: each employee's work days (domain/timesheet.py) over the period, summed.

Payroll reads one line per employee: how many days they worked, for how long, how much of it was overtime,
how often and by how much they came late or left early, and which days someone should look at before the
hours are paid (a day with an anomaly, a day with punches added by hand).

Against the calendar, for an employee in the directory with a schedule (their own or the default), each day
by the schedule that held on it (domain/schedule_history.py):
- Scheduled days: the period's days on the schedule's weekdays, from their first working day to their last
  (where the directory knows them), less the company's holidays. A holiday on one of those weekdays is
  counted apart, as a holiday.
- Leave days: the scheduled days they were on leave (domain/leave.py), counted by kind; no absence.
- Absent days: the scheduled days, not on leave, whose shift is over without a work day of theirs (not a
  single punch). A day whose shift has not ended yet is no absence: they may still come.
- Days off (TimeOff): a holiday, or a day of their leave, asks no work of them, whatever their schedule says.
  Work on one counts as a work day, judged as on a day off the schedule (domain/timesheet.py): no lateness
  or early leave, all of it overtime.
Without a schedule nobody knows which days were expected: no scheduled days, no absences (on a day without
one, none that day).
"""

from collections import Counter
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from attendance.domain.holidays import Holiday
from attendance.domain.leave import Leave, LeaveKind, days_away, leave_by_day
from attendance.domain.timesheet import DayReport, Schedule, whole_minutes

# The schedule holding on a day (domain/schedule_history.py); None: none that day
ScheduleOn = Callable[[date], Schedule | None]


@dataclass(frozen=True)
class TimeOff:
    """The company's holidays and everyone's leave over some days (leave by userId, the kind of each day):
    what, besides a schedule, says who is expected at work when."""

    holidays: frozenset[date] = frozenset()
    leave: Mapping[str, Mapping[date, LeaveKind]] = field(default_factory=dict)

    @classmethod
    def of(cls, holidays: Iterable[Holiday], leave: Iterable[Leave]) -> "TimeOff":
        """From the holidays and the leave as read."""
        return cls(frozenset(holiday.day for holiday in holidays), leave_by_day(leave))

    def leave_of(self, user_id: str) -> Mapping[date, LeaveKind]:
        return self.leave.get(user_id, {})

    def day_off(self, user_id: str, day: date) -> bool:
        """Whether the calendar gives them `day` off, whatever their schedule says (see the module's rules)."""
        return day in self.holidays or day in self.leave_of(user_id)


@dataclass(frozen=True)
class Expected:
    """What the calendar asked of one employee over a period (see the module's rules)."""

    scheduled: tuple[date, ...]  # in date order
    holidays: int  # holidays on the schedule's weekdays, while employed
    due: frozenset[date]  # the scheduled days not on leave whose shift is over: without a punch, an absence
    leave: Mapping[date, LeaveKind] = field(default_factory=dict)  # the scheduled days on leave

    def leave_days(self) -> Counter[LeaveKind]:
        """How many scheduled days they were on leave, by kind."""
        return Counter(self.leave.values())

    def absences(self, worked_on: Collection[date]) -> tuple[date, ...]:
        """The days due without a work day among `worked_on`, in date order."""
        return tuple(day for day in self.scheduled if day in self.due and day not in worked_on)


def expected_days(
    schedule: Schedule | ScheduleOn,
    days: Iterable[date],
    holidays: Collection[date],
    now: datetime,
    employed: tuple[date | None, date | None] = (None, None),
    leave: Mapping[date, LeaveKind] | None = None,
) -> Expected:
    """The scheduled days among `days` of someone on `schedule` (one for every day, or the one holding on
    each), at `now`; `employed`: their first and last working days (None: not known to have started, still
    employed); `leave`: their days away, by kind."""
    leave = leave or {}
    schedule_on = _by_day(schedule)
    first, last = employed
    working = sorted(
        day
        for day in days
        if (held := schedule_on(day)) is not None
        and day.weekday() in held.days
        and (first is None or day >= first)
        and (last is None or day <= last)
    )
    scheduled = tuple(day for day in working if day not in holidays)
    return Expected(
        scheduled=scheduled,
        holidays=len(working) - len(scheduled),
        due=frozenset(day for day in scheduled if day not in leave and _shift_end(schedule_on, day) <= now),
        leave={day: leave[day] for day in scheduled if day in leave},
    )


def _by_day(schedule: Schedule | ScheduleOn) -> ScheduleOn:
    return (lambda _: schedule) if isinstance(schedule, Schedule) else schedule


def _shift_end(schedule_on: ScheduleOn, day: date) -> datetime:
    held = schedule_on(day)
    assert held is not None  # a scheduled day has a schedule
    return held.shift_on(day)[1]


_EPOCH = datetime.fromtimestamp(0, UTC)  # `now` for expected_on, which reads no day as due


def expected_on(
    schedule: Schedule | None,
    day: date,
    holidays: Collection[date],
    employed: tuple[date | None, date | None],
) -> bool:
    """Whether the calendar expects someone at work on `day`: a day of their schedule (none: nobody knows),
    not a holiday, while they work here; leave aside. The rule behind every scheduled day above."""
    return (
        schedule is not None and day in expected_days(schedule, [day], holidays, _EPOCH, employed).scheduled
    )


@dataclass(frozen=True)
class PeriodTotals:
    """Durations in minutes, each the sum of the work days' whole minutes: the period adds up to the rows of
    the same employee's timesheet, which is what whoever checks it will add up."""

    user_id: str
    work_days: int  # work days with at least one punch
    worked_minutes: int
    break_minutes: int
    overtime_minutes: int
    late_days: int
    late_minutes: int
    early_leave_days: int
    early_leave_minutes: int
    punches: int
    added_by_hand: int
    anomaly_days: tuple[date, ...]  # in date order
    added_by_hand_days: tuple[date, ...]  # the work days with a punch an admin added, in date order
    scheduled_days: int | None  # None: no schedule, or not in the directory (nobody knows what was expected)
    holidays: int
    absent_days: tuple[date, ...]  # in date order
    leave_days: Mapping[LeaveKind, int]  # scheduled days on leave, by kind (every kind, 0 if none)


def period_totals(
    days: Iterable[DayReport], expected: Mapping[str, Expected | None] | None = None
) -> list[PeriodTotals]:
    """Each employee's totals over their work days, by userId. Each `expected` employee (the directory's:
    None for one without a schedule) has a line, of zeros without a work day in the period (on leave all of
    it, say, or their clock unheard), for payroll to see; their absences are counted against it."""
    expected = expected or {}
    by_user: dict[str, list[DayReport]] = {user_id: [] for user_id in expected}
    for day in days:
        by_user.setdefault(day.user_id, []).append(day)
    return [_totals(user_id, reports, expected.get(user_id)) for user_id, reports in sorted(by_user.items())]


def _totals(user_id: str, days: list[DayReport], expected: Expected | None) -> PeriodTotals:
    def minutes(span: Callable[[DayReport], timedelta]) -> int:
        return sum(whole_minutes(span(day)) for day in days)

    return PeriodTotals(
        user_id=user_id,
        work_days=len(days),
        worked_minutes=minutes(lambda day: day.worked),
        break_minutes=minutes(lambda day: day.breaks),
        overtime_minutes=minutes(lambda day: day.overtime),
        late_days=sum(1 for day in days if day.late),
        late_minutes=minutes(lambda day: day.late),
        early_leave_days=sum(1 for day in days if day.early_leave),
        early_leave_minutes=minutes(lambda day: day.early_leave),
        punches=sum(day.punches for day in days),
        added_by_hand=sum(day.added_by_hand for day in days),
        anomaly_days=tuple(sorted(day.work_day for day in days if day.anomalies)),
        added_by_hand_days=tuple(sorted(day.work_day for day in days if day.added_by_hand)),
        scheduled_days=len(expected.scheduled) if expected else None,
        holidays=expected.holidays if expected else 0,
        absent_days=expected.absences({day.work_day for day in days}) if expected else (),
        leave_days=of_every_kind(expected.leave_days() if expected else Counter()),
    )


def of_every_kind(counts: Counter[LeaveKind]) -> dict[LeaveKind, int]:
    """Counts by kind, every kind there (0 for one not counted)."""
    return {kind: counts[kind] for kind in LeaveKind}


def scheduled_leave(
    schedule: Schedule | ScheduleOn,
    leaves: Iterable[Leave],
    holidays: Collection[date],
    employed: tuple[date | None, date | None] = (None, None),
) -> Mapping[date, LeaveKind]:
    """The scheduled days of one employee's leaves, with the kind of each: the days of them on the weekdays of
    the schedule holding on each, while employed, less the holidays. What a vacation takes of an allowance."""
    away = days_away(leaves)
    return expected_days(schedule, away, holidays, datetime.min.replace(tzinfo=UTC), employed, away).leave
