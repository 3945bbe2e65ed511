"""Employees' leave: recorded for someone in the directory, one leave a day at most; listed with the
scheduled days each takes (domain/period.py), which is what a vacation allowance counts."""

from collections import Counter
from collections.abc import Mapping
from datetime import date
from http import HTTPStatus

from attendance.api import ApiError
from attendance.data.employees import EmployeeStore
from attendance.data.holidays import HolidayStore
from attendance.data.leave import LeaveOverlaps, LeaveStore
from attendance.data.schedules import ScheduleStore
from attendance.domain.leave import Leave, LeaveKind
from attendance.domain.period import of_every_kind, scheduled_leave
from attendance.domain.timesheet import DEFAULT_SCHEDULE_ID, ScheduleLookup
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
        it takes; and those of the year, by kind."""
        leaves = self._leave.of_user(user_id, date(year, 1, 1), date(year, 12, 31))
        taken = self._scheduled(user_id, leaves)
        entries = [
            LeaveEntry.model_validate(
                leave.model_dump()
                | {
                    "scheduledDays": None
                    if taken is None
                    else sum(leave.start <= day <= leave.end for day in taken)
                }
            )
            for leave in leaves
        ]
        in_year = (
            None
            if taken is None
            else of_every_kind(Counter(k for day, k in taken.items() if day.year == year))
        )
        return LeaveList(
            user_id=user_id, year=year, count=len(entries), leave=entries, scheduled_days=in_year
        )

    def _scheduled(self, user_id: str, leaves: list[Leave]) -> Mapping[date, LeaveKind] | None:
        """The scheduled days of these leaves, with their kinds; None without a schedule."""
        schedule = ScheduleLookup(self._schedules.get_many({user_id, DEFAULT_SCHEDULE_ID}))(user_id)
        if schedule is None:
            return None
        if not leaves:
            return {}
        employee = self._directory.get(user_id)
        employed = (employee.started_on, employee.left_on) if employee else (None, None)
        first, last = min(leave.start for leave in leaves), max(leave.end for leave in leaves)
        holidays = {holiday.day for holiday in self._holidays.between(first, last)}
        return scheduled_leave(schedule, leaves, holidays, employed)
