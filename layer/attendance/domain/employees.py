"""The employee directory: who a userId is, for people and for the clocks."""

from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated

from annotated_types import Ge, Le
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, Strict, StringConstraints, model_validator

from attendance.domain.clock import IsoDate, parse_zone
from attendance.domain.punch import Identifier, _whole_number

PersonName = Annotated[str, StringConstraints(min_length=1, max_length=128)]
# A year's vacation allowance in scheduled days (the days a vacation takes: domain/period.py)
VacationDays = Annotated[int, Strict(), Ge(0), Le(366), BeforeValidator(_whole_number)]


class Employee(BaseModel):
    """An employee as the directory keeps them; the schedule for reports is kept beside (schedules)."""

    model_config = ConfigDict(frozen=True, serialize_by_alias=True, validate_by_name=True)

    user_id: Identifier = Field(alias="userId", description="The ID the clocks know the employee by (PIN)")
    name: PersonName
    department: PersonName | None = None
    started_on: IsoDate | None = Field(default=None, alias="startedOn")
    left_on: IsoDate | None = Field(default=None, alias="leftOn")
    vacation_days_per_year: VacationDays | None = Field(default=None, alias="vacationDaysPerYear")

    @model_validator(mode="after")
    def _starts_before_leaving(self) -> "Employee":
        check_employment(self.started_on, self.left_on)
        return self

    def has_left(self, now: datetime, zone: str) -> bool:
        return has_left(self.left_on, now, zone)

    def is_expected(self, now: datetime, zone: str) -> bool:
        """Whether they work here at `now`, in the company's `zone`: started (if a first day is known), not
        left. Only they can be absent."""
        return has_started(self.started_on, now, zone) and not self.has_left(now, zone)

    def employed_during(self, start: date, end: date) -> bool:
        """Whether they worked here on any day from start to end: someone a period from start to end pays."""
        return (self.started_on is None or self.started_on <= end) and (
            self.left_on is None or self.left_on >= start
        )

    @property
    def named(self) -> "Named":
        return Named(self.name, self.department)


@dataclass(frozen=True)
class Named:
    """Who a userId is, as a report row names them."""

    name: str
    department: str | None

    def in_department(self, department: str) -> bool:
        """Whether this is `department` as someone would type it (any case, spaces around ignored)."""
        return (self.department or "").strip().casefold() == department.strip().casefold()


def check_employment(started_on: date | None, left_on: date | None) -> None:
    """A first working day after the last is a mistake to refuse (ValueError, naming both fields)."""
    if started_on and left_on and left_on < started_on:
        raise ValueError(f"leftOn ({left_on}) is before startedOn ({started_on})")


def has_started(started_on: date | None, now: datetime, zone: str) -> bool:
    """Whether a first working day (None: not known, taken as long ago) has come at `now`, in `zone`."""
    return started_on is None or started_on <= now.astimezone(parse_zone(zone)).date()


def has_left(left_on: date | None, now: datetime, zone: str) -> bool:
    """Whether a last working day is over at `now`, in the company's `zone`: no longer expected at work."""
    return left_on is not None and left_on < now.astimezone(parse_zone(zone)).date()
