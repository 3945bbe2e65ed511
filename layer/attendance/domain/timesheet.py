"""Timesheets: who worked when, for how long, with which breaks, late or early against the schedule.

Rules, per employee per work day:
- A work day is the day a shift starts. Each punch belongs to the work day whose window holds it: the
  window runs from the middle of the off-time before the shift to the middle of the off-time after it,
  so a night shift's morning punches belong to the evening it started, and a punch at 00:30 after a
  09:00-17:00 day is that day's late work. Without any schedule the work day is the calendar day.
- Worked time is the in->out intervals minus the breaks in them (break_out->break_in), plus the
  overtime_in->overtime_out intervals. Overtime is those overtime intervals plus regular work past the
  shift end (a day off: all of it). A break ends where it began: one taken during overtime returns to
  overtime at its break_in. Durations are measured between instants, so a DST change day counts real time.
- First in: the day's first in, or without one its first overtime_in; last out: its last out, or without
  one its last overtime_out (a day ended on overtime).
- A day off is a day not on the schedule's weekdays, a company holiday or a day of the employee's leave
  (the caller knows the calendar): no work is expected on it, so it has no lateness or early leave, all of
  its work is overtime, and it is flagged (punch outside any shift).
- Late arrival: the first in is more than the grace after the shift start (the whole lateness counts).
  Early leave: the last out is more than the grace before the shift end.
- Where the punches do not say when they came or left, there is no lateness or early leave to count (0;
  the day is flagged already): no early leave when the day ends on an interval still open (they came back
  after their last out) or its last out has no in; no lateness when an out or a break with no in falls
  between the shift start and the first in (they were at work before it). One before the shift start is
  the end of earlier work (a late finish of the day before) and hides nothing.
- An interval left open at the end of the day is flagged (missing out, break not closed) and not counted.
  While the work day is still going (now is in its window, or before it), an open interval is the
  employee at work or on a break: it is not counted yet, and not flagged. Likewise an early leave counts
  only once the shift has ended: before, someone who went out may still come back.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from attendance.domain.clock import ZoneName, parse_zone
from attendance.domain.punch import PunchType

DEFAULT_SCHEDULE_ID = "*default*"


class Anomaly(StrEnum):
    MISSING_OUT = "missing out"
    MISSING_IN = "missing in"
    BREAK_NOT_CLOSED = "break not closed"
    OUTSIDE_SHIFT = "punch outside any shift"
    DUPLICATE_SEQUENCE = "duplicate-looking sequence"


class EmptyShift(ValueError):
    """A schedule whose shift starts when it ends: no off-time to put the line between work days in."""


def check_shift(start: time, end: time) -> None:
    """A new schedule's shift must have off-time around it (an end before the start crosses midnight)."""
    if start == end:
        raise EmptyShift(
            f"start and end are both {start:%H:%M}: a shift needs off-time around it to tell one work day from"
            " the next (an end before the start is a night shift)"
        )


class Schedule(BaseModel):
    model_config = ConfigDict(frozen=True)

    days: frozenset[int] = Field(default=frozenset({0, 1, 2, 3, 4}), description="0 Monday ... 6 Sunday")
    start: time = time(9, 0)
    end: time = time(17, 0)
    grace_minutes: int = Field(default=5, ge=0, le=240)
    time_zone: ZoneName = "UTC"

    @property
    def zone(self) -> tzinfo:
        return parse_zone(self.time_zone)

    @property
    def crosses_midnight(self) -> bool:
        return self.end <= self.start

    @property
    def length(self) -> timedelta:
        minutes = _minutes(self.end) - _minutes(self.start)
        return timedelta(minutes=minutes + (24 * 60 if minutes <= 0 else 0))

    def shift_on(self, day: date) -> tuple[datetime, datetime]:
        """The shift that starts on `day`, as aware local datetimes."""
        start = datetime.combine(day, self.start, self.zone)
        end = datetime.combine(day + timedelta(days=1) if self.crosses_midnight else day, self.end, self.zone)
        return start, end

    def work_day_of(self, instant: datetime) -> date:
        """The work day a punch at this instant belongs to (see the module's rules)."""
        local = instant.astimezone(self.zone)
        shifted = local - self._window_offset
        return shifted.date()

    def window_start(self, day: date) -> datetime:
        """Where the window of the work day `day` begins (local wall time, as work_day_of reads it)."""
        return datetime.combine(day, time(), self.zone) + self._window_offset

    @property
    def _window_offset(self) -> timedelta:
        """A window's start from its day's midnight: halfway through the off-time before the shift."""
        return timedelta(minutes=_minutes(self.start)) - (timedelta(days=1) - self.length) / 2

    def label(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M} {self.time_zone}"


