"""The directory with each employee's schedule and status now, who is in, and directory changes.

Today's punches are read from the punches table's date index: the company's today and the days either
side (device dates and schedule zones may differ from the company zone, and a night shift's work day
began yesterday), one partition per date. Nothing scans the punches.
"""

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import partial
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools import Logger

from attendance.api import ApiError
from attendance.data.employees import EmployeeStore
from attendance.data.holidays import HolidayStore
from attendance.data.leave import LeaveStore
from attendance.data.punches import PunchStore
from attendance.data.schedules import ScheduleStore
from attendance.domain.clock import parse_zone
from attendance.domain.employees import Employee, check_employment
from attendance.domain.leave import LeaveKind
from attendance.domain.period import TimeOff, expected_on
from attendance.domain.presence import Presence, PresenceStatus, presence_now
from attendance.domain.punch import Punch
from attendance.domain.schedule_history import ScheduleHistory, ScheduleLookup, change_day, removal_day
from attendance.domain.timesheet import DEFAULT_SCHEDULE_ID, Schedule
from attendance.employees.csv_import import (
    EmployeeFile,
    ImportRejected,
    RowProblem,
    employees_csv,
    read_employees_csv,
)
from attendance.employees.models import (
    DefaultScheduleView,
    EmployeeNames,
    EmployeeView,
    FieldChange,
    ImportedChange,
    ImportResult,
    LastPunch,
    PresenceCounts,
    PresenceReport,
    PresentEmployee,
    ScheduleAhead,
    ScheduleHistoryView,
    ScheduleView,
)

logger = Logger(child=True)


@dataclass(frozen=True)
class Change:
    before: Employee
    after: Employee

    def differences(self) -> dict[str, tuple[Any, Any]]:
        """Each field that changes, by its column name in an import file: (before, after), as in JSON."""
        old, new = self.before.model_dump(mode="json"), self.after.model_dump(mode="json")
        return {column: (old[column], new[column]) for column in new if old[column] != new[column]}


@dataclass
class ImportPlan:
    """What an import would do, compared with the directory as it is."""

    added: list[Employee] = field(default_factory=list)
    changed: list[Change] = field(default_factory=list)
    unchanged: list[Employee] = field(default_factory=list)

    def result(self, dry_run: bool) -> ImportResult:
        changes = [
            ImportedChange(
                user_id=change.after.user_id,
                fields={
                    column: FieldChange(before=before, after=after)
                    for column, (before, after) in change.differences().items()
                },
            )
            for change in self.changed
        ]
        return ImportResult(
            dry_run=dry_run,
            added=len(self.added),
            changed=len(self.changed),
            unchanged=len(self.unchanged),
            added_employees=self.added,
            changes=changes,
        )


