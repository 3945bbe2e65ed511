"""Who is in right now: an employee's status from the punches of their current work day.

Rules:
- The last punch of the current work day decides: in, overtime_in or break_in -> in; break_out ->
  on_break; out or overtime_out -> out. No punch in the current work day -> absent.
- The current work day follows the timesheet rules (attendance.domain.timesheet.work_day_of): with a
  schedule (the employee's, else the default one), the work day whose window holds `now`, so a night
  shift that started yesterday evening is still today's until the middle of the off-time after it; with
  no schedule at all, the calendar day in the company zone (so an unscheduled night shift shows absent
  after midnight: give night workers a schedule).
- Punches later than `now` (a device clock running ahead) are not counted yet.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from attendance.domain.punch import Punch, PunchType
from attendance.domain.timesheet import Schedule, work_day_of


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
    punches: Iterable[Punch], now: datetime, schedule: Schedule | None, default_zone: str
) -> Presence:
    """One employee's status at `now` from their punches (any order, any days)."""
    today = work_day_of(now, schedule, default_zone)
    todays = [
        punch
        for punch in punches
        if punch.instant <= now and work_day_of(punch.instant, schedule, default_zone) == today
    ]
    if not todays:
        return ABSENT
    last = max(todays, key=lambda punch: punch.instant)
    return Presence(status_after(last.type), last)