@dataclass(frozen=True)
class TimedPunch:
    instant: datetime  # aware
    type: PunchType
    by_hand: bool = False  # added by an admin (a missed punch, or one of the wrong type corrected)


@dataclass
class DayReport:
    work_day: date
    user_id: str
    time_zone: str
    schedule: str | None
    first_in: datetime | None = None
    last_out: datetime | None = None
    worked: timedelta = timedelta(0)
    breaks: timedelta = timedelta(0)
    overtime: timedelta = timedelta(0)
    late: timedelta = timedelta(0)
    early_leave: timedelta = timedelta(0)
    punches: int = 0
    added_by_hand: int = 0  # of the punches, those an admin added: a day an auditor may want to look at
    anomalies: list[Anomaly] = field(default_factory=list)

    def flag(self, anomaly: Anomaly) -> None:
        if anomaly not in self.anomalies:
            self.anomalies.append(anomaly)


@dataclass
class _Intervals:
    work: list[tuple[datetime, datetime]] = field(default_factory=list)
    breaks: list[tuple[datetime, datetime]] = field(default_factory=list)
    overtime: list[tuple[datetime, datetime]] = field(default_factory=list)
    strays: list[datetime] = field(default_factory=list)  # punches with no in before them (missing in)
    left_open: bool = False  # the day ended on an interval still open: when they left is not known


IDLE, WORK, BREAK, OVERTIME, OVERTIME_BREAK = "idle", "work", "break", "overtime", "overtime break"
_In, _Out, _BreakOut, _BreakIn, _OtIn, _OtOut = (
    PunchType.IN,
    PunchType.OUT,
    PunchType.BREAK_OUT,
    PunchType.BREAK_IN,
    PunchType.OVERTIME_IN,
    PunchType.OVERTIME_OUT,
)
# (state, punch) -> (next state, interval the punch closes, anomaly). A punch that changes nothing keeps
# the open interval running (a second "in" counts from the first).
_TRANSITIONS: dict[tuple[str, PunchType], tuple[str, str | None, Anomaly | None]] = {
    (IDLE, _In): (WORK, None, None),
    (IDLE, _Out): (IDLE, None, Anomaly.MISSING_IN),
    (IDLE, _BreakOut): (IDLE, None, Anomaly.MISSING_IN),
    (IDLE, _BreakIn): (IDLE, None, Anomaly.MISSING_IN),
    (IDLE, _OtIn): (OVERTIME, None, None),
    (IDLE, _OtOut): (IDLE, None, Anomaly.MISSING_IN),
    (WORK, _In): (WORK, None, Anomaly.DUPLICATE_SEQUENCE),
    (WORK, _Out): (IDLE, "work", None),
    (WORK, _BreakOut): (BREAK, "work", None),
    (WORK, _BreakIn): (WORK, None, Anomaly.DUPLICATE_SEQUENCE),
    (WORK, _OtIn): (OVERTIME, "work", None),
    (WORK, _OtOut): (IDLE, "work", None),
    (BREAK, _In): (WORK, "breaks", None),
    (BREAK, _Out): (IDLE, None, Anomaly.BREAK_NOT_CLOSED),
    (BREAK, _BreakOut): (BREAK, None, Anomaly.DUPLICATE_SEQUENCE),
    (BREAK, _BreakIn): (WORK, "breaks", None),
    (BREAK, _OtIn): (OVERTIME, "breaks", None),
    (BREAK, _OtOut): (IDLE, None, Anomaly.BREAK_NOT_CLOSED),
    (OVERTIME, _In): (OVERTIME, None, Anomaly.DUPLICATE_SEQUENCE),
    (OVERTIME, _Out): (IDLE, "overtime", None),
    (OVERTIME, _BreakOut): (OVERTIME_BREAK, "overtime", None),
    (OVERTIME, _BreakIn): (OVERTIME, None, Anomaly.DUPLICATE_SEQUENCE),
    (OVERTIME, _OtIn): (OVERTIME, None, Anomaly.DUPLICATE_SEQUENCE),
    (OVERTIME, _OtOut): (IDLE, "overtime", None),
}
# A break taken during overtime is a break like any other, except that its break_in returns to overtime: the
# rest of the overtime is not turned into regular time (an explicit in or overtime_in still says which).
_TRANSITIONS |= {
    (OVERTIME_BREAK, punch): outcome for (state, punch), outcome in _TRANSITIONS.items() if state == BREAK
}
_TRANSITIONS[(OVERTIME_BREAK, _BreakIn)] = (OVERTIME, "breaks", None)
_LEFT_OPEN = {
    WORK: Anomaly.MISSING_OUT,
    OVERTIME: Anomaly.MISSING_OUT,
    BREAK: Anomaly.BREAK_NOT_CLOSED,
    OVERTIME_BREAK: Anomaly.BREAK_NOT_CLOSED,
}


