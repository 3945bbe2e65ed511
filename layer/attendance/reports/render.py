"""Reports as JSON and as CSV that opens cleanly in a spreadsheet."""

import csv
import io
from datetime import date, datetime, tzinfo

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from attendance.domain.clock import parse_zone
from attendance.domain.leave import LeaveKind
from attendance.domain.spreadsheet import UTF8_BOM, as_text_cell
from attendance.domain.timesheet import whole_minutes
from attendance.reports.service import Absence, Attendance, EmployeeDay, EmployeePeriod

COLUMNS = [
    "date",
    "userId",
    "name",
    "firstIn",
    "lastOut",
    "workedMinutes",
    "breakMinutes",
    "overtimeMinutes",
    "lateMinutes",
    "earlyLeaveMinutes",
    "punches",
    "anomalies",
    "schedule",
    "timeZone",
    "addedByHand",  # last: the columns added in 2026-12 move none of the others
    "department",
]


class ReportRow(BaseModel):
    """One employee's work day: the JSON row and the CSV line carry the same fields."""

    model_config = ConfigDict(alias_generator=to_camel, serialize_by_alias=True, validate_by_name=True)

    date: str = Field(description="The work day, YYYY-MM-DD")
    user_id: str
    name: str | None = Field(description="As the employee directory has it; null for an ID not in it")
    department: str | None = Field(description="As the employee directory has it, if it has one")
    first_in: str | None = Field(description="Local time, ISO 8601 without offset (see timeZone)")
    last_out: str | None
    worked_minutes: int
    break_minutes: int
    overtime_minutes: int
    late_minutes: int
    early_leave_minutes: int
    punches: int
    added_by_hand: int = Field(
        description="Of the punches, those an admin added by hand: a missed punch, or one of the wrong type "
        "corrected"
    )
    anomalies: list[str]
    schedule: str | None
    time_zone: str


class AbsentRow(BaseModel):
    """Someone the calendar expected at work on the day, without a punch on it."""

    model_config = ConfigDict(alias_generator=to_camel, serialize_by_alias=True, validate_by_name=True)

    user_id: str
    name: str
    department: str | None
    schedule: str = Field(description="The schedule that expected them, as the rows label it")


class OnLeaveRow(AbsentRow):
    """Someone the calendar expected at work on the day, who was on leave."""

    kind: LeaveKind = Field(description="The leave's kind")


def absent_rows(absences: list[Absence]) -> list[AbsentRow]:
    return [
        AbsentRow(user_id=a.user_id, name=a.who.name, department=a.who.department, schedule=a.schedule)
        for a in absences
    ]


def on_leave_rows(away: list[Absence]) -> list[OnLeaveRow]:
    return [
        OnLeaveRow(
            user_id=a.user_id, name=a.who.name, department=a.who.department, schedule=a.schedule, kind=a.leave
        )
        for a in away
    ]


class DailyReport(BaseModel):
    model_config = ConfigDict(serialize_by_alias=True, validate_by_name=True)

    date: str
    user_id: str | None = Field(alias="userId", description="The employee asked for, or null for everyone")
    department: str | None = Field(description="The department asked for, or null for every one")
    count: int
    rows: list[ReportRow]
    absent: list[AbsentRow] = Field(
        description="Those of the directory (or the employee, or the department, asked for) whose schedule "
        "expected them on the day (not a company holiday; between their first and last working days), its "
        "shift over, without a punch, not on leave: by userId. Not in the CSV, whose lines are work days"
    )
    on_leave: list[OnLeaveRow] = Field(
        alias="onLeave",
        description="Those the schedule expected on the day who were on leave, by userId. Not in the CSV",
    )


def daily_report(day: date, seen: Attendance, user_id: str | None, department: str | None) -> DailyReport:
    """The daily report's JSON body, as the API answers it and the CLI prints it with --json."""
    return DailyReport(
        date=day.isoformat(),
        user_id=user_id,
        department=department,
        count=len(seen.reports),
        rows=[as_row(report) for report in seen.reports],
        absent=absent_rows(seen.absent),
        on_leave=on_leave_rows(seen.on_leave),
    )


def as_row(day: EmployeeDay) -> ReportRow:
    report = day.report
    zone = parse_zone(report.time_zone)
    return ReportRow(
        date=report.work_day.isoformat(),
        user_id=report.user_id,
        name=day.name,
        department=day.who.department if day.who else None,
        first_in=_local(report.first_in, zone),
        last_out=_local(report.last_out, zone),
        worked_minutes=whole_minutes(report.worked),
        break_minutes=whole_minutes(report.breaks),
        overtime_minutes=whole_minutes(report.overtime),
        late_minutes=whole_minutes(report.late),
        early_leave_minutes=whole_minutes(report.early_leave),
        punches=report.punches,
        added_by_hand=report.added_by_hand,
        anomalies=[str(anomaly) for anomaly in report.anomalies],
        schedule=report.schedule,
        time_zone=report.time_zone,
    )


def as_csv(days: list[EmployeeDay]) -> str:
    rows = [as_row(day) for day in days]
    return _spreadsheet(COLUMNS, [row.model_dump() | {"anomalies": "; ".join(row.anomalies)} for row in rows])


