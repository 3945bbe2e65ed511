"""Reports API: GET /reports/daily and GET /reports/timesheet, JSON or CSV; needs a key with the reports scope."""

from datetime import date, timedelta
from functools import cache
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from attendance.api import (
    ApiError,
    authenticate,
    internal_error_response,
    json_response,
    unavailable_response,
)
from attendance.data.api_keys import ApiKeyStore
from attendance.data.aws import StoreUnavailable, client
from attendance.data.punches import PunchStore
from attendance.data.schedules import ScheduleStore
from attendance.domain.keys import Scope
from attendance.domain.timesheet import DayReport
from attendance.reports.render import as_csv, as_row
from attendance.reports.service import MAX_TIMESHEET_DAYS, ReportService
from attendance.settings import ReportsSettings
from attendance.tracing import create_tracer

logger = Logger()
tracer = create_tracer()
metrics = Metrics()
app = APIGatewayHttpResolver()


@cache
def dependencies() -> tuple[ApiKeyStore, ReportService]:
    settings = ReportsSettings()
    dynamodb = client("dynamodb")
    service = ReportService(
        PunchStore(dynamodb, settings.punches_table),
        ScheduleStore(dynamodb, settings.schedules_table),
        settings.default_time_zone,
    )
    return ApiKeyStore(dynamodb, settings.api_keys_table), service


def _authorised() -> ReportService:
    keys, service = dependencies()
    authenticate(app.current_event.headers, keys, Scope.REPORTS)
    return service


def _query(name: str, required: bool = True) -> str | None:
    value = app.current_event.get_query_string_value(name)
    if required and not value:
        raise ApiError(HTTPStatus.BAD_REQUEST, "invalid_query", f"query parameter '{name}' is required")
    return value


def _date(name: str) -> date:
    raw = _query(name) or ""
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ApiError(
            HTTPStatus.BAD_REQUEST, "invalid_query", f"'{name}' must be a date as YYYY-MM-DD"
        ) from None


def _reply(reports: list[DayReport], filename: str, meta: dict[str, Any]) -> Response:
    output = (_query("format", required=False) or "json").lower()
    if output == "csv":
        headers = {"Content-Disposition": f'attachment; filename="{filename}.csv"'}
        return Response(HTTPStatus.OK, "text/csv; charset=utf-8", as_csv(reports), headers)
    if output != "json":
        raise ApiError(HTTPStatus.BAD_REQUEST, "invalid_query", "format must be json or csv")
    body = meta | {"count": len(reports), "rows": [as_row(report) for report in reports]}
    return json_response(HTTPStatus.OK, body)


@app.get(
    "/reports/daily",
    summary="Everyone's (or one employee's) day: ?date=YYYY-MM-DD[&userId=][&format=csv]",
    tags=["reports"],
)
def daily() -> Response[Any]:
    service = _authorised()
    day, user_id = _date("date"), _query("userId", required=False)
    reports = service.daily(day, user_id)
    return _reply(reports, f"daily-{day}", {"date": day.isoformat(), "userId": user_id})


@app.get(
    "/reports/timesheet",
    summary="One employee over at most 31 days: ?userId=&from=&to=[&format=csv]",
    tags=["reports"],
)
def timesheet() -> Response[Any]:
    service = _authorised()
    user_id, start, end = _query("userId") or "", _date("from"), _date("to")
    if end < start:
        raise ApiError(HTTPStatus.BAD_REQUEST, "invalid_query", "'to' must not be before 'from'")
    if end - start >= timedelta(days=MAX_TIMESHEET_DAYS):
        raise ApiError(
            HTTPStatus.BAD_REQUEST, "invalid_query", f"a timesheet covers at most {MAX_TIMESHEET_DAYS} days"
        )
    reports = service.timesheet(user_id, start, end)
    return _reply(
        reports,
        f"timesheet-{user_id}-{start}-{end}",
        {"userId": user_id, "from": start.isoformat(), "to": end.isoformat()},
    )


@app.exception_handler(ApiError)
def handle_api_error(error: ApiError) -> Response:
    logger.info("request refused", extra={"error": error.code, "reason": error.message})
    return json_response(error.status, error.body())


@app.exception_handler(StoreUnavailable)
def handle_store_unavailable(error: StoreUnavailable) -> Response:
    logger.exception("storage unavailable")
    return unavailable_response("reports")


@app.exception_handler(Exception)
def handle_unexpected(error: Exception) -> Response:
    logger.exception("unexpected error")
    return internal_error_response()


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
