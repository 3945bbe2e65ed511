"""Scheduled daily export: the previous day's report as CSV to s3://<bucket>/daily/YYYY-MM-DD.csv.

Idempotent: a run for the same day writes the same key with the report as it stands. To export a given
day again, invoke with {"date": "YYYY-MM-DD"}.
"""

from attendance import init_phase  # first: the collector rests while the rest imports

# isort: split
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
from attendance.reports.render import as_csv
from attendance.reports.service import ReportService
from attendance.settings import ExportSettings

logger = Logger()
metrics = Metrics()


def export_key(day: date) -> str:
    return f"daily/{day.isoformat()}.csv"


@init_phase.ends_at_first_invocation
@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = ExportSettings()
    requested = event.get("date") if isinstance(event, dict) else None
    day = date.fromisoformat(requested) if requested else _yesterday(settings.export_time_zone)
    dynamodb = client("dynamodb")
    service = ReportService(
        PunchStore(dynamodb, settings.punches_table),
        ScheduleStore(dynamodb, settings.schedules_table),
        EmployeeStore(dynamodb, settings.employees_table),
        settings.default_time_zone,
    )
    reports = service.daily(day)
    with unavailable_on_aws_errors("writing the daily export"):
        client("s3").put_object(
            Bucket=settings.reports_bucket,
            Key=export_key(day),
            Body=as_csv(reports).encode(),
            ContentType="text/csv; charset=utf-8",
        )
    logger.info("daily report exported", extra={"day": day.isoformat(), "rows": len(reports)})
    metrics.add_metric(name="ReportRowsExported", unit=MetricUnit.Count, value=len(reports))
    return {"bucket": settings.reports_bucket, "key": export_key(day), "rows": len(reports)}


def _yesterday(zone: str) -> date:
    return (wall_clock_now(zone) - timedelta(days=1)).date()