def _spreadsheet(columns: list[str], rows: list[dict[str, object]]) -> str:
    """CSV that opens cleanly in a spreadsheet: a BOM, CRLF lines, an empty cell for a null (as the csv
    module writes None), and every text as text: an ID, a name or a department from the directory is never a
    formula the spreadsheet would run."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(
            {name: as_text_cell(value) if isinstance(value, str) else value for name, value in row.items()}
        )
    return UTF8_BOM + buffer.getvalue()


PERIOD_COLUMNS = [
    "userId",
    "name",
    "department",
    "from",
    "to",
    "workDays",
    "workedMinutes",
    "breakMinutes",
    "overtimeMinutes",
    "lateDays",
    "lateMinutes",
    "earlyLeaveDays",
    "earlyLeaveMinutes",
    "punches",
    "addedByHand",
    "anomalyDays",
    "scheduledDays",  # the columns added after the first month move none of the others
    "holidays",
    "absentDays",
    "vacationDays",  # leave, by kind: added after the calendar's columns, moving none of them
    "sickDays",
    "unpaidLeaveDays",
    "otherLeaveDays",
    "addedByHandDays",  # added after the leave's columns, moving none of them
]


class PeriodRow(BaseModel):
    """One employee's totals over a pay period: the JSON row and the CSV line carry the same fields."""

    model_config = ConfigDict(alias_generator=to_camel, serialize_by_alias=True, validate_by_name=True)

    user_id: str
    name: str | None = Field(description="As the employee directory has it; null for an ID not in it")
    department: str | None = Field(description="As the employee directory has it, if it has one")
    start: str = Field(alias="from", description="The period's first work day, YYYY-MM-DD")
    end: str = Field(alias="to", description="Its last work day (inclusive)")
    work_days: int = Field(description="Work days with at least one punch")
    worked_minutes: int = Field(description="The work days' worked minutes added up, as their rows show them")
    break_minutes: int
    overtime_minutes: int
    late_days: int
    late_minutes: int
    early_leave_days: int
    early_leave_minutes: int
    punches: int
    added_by_hand: int = Field(description="Of the punches, those an admin added by hand")
    anomaly_days: list[str] = Field(
        description="The work days with an anomaly (a missing check-out, ...), to look at before payroll"
    )
    added_by_hand_days: list[str] = Field(
        description="The work days with a punch an admin added by hand (a missed punch, a corrected one), to "
        "look at before payroll too, in date order"
    )
    scheduled_days: int | None = Field(
        description="The days their schedule (or the default) expected them: its weekdays in the period, up to "
        "their last working day, less the company's holidays; null without a schedule or for an ID not in the "
        "directory"
    )
    holidays: int = Field(description="The company's holidays on their schedule's weekdays: no work expected")
    absent_days: list[str] = Field(
        description="The scheduled days, not on leave, whose shift is over without a punch of theirs, in date "
        "order"
    )
    vacation_days: int = Field(description="Scheduled days on vacation")
    sick_days: int = Field(description="Scheduled days on sick leave")
    unpaid_leave_days: int = Field(description="Scheduled days on unpaid leave")
    other_leave_days: int = Field(description="Scheduled days on other leave")


def period_rows(lines: list[EmployeePeriod], start: date, end: date) -> list[PeriodRow]:
    """A pay period's lines (ReportService.period) as its rows, each naming the period."""
    return [_period_row(line, start.isoformat(), end.isoformat()) for line in lines]


def _period_row(period: EmployeePeriod, start: str, end: str) -> PeriodRow:
    totals = period.totals
    return PeriodRow(
        user_id=totals.user_id,
        name=period.who.name if period.who else None,
        department=period.who.department if period.who else None,
        start=start,
        end=end,
        work_days=totals.work_days,
        worked_minutes=totals.worked_minutes,
        break_minutes=totals.break_minutes,
        overtime_minutes=totals.overtime_minutes,
        late_days=totals.late_days,
        late_minutes=totals.late_minutes,
        early_leave_days=totals.early_leave_days,
        early_leave_minutes=totals.early_leave_minutes,
        punches=totals.punches,
        added_by_hand=totals.added_by_hand,
        anomaly_days=[day.isoformat() for day in totals.anomaly_days],
        added_by_hand_days=[day.isoformat() for day in totals.added_by_hand_days],
        scheduled_days=totals.scheduled_days,
        holidays=totals.holidays,
        absent_days=[day.isoformat() for day in totals.absent_days],
        vacation_days=totals.leave_days[LeaveKind.VACATION],
        sick_days=totals.leave_days[LeaveKind.SICK],
        unpaid_leave_days=totals.leave_days[LeaveKind.UNPAID],
        other_leave_days=totals.leave_days[LeaveKind.OTHER],
    )


def period_csv(rows: list[PeriodRow]) -> str:
    return _spreadsheet(
        PERIOD_COLUMNS,
        [
            row.model_dump()
            | {
                "anomalyDays": "; ".join(row.anomaly_days),
                "absentDays": "; ".join(row.absent_days),
                "addedByHandDays": "; ".join(row.added_by_hand_days),
            }
            for row in rows
        ],
    )


def _local(moment: datetime | None, zone: tzinfo) -> str | None:
    """ISO 8601 local time, to the second, without offset (the timeZone column says which)."""
    return moment.astimezone(zone).replace(tzinfo=None).isoformat(timespec="seconds") if moment else None
