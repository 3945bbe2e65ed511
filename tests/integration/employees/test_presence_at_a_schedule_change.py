"""Who is in, and who is away, by each one's current work day, as the reports count it: on the day a schedule
changes (yesterday's last punch under the old schedule is not today's), and in a night shift that started
yesterday (its leave is yesterday's)."""

from datetime import UTC, date, datetime, time

import boto3

from attendance.data.employees import EmployeeStore
from attendance.data.holidays import HolidayStore
from attendance.data.leave import LeaveStore
from attendance.data.punches import PunchStore
from attendance.data.schedules import ScheduleStore
from attendance.domain.clock import parse_zone
from attendance.domain.employees import Employee
from attendance.domain.leave import Leave, LeaveKind
from attendance.domain.timesheet import DEFAULT_SCHEDULE_ID, Schedule
from attendance.employees.service import EmployeeService
from local_stack.template import Resolver

BERLIN = "Europe/Berlin"
EVERY_DAY = frozenset(range(7))
DAYS = Schedule(days=EVERY_DAY, start=time(9), end=time(17), time_zone=BERLIN)
NIGHTS = Schedule(days=EVERY_DAY, start=time(22), end=time(6), time_zone=BERLIN)


def berlin(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=parse_zone(BERLIN))


def service_at(stack: Resolver, now: datetime) -> EmployeeService:
    dynamodb = boto3.client("dynamodb")
    return EmployeeService(
        EmployeeStore(dynamodb, stack.refs["EmployeesTable"]),
        ScheduleStore(dynamodb, stack.refs["SchedulesTable"]),
        PunchStore(dynamodb, stack.refs["PunchesTable"]),
        LeaveStore(dynamodb, stack.refs["LeaveTable"]),
        HolidayStore(dynamodb, stack.refs["HolidaysTable"]),
        BERLIN,
        clock=lambda: now,
    )


def test_the_day_after_moving_to_nights_yesterdays_day_shift_is_not_today(stack, directory, schedules, punch):
    # Given SWAP on days (09:00-17:00) until 1 December, on nights (22:00-06:00) from the 2nd
    directory.put(Employee(user_id="SWAP", name="Sam Swap"))
    schedules.put("SWAP", DAYS)
    schedules.change("SWAP", NIGHTS, date(2026, 12, 2))
    # and their day shift of the 1st, which the reports count on the 1st under the days schedule
    punch("SWAP", "in", at=berlin("2026-12-01 09:00"))
    punch("SWAP", "out", at=berlin("2026-12-01 17:05"))
    # When HR looks at 10:00 on the 2nd, before their first night
    service = service_at(stack, berlin("2026-12-02 10:00"))
    # Then their current work day is the 2nd, with no punch yet: absent and expected (every night is worked),
    # not "out" by the 1st's check-out, as the nights schedule's own windows alone would have it
    view = service.get("SWAP")
    assert (view.status, view.last_punch, view.expected_today) == ("absent", None, True)
    assert view.schedule.label == "22:00-06:00 Europe/Berlin"
    counts = service.presence().counts
    assert (counts.out, counts.absent) == (0, 1)


def test_a_night_worker_on_leave_for_the_night_that_started_yesterday_is_on_leave_not_absent(
    stack, directory, schedules
):
    # Given NINA on nights (22:00-06:00), on leave for the night of 1 December only
    directory.put(Employee(user_id="NINA", name="Nina Night"))
    schedules.put("NINA", NIGHTS)
    LeaveStore(boto3.client("dynamodb"), stack.refs["LeaveTable"]).put(
        Leave(user_id="NINA", start=date(2026, 12, 1), end=date(2026, 12, 1), kind=LeaveKind.VACATION), "hr"
    )
    # When HR looks at 02:00 on the 2nd, in the middle of that night (her work day the 1st)
    service = service_at(stack, berlin("2026-12-02 02:00"))
    # Then she is on leave, as the reports count that night, not absent by the calendar's 2nd
    assert service.get("NINA").on_leave == "vacation"
    counts = service.presence().counts
    assert (counts.on_leave, counts.absent) == (1, 0)
    # And at 23:00 on the 2nd, her next night, she is expected and absent: that night is not on leave
    later = service_at(stack, berlin("2026-12-02 23:00"))
    assert (later.get("NINA").on_leave, later.presence().counts.absent) == (None, 1)


def test_a_schedule_from_today_far_east_is_shown_as_next_until_its_first_work_day_begins(
    stack, directory, schedules
):
    # Given the company's default (days in Berlin), and KIRI on her own schedule in +14:00 from 3 December,
    # which there began at 10:00 UTC on the 2nd
    kiritimati = Schedule(days=EVERY_DAY, start=time(9), end=time(17), time_zone="Pacific/Kiritimati")
    directory.put(Employee(user_id="KIRI", name="Kiri Tima"))
    schedules.put(DEFAULT_SCHEDULE_ID, DAYS)
    schedules.change("KIRI", kiritimati, date(2026, 12, 3))
    # When HR looks at 11:00 UTC on the 2nd: her 3rd has begun on the calendar there, but her current work
    # day is still the 2nd, under the default, until the change line between the two schedules' windows
    before = service_at(stack, datetime(2026, 12, 2, 11, tzinfo=UTC)).get("KIRI")
    # Then the directory says so, and which change comes from when
    assert (before.schedule.label, before.schedule.is_default) == ("09:00-17:00 Europe/Berlin", True)
    assert before.next_schedule.effective_from == date(2026, 12, 3)
    ahead = before.next_schedule.schedule
    assert (ahead.label, ahead.is_default, ahead.effective_from) == (
        "09:00-17:00 Pacific/Kiritimati",
        False,
        date(2026, 12, 3),
    )
    # And once her first work day under it has begun, it is the schedule, with nothing next
    after = service_at(stack, datetime(2026, 12, 2, 20, tzinfo=UTC)).get("KIRI")
    assert (after.schedule.label, after.schedule.effective_from, after.next_schedule) == (
        "09:00-17:00 Pacific/Kiritimati",
        date(2026, 12, 3),
        None,
    )
