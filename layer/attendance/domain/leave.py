"""Leave: days an employee is away with the company's knowledge (vacation, sick, ...), so not absent.

A leave is a range of calendar dates, first and last inclusive, of one kind. On a pay period and a daily
report the scheduled days it covers are counted by kind and are no absence; work on one of them counts as
any work day, judged as on a day off their schedule (all of it overtime, no lateness or early leave:
domain/timesheet.py). Two leaves of one employee never overlap (the store refuses the second), so each day has at
most one kind.
"""

from collections.abc import Iterable
from datetime import date, timedelta
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from attendance.domain.clock import CalendarDate, IsoDate
from attendance.domain.punch import Identifier

MAX_LEAVE_DAYS = 366  # a leave longer than a year is a leaving: the directory's leftOn says it
LeaveNote = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class LeaveKind(StrEnum):
    VACATION = "vacation"
    SICK = "sick"
    UNPAID = "unpaid"
    OTHER = "other"


class Leave(BaseModel):
    model_config = ConfigDict(frozen=True, serialize_by_alias=True, validate_by_name=True)

    user_id: Identifier = Field(alias="userId", description="Who is away")
    start: CalendarDate = Field(alias="from", description="The first day away, YYYY-MM-DD")
    # The first day's year is what lists a leave (a year's list shows it); the last is held to it by the range
    end: IsoDate = Field(alias="to", description="The last day away (inclusive), YYYY-MM-DD")
    kind: LeaveKind
    note: LeaveNote | None = Field(default=None, description="For whoever reads the list (not on reports)")

    @model_validator(mode="after")
    def _a_range_of_days(self) -> "Leave":
        check_leave_range(self.start, self.end)
        return self

    def overlaps(self, start: date, end: date) -> bool:
        return self.start <= end and self.end >= start

    def days(self) -> Iterable[date]:
        return (self.start + timedelta(days=offset) for offset in range((self.end - self.start).days + 1))


def check_leave_range(start: date, end: date) -> None:
    """The one rule across a leave's fields: `to` not before `from`, at most MAX_LEAVE_DAYS days."""
    if end < start:
        raise ValueError("'to' must not be before 'from'")
    if (end - start).days >= MAX_LEAVE_DAYS:
        raise ValueError(f"a leave covers at most {MAX_LEAVE_DAYS} days")


def days_away(leaves: Iterable[Leave]) -> dict[date, LeaveKind]:
    """The days of these leaves (one employee's): the kind of each."""
    return {day: leave.kind for leave in leaves for day in leave.days()}


def leave_by_day(leaves: Iterable[Leave]) -> dict[str, dict[date, LeaveKind]]:
    """Each employee's days away, by userId: the kind of each."""
    by_user: dict[str, list[Leave]] = {}
    for leave in leaves:
        by_user.setdefault(leave.user_id, []).append(leave)
    return {user_id: days_away(theirs) for user_id, theirs in by_user.items()}
