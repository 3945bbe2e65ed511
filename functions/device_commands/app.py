"""Commands for ZKTeco ADMS clocks: queue them (admin), read a clock's command history (read or admin), and
put a directory employee on every clock of a site. The clocks fetch them on their next poll (device_push)."""

from attendance import init_phase  # first: the collector rests while the rest imports

# isort: split
from functools import cache
from http import HTTPStatus
from typing import Annotated, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import Depends, Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from attendance.api import (
    ADMIN_FORBIDDEN,
    API_KEY_SECURITY,
    READ_FORBIDDEN,
    DeviceIdInPath,
    UserIdInPath,
    http_api,
    install_error_handlers,
    json_reply,
    keyed_refusals,
    model_response,
    require_key,
    resolve,
)
from attendance.commands.models import (
    EXAMPLE_COMMAND,
    CommandHistory,
    CommandRequest,
    CommandView,
    EmployeePush,
)
from attendance.commands.service import CommandService
from attendance.data.api_keys import ApiKeyStore
from attendance.data.aws import client
from attendance.data.commands import CommandStore
from attendance.data.devices import DeviceStore
from attendance.data.employees import EmployeeStore
from attendance.domain.keys import ApiKey, Scope
from attendance.domain.punch import Identifier
from attendance.settings import DeviceCommandsSettings
from attendance.tracing import create_tracer

logger = Logger()
tracer = create_tracer()
metrics = Metrics()
app = http_api()
install_error_handlers(app, logger, metrics, "the command queue")


@cache
def dependencies() -> tuple[ApiKeyStore, CommandService]:
    settings = DeviceCommandsSettings()
    dynamodb = client("dynamodb")
    service = CommandService(
        DeviceStore(dynamodb, settings.devices_table),
        EmployeeStore(dynamodb, settings.employees_table),
        CommandStore(dynamodb, settings.commands_table),
        settings.default_time_zone,
    )
    return ApiKeyStore(dynamodb, settings.api_keys_table), service


def _keys() -> ApiKeyStore:
    return dependencies()[0]


Admin = Annotated[ApiKey, Depends(require_key(_keys, Scope.ADMIN))]
Reader = Annotated[ApiKey, Depends(require_key(_keys, Scope.READ, Scope.ADMIN))]
_BAD_REQUEST = {400: "A parameter or the body does not match this contract; `details` names the fields"}


@app.post(
    "/devices/<deviceId>/commands",
    summary="Queue a command for a ZKTeco ADMS clock; it is delivered on the clock's next poll",
    tags=["device commands"],
    responses={
        201: model_response(CommandView, "Queued (status pending)"),
        **keyed_refusals(
            ADMIN_FORBIDDEN,
            {
                **_BAD_REQUEST,
                404: "No such device, or (put_employee without a name) no such employee in the directory",
                409: "A disabled clock (`device_disabled`: ADMS gives it no command); put_employee without a "
                "name for an employee who has left (`employee_left`)",
                413: "Body over 1 MiB",
                415: "Not application/json (or an encoding other than gzip)",
                422: "A Hikvision device (`not_adms`); a resend_log range that runs backwards (`invalid_range`) "
                "or names a time that does not exist (`invalid_timestamp`)",
            },
        ),
    },
    security=API_KEY_SECURITY,
)
def queue_command(
    device_id: DeviceIdInPath,
    command: Annotated[
        CommandRequest, Body(description="The command, by `kind`", examples=[EXAMPLE_COMMAND])
    ],
    caller: Admin,
) -> Response[CommandView]:
    service = dependencies()[1]
    queued = service.queue(device_id, command, caller.key_id)
    return json_reply(HTTPStatus.CREATED, CommandView.of(queued, service.now()))


@app.get(
    "/devices/<deviceId>/commands",
    summary="A clock's commands, newest first, with their status and result",
    tags=["device commands"],
    responses={
        200: model_response(
            CommandHistory, "pending, sent, done, failed (with the device's code) or expired"
        ),
        **keyed_refusals(READ_FORBIDDEN, {**_BAD_REQUEST, 404: "No such device"}),
    },
    security=API_KEY_SECURITY,
)
def command_history(device_id: DeviceIdInPath, caller: Reader) -> Response[CommandHistory]:
    service = dependencies()[1]
    now = service.now()
    views = [CommandView.of(command, now) for command in service.history(device_id)]
    body = CommandHistory(device_id=device_id, count=len(views), commands=views)
    return json_reply(HTTPStatus.OK, body)


@app.post(
    "/employees/<userId>/push",
    summary="Put a directory employee on every enabled ZKTeco clock of a site",
    tags=["device commands"],
    responses={
        201: model_response(
            EmployeePush, "One put_employee command queued per clock (none if the site has none)"
        ),
        **keyed_refusals(
            ADMIN_FORBIDDEN,
            {
                **_BAD_REQUEST,
                404: "The employee is not in the directory",
                409: "The employee has left (`employee_left`): past their last working day",
            },
        ),
    },
    security=API_KEY_SECURITY,
)
def push_employee(
    user_id: UserIdInPath,
    site: Annotated[Identifier, Query(description="The site whose clocks get the employee")],
    caller: Admin,
) -> Response[EmployeePush]:
    service = dependencies()[1]
    queued = service.push_employee(user_id, site, caller.key_id)
    now = service.now()
    views = [CommandView.of(command, now) for command in queued]
    body = EmployeePush(user_id=user_id, site=site, count=len(views), commands=views)
    return json_reply(HTTPStatus.CREATED, body)


@init_phase.ends_at_first_invocation
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return resolve(app, event, context)
