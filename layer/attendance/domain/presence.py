"""Who is in right now: an employee's status from the punches of their current work day.

Rules:
- The last punch of the current work day decides: in, overtime_in or break_in -> in; break_out ->
  on_break; out or overtime_out -> out. No punch in the current work day -> absent.
- The current work day is the one `now` belongs to, and a punch counts when it belongs to the same one, both
  by the caller's `work_day_of`: the timesheet rules (attendance.domain.schedule_history.ScheduleLookup), so
  that presence and the reports agree on every day, the day a schedule changes included. With a schedule, a
  night shift that started yesterday evening is still today's until the middle of the off-time after it;
  with no schedule at all, the calendar day in the company zone (so an unscheduled night shift shows absent
  after midnight: give night workers a schedule).
- Punches later than `now` (a device clock running ahead) are not counted yet.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from attendance.domain.punch import Punch, PunchType


class PresenceStatus(StrEnum):
    IN = "in"
    ON_BREAK = "on_break"
    OUT = "out"
    ABSENT = "absent"


_STATUS_AFTER = {
    PunchType.IN: PresenceStatus.IN,
    PunchType.OVERTIME_IN: PresenceStatus.IN,
    PunchType.BREAK_IN: PresenceStatus.IN,
    PunchType.BREAK_OUT: PresenceStatus.ON_BREAK,
    PunchType.OUT: PresenceStatus.OUT,
    PunchType.OVERTIME_OUT: PresenceStatus.OUT,
}


@dataclass(frozen=True)
class Presence:
    status: PresenceStatus
    last_punch: Punch | None  # the punch that decided; None when absent


ABSENT = Presence(PresenceStatus.ABSENT, None)


def status_after(punch_type: PunchType) -> PresenceStatus:
    return _STATUS_AFTER[punch_type]


def presence_now(
    punches: Iterable[Punch], now: datetime, work_day_of: Callable[[datetime], date]
) -> Presence:
    """One employee's status at `now` from their punches (any order, any days)."""
    today = work_day_of(now)
    todays = [punch for punch in punches if punch.instant <= now and work_day_of(punch.instant) == today]
    if not todays:
        return ABSENT
    last = max(todays, key=lambda punch: punch.instant)
    return Presence(status_after(last.type), last)
