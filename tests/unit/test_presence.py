"""Who is in now: the last punch of the current work day decides."""

from collections.abc import Callable
from datetime import UTC, date, datetime, time
from functools import partial

import pytest

from attendance.domain.clock import parse_zone
from attendance.domain.presence import PresenceStatus, presence_now, status_after
from attendance.domain.punch import Punch, PunchSource, PunchType
from attendance.domain.timesheet import Schedule, work_day_of

BERLIN = "Europe/Berlin"
OFFICE = Schedule(start=time(9, 0), end=time(17, 0), time_zone=BERLIN)
NIGHTS = Schedule(days=frozenset(range(7)), start=time(22, 0), end=time(6, 0), time_zone=BERLIN)


def by(schedule: Schedule | None, zone: str = BERLIN) -> Callable[[datetime], date]:
    """The work day of an instant by one schedule (or the calendar day in `zone`, with none)."""
    return partial(work_day_of, schedule=schedule, default_zone=zone)


def at(local: str) -> datetime:
    return datetime.fromisoformat(local).replace(tzinfo=parse_zone(BERLIN)).astimezone(UTC)


def punch(local: str, kind: str, device: str = "DEV1") -> Punch:
    return Punch(
        log_id=f"{local}-{kind}",
        device_id=device,
        user_id="E1",
        instant=at(local),
        local_time=local.replace(" ", "T"),
        time_zone=BERLIN,
        type=PunchType(kind),
        source=PunchSource.API,
        received_at=at(local),
    )


@pytest.mark.parametrize(
    ("kind", "status"),
    [
        ("in", PresenceStatus.IN),
        ("overtime_in", PresenceStatus.IN),
        ("break_in", PresenceStatus.IN),
        ("break_out", PresenceStatus.ON_BREAK),
        ("out", PresenceStatus.OUT),
        ("overtime_out", PresenceStatus.OUT),
    ],
)
def test_each_punch_type_leaves_its_status(kind, status):
    assert status_after(PunchType(kind)) is status
    # Given it is the day's last punch, it decides
    presence = presence_now(
        [punch("2025-02-10 08:00", "in"), punch("2025-02-10 12:00", kind)],
        at("2025-02-10 13:00"),
        by(OFFICE),
    )
    assert presence.status is status
    assert presence.last_punch.type is PunchType(kind)


def test_no_punch_today_is_absent_even_with_punches_yesterday():
    # Given an employee who checked in yesterday and never out
    presence = presence_now([punch("2025-02-09 09:00", "in")], at("2025-02-10 10:00"), by(OFFICE))
    # Then today they are absent, and no punch is named
    assert presence.status is PresenceStatus.ABSENT
    assert presence.last_punch is None


def test_the_latest_punch_decides_whatever_the_order():
    punches = [
        punch("2025-02-10 12:30", "break_in"),
        punch("2025-02-10 09:00", "in"),
        punch("2025-02-10 12:00", "break_out"),
    ]
    presence = presence_now(punches, at("2025-02-10 14:00"), by(OFFICE))
    assert (presence.status, presence.last_punch.local_time) == (PresenceStatus.IN, "2025-02-10T12:30")


def test_at_the_moment_of_a_break_the_employee_is_on_break_and_not_before():
    punches = [punch("2025-02-10 09:00", "in"), punch("2025-02-10 12:00", "break_out")]
    assert presence_now(punches, at("2025-02-10 11:59"), by(OFFICE)).status is PresenceStatus.IN
    assert presence_now(punches, at("2025-02-10 12:00"), by(OFFICE)).status is PresenceStatus.ON_BREAK


def test_a_night_shift_that_began_yesterday_is_still_in_after_midnight():
    # Given a night worker who checked in at 21:55 on Monday
    punches = [punch("2025-02-10 21:55", "in")]
    # Then at 03:00 on Tuesday they are in (the shift belongs to Monday's work day)
    assert presence_now(punches, at("2025-02-11 03:00"), by(NIGHTS)).status is PresenceStatus.IN
    # And once they check out at 06:02 they are out, still on Monday's work day
    punches.append(punch("2025-02-11 06:02", "out"))
    assert presence_now(punches, at("2025-02-11 07:00"), by(NIGHTS)).status is PresenceStatus.OUT
    # And in the afternoon, past the middle of the off-time (14:00), a new work day has begun: absent
    assert presence_now(punches, at("2025-02-11 15:00"), by(NIGHTS)).status is PresenceStatus.ABSENT


def test_without_a_schedule_the_work_day_is_the_calendar_day_in_the_company_zone():
    # Given no schedule at all and a check-in late on Monday evening
    punches = [punch("2025-02-10 22:00", "in")]
    assert presence_now(punches, at("2025-02-10 23:30"), by(None)).status is PresenceStatus.IN
    # Then after midnight, Berlin time, it is a new day: absent (night workers need a schedule)
    assert presence_now(punches, at("2025-02-11 00:30"), by(None)).status is PresenceStatus.ABSENT
    # While in a zone where it is still Monday (UTC: 23:30), they are in
    assert presence_now(punches, at("2025-02-11 00:30"), by(None, "UTC")).status is PresenceStatus.IN


def test_late_work_after_a_day_shift_still_counts_for_that_day():
    # Given an office worker who left at 17:00 and came back for late work at 23:00
    punches = [
        punch("2025-02-10 09:00", "in"),
        punch("2025-02-10 17:00", "out"),
        punch("2025-02-10 23:00", "overtime_in"),
    ]
    # Then at 00:30 they are in: the punch belongs to Monday's work day, whose window runs to 01:00
    assert presence_now(punches, at("2025-02-11 00:30"), by(OFFICE)).status is PresenceStatus.IN


def test_a_punch_later_than_now_does_not_count_yet():
    # Given a device whose clock runs ahead sent an out for 18:00
    punches = [punch("2025-02-10 09:00", "in"), punch("2025-02-10 18:00", "out")]
    # Then at 17:30 the employee is still in
    presence = presence_now(punches, at("2025-02-10 17:30"), by(OFFICE))
    assert (presence.status, presence.last_punch.type) == (PresenceStatus.IN, PunchType.IN)
