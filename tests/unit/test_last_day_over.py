"""Which work day is over for everyone: the day the scheduled export writes."""

from datetime import date, datetime, time

import pytest

from attendance.domain.clock import parse_zone
from attendance.domain.timesheet import Schedule, last_day_over

BERLIN = "Europe/Berlin"
OFFICE = Schedule(start=time(9, 0), end=time(17, 0), time_zone=BERLIN)
NIGHTS = Schedule(start=time(22, 0), end=time(6, 0), time_zone=BERLIN)


def berlin(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=parse_zone(BERLIN))


@pytest.mark.parametrize(
    ("now", "schedules", "over"),
    [
        # the office's day ended at 01:00 (halfway through the hours off): at 01:30 yesterday is over
        ("2026-11-01T01:30", [OFFICE], date(2026, 10, 31)),
        # a night shift that began at 22:00 yesterday is still going at 01:30: the day before is the last
        ("2026-11-01T01:30", [OFFICE, NIGHTS], date(2026, 10, 30)),
        # its work day ends at 14:00, halfway between 06:00 and 22:00
        ("2026-11-01T13:59", [NIGHTS], date(2026, 10, 30)),
        ("2026-11-01T14:00", [NIGHTS], date(2026, 10, 31)),
    ],
)
def test_the_last_day_over_waits_for_every_schedules_shifts(now, schedules, over):
    assert last_day_over(berlin(now), schedules, BERLIN, everyone_scheduled=True) == over


def test_without_a_default_schedule_the_calendar_day_in_the_default_zone_counts_too():
    # Given an office in Berlin, and people without a schedule whose days are New York's calendar days
    now = berlin("2026-11-01T03:30")  # 22:30 on October 31st in New York
    # Then October 31st is not over for them, though it is for the office
    assert last_day_over(now, [OFFICE], "America/New_York", everyone_scheduled=False) == date(2026, 10, 30)
    assert last_day_over(now, [OFFICE], "America/New_York", everyone_scheduled=True) == date(2026, 10, 31)
