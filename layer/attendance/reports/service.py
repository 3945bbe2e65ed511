"""Daily reports and timesheets: query the punches by index, group them into work days, compute. And a day's
latest punches, as they are."""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import partial

from attendance.data.employees import EmployeeStore
from attendance.data.holidays import HolidayStore
from attendance.data.leave import LeaveStore
from attendance.data.punches import PunchStore
from attendance.data.schedules import ScheduleStore
from attendance.domain.clock import parse_zone
from attendance.domain.employees import Employee, Named
from attendance.domain.leave import LeaveKind
from attendance.domain.period import Expected, PeriodTotals, TimeOff, expected_days, period_totals
from attendance.domain.punch import Punch, PunchSource
from attendance.domain.records import DayPunch
from attendance.domain.schedule_history import ScheduleLookup, group_by_work_day
from attendance.domain.timesheet import DEFAULT_SCHEDULE_ID, DayReport, TimedPunch, compute_day, last_day_over

MAX_TIMESHEET_DAYS = 31
MAX_LATEST_PUNCHES = 200  # one BatchGetItem's worth of delivery statuses, twice


class ReportRangeError(ValueError):
    """A range of work days a report does not cover; the message says why."""


def check_range(start: date, end: date, report: str) -> None:
    """A timesheet's or a pay period's days: `end` not before `start`, at most MAX_TIMESHEET_DAYS of them."""
    if end < start:
        raise ReportRangeError("'to' must not be before 'from'")
    if end - start >= timedelta(days=MAX_TIMESHEET_DAYS):
        raise ReportRangeError(f"a {report} covers at most {MAX_TIMESHEET_DAYS} days")


@dataclass(frozen=True)
class EmployeeDay:
    """An employee's work day, with who they are as the directory has it (None: an ID not in it)."""

    report: DayReport
    who: Named | None

    @property
    def name(self) -> str | None:
        return self.who.name if self.who else None


@dataclass(frozen=True)
class Absence:
    """Someone the calendar expected at work on a day, who has no work day on it (or is on leave)."""

    user_id: str
    who: Named
    schedule: str  # the schedule that expected them, as the reports label it
    leave: LeaveKind | None = None  # on leave: not absent


@dataclass(frozen=True)
class Attendance:
    """A day's work days, who was absent and who was on leave."""

    reports: list[EmployeeDay]
    absent: list[Absence]
    on_leave: list[Absence]


@dataclass(frozen=True)
class _Calendar:
    """Work days read against the calendar (ReportService._against_calendar)."""

    reports: list[EmployeeDay]
    directory: dict[str, Named]  # who each employee read is
    staff: list[Employee]  # those of them who worked here in the days, in the department asked for
    expected: dict[str, Expected | None]  # by the staff's userIds: None without a schedule
    lookup: ScheduleLookup


@dataclass(frozen=True)
class EmployeePeriod:
    """An employee's totals over a pay period, with who they are as the directory has it."""

    totals: PeriodTotals
    who: Named | None


