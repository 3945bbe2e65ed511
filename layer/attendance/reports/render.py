"""Reports as JSON and as CSV that opens cleanly in a spreadsheet."""

import csv
import io
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from attendance.domain.clock import parse_zone
from attendance.domain.timesheet import DayReport

COLUMNS = [
    "date",
    "userId",
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
]
UTF8_BOM = "\ufeff"  # without it, Excel reads UTF-8 CSV as the local code page


def as_row(report: DayReport) -> dict[str, Any]:
    zone = parse_zone(report.time_zone)
    return {
        "date": report.work_day.isoformat(),
        "userId": report.user_id,
        "firstIn": _local(report.first_in, zone),
        "lastOut": _local(report.last_out, zone),
        "workedMinutes": _minutes(report.worked),
        "breakMinutes": _minutes(report.breaks),
        "overtimeMinutes": _minutes(report.overtime),
        "lateMinutes": _minutes(report.late),
        "earlyLeaveMinutes": _minutes(report.early_leave),
        "punches": report.punches,
        "anomalies": [str(anomaly) for anomaly in report.anomalies],
        "schedule": report.schedule,
        "timeZone": report.time_zone,
    }


def as_csv(reports: list[DayReport]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    for report in reports:
        row = as_row(report)
        row["anomalies"] = "; ".join(row["anomalies"])
        row["schedule"] = row["schedule"] or ""
        row["firstIn"], row["lastOut"] = row["firstIn"] or "", row["lastOut"] or ""
        writer.writerow(row)
    return UTF8_BOM + buffer.getvalue()


def _local(moment: datetime | None, zone: ZoneInfo | Any) -> str | None:
    """ISO 8601 local time, to the second, without offset (the timeZone column says which)."""
    return moment.astimezone(zone).replace(tzinfo=None).isoformat(timespec="seconds") if moment else None


def _minutes(span: timedelta) -> int:
    return int(span.total_seconds() // 60)
