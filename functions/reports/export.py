"""Scheduled daily export: the previous day's report as CSV to s3://<bucket>/daily/YYYY-MM-DD.csv, and after a
month's last day, that month's pay period totals to s3://<bucket>/monthly/YYYY-MM.csv.

Idempotent: a run for the same day writes the same keys with the reports as they stand. To export a given
day again, invoke with {"date": "YYYY-MM-DD"}; a month (after its anomalies were fixed, say), with
{"month": "YYYY-MM"}.
"""

from attendance import init_phase  # first: the collector rests while the rest imports

# isort: split
import calendar
from datetime import date, timedelta
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from attendance.data.aws import client, unavailable_on_aws_errors
from attendance.data.employees import EmployeeStore
from attendance.data.punches import PunchStore
from attendance.data.schedules import ScheduleStore
from attendance.domain.clock import wall_clock_now
from attendance.reports.render import as_csv, period_csv, period_rows
from attendance.reports.service import ReportService
from attendance.settings import ExportSettings

logger = Logger()
metrics = Metrics()


def export_key(day: date) -> str:
    return f"daily/{day.isoformat()}.csv"


def month_key(first: date) -> str:
    return f"monthly/{first:%Y-%m}.csv"


@init_phase.ends_at_first_invocation
@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = ExportSettings()
    asked = event if isinstance(event, dict) else {}
    dynamodb = client("dynamodb")
    service = ReportService(
        PunchStore(dynamodb, settings.punches_table),
        ScheduleStore(dynamodb, settings.schedules_table),
        EmployeeStore(dynamodb, settings.employees_table),
        settings.default_time_zone,
    )
    if asked.get("month"):
        return _export_month(settings, service, _asked_day(asked["month"], "month", "YYYY-MM", "-01"))
    day = (
        _asked_day(asked["date"], "date", "YYYY-MM-DD")
        if asked.get("date")
        else _yesterday(settings.export_time_zone)
    )
    reports = service.daily(day)
    _put(settings, export_key(day), as_csv(reports))
    logger.info("daily report exported", extra={"day": day.isoformat(), "rows": len(reports)})
    metrics.add_metric(name="ReportRowsExported", unit=MetricUnit.Count, value=len(reports))
    result = {"bucket": settings.reports_bucket, "key": export_key(day), "rows": len(reports)}
    if day.day == _days_in_month(day):  # the month's last day: its pay period is complete
        month = _export_month(settings, service, day.replace(day=1))
        result |= {"monthKey": month["key"], "monthRows": month["rows"]}
    return result


def _export_month(settings: ExportSettings, service: ReportService, first: date) -> dict[str, Any]:
    last = first.replace(day=_days_in_month(first))
    rows = period_rows(service.period(first, last), first, last)
    _put(settings, month_key(first), period_csv(rows))
    logger.info("month's totals exported", extra={"month": f"{first:%Y-%m}", "rows": len(rows)})
    metrics.add_metric(name="MonthRowsExported", unit=MetricUnit.Count, value=len(rows))
    return {"bucket": settings.reports_bucket, "key": month_key(first), "rows": len(rows)}


def _put(settings: ExportSettings, key: str, text: str) -> None:
    with unavailable_on_aws_errors("writing the export"):
        client("s3").put_object(
            Bucket=settings.reports_bucket,
            Key=key,
            Body=text.encode(),
            ContentType="text/csv; charset=utf-8",
        )


def _days_in_month(day: date) -> int:
    return calendar.monthrange(day.year, day.month)[1]


def _asked_day(text: str, name: str, form: str, suffix: str = "") -> date:
    """A day an invocation asks for; a malformed one fails the invocation, saying what it should be."""
    try:
        return date.fromisoformat(f"{text}{suffix}")
    except ValueError:
        raise ValueError(f"{name} {text!r} is not {form}") from None


def _yesterday(zone: str) -> date:
    return (wall_clock_now(zone) - timedelta(days=1)).date()