class ReportService:
    def __init__(
        self,
        punches: PunchStore,
        schedules: ScheduleStore,
        employees: EmployeeStore,
        holidays: HolidayStore,
        leave: LeaveStore,
        default_zone: str,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._punches = punches
        self._schedules = schedules
        self._employees = employees
        self._holidays = holidays
        self._leave = leave
        self._default_zone = default_zone
        self._clock = clock  # a work day still going has no "missing out" yet

    def daily(
        self, day: date, user_id: str | None = None, department: str | None = None
    ) -> list[EmployeeDay]:
        """Every employee's (or one's, or one department's) report for the work day `day`."""
        return self._reports(self._punches.on_local_dates(_dates_around(day), user_id), {day}, department)

    def attendance(self, day: date, user_id: str | None = None, department: str | None = None) -> Attendance:
        """The daily report of `day` (as `daily`), who of the directory (or the employee, or the department)
        was expected at work on it and has no work day in it (by their schedule, the company's holidays,
        their first and last working days and their leave, once the day's shift is over: domain/period.py),
        and who was expected but on leave, each by userId. The directory is read once (one scan, or the one
        employee by key) and names the rows too."""
        punches = self._punches.on_local_dates(_dates_around(day), user_id)
        seen = self._against_calendar(self._directory(user_id), punches, {day}, department)
        worked = {report.report.user_id for report in seen.reports}
        absent, on_leave = [], []
        for employee in seen.staff:
            expected, schedule = seen.expected[employee.user_id], seen.lookup(employee.user_id, day)
            if not (expected and schedule):
                continue
            if day in expected.leave:
                on_leave.append(
                    Absence(employee.user_id, employee.named, schedule.label(), expected.leave[day])
                )
            elif expected.absences({day} if employee.user_id in worked else set()):
                absent.append(Absence(employee.user_id, employee.named, schedule.label()))
        return Attendance(seen.reports, absent, on_leave)

    def _directory(self, user_id: str | None) -> list[Employee]:
        """The whole directory (one scan), or one employee of it (one read)."""
        if user_id is None:
            return self._employees.list()
        employee = self._employees.get(user_id)
        return [employee] if employee else []

    def last_day_over(self) -> date:
        """The latest work day over for everyone now, by every schedule holding around today: the latest whose
        report will not change but for punches that come late."""
        now = self._clock()
        today = now.astimezone(parse_zone(self._default_zone)).date()
        histories = self._schedules.all()
        schedules = {schedule for history in histories.values() for schedule in history.around(today)}
        default = histories.get(DEFAULT_SCHEDULE_ID)
        everyone_scheduled = default is not None and default.on(today) is not None
        return last_day_over(now, schedules, self._default_zone, everyone_scheduled)

    def latest_punches(self, day: date, limit: int) -> list[DayPunch]:
        """The latest punches (by punch time) of a device-local date, newest first."""
        return self._punches.latest_on_local_date(day.isoformat(), limit)

    def timesheet(self, user_id: str, start: date, end: date) -> list[EmployeeDay]:
        """One employee's reports from start to end (inclusive), at most MAX_TIMESHEET_DAYS days."""
        return self._reports(self._of_user_around(user_id, start, end), _days(start, end))

    def period(self, start: date, end: date, department: str | None = None) -> list[EmployeePeriod]:
        """The totals over the work days start to end (inclusive), at most MAX_TIMESHEET_DAYS days, of everyone
        (or one department) who punched in them or is in the directory and worked here during them:
        someone without a punch has a line of zeros. Against their schedule, the company's holidays and
        their leave, the directory's employees also have their scheduled, leave and absent days
        (domain/period.py). Each day's punches are read once, by the date index, as the daily report reads
        them; the directory by one scan, the schedules by key, the holidays and the leave by a query a
        calendar year."""
        days = _days(start, end)
        dates = sorted({text for day in days for text in _dates_around(day)})
        seen = self._against_calendar(
            self._employees.list(), self._punches.on_local_dates(dates), days, department
        )
        lines = period_totals((day.report for day in seen.reports), seen.expected)
        return [EmployeePeriod(line, seen.directory.get(line.user_id)) for line in lines]

    def _against_calendar(
        self, employees: list[Employee], punches: Iterable[Punch], days: set[date], department: str | None
    ) -> "_Calendar":
        """The work days among `days` of these punches, named from `employees` (the directory, or the part
        of it the caller read), and what the calendar asked over `days` of those of them who worked here
        then (and are in `department`, if given)."""
        directory = {employee.user_id: employee.named for employee in employees}
        staff = [
            employee
            for employee in employees
            if employee.employed_during(min(days), max(days))
            and (department is None or employee.named.in_department(department))
        ]
        punches = list(punches)
        users = {punch.user_id for punch in punches} | {employee.user_id for employee in staff}
        lookup, time_off = self._lookup(users), self._time_off(days, users)
        reports = self._reports(punches, days, department, directory, lookup, time_off)
        return _Calendar(reports, directory, staff, self._expected(staff, days, lookup, time_off), lookup)

    def _expected(
        self, staff: list[Employee], days: set[date], lookup: ScheduleLookup, time_off: TimeOff
    ) -> dict[str, Expected | None]:
        """What the calendar asked of each of `staff` over `days`: None for someone without a schedule."""
        now = self._clock()
        employed = {employee.user_id: (employee.started_on, employee.left_on) for employee in staff}
        return {
            user_id: expected_days(
                partial(lookup, user_id), days, time_off.holidays, now, span, time_off.leave_of(user_id)
            )
            if lookup.any_on(user_id, days)
            else None
            for user_id, span in employed.items()
        }

    def _time_off(self, days: set[date], users: set[str]) -> TimeOff:
        """The holidays over `days` and the leave of `users` in them (one employee's by their key): nothing
        read for nobody."""
        if not users:
            return TimeOff()
        start, end = min(days), max(days)
        one = next(iter(users)) if len(users) == 1 else None
        leave = self._leave.of_user(one, start, end) if one else self._leave.between(start, end)
        return TimeOff.of(self._holidays.between(start, end), leave)

    def work_day_punches(self, user_id: str, day: date) -> list[DayPunch]:
        """The punches behind one employee's report of the work day `day` (the timesheet's row of that
        day), in punch time order, with their delivery status."""
        punches = self._of_user_around(user_id, day, day)
        lookup = self._lookup({user_id})
        return self._punches.listed(
            [punch for punch in punches if lookup.work_day_of(user_id, punch.instant) == day]
        )

    def _of_user_around(self, user_id: str, start: date, end: date) -> list[Punch]:
        """One employee's punches that may belong to the work days start to end: a day more on each side,
        for night shifts and zones."""
        first = datetime.combine(_shifted(start, -1), time(), UTC)
        last = datetime.combine(_shifted(end, 2), time(), UTC)
        return self._punches.of_user(user_id, first, last)

    def _lookup(self, users: set[str]) -> ScheduleLookup:
        histories = self._schedules.get_many(users | {DEFAULT_SCHEDULE_ID}) if users else {}
        return ScheduleLookup(histories, self._default_zone)

    def _work_days(
        self, punches: list[Punch], days: set[date], lookup: ScheduleLookup
    ) -> dict[tuple[str, date], list[TimedPunch]]:
        """(user, work day) -> that day's punches, for the work days among `days`."""
        grouped = group_by_work_day(
            ((p.user_id, TimedPunch(p.instant, p.type, p.source is PunchSource.MANUAL)) for p in punches),
            lookup,
        )
        return {
            (user_id, work_day): timed for (user_id, work_day), timed in grouped.items() if work_day in days
        }

    def _reports(
        self,
        punches: Iterable[Punch],
        days: set[date],
        department: str | None = None,
        directory: dict[str, Named] | None = None,
        lookup: ScheduleLookup | None = None,
        time_off: TimeOff | None = None,
    ) -> list[EmployeeDay]:
        """The work days among `days` of these punches, with who each employee is (from `directory`, the
        whole directory when the caller has read it, else read by key); only `department`'s, if given (an
        ID not in the directory is in none). Schedules from `lookup`, holidays and leave from `time_off`, when
        the caller has read them."""
        punches = list(punches)
        lookup = lookup if lookup is not None else self._lookup({punch.user_id for punch in punches})
        grouped = self._work_days(punches, days, lookup)
        if time_off is None:
            time_off = self._time_off(days, {user_id for user_id, _ in grouped})
        now = self._clock()
        reports = sorted(
            (
                compute_day(
                    user_id,
                    work_day,
                    day_punches,
                    lookup(user_id, work_day),
                    self._default_zone,
                    now,
                    day_off=time_off.day_off(user_id, work_day),
                )
                for (user_id, work_day), day_punches in grouped.items()
            ),
            key=lambda report: (report.work_day, report.user_id),
        )
        known = directory if directory is not None else self._employees.named({r.user_id for r in reports})
        days = [EmployeeDay(report, known.get(report.user_id)) for report in reports]
        if department is None:
            return days
        return [day for day in days if day.who and day.who.in_department(department)]


def _dates_around(day: date) -> list[str]:
    """The dates a work day's punches may sit on: its own and, for night shifts or late work, the next one;
    the day before too, since device dates and schedule zones may differ."""
    return sorted({_shifted(day, offset).isoformat() for offset in (-1, 0, 1)})


def _days(start: date, end: date) -> set[date]:
    """The days from start to end, both included."""
    return {start + timedelta(days=n) for n in range((end - start).days + 1)}


def _shifted(day: date, days: int) -> date:
    """`day` moved by `days`, kept within the calendar (0001-01-01 has no day before it)."""
    try:
        return day + timedelta(days=days)
    except OverflowError:
        return date.min if days < 0 else date.max