class EmployeeService:
    def __init__(
        self,
        employees: EmployeeStore,
        schedules: ScheduleStore,
        punches: PunchStore,
        leave: LeaveStore,
        holidays: HolidayStore,
        default_zone: str,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._employees = employees
        self._schedules = schedules
        self._punches = punches
        self._leave = leave
        self._holidays = holidays
        self._default_zone = default_zone
        self._clock = clock

    def directory(self) -> list[EmployeeView]:
        """Every employee in the directory, by userId, with schedule and status now."""
        employees = self._employees.list()
        return self._views(employees, self._todays_punches())

    def get(self, user_id: str) -> EmployeeView | None:
        employee = self._employees.get(user_id)
        if employee is None:
            return None
        [view] = self._views([employee], self._todays_punches(user_id))
        return view

    def names(self, user_ids: Iterable[str]) -> EmployeeNames:
        """The directory's names of these IDs, read by key (never the whole directory)."""
        asked = set(user_ids)
        names = self._employees.names_of(asked)
        return EmployeeNames(names=names, not_in_directory=sorted(asked - set(names)))

    def save(
        self,
        employee: Employee,
        schedule: Schedule | None,
        changed_by: str,
        effective_from: date | None = None,
    ) -> tuple[EmployeeView, bool]:
        """Write the directory entry (and the schedule, when given, from `effective_from` on: by default today
        in its zone; the days before keep theirs); True when the employee is new."""
        employee = _trimmed(employee)
        before = self._employees.get(employee.user_id)
        self._employees.put(employee, changed_by)
        written: dict[str, ScheduleHistory] = {}
        if schedule is not None:
            since = effective_from or change_day(schedule, self._clock(), self._default_zone)
            written[employee.user_id] = self._schedules.change(employee.user_id, schedule, since)[1]
        _log_change(before, employee, changed_by, schedule, effective_from)
        # Built from what was written: reads right after a write may not see it yet.
        return self._view_of(employee, written), before is None

    def remove_schedule(
        self, user_id: str, changed_by: str, effective_from: date | None = None
    ) -> tuple[EmployeeView | None, bool]:
        """Their own schedule removed from `effective_from` on (by default today, in its zone), so that the
        default applies again; the days before keep theirs. The view is None when they are not in the
        directory (nothing is removed then); the flag says whether they had one to remove from then."""
        employee = self._employees.get(user_id)
        if employee is None:
            return None, False
        since = effective_from or removal_day(
            self._schedules.history(user_id), self._clock(), self._default_zone
        )
        before, after = self._schedules.change(user_id, None, since)
        if after != before:
            removed = before.on(since) or (before.latest and before.latest.schedule)
            logger.info(
                "schedule removed",
                extra={
                    "userId": user_id,
                    "changedBy": changed_by,
                    "schedule": removed.label() if removed else None,
                    "from": since.isoformat(),
                },
            )
        # Built from what was written: reads right after a write may not see it yet.
        return self._view_of(employee, {user_id: after}), after != before

    def default_schedule(self) -> DefaultScheduleView:
        return DefaultScheduleView.of(self._schedules.history(DEFAULT_SCHEDULE_ID))

    def change_default_schedule(
        self, schedule: Schedule | None, changed_by: str, effective_from: date | None = None
    ) -> tuple[DefaultScheduleView, bool]:
        """The company's default schedule (None: removed) from `effective_from` on, by default today in its zone
        (a removal's: the latest's); the days before keep theirs. The flag says whether anything changed."""
        now, history = self._clock(), self._schedules.history(DEFAULT_SCHEDULE_ID)
        since = effective_from or (
            change_day(schedule, now, self._default_zone)
            if schedule
            else removal_day(history, now, self._default_zone)
        )
        before, after = self._schedules.change(DEFAULT_SCHEDULE_ID, schedule, since)
        if after != before:
            logger.info(
                "default schedule changed" if schedule else "default schedule removed",
                extra={
                    "changedBy": changed_by,
                    "schedule": _label(schedule or before.on(since)),
                    "from": since.isoformat(),
                },
            )
        return DefaultScheduleView.of(after), after != before

    def schedule_history(self, user_id: str) -> ScheduleHistoryView | None:
        """Their own schedule's versions; None for someone neither in the directory nor with a schedule."""
        history = self._schedules.history(user_id)
        if not history.versions and self._employees.get(user_id) is None:
            return None
        return ScheduleHistoryView.of(user_id, history)

    def _view_of(self, employee: Employee, written: dict[str, ScheduleHistory]) -> EmployeeView:
        [view] = self._views([employee], self._todays_punches(employee.user_id), written)
        return view

    def presence(self) -> PresenceReport:
        """Who is in, on a break or out now (lists), and how many are absent or on leave (counts)."""
        now = self._clock()
        directory = {employee.user_id: employee for employee in self._employees.list()}
        by_user = _by_user(self._todays_punches())
        schedules = self._schedule_lookup(set(directory) | set(by_user))
        time_off = self._time_off_around_today()
        lists: dict[PresenceStatus, list[PresentEmployee]] = defaultdict(list)
        absent, on_leave = 0, 0  # without a punch: expected at work today, or away
        for user_id in sorted(set(directory) | set(by_user)):
            work_day_of = partial(schedules.work_day_of, user_id)
            presence = presence_now(by_user[user_id], now, work_day_of)
            if presence.last_punch is None:
                # Only the directory's people who work here now (started, not left) can be absent, or away
                employee = directory.get(user_id)
                if employee and employee.is_expected(now, self._default_zone):
                    work_day = work_day_of(now)
                    away = work_day in time_off.leave_of(user_id)
                    on_leave += away
                    absent += not away and _expected(
                        employee, schedules(user_id, work_day), work_day, time_off
                    )
                continue
            lists[presence.status].append(_present(user_id, directory.get(user_id), presence.last_punch))
        return PresenceReport(
            at=now.astimezone(parse_zone(self._default_zone)).isoformat(timespec="seconds"),
            time_zone=self._default_zone,
            counts=PresenceCounts(
                present=len(lists[PresenceStatus.IN]),
                on_break=len(lists[PresenceStatus.ON_BREAK]),
                out=len(lists[PresenceStatus.OUT]),
                absent=absent,
                on_leave=on_leave,
            ),
            present=lists[PresenceStatus.IN],
            on_break=lists[PresenceStatus.ON_BREAK],
            out=lists[PresenceStatus.OUT],
        )

    def plan_import(self, file: EmployeeFile) -> ImportPlan:
        """Compare a file's validated rows with the directory; changes nothing. The working days the file has
        no column for stay as the directory has them; a row whose last working day would then come before
        its first is refused (ImportRejected, naming its line)."""
        current = {employee.user_id: employee for employee in self._employees.list()}
        plan, problems = ImportPlan(), []
        for imported in file.employees:
            before = current.get(imported.user_id)
            row = (
                imported.model_copy(update={name: getattr(before, name) for name in file.kept})
                if before
                else imported
            )
            try:
                check_employment(row.started_on, row.left_on)
            except ValueError as error:
                line = file.lines[imported.user_id]
                problems.append(
                    RowProblem(line, f"{error}, the directory's kept: the file has no column for it")
                )
                continue
            if before is None:
                plan.added.append(row)
            elif before != row:
                plan.changed.append(Change(before, row))
            else:
                plan.unchanged.append(row)
        if problems:
            raise ImportRejected(problems)
        return plan

    def apply_import(self, plan: ImportPlan, changed_by: str) -> None:
        self._employees.put_many([*plan.added, *(change.after for change in plan.changed)], changed_by)
        for employee in plan.added:
            _log_change(None, employee, changed_by)
        for change in plan.changed:
            _log_change(change.before, change.after, changed_by)

    def export_file(self) -> str:
        """The directory as a CSV file that import_file reads back unchanged."""
        return employees_csv(self._employees.list())

    def import_file(self, data: bytes, dry_run: bool, changed_by: str) -> ImportPlan:
        """A CSV file's employees (csv_import) compared with the directory and, unless `dry_run`, written:
        every row, or, with ImportRejected naming each bad row, none."""
        read = read_employees_csv(data)
        plan = self.plan_import(read)
        if not dry_run:
            self.apply_import(plan, changed_by)
        return plan

    def _views(
        self,
        employees: list[Employee],
        punches: list[Punch],
        written: dict[str, ScheduleHistory] | None = None,
    ) -> list[EmployeeView]:
        """`written`: schedule histories just changed, which reads may not see yet."""
        now = self._clock()
        user_ids = {employee.user_id for employee in employees}
        kept = self._schedules.get_many(user_ids | {DEFAULT_SCHEDULE_ID}) if user_ids else {}
        schedules = ScheduleLookup(kept | (written or {}), self._default_zone)
        by_user = _by_user(punches)
        if not employees:
            return []
        time_off = self._time_off_around_today()
        views = []
        for employee in employees:
            work_day_of = partial(schedules.work_day_of, employee.user_id)
            work_day = work_day_of(now)
            schedule = _ScheduleNow.of(schedules, employee.user_id, work_day)
            views.append(
                _view(
                    employee,
                    schedule,
                    presence_now(by_user[employee.user_id], now, work_day_of),
                    time_off.leave_of(employee.user_id).get(work_day),
                    _expected(employee, schedule.schedule, work_day, time_off),
                )
            )
        return views

    def _time_off_around_today(self) -> TimeOff:
        """The holidays and everyone's leave from the day before the company's today to the day after: each
        one's current work day is among them (a night shift's may be the day before or after)."""
        today = self._company_today()
        start, end = today - timedelta(days=1), today + timedelta(days=1)
        return TimeOff.of(self._holidays.between(start, end), self._leave.between(start, end))

    def _company_today(self) -> date:
        return self._clock().astimezone(parse_zone(self._default_zone)).date()

    def _schedule_lookup(self, user_ids: set[str]) -> ScheduleLookup:
        return ScheduleLookup(self._schedules.get_many(user_ids | {DEFAULT_SCHEDULE_ID}), self._default_zone)

    def _todays_punches(self, user_id: str | None = None) -> list[Punch]:
        today = self._company_today()
        dates = [(today + timedelta(days=offset)).isoformat() for offset in (-1, 0, 1)]
        return self._punches.on_local_dates(dates, user_id)


def _trimmed(employee: Employee) -> Employee:
    """The entry as the directory keeps it: name and department without the spaces around them, as the CSV
    import reads its cells, so that the directory's file imported again unedited changes nothing; a 422 for a
    name of spaces alone."""
    name = employee.name.strip()
    if not name:
        raise ApiError(HTTPStatus.UNPROCESSABLE_ENTITY, "invalid_name", "name: holds nothing but spaces")
    department = (employee.department or "").strip() or None
    return employee.model_copy(update={"name": name, "department": department})


def _by_user(punches: Iterable[Punch]) -> defaultdict[str, list[Punch]]:
    grouped: defaultdict[str, list[Punch]] = defaultdict(list)
    for punch in punches:
        grouped[punch.user_id].append(punch)
    return grouped


def _expected(employee: Employee, schedule: Schedule | None, work_day: date, time_off: TimeOff) -> bool:
    """Whether the calendar expects them at work on their current work day (their schedule's day, not a
    holiday, employed), as the reports count a scheduled day; leave aside."""
    return expected_on(schedule, work_day, time_off.holidays, (employee.started_on, employee.left_on))


@dataclass(frozen=True)
class _ScheduleNow:
    """The schedule holding in someone's current work day (as the reports use it, and as shown), and the next
    change already saved."""

    schedule: Schedule | None
    held: ScheduleView | None
    ahead: ScheduleAhead | None

    @classmethod
    def of(cls, schedules: ScheduleLookup, user_id: str, work_day: date) -> "_ScheduleNow":
        timeline = schedules.timeline(user_id)
        held, ahead = timeline.version_on(work_day), timeline.next_after(work_day)
        return cls(
            held.schedule if held else None,
            ScheduleView.of(held, not schedules.is_own(user_id, work_day)) if held else None,
            ScheduleAhead.of(ahead, not schedules.is_own(user_id, ahead.since or work_day))
            if ahead
            else None,
        )


def _view(
    employee: Employee,
    schedule: _ScheduleNow,
    presence: Presence,
    on_leave: LeaveKind | None,
    expected_today: bool,
) -> EmployeeView:
    return EmployeeView(
        user_id=employee.user_id,
        name=employee.name,
        department=employee.department,
        started_on=employee.started_on,
        left_on=employee.left_on,
        vacation_days_per_year=employee.vacation_days_per_year,
        schedule=schedule.held,
        next_schedule=schedule.ahead,
        status=presence.status,
        last_punch=LastPunch.of(presence.last_punch) if presence.last_punch else None,
        on_leave=on_leave,
        expected_today=expected_today,
    )


def _present(user_id: str, employee: Employee | None, last_punch: Punch) -> PresentEmployee:
    return PresentEmployee(
        user_id=user_id,
        name=employee.name if employee else None,
        department=employee.department if employee else None,
        last_punch=LastPunch.of(last_punch),
    )


def _label(schedule: Schedule | None) -> str | None:
    return schedule.label() if schedule else None


def _log_change(
    before: Employee | None,
    after: Employee,
    changed_by: str,
    schedule: Schedule | None = None,
    effective_from: date | None = None,
) -> None:
    logger.info(
        "employee added" if before is None else "employee changed",
        extra={
            "userId": after.user_id,
            "changedBy": changed_by,
            "before": before.model_dump(mode="json") if before else None,
            "after": after.model_dump(mode="json"),
            "schedule": schedule.label() if schedule else None,
            "scheduleFrom": effective_from.isoformat() if effective_from else None,
        },
    )
