"""The employee directory: who a userId is, for people and for the clocks."""

from datetime import date
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from attendance.domain.clock import IsoDate
from attendance.domain.punch import Identifier

PersonName = Annotated[str, StringConstraints(min_length=1, max_length=128)]


class Employee(BaseModel):
    """An employee as the directory keeps them; the schedule for reports is kept beside (schedules)."""

    model_config = ConfigDict(frozen=True, serialize_by_alias=True, validate_by_name=True)

    user_id: Identifier = Field(alias="userId", description="The ID the clocks know the employee by (PIN)")
    name: PersonName
    department: PersonName | None = None
    left_on: IsoDate | None = Field(default=None, alias="leftOn")

    def has_left(self, today: date) -> bool:
        """Whether their last working day is before `today`: no longer expected at work."""
        return self.left_on is not None and self.left_on < today
