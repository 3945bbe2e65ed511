"""Reports as JSON and as CSV that opens cleanly in a spreadsheet."""

import csv
import io
from datetime import datetime, timedelta, tzinfo

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from attendance.domain.clock import parse_zone
from attendance.domain.spreadsheet import UTF8_BOM, as_text_cell
from attendance.reports.service import EmployeeDay

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
    "addedByHand",  # last: a column added in 2026-12 moves none of the others
]


class ReportRow(BaseModel):
    """One employee's work day: the JSON row and the CSV line carry the same fields."""

    model_config = ConfigDict(alias_generator=to_camel, serialize_by_alias=True, validate_by_name=True)

    date: str = Field(description="The work day, YYYY-MM-DD")
    user_id: str
    name: str | None = Field(description="As the employee directory has it; null for an ID not in it")
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


def as_row(day: EmployeeDay) -> ReportRow:
    report = day.report
    zone = parse_zone(report.time_zone)
    return ReportRow(
        date=report.work_day.isoformat(),
        user_id=report.user_id,
        name=day.name,
        first_in=_local(report.first_in, zone),
        last_out=_local(report.last_out, zone),
        worked_minutes=_minutes(report.worked),
        break_minutes=_minutes(report.breaks),
        overtime_minutes=_minutes(report.overtime),
        late_minutes=_minutes(report.late),
        early_leave_minutes=_minutes(report.early_leave),
        punches=report.punches,
        added_by_hand=report.added_by_hand,
        anomalies=[str(anomaly) for anomaly in report.anomalies],
        schedule=report.schedule,
        time_zone=report.time_zone,
    )


def as_csv(days: list[EmployeeDay]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    for day in days:
        row = as_row(day).model_dump()
        row["anomalies"] = "; ".join(row["anomalies"])
        row["userId"], row["name"] = as_text_cell(row["userId"]), as_text_cell(row["name"] or "")
        row["schedule"] = row["schedule"] or ""
        row["firstIn"], row["lastOut"] = row["firstIn"] or "", row["lastOut"] or ""
        writer.writerow(row)
    return UTF8_BOM + buffer.getvalue()


def _local(moment: datetime | None, zone: tzinfo) -> str | None:
    """ISO 8601 local time, to the second, without offset (the timeZone column says which)."""
    return moment.astimezone(zone).replace(tzinfo=None).isoformat(timespec="seconds") if moment else None


def _minutes(span: timedelta) -> int:
    return int(span.total_seconds() // 60)
