"""Employees API: the directory with schedules and today's status, changes to it (one by one, or a CSV file's),
who is in now, the company's holidays (the days nobody is expected at work) and employees' leave."""

from attendance import init_phase  # first: the collector rests while the rest imports

# isort: split
from datetime import datetime
from functools import cache
from http import HTTPStatus
from typing import Annotated, Any, Literal

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import Depends, Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from attendance.api import (
    ADMIN_FORBIDDEN,
    API_KEY_SECURITY,
    READ_FORBIDDEN,
    ApiError,
    FieldProblem,
    UserIdInPath,
    file_body,
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
from attendance.domain.clock import FIRST_YEAR, LAST_YEAR, CalendarDate, InvalidTime, parse_zone
from attendance.domain.employees import Employee, check_employment
from attendance.domain.holidays import Holiday
from attendance.domain.keys import ApiKey, Scope
from attendance.domain.leave import Leave, check_leave_range
from attendance.domain.punch import Identifier
from attendance.domain.timesheet import EmptyShift, Schedule
from attendance.employees.csv_import import ImportRejected
from attendance.employees.leave import LeaveService
from attendance.employees.models import (
    DefaultScheduleView,
    EmployeeList,
    EmployeeNames,
    EmployeeUpdate,
    EmployeeView,
    HolidayList,
    HolidayUpdate,
    ImportResult,
    LeaveList,
    LeaveUpdate,
    PresenceReport,
    ScheduleChange,
    ScheduleHistoryView,
)
from attendance.employees.service import EmployeeService
from attendance.settings import EmployeesSettings
from attendance.tracing import create_tracer

logger = Logger()
tracer = create_tracer()
metrics = Metrics()
app = http_api()
install_error_handlers(app, logger, metrics, "the employee directory")


@cache
def settings() -> EmployeesSettings:
    return EmployeesSettings()


@cache
def dependencies() -> tuple[ApiKeyStore, EmployeeService, HolidayStore, LeaveService]:
    dynamodb = client("dynamodb")
    directory = EmployeeStore(dynamodb, settings().employees_table)
    schedules = ScheduleStore(dynamodb, settings().schedules_table)
    holidays = HolidayStore(dynamodb, settings().holidays_table)
    leave = LeaveStore(dynamodb, settings().leave_table)
    service = EmployeeService(
        directory,
        schedules,
        PunchStore(dynamodb, settings().punches_table),
        leave,
        holidays,
        settings().default_time_zone,
    )
    return (
        ApiKeyStore(dynamodb, settings().api_keys_table),
        service,
        holidays,
        LeaveService(leave, directory, schedules, holidays),
    )


def _keys() -> ApiKeyStore:
    return dependencies()[0]


Reader = Annotated[ApiKey, Depends(require_key(_keys, Scope.READ, Scope.ADMIN))]
Admin = Annotated[ApiKey, Depends(require_key(_keys, Scope.ADMIN))]
NAMES_PER_REQUEST = 100  # one BatchGetItem
Output = Annotated[
    Literal["json", "csv"],
    Query(alias="format", description="json (default), or csv: the directory as a spreadsheet file"),
]
EXPORT_DESCRIPTION = (
    "userId,name,department,startedOn,leftOn,vacationDaysPerYear by userId, UTF-8 with a BOM: edited in a "
    "spreadsheet, it imports back (a cell a spreadsheet would take for a formula has an apostrophe before "
    "it, which the import removes)"
)
MAX_IMPORT_BYTES = 524_288  # about 10,000 employees: written within the API's 29 s
UserIds = Annotated[
    list[Identifier],
    Query(
        alias="userId",
        min_length=1,
        max_length=NAMES_PER_REQUEST,
        description=f"The IDs whose names to read: the parameter repeated, or the IDs joined by commas; "
        f"1 to {NAMES_PER_REQUEST}",
    ),
]
_BAD_REQUEST = {400: "The request does not match this contract; `details` names the field"}


@app.get(
    "/employees",
    summary="Every employee: department, schedule, and status now (in, out, on_break, absent); or, with "
    "format=csv, the directory as a file POST /employee-imports reads back",
    tags=["employees"],
    responses={
        200: {
            "description": "The directory, by userId",
            "content": {
                "application/json": {"model": EmployeeList},
                "text/csv": {"schema": {"type": "string", "description": EXPORT_DESCRIPTION}},
            },
        },
        **keyed_refusals(READ_FORBIDDEN, _BAD_REQUEST),
    },
    security=API_KEY_SECURITY,
)
def list_employees(caller: Reader, output: Output = "json") -> Response[EmployeeList | str]:
    if output == "csv":
        headers = {"Content-Disposition": 'attachment; filename="employees.csv"'}
        return Response(HTTPStatus.OK, "text/csv; charset=utf-8", dependencies()[1].export_file(), headers)
    employees = dependencies()[1].directory()
    return json_reply(HTTPStatus.OK, EmployeeList(count=len(employees), employees=employees))


@app.get(
    "/employee-names",
    summary="The names of the given employees, read by ID: what a page listing punches needs",
    tags=["employees"],
    responses={
        200: model_response(EmployeeNames, "The names of those in the directory, and the IDs it lacks"),
        **keyed_refusals(
            READ_FORBIDDEN, {400: f"No userId, more than {NAMES_PER_REQUEST}, or one malformed"}
        ),
    },
    security=API_KEY_SECURITY,
)
def employee_names(user_ids: UserIds, caller: Reader) -> Response[EmployeeNames]:
    return json_reply(HTTPStatus.OK, dependencies()[1].names(user_ids))


@app.get(
    "/employees/<userId>",
    summary="One employee, with schedule and status now",
    tags=["employees"],
    responses={
        200: model_response(EmployeeView, "The employee"),
        **keyed_refusals(READ_FORBIDDEN, {400: "The userId is malformed", 404: "No such employee"}),
    },
    security=API_KEY_SECURITY,
)
def get_employee(user_id: UserIdInPath, caller: Reader) -> Response[EmployeeView]:
    view = dependencies()[1].get(user_id)
    if view is None:
        raise ApiError(HTTPStatus.NOT_FOUND, "not_found", f"no employee {user_id}")
    return json_reply(HTTPStatus.OK, view)


@app.put(
    "/employees/<userId>",
    summary="Add or change an employee: name, department, and optionally the schedule for reports",
    tags=["employees"],
    responses={
        200: model_response(EmployeeView, "Changed"),
        201: model_response(EmployeeView, "Added to the directory"),
        **keyed_refusals(
            ADMIN_FORBIDDEN,
            {
                400: "The body does not match this contract; `details` names the fields",
                415: "Not application/json",
                422: "The schedule's time zone is not a known IANA name or offset (`invalid_time_zone`), its "
                "shift ends when it starts (`invalid_schedule`), `leftOn` is before `startedOn` (`invalid_dates`), "
                "or the name holds nothing but spaces (`invalid_name`)",
            },
        ),
    },
    security=API_KEY_SECURITY,
)
def put_employee(
    user_id: UserIdInPath, update: Annotated[EmployeeUpdate, Body()], caller: Admin
) -> Response[EmployeeView]:
    try:  # the one rule across fields the schema cannot state: the first working day comes before the last
        check_employment(update.started_on, update.left_on)
    except ValueError as error:
        raise ApiError(HTTPStatus.UNPROCESSABLE_ENTITY, "invalid_dates", str(error)) from None
    employee = Employee(
        user_id=user_id,
        name=update.name,
        department=update.department,
        started_on=update.started_on,
        left_on=update.left_on,
        vacation_days_per_year=update.vacation_days_per_year,
    )
    schedule = _schedule(update.schedule, "schedule.") if update.schedule else None
    effective_from = update.schedule.effective_from if update.schedule else None
    view, added = dependencies()[1].save(employee, schedule, caller.key_id, effective_from)
    return json_reply(HTTPStatus.CREATED if added else HTTPStatus.OK, view)


def _schedule(change: ScheduleChange, where: str = "") -> Schedule:
    """The schedule asked for; `where` is its place in the body, to name its fields by."""
    try:  # the rules the schema cannot state: the zone must exist, the shift must end when it does not start
        return change.to_schedule()
    except InvalidTime as error:
        raise ApiError(
            HTTPStatus.UNPROCESSABLE_ENTITY, "invalid_time_zone", f"{where}timeZone: {error}"
        ) from None
    except EmptyShift as error:
        raise ApiError(HTTPStatus.UNPROCESSABLE_ENTITY, "invalid_schedule", f"schedule: {error}") from None


@app.get(
    "/employees/<userId>/schedule",
    summary="An employee's own schedule over time: the latest version, from when, and the earlier ones",
    tags=["employees"],
    responses={
        200: model_response(
            ScheduleHistoryView,
            "Their own schedule's versions (the reports use, for each "
            "day, the version that held on it, else the default schedule)",
        ),
        **keyed_refusals(
            READ_FORBIDDEN,
            {400: "The userId is malformed", 404: "Neither in the directory nor with a schedule"},
        ),
    },
    security=API_KEY_SECURITY,
)
def get_schedule(user_id: UserIdInPath, caller: Reader) -> Response[ScheduleHistoryView]:
    history = dependencies()[1].schedule_history(user_id)
    if history is None:
        raise ApiError(HTTPStatus.NOT_FOUND, "not_found", f"no employee {user_id}")
    return json_reply(HTTPStatus.OK, history)


RemovedFrom = Annotated[
    CalendarDate | None,
    Query(
        alias="effectiveFrom",
        description="The first day without it (YYYY-MM-DD, 2000-2100); left out: today in the schedule's zone. "
        "The days before keep it",
    ),
]


@app.delete(
    "/employees/<userId>/schedule",
    summary="Remove an employee's own schedule from a day on (today by default): the default schedule applies "
    "to them again from then; the days before keep theirs",
    tags=["employees"],
    responses={
        200: model_response(EmployeeView, "Removed: the employee, with the schedule that applies now"),
        **keyed_refusals(
            ADMIN_FORBIDDEN,
            {
                400: "The userId or effectiveFrom is malformed, or the date outside 2000-2100",
                404: "No such employee, or no schedule of their own from then (`no_own_schedule`)",
            },
        ),
    },
    security=API_KEY_SECURITY,
)
def remove_schedule(
    user_id: UserIdInPath, caller: Admin, effective_from: RemovedFrom = None
) -> Response[EmployeeView]:
    view, removed = dependencies()[1].remove_schedule(user_id, caller.key_id, effective_from)
    if view is None:
        raise ApiError(HTTPStatus.NOT_FOUND, "not_found", f"no employee {user_id}")
    if not removed:
        raise ApiError(
            HTTPStatus.NOT_FOUND, "no_own_schedule", f"{user_id} has no schedule of their own to remove"
        )
    return json_reply(HTTPStatus.OK, view)


@app.get(
    "/default-schedule",
    summary="The company's default schedule over time: whoever has none of their own follows it",
    tags=["employees"],
    responses={
        200: model_response(
            DefaultScheduleView, "The default's versions (for each day, the one that held on it)"
        ),
        **keyed_refusals(READ_FORBIDDEN, _BAD_REQUEST),
    },
    security=API_KEY_SECURITY,
)
def get_default_schedule(caller: Reader) -> Response[DefaultScheduleView]:
    return json_reply(HTTPStatus.OK, dependencies()[1].default_schedule())


@app.put(
    "/default-schedule",
    summary="Set the company's default schedule from a day on (today in its zone by default): the days before "
    "keep theirs",
    tags=["employees"],
    responses={
        200: model_response(DefaultScheduleView, "Set: the default's versions"),
        **keyed_refusals(
            ADMIN_FORBIDDEN,
            {
                400: "The body does not match this contract; `details` names the fields",
                415: "Not application/json",
                422: "The time zone is not a known IANA name or offset (`invalid_time_zone`), or the shift ends "
                "when it starts (`invalid_schedule`)",
            },
        ),
    },
    security=API_KEY_SECURITY,
)
def put_default_schedule(
    change: Annotated[ScheduleChange, Body()], caller: Admin
) -> Response[DefaultScheduleView]:
    view, _ = dependencies()[1].change_default_schedule(
        _schedule(change), caller.key_id, change.effective_from
    )
    return json_reply(HTTPStatus.OK, view)


@app.delete(
    "/default-schedule",
    summary="Remove the company's default schedule from a day on (today by default): from then, whoever has "
    "none of their own has no schedule (no day expected, none late); the days before keep it",
    tags=["employees"],
    responses={
        200: model_response(DefaultScheduleView, "Removed: the default's versions"),
        **keyed_refusals(
            ADMIN_FORBIDDEN,
            {
                400: "effectiveFrom is malformed, or the date outside 2000-2100",
                404: "No default schedule from then (`no_default_schedule`)",
            },
        ),
    },
    security=API_KEY_SECURITY,
)
def remove_default_schedule(
    caller: Admin, effective_from: RemovedFrom = None
) -> Response[DefaultScheduleView]:
    view, removed = dependencies()[1].change_default_schedule(None, caller.key_id, effective_from)
    if not removed:
        raise ApiError(
            HTTPStatus.NOT_FOUND, "no_default_schedule", "there is no default schedule to remove then"
        )
    return json_reply(HTTPStatus.OK, view)


@app.post(
    "/employee-imports",
    summary="Add and change employees from a CSV file (userId,name[,department][,startedOn][,leftOn]): every "
    "row, or none",
    tags=["employees"],
    responses={
        200: model_response(ImportResult, "Imported; with dryRun, what the import would do"),
        **keyed_refusals(
            ADMIN_FORBIDDEN,
            {
                400: "The query is malformed",
                413: f"The file is over {MAX_IMPORT_BYTES:,} bytes: import it with `attendance employees import`",
                415: "Not text/csv",
                422: "Rows that cannot be imported, each named in `details` by its line; nothing was written",
            },
        ),
    },
    security=API_KEY_SECURITY,
)
def import_employees(
    caller: Admin,
    dry_run: Annotated[
        bool, Query(alias="dryRun", description="true: compare with the directory, write nothing")
    ] = False,
) -> Response[ImportResult]:
    data = file_body(app.current_event, "text/csv", MAX_IMPORT_BYTES)
    try:
        plan = dependencies()[1].import_file(data, dry_run, caller.key_id)
    except ImportRejected as rejected:
        raise _refused_file(rejected) from None
    return json_reply(HTTPStatus.OK, plan.result(dry_run))


def _refused_file(rejected: ImportRejected) -> ApiError:
    """A 422 naming every bad row by its line."""
    problems = rejected.problems
    details = [FieldProblem(location="body", field=f"line {p.line}", problem=p.problem) for p in problems]
    count = f"{len(problems)} problem{'s' if len(problems) > 1 else ''}"
    message = f"nothing was imported: {count}, the first {problems[0]}"
    return ApiError(HTTPStatus.UNPROCESSABLE_ENTITY, "invalid_file", message, details)


@app.get(
    "/presence",
    summary="Who is in, on a break or out now (lists), and how many are absent",
    tags=["employees"],
    responses={
        200: model_response(PresenceReport, "Now, in the company zone"),
        **keyed_refusals(READ_FORBIDDEN, _BAD_REQUEST),
    },
    security=API_KEY_SECURITY,
)
def presence(caller: Reader) -> Response[PresenceReport]:
    return json_reply(HTTPStatus.OK, dependencies()[1].presence())


# ---- the company's holidays ----

CalendarYear = Annotated[
    int | None,
    Query(
        ge=FIRST_YEAR,
        le=LAST_YEAR,
        description="The calendar year; this year (in the company zone) when left out",
    ),
]


def _this_year() -> int:
    return datetime.now(parse_zone(settings().default_time_zone)).year


HolidayDate = Annotated[CalendarDate, Path(alias="date", description="The holiday, YYYY-MM-DD")]


@app.get(
    "/holidays",
    summary="A year's company holidays: days nobody is expected at work, so no absence in a pay period",
    tags=["holidays"],
    responses={
        200: model_response(HolidayList, "The year's holidays, in date order"),
        **keyed_refusals(READ_FORBIDDEN, {400: "The year is malformed or outside 2000-2100"}),
    },
    security=API_KEY_SECURITY,
)
def list_holidays(caller: Reader, year: CalendarYear = None) -> Response[HolidayList]:
    year = year or _this_year()
    found = dependencies()[2].in_year(year)
    return json_reply(HTTPStatus.OK, HolidayList(year=year, count=len(found), holidays=found))


@app.put(
    "/holidays/<date>",
    summary="Add a company holiday, or rename the one on that date",
    tags=["holidays"],
    responses={
        200: model_response(Holiday, "Renamed"),
        201: model_response(Holiday, "Added"),
        **keyed_refusals(
            ADMIN_FORBIDDEN,
            {
                400: "The date or the body does not match this contract; `details` names it",
                415: "Not application/json",
            },
        ),
    },
    security=API_KEY_SECURITY,
)
def put_holiday(
    day: HolidayDate, update: Annotated[HolidayUpdate, Body()], caller: Admin
) -> Response[Holiday]:
    holiday = Holiday(day=day, name=update.name)
    replaced = dependencies()[2].put(holiday, caller.key_id)
    logger.info("holiday saved", extra={"date": day.isoformat(), "added": replaced is None})
    return json_reply(HTTPStatus.OK if replaced else HTTPStatus.CREATED, holiday)


@app.delete(
    "/holidays/<date>",
    summary="Remove a company holiday: that day is a work day again for whoever's schedule has it",
    tags=["holidays"],
    responses={
        200: model_response(Holiday, "Removed: the holiday that was"),
        **keyed_refusals(ADMIN_FORBIDDEN, {400: "The date is malformed", 404: "No holiday on that date"}),
    },
    security=API_KEY_SECURITY,
)
def remove_holiday(day: HolidayDate, caller: Admin) -> Response[Holiday]:
    removed = dependencies()[2].delete(day)
    if removed is None:
        raise ApiError(HTTPStatus.NOT_FOUND, "not_found", f"no holiday on {day.isoformat()}")
    logger.info("holiday removed", extra={"date": day.isoformat()})
    return json_reply(HTTPStatus.OK, removed)


# ---- employees' leave ----

LeaveStart = Annotated[CalendarDate, Path(alias="from", description="The leave's first day, YYYY-MM-DD")]


@app.get(
    "/employees/<userId>/leave",
    summary="An employee's leave in a year (vacation, sick, ...): scheduled days on leave are no absence",
    tags=["leave"],
    responses={
        200: model_response(LeaveList, "The leaves with a day in the year, by first day"),
        **keyed_refusals(
            READ_FORBIDDEN,
            {400: "The userId or the year is malformed", 404: "No such employee in the directory"},
        ),
    },
    security=API_KEY_SECURITY,
)
def list_leave(user_id: UserIdInPath, caller: Reader, year: CalendarYear = None) -> Response[LeaveList]:
    year = year or _this_year()
    return json_reply(HTTPStatus.OK, dependencies()[3].in_year(user_id, year))


@app.put(
    "/employees/<userId>/leave/<from>",
    summary="Record an employee's leave from a day, or change the one starting that day",
    tags=["leave"],
    responses={
        200: model_response(Leave, "Changed"),
        201: model_response(Leave, "Recorded"),
        **keyed_refusals(
            ADMIN_FORBIDDEN,
            {
                400: "The path or the body does not match this contract; `details` names it",
                404: "No such employee in the directory",
                409: "Another leave of theirs shares a day with it (`overlaps`): the message names it",
                415: "Not application/json",
                422: "`to` is before `from`, or more than a year after it (`invalid_range`)",
            },
        ),
    },
    security=API_KEY_SECURITY,
)
def put_leave(
    user_id: UserIdInPath, start: LeaveStart, update: Annotated[LeaveUpdate, Body()], caller: Admin
) -> Response[Leave]:
    try:  # the one rule across fields the schema cannot state
        check_leave_range(start, update.end)
    except ValueError as error:
        raise ApiError(HTTPStatus.UNPROCESSABLE_ENTITY, "invalid_range", str(error)) from None
    leave = Leave(user_id=user_id, start=start, end=update.end, kind=update.kind, note=update.note)
    added = dependencies()[3].save(leave, caller.key_id)
    logger.info("leave saved", extra={"userId": user_id, "from": start.isoformat(), "added": added})
    return json_reply(HTTPStatus.CREATED if added else HTTPStatus.OK, leave)


@app.delete(
    "/employees/<userId>/leave/<from>",
    summary="Remove an employee's leave: its scheduled days count again, as work or absence",
    tags=["leave"],
    responses={
        200: model_response(Leave, "Removed: the leave that was"),
        **keyed_refusals(
            ADMIN_FORBIDDEN,
            {400: "The userId or the date is malformed", 404: "No leave of theirs starts then"},
        ),
    },
    security=API_KEY_SECURITY,
)
def remove_leave(user_id: UserIdInPath, start: LeaveStart, caller: Admin) -> Response[Leave]:
    removed = dependencies()[3].remove(user_id, start)
    if removed is None:
        raise ApiError(HTTPStatus.NOT_FOUND, "not_found", f"no leave of {user_id} from {start.isoformat()}")
    logger.info("leave removed", extra={"userId": user_id, "from": start.isoformat()})
    return json_reply(HTTPStatus.OK, removed)


@init_phase.ends_at_first_invocation
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return resolve(app, event, context)
