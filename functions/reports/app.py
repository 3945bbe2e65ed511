"""Reports API: GET /reports/daily, GET /reports/timesheet and GET /reports/period (a pay period's totals), JSON
or CSV, GET /reports/punches (a day's latest punches) and GET /reports/workday-punches (the punches behind an
employee's work day); needs a key with the reports, read or admin scope."""

from attendance import init_phase  # first: the collector rests while the rest imports

# isort: split
from datetime import date
from functools import cache
from http import HTTPStatus
from typing import Annotated, Any, Literal

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import Depends, Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, Field

from attendance.api import (
    API_KEY_SECURITY,
    ApiError,
    error_responses,
    http_api,
    install_error_handlers,
    json_reply,
    keyed_refusals,
    model_response,
    require_key,
    resolve,
)
from attendance.data.api_keys import ApiKeyStore
from attendance.data.aws import client
from attendance.data.employees import EmployeeStore
from attendance.data.holidays import HolidayStore
from attendance.data.leave import LeaveStore
from attendance.data.punches import PunchStore
from attendance.data.schedules import ScheduleStore
from attendance.domain.clock import IsoDate
from attendance.domain.employees import PersonName
from attendance.domain.keys import ApiKey, Scope
from attendance.domain.punch import Identifier
from attendance.domain.records import DayPunch
from attendance.reports.render import (
    DailyReport,
    PeriodRow,
    ReportRow,
    as_csv,
    as_row,
    daily_report,
    period_csv,
    period_rows,
)
from attendance.reports.service import (
    MAX_LATEST_PUNCHES,
    MAX_TIMESHEET_DAYS,
    EmployeeDay,
    ReportRangeError,
    ReportService,
    check_range,
)
from attendance.settings import ReportsSettings
from attendance.tracing import create_tracer

logger = Logger()
tracer = create_tracer()
metrics = Metrics()
app = http_api()
install_error_handlers(app, logger, metrics, "reports")


@cache
def dependencies() -> tuple[ApiKeyStore, ReportService]:
    settings = ReportsSettings()
    dynamodb = client("dynamodb")
    service = ReportService(
        PunchStore(dynamodb, settings.punches_table),
        ScheduleStore(dynamodb, settings.schedules_table),
        EmployeeStore(dynamodb, settings.employees_table),
        HolidayStore(dynamodb, settings.holidays_table),
        LeaveStore(dynamodb, settings.leave_table),
        settings.default_time_zone,
    )
    return ApiKeyStore(dynamodb, settings.api_keys_table), service


class Timesheet(BaseModel):
    model_config = ConfigDict(serialize_by_alias=True, validate_by_name=True)

    user_id: str = Field(alias="userId")
    start: str = Field(alias="from")
    end: str = Field(alias="to")
    count: int
    rows: list[ReportRow]


class PeriodReport(BaseModel):
    model_config = ConfigDict(serialize_by_alias=True, validate_by_name=True)

    start: str = Field(alias="from")
    end: str = Field(alias="to")
    department: str | None = Field(description="The department asked for, or null for every one")
    count: int
    rows: list[PeriodRow] = Field(
        description="One per employee, by userId: everyone in the directory who had not left before `from` "
        "(0 work days without a punch), and every ID that punched in the period"
    )


class DayPunchList(BaseModel):
    model_config = ConfigDict(serialize_by_alias=True, validate_by_name=True)

    date: str = Field(description="The device-local date")
    count: int
    punches: list[DayPunch] = Field(description="Newest first, by punch time")


class WorkDayPunchList(BaseModel):
    model_config = ConfigDict(serialize_by_alias=True, validate_by_name=True)

    user_id: str = Field(alias="userId")
    date: str = Field(description="The work day, as the daily report and the timesheet have it")
    count: int
    punches: list[DayPunch] = Field(description="In punch time order")


# The dashboard signs in with a read or admin key: both may read reports, as a reports key may.
Caller = Annotated[
    ApiKey, Depends(require_key(lambda: dependencies()[0], Scope.REPORTS, Scope.READ, Scope.ADMIN))
]
Output = Annotated[
    Literal["json", "csv"], Query(alias="format", description="json (default), or csv for a spreadsheet")
]
UserId = Annotated[Identifier, Query(alias="userId", description="The employee's ID")]
FirstDay = Annotated[IsoDate, Query(alias="from", description="First work day, YYYY-MM-DD")]
LastDay = Annotated[IsoDate, Query(alias="to", description="Last work day, YYYY-MM-DD (inclusive)")]
RANGE_RULE = f"`to` is before `from`, or the range is over {MAX_TIMESHEET_DAYS} days"
Department = Annotated[
    PersonName | None,
    Query(description="Only the employees of this department, as the directory names it (any case)"),
]
_ERRORS = keyed_refusals(
    "The key lacks the reports, read or admin scope",
    {400: "A query parameter is missing or malformed; `details` names it"},
)


def _report_responses(model: type[BaseModel], rule: str | None = None) -> dict[int, Any]:
    csv_text = {"schema": {"type": "string", "description": "CSV with a header row, UTF-8 with a BOM"}}
    ok = {
        "description": "The report",
        "content": {"application/json": {"model": model}, "text/csv": csv_text},
    }
    return {200: ok, **_ERRORS, **(error_responses({422: rule}) if rule else {})}


