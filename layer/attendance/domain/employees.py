"""The employee directory: who a userId is, for people and for the clocks."""

from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from attendance.domain.clock import IsoDate, parse_zone
from attendance.domain.punch import Identifier

PersonName = Annotated[str, StringConstraints(min_length=1, max_length=128)]


class Employee(BaseModel):
    """An employee as the directory keeps them; the schedule for reports is kept beside (schedules)."""

    model_config = ConfigDict(frozen=True, serialize_by_alias=True, validate_by_name=True)

    user_id: Identifier = Field(alias="userId", description="The ID the clocks know the employee by (PIN)")
    name: PersonName
    department: PersonName | None = None
    left_on: IsoDate | None = Field(default=None, alias="leftOn")

    def has_left(self, now: datetime, zone: str) -> bool:
        return has_left(self.left_on, now, zone)

    def employed_on_or_after(self, day: date) -> bool:
        """Whether their last working day (if any) is `day` or later: someone a period from `day` pays."""
        return self.left_on is None or self.left_on >= day

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


def has_left(left_on: date | None, now: datetime, zone: str) -> bool:
    """Whether a last working day is over at `now`, in the company's `zone`: no longer expected at work."""
    return left_on is not None and left_on < now.astimezone(parse_zone(zone)).date()
