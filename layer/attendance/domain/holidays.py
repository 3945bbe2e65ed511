"""The company's holidays: days nobody is expected at work, whatever their schedule says.

A holiday is a calendar date with a name. On a pay period it is neither a scheduled day nor an absence; an
employee who works on it has that work day counted as any other, judged as on a day off their schedule (all
of it overtime, no lateness or early leave: domain/timesheet.py).
"""

from datetime import date
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from attendance.domain.clock import CalendarDate

HolidayName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]


class Holiday(BaseModel):
    model_config = ConfigDict(frozen=True, serialize_by_alias=True, validate_by_name=True)

    day: CalendarDate = Field(alias="date", description="The holiday, YYYY-MM-DD")
    name: HolidayName = Field(description="What it is, as people will read it (New Year's Day, ...)")


def years_of(start: date, end: date) -> range:
    """The calendar years the days from start to end (inclusive) touch."""
    return range(start.year, end.year + 1)