def compute_day(
    user_id: str,
    work_day: date,
    punches: Sequence[TimedPunch],
    schedule: Schedule | None,
    zone: str,
    now: datetime | None = None,
    day_off: bool = False,
) -> DayReport:
    """One employee's work day from their punches (in any order), as it stands at `now` (None: a day
    that is over). `day_off`: the calendar gives them the day off whatever the schedule says (a company
    holiday, a day of their leave), so the day is judged as one off the schedule."""
    # In UTC: Python subtracts and compares datetimes sharing one zone by wall clock, which is wrong across DST.
    ordered = sorted(
        (replace(p, instant=p.instant.astimezone(UTC)) for p in punches), key=lambda p: p.instant
    )
    report = DayReport(
        work_day,
        user_id,
        schedule.time_zone if schedule else zone,
        schedule.label() if schedule else None,
        punches=len(ordered),
        added_by_hand=sum(p.by_hand for p in ordered),
    )
    going = now is not None and work_day_of(now, schedule, zone) <= work_day
    intervals = _walk(ordered, report, still_going=going)
    report.worked = _total(intervals.work) + _total(intervals.overtime)
    report.breaks = _total(intervals.breaks)
    report.first_in = _first(ordered, PunchType.IN) or _first(ordered, PunchType.OVERTIME_IN)
    report.last_out = _last(ordered, PunchType.OUT) or _last(ordered, PunchType.OVERTIME_OUT)
    report.overtime = _total(intervals.overtime)
    if schedule:
        _against_schedule(report, schedule, intervals, now, day_off)
    return report


def _first(ordered: Sequence[TimedPunch], kind: PunchType) -> datetime | None:
    """The first punch of a kind: the day's first in is its first regular in, else (a day of overtime
    alone, or one begun on overtime) its first overtime in; the last out likewise."""
    return next((p.instant for p in ordered if p.type is kind), None)


def _last(ordered: Sequence[TimedPunch], kind: PunchType) -> datetime | None:
    return next((p.instant for p in reversed(ordered) if p.type is kind), None)


