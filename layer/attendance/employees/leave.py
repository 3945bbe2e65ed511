"""Employees' leave: recorded for someone in the directory, one leave a day at most; listed with the
scheduled days each takes (domain/period.py), which is what a vacation allowance counts."""

from collections import Counter
from collections.abc import Mapping
from datetime import date
from functools import partial
from http import HTTPStatus

from attendance.api import ApiError
from attendance.data.employees import EmployeeStore
from attendance.data.holidays import HolidayStore
from attendance.data.leave import LeaveOverlaps, LeaveStore
from attendance.data.schedules import ScheduleStore
from attendance.domain.employees import Employee
from attendance.domain.leave import Leave, LeaveKind
from attendance.domain.period import of_every_kind, scheduled_leave
from attendance.domain.schedule_history import ScheduleLookup
from attendance.domain.timesheet import DEFAULT_SCHEDULE_ID
from attendance.employees.models import LeaveEntry, LeaveList


class LeaveService:
    def __init__(
        self, leave: LeaveStore, directory: EmployeeStore, schedules: ScheduleStore, holidays: HolidayStore
    ) -> None:
        self._leave = leave
        self._directory = directory
        self._schedules = schedules
        self._holidays = holidays

    def save(self, leave: Leave, changed_by: str) -> bool:
        """Record the leave, or change the one that starts on its first day: whether it is new. Refused for
        someone not in the directory (a report names people from it: 404), and when another of their leaves
        shares a day with it (409, naming that leave)."""
        if self._directory.get(leave.user_id) is None:
            raise ApiError(HTTPStatus.NOT_FOUND, "not_found", f"no employee {leave.user_id}")
        try:
            return self._leave.put(leave, changed_by) is None
        except LeaveOverlaps as error:
            raise ApiError(HTTPStatus.CONFLICT, "overlaps", str(error)) from None

    def remove(self, user_id: str, start: date) -> Leave | None:
        return self._leave.delete(user_id, start)

    def in_year(self, user_id: str, year: int) -> LeaveList:
        """The employee's leaves with a day in the calendar year, by first day, each with the scheduled days
        it takes; those of the year, by kind; and what is left of their vacation allowance."""
        leaves = self._leave.of_user(user_id, date(year, 1, 1), date(year, 12, 31))
        employee = self._directory.get(user_id)
        if employee is None and not leaves:  # a mistyped ID is told, not shown as someone with no leave
            raise ApiError(HTTPStatus.NOT_FOUND, "not_found", f"no employee {user_id}")
        taken = self._scheduled(employee, user_id, leaves)
        allowance = employee.vacation_days_per_year if employee else None
        # Without a schedule nobody can say which days a leave took: no counts, nothing left to say
        by_kind: dict[LeaveKind, int] | None = None
        left: int | None = None
        if taken is not None:
            by_kind = of_every_kind(Counter(kind for day, kind in taken.items() if day.year == year))
            left = None if allowance is None else allowance - by_kind[LeaveKind.VACATION]
        return LeaveList(
            user_id=user_id,
            year=year,
            count=len(leaves),
            leave=[_entry(leave, taken) for leave in leaves],
            scheduled_days=by_kind,
            vacation_days_per_year=allowance,
            vacation_days_left=left,
        )

    def _scheduled(
        self, employee: Employee | None, user_id: str, leaves: list[Leave]
    ) -> Mapping[date, LeaveKind] | None:
        """The scheduled days of these leaves, with their kinds, each day by the schedule that held on it; None
        for someone who never had a schedule (nor was there a default)."""
        lookup = ScheduleLookup(self._schedules.get_many({user_id, DEFAULT_SCHEDULE_ID}))
        if not lookup.timeline(user_id).ever_scheduled:
            return None
        if not leaves:
            return {}
        employed = (employee.started_on, employee.left_on) if employee else (None, None)
        first, last = min(leave.start for leave in leaves), max(leave.end for leave in leaves)
        holidays = {holiday.day for holiday in self._holidays.between(first, last)}
        return scheduled_leave(partial(lookup, user_id), leaves, holidays, employed)


def _entry(leave: Leave, taken: Mapping[date, LeaveKind] | None) -> LeaveEntry:
    """The leave with the scheduled days it takes (None: unknown, without a schedule)."""
    days = None if taken is None else sum(leave.start <= day <= leave.end for day in taken)
    return LeaveEntry.model_validate(leave.model_dump() | {"scheduledDays": days})