@app.get(
    "/reports/daily",
    summary="Everyone's (or one employee's) work day",
    tags=["reports"],
    responses=_report_responses(DailyReport),
    security=API_KEY_SECURITY,
)
def daily(
    day: Annotated[IsoDate, Query(alias="date", description="The work day, YYYY-MM-DD")],
    caller: Caller,
    user_id: Annotated[Identifier | None, Query(alias="userId", description="Only this employee")] = None,
    department: Department = None,
    output: Output = "json",
) -> Response[DailyReport | str]:
    _, service = dependencies()
    if output == "csv":
        return _csv_reply(as_csv(service.daily(day, user_id, department)), f"daily-{day}")
    body = daily_report(day, service.attendance(day, user_id, department), user_id, department)
    return Response(HTTPStatus.OK, content_types.APPLICATION_JSON, body)


@app.get(
    "/reports/timesheet",
    summary=f"One employee over at most {MAX_TIMESHEET_DAYS} days",
    tags=["reports"],
    responses=_report_responses(Timesheet, RANGE_RULE),
    security=API_KEY_SECURITY,
)
def timesheet(
    user_id: UserId,
    start: FirstDay,
    end: LastDay,
    caller: Caller,
    output: Output = "json",
) -> Response[Timesheet | str]:
    _check_range(start, end, "timesheet")
    _, service = dependencies()
    reports = service.timesheet(user_id, start, end)
    body = Timesheet(
        user_id=user_id, start=start.isoformat(), end=end.isoformat(), count=len(reports), rows=_rows(reports)
    )
    return _reply(output, body, reports, f"timesheet-{user_id}-{start}-{end}")


@app.get(
    "/reports/period",
    summary=f"Everyone's totals over a pay period of at most {MAX_TIMESHEET_DAYS} days, one row per employee",
    tags=["reports"],
    responses=_report_responses(PeriodReport, RANGE_RULE),
    security=API_KEY_SECURITY,
)
def period(
    start: FirstDay,
    end: LastDay,
    caller: Caller,
    department: Department = None,
    output: Output = "json",
) -> Response[PeriodReport | str]:
    _check_range(start, end, "pay period")
    _, service = dependencies()
    rows = period_rows(service.period(start, end, department), start, end)
    if output == "csv":
        return _csv_reply(period_csv(rows), f"period-{start}-{end}")
    body = PeriodReport(
        start=start.isoformat(), end=end.isoformat(), department=department, count=len(rows), rows=rows
    )
    return Response(HTTPStatus.OK, content_types.APPLICATION_JSON, body)


@app.get(
    "/reports/punches",
    summary="A day's latest punches from every device, newest first, with their delivery status",
    tags=["reports"],
    responses={200: model_response(DayPunchList, "The punches"), **_ERRORS},
    security=API_KEY_SECURITY,
)
def latest_punches(
    day: Annotated[IsoDate, Query(alias="date", description="The device-local date, YYYY-MM-DD")],
    caller: Caller,
    limit: Annotated[
        int, Query(ge=1, le=MAX_LATEST_PUNCHES, description=f"How many, 1 to {MAX_LATEST_PUNCHES}")
    ] = 50,
) -> Response[DayPunchList]:
    _, service = dependencies()
    punches = service.latest_punches(day, limit)
    body = DayPunchList(date=day.isoformat(), count=len(punches), punches=punches)
    return json_reply(HTTPStatus.OK, body)


@app.get(
    "/reports/workday-punches",
    summary="The punches behind one employee's work day (its daily report or timesheet row), in time order, "
    "with their delivery status",
    tags=["reports"],
    responses={200: model_response(WorkDayPunchList, "The punches"), **_ERRORS},
    security=API_KEY_SECURITY,
)
def work_day_punches(
    user_id: UserId,
    day: Annotated[IsoDate, Query(alias="date", description="The work day, YYYY-MM-DD")],
    caller: Caller,
) -> Response[WorkDayPunchList]:
    _, service = dependencies()
    punches = service.work_day_punches(user_id, day)
    body = WorkDayPunchList(user_id=user_id, date=day.isoformat(), count=len(punches), punches=punches)
    return json_reply(HTTPStatus.OK, body)


def _check_range(start: date, end: date, report: str) -> None:
    try:
        check_range(start, end, report)
    except ReportRangeError as error:
        raise ApiError(HTTPStatus.UNPROCESSABLE_ENTITY, "invalid_range", str(error)) from None


def _rows(reports: list[EmployeeDay]) -> list[ReportRow]:
    return [as_row(report) for report in reports]


def _reply(output: str, body: BaseModel, reports: list[EmployeeDay], filename: str) -> Response[Any]:
    if output == "csv":
        return _csv_reply(as_csv(reports), filename)
    return Response(HTTPStatus.OK, content_types.APPLICATION_JSON, body)


def _csv_reply(text: str, filename: str) -> Response[Any]:
    headers = {"Content-Disposition": f'attachment; filename="{filename}.csv"'}
    return Response(HTTPStatus.OK, "text/csv; charset=utf-8", text, headers)


@init_phase.ends_at_first_invocation
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return resolve(app, event, context)
