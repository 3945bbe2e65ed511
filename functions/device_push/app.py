"""Devices that push: ZKTeco ADMS (/iclock/...) and Hikvision event push (/hikvision/events/{token})."""

from attendance import init_phase  # first: the collector rests while the rest imports

# isort: split
from email.utils import formatdate
from functools import cache
from http import HTTPStatus
from typing import Annotated, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Header, Path, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from attendance.api import (
    COMMON_ERRORS,
    ErrorBody,
    error_responses,
    http_api,
    install_error_handlers,
    json_error,
    resolve,
)
from attendance.commands.delivery import CommandDelivery
from attendance.data.aws import client
from attendance.data.commands import CommandStore
from attendance.data.devices import DeviceStore
from attendance.data.punch_intake import PunchIntake
from attendance.data.queue import PunchQueue
from attendance.ingest.service import IngestService, ItemResult, ItemStatus
from attendance.push.docs import ADMS_SECURITY, PUSH_TOKEN_PATTERN, adms_responses
from attendance.push.service import HikvisionReply, PushService, push_body
from attendance.settings import DevicePushSettings
from attendance.tracing import create_tracer

logger = Logger()
tracer = create_tracer()
metrics = Metrics()
app = http_api()


def _is_adms() -> bool:
    return app.current_event.path.startswith("/iclock/")


def _text(body: str, status: int = HTTPStatus.OK, headers: dict[str, str] | None = None) -> Response[str]:
    # Devices set their clocks from our Date header: always send a correct one.
    headers = (headers or {}) | {"Date": formatdate(usegmt=True)}
    return Response(status, content_types.TEXT_PLAIN, body, headers)


def _render_error(status: int, body: ErrorBody, headers: dict[str, str]) -> Response:
    """ADMS devices read plain text (`ERROR: ...`); Hikvision terminals and people read JSON."""
    if body.error == "device_refused":
        metrics.add_metric(name="PushRefused", unit=MetricUnit.Count, value=1)
    if _is_adms():
        return _text(f"ERROR: {body.message}", status, headers)
    return json_error(status, body, headers)


install_error_handlers(app, logger, metrics, "punch storage", render=_render_error)


@cache
def dependencies() -> PushService:
    settings = DevicePushSettings()
    dynamodb = client("dynamodb")
    devices = DeviceStore(dynamodb, settings.devices_table)
    ingest = IngestService(
        settings,
        PunchIntake(dynamodb, settings.punches_table, settings.dedup_table),
        devices,
        PunchQueue(client("sqs"), settings.punch_queue_url),
    )
    commands = CommandDelivery(CommandStore(dynamodb, settings.commands_table), settings.default_time_zone)
    return PushService(devices, ingest, settings.default_time_zone, commands)


# The serial is the device's credential: documented as the admsSerial security scheme, and a missing
# one is an unknown device (403), as for a missing API key.
Serial = Annotated[str, Query(alias="SN", max_length=64, include_in_schema=False)]


@app.get(
    "/iclock/cdata",
    summary="ZKTeco ADMS handshake: the options for ?SN=<serial>",
    tags=["device push"],
    responses=adms_responses("The device's options, one `Name=value` a line"),
    security=ADMS_SECURITY,
)
def adms_handshake(serial: Serial = "") -> Response[str]:
    return _text(dependencies().adms_options(serial))


@app.post(
    "/iclock/cdata",
    summary="ZKTeco ADMS upload (?SN=...&table=ATTLOG): tab-separated records, answered `OK: <n>`",
    tags=["device push"],
    responses=adms_responses("`OK: <records read>` once every record is stored; `OK` for other tables"),
    security=ADMS_SECURITY,
)
def adms_upload(
    serial: Serial = "",
    table: Annotated[
        str | None,
        Query(
            max_length=32,
            pattern=r"^[A-Za-z]+$",
            description="ATTLOG; other tables are acknowledged, ignored",
        ),
    ] = None,
) -> Response[str]:
    event = app.current_event
    reply, results = dependencies().adms_upload(serial, table, push_body(event.body, event.is_base64_encoded))
    _count(results)
    return _text(reply)


@app.get(
    "/iclock/getrequest",
    summary="ZKTeco ADMS command poll: the device's pending commands",
    tags=["device push"],
    responses=adms_responses(
        "`C:<id>:<command>` a line, each command handed out once; `OK` when there is none (or the serial "
        "is not a registered, enabled device)"
    ),
    security=ADMS_SECURITY,
)
def adms_poll_commands(serial: Serial = "") -> Response[str]:
    return _text(dependencies().adms_poll(serial))


@app.post(
    "/iclock/devicecmd",
    summary="ZKTeco ADMS command results (`ID=<id>&Return=<code>&CMD=<command>` a line): recorded",
    tags=["device push"],
    responses=adms_responses("`OK`, also for results of unknown commands (logged)"),
    security=ADMS_SECURITY,
)
def adms_command_result(serial: Serial = "") -> Response[str]:
    event = app.current_event
    body = push_body(event.body, event.is_base64_encoded)
    return _text(dependencies().adms_command_results(serial, body))


@app.post(
    "/hikvision/events/<token>",
    summary="Hikvision event push (JSON, or multipart with the event's JSON part and a picture)",
    tags=["device push"],
    responses={
        200: {"description": "Read: a punch's result, or `ignored` for events that carry none"},
        **error_responses(
            {
                400: "Not an event we can read: not JSON, no event part, no dateTime",
                403: "Unknown or disabled terminal (no such push token)",
                **COMMON_ERRORS,
            }
        ),
    },
)
def hikvision_event(
    token: Annotated[
        str,
        Path(
            min_length=16,
            max_length=128,
            pattern=PUSH_TOKEN_PATTERN,
            description="The secret push token from the terminal's registration: it is the credential",
        ),
    ],
    content_type: Annotated[str, Header(alias="content-type", include_in_schema=False)] = "application/json",
) -> Response[HikvisionReply]:
    event = app.current_event
    body = push_body(event.body, event.is_base64_encoded)
    reply, results = dependencies().hikvision_event(token, body, content_type)
    _count(results)
    return Response(HTTPStatus.OK, content_types.APPLICATION_JSON, reply)


def _count(results: list[ItemResult]) -> None:
    for status in ItemStatus:
        count = sum(result.status is status for result in results)
        if count:
            metrics.add_metric(name=f"Pushed{status.value.title()}", unit=MetricUnit.Count, value=count)


@init_phase.ends_at_first_invocation
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return resolve(app, event, context)
