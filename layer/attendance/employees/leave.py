"""Employees' leave: recorded for someone in the directory, one leave a day at most."""

from datetime import date
from http import HTTPStatus

from attendance.api import ApiError
from attendance.data.employees import EmployeeStore
from attendance.data.leave import LeaveOverlaps, LeaveStore
from attendance.domain.leave import Leave


class LeaveService:
    def __init__(self, leave: LeaveStore, directory: EmployeeStore) -> None:
        self._leave = leave
        self._directory = directory

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

    def in_year(self, user_id: str, year: int) -> list[Leave]:
        """The employee's leaves with a day in the calendar year, by first day."""
        return self._leave.of_user(user_id, date(year, 1, 1), date(year, 12, 31))
