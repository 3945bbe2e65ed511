"""Scheduled daily export: the report of the latest day over for everyone (by every schedule: a night shift's
day ends the next morning) as CSV to s3://<bucket>/daily/YYYY-MM-DD.csv, and after a month's last day, that
month's pay period totals to s3://<bucket>/monthly/YYYY-MM.csv (attendance/reports/exports.py).

To export a given day again, invoke with {"date": "YYYY-MM-DD"}; a month (after its days to check were
fixed, say), with {"month": "YYYY-MM"}.
"""

from attendance import init_phase  # first: the collector rests while the rest imports

# isort: split
from datetime import date, timedelta
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from attendance.data.aws import client
from attendance.data.employees import EmployeeStore
from attendance.data.holidays import HolidayStore
from attendance.data.leave import LeaveStore
from attendance.data.punches import PunchStore
from attendance.data.report_files import ReportFiles
from attendance.data.schedules import ScheduleStore
from attendance.reports.exports import Exported, ReportExports, ends_its_month
from attendance.reports.service import ReportService
from attendance.settings import ExportSettings

logger = Logger()
metrics = Metrics()


@init_phase.ends_at_first_invocation
@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = ExportSettings()
    asked = event if isinstance(event, dict) else {}
    dynamodb = client("dynamodb")
    reports = ReportService(
        PunchStore(dynamodb, settings.punches_table),
        ScheduleStore(dynamodb, settings.schedules_table),
        EmployeeStore(dynamodb, settings.employees_table),
        HolidayStore(dynamodb, settings.holidays_table),
        LeaveStore(dynamodb, settings.leave_table),
        settings.default_time_zone,
    )
    exports = ReportExports(reports, ReportFiles(client("s3"), settings.reports_bucket))
    if asked.get("month"):
        return _done(
            exports.month(_asked_day(asked["month"], "month", "YYYY-MM", "-01")), settings, "MonthRows"
        )
    if asked.get("date"):
        return _export_day(exports, _asked_day(asked["date"], "date", "YYYY-MM-DD"), settings)
    # A scheduled run: the latest day over for everyone (a night shift's runs past the export's time), and
    # the day before it again, so that no day is skipped when a schedule change moves that day by one.
    last = reports.last_day_over()
    earlier = _export_day(exports, last - timedelta(days=1), settings)
    return _export_day(exports, last, settings) | {"earlier": earlier}


def _export_day(exports: ReportExports, day: date, settings: ExportSettings) -> dict[str, Any]:
    """The day's file, and its month's once the day ends the month (the pay period is complete)."""
    result = _done(exports.day(day), settings, "ReportRows")
    if ends_its_month(day):
        month = _done(exports.month(day.replace(day=1)), settings, "MonthRows")
        result |= {"monthKey": month["key"], "monthRows": month["rows"]}
    return result


def _done(exported: Exported, settings: ExportSettings, metric: str) -> dict[str, Any]:
    logger.info("exported", extra={"key": exported.key, "rows": exported.rows})
    metrics.add_metric(name=f"{metric}Exported", unit=MetricUnit.Count, value=exported.rows)
    return {"bucket": settings.reports_bucket, "key": exported.key, "rows": exported.rows}


def _asked_day(text: str, name: str, form: str, suffix: str = "") -> date:
    """A day an invocation asks for; a malformed one fails the invocation, saying what it should be."""
    try:
        return date.fromisoformat(f"{text}{suffix}")
    except ValueError:
        raise ValueError(f"{name} {text!r} is not {form}") from None