def _walk(ordered: Sequence[TimedPunch], report: DayReport, still_going: bool) -> _Intervals:
    """Run the day's punches through the state machine above, collecting closed intervals; an interval
    left open is flagged unless the day is `still_going`."""
    intervals = _Intervals()
    state, since = IDLE, None
    for previous, punch in zip([None, *ordered], ordered, strict=False):
        if previous and previous.type is punch.type:
            report.flag(Anomaly.DUPLICATE_SEQUENCE)
        next_state, closes, anomaly = _TRANSITIONS[(state, punch.type)]
        if anomaly:
            report.flag(anomaly)
        if anomaly is Anomaly.MISSING_IN:
            intervals.strays.append(punch.instant)
        if closes and since:
            getattr(intervals, closes).append((since, punch.instant))
        if next_state != state or closes:
            since = punch.instant if next_state != IDLE else None
        state = next_state
    intervals.left_open = state in _LEFT_OPEN
    if intervals.left_open and not still_going:
        report.flag(_LEFT_OPEN[state])
    return intervals


def _against_schedule(
    report: DayReport, schedule: Schedule, intervals: _Intervals, now: datetime | None, day_off: bool
) -> None:
    if day_off or report.work_day.weekday() not in schedule.days:
        report.flag(Anomaly.OUTSIDE_SHIFT)
        report.overtime += _total(intervals.work)  # no work was expected: all of it is extra
        return
    shift_start, shift_end = (moment.astimezone(UTC) for moment in schedule.shift_on(report.work_day))
    grace = timedelta(minutes=schedule.grace_minutes)
    if report.first_in and _arrival_known(report.first_in, intervals, shift_start):
        report.late = _beyond_grace(report.first_in - shift_start, grace)
    shift_over = now is None or now >= shift_end  # before its end, someone who went out may come back
    if report.last_out and shift_over and _leaving_known(report.last_out, intervals):
        report.early_leave = _beyond_grace(shift_end - report.last_out, grace)
    report.overtime += sum(
        (max(timedelta(0), end - max(start, shift_end)) for start, end in intervals.work), timedelta(0)
    )


def _beyond_grace(span: timedelta, grace: timedelta) -> timedelta:
    """A lateness or an early leave: the whole of it once it is more than the grace, else none."""
    return span if span > grace else timedelta(0)


def _arrival_known(first_in: datetime, intervals: _Intervals, shift_start: datetime) -> bool:
    """Whether the first in is when they came: not if a punch with no in before it (an out, a break) shows
    them at work during the shift before it, since a time nobody knows. One before the shift start is the
    end of earlier work (a late finish of the day before), and says nothing of this shift."""
    return not any(shift_start < stray < first_in for stray in intervals.strays)


def _leaving_known(last_out: datetime, intervals: _Intervals) -> bool:
    """Whether the last out is when they left: not if the day ended on an interval still open (they came
    back, and nobody knows until when), nor if that out had no in (work nobody saw begin, maybe another
    day's). The day is flagged either way; its early leave is not guessed."""
    return not intervals.left_open and last_out not in intervals.strays


def whole_minutes(span: timedelta) -> int:
    """A duration as the reports show it: whole minutes, the seconds left out."""
    return int(span.total_seconds() // 60)


def _total(intervals: Iterable[tuple[datetime, datetime]]) -> timedelta:
    return sum((end - start for start, end in intervals), timedelta(0))


def _minutes(moment: time) -> int:
    return moment.hour * 60 + moment.minute


def work_day_of(instant: datetime, schedule: Schedule | None, default_zone: str) -> date:
    """The work day an instant belongs to: by the schedule's windows, else the calendar day in the zone."""
    return schedule.work_day_of(instant) if schedule else instant.astimezone(parse_zone(default_zone)).date()


def last_day_over(
    now: datetime, schedules: Iterable[Schedule], default_zone: str, everyone_scheduled: bool
) -> date:
    """The latest work day over for everyone at `now`: by each schedule's windows (a night shift's day ends
    well into the next), and by the calendar in the default zone unless `everyone_scheduled` (a default
    schedule). A day's report taken before then misses the shifts still going."""
    days = {schedule.work_day_of(now) for schedule in schedules}
    if not everyone_scheduled:
        days.add(work_day_of(now, None, default_zone))
    return min(days) - timedelta(days=1)
