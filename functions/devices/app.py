"""Devices API: the registry (list, register, change, disable, remove), each device's state and punches, and the edge
poller's health reports. Reading needs the read or admin scope, changing the admin scope, reporting ingest."""

from attendance import init_phase  # first: the collector rests while the rest imports

# isort: split
from datetime import UTC, datetime
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
    ApiError,
    DeviceIdInPath,
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
from attendance.data.commands import CommandStore
from attendance.data.device_punches import DevicePunches
from attendance.data.devices import DeviceStore
from attendance.devices.models import (
    DeviceChange,
    DeviceList,
    DevicePunchList,
    DeviceRegistration,
    DeviceView,
    HealthRecorded,
    HealthReport,
    Registered,
    Removed,
)
from attendance.devices.service import DeviceService
from attendance.domain.keys import ApiKey, Scope
from attendance.settings import DevicesSettings
from attendance.tracing import create_tracer

logger = Logger()
tracer = create_tracer()
metrics = Metrics()
app = http_api()
install_error_handlers(app, logger, metrics, "the device registry")


@cache
def dependencies() -> tuple[ApiKeyStore, DeviceService]:
    settings = DevicesSettings()
    dynamodb = client("dynamodb")
    service = DeviceService(
        DeviceStore(dynamodb, settings.devices_table),
        DevicePunches(dynamodb, settings.punches_table),
        CommandStore(dynamodb, settings.commands_table),
        settings.default_time_zone,
    )
    return ApiKeyStore(dynamodb, settings.api_keys_table), service


def _keys() -> ApiKeyStore:
    return dependencies()[0]


Reader = Annotated[ApiKey, Depends(require_key(_keys, Scope.READ, Scope.ADMIN))]
Admin = Annotated[ApiKey, Depends(require_key(_keys, Scope.ADMIN))]
Reporter = Annotated[ApiKey, Depends(require_key(_keys, Scope.INGEST))]


def _errors(forbidden: str, *extra: int) -> dict[int, Any]:
    texts = {
        400: "The request does not match this contract; `details` names the fields",
        404: "No device with this ID",
        415: "The body is not application/json",
        409: "Registering: the ID or serial is registered already (`already_registered`, `serial_taken`); "
        "removing: the device is enabled (`device_enabled`)",
        422: "Well-formed but impossible: an unknown time zone, a zkteco device without serial, no such date",
    }
    return keyed_refusals(forbidden, {status: texts[status] for status in extra})


def _now() -> datetime:
    return datetime.now(UTC)


@app.get(
    "/devices",
    summary="Every registered device with its state (online, silent, never_seen, disabled)",
    tags=["devices"],
    responses={200: model_response(DeviceList, "The devices, by ID"), **_errors(READ_FORBIDDEN)},
    security=API_KEY_SECURITY,
)
def list_devices(caller: Reader) -> Response[DeviceList]:
    devices = dependencies()[1].list(_now())
    return json_reply(HTTPStatus.OK, DeviceList(count=len(devices), devices=devices))


@app.post(
    "/devices",
    summary="Register a device; a Hikvision terminal's push URL is answered this once",
    tags=["devices"],
    responses={201: model_response(Registered, "Registered"), **_errors(ADMIN_FORBIDDEN, 400, 409, 415, 422)},
    security=API_KEY_SECURITY,
)
def register_device(
    registration: Annotated[DeviceRegistration, Body()], caller: Admin
) -> Response[Registered]:
    registered = dependencies()[1].register(registration, caller.key_id, _now(), _api_url())
    return json_reply(HTTPStatus.CREATED, registered)


@app.get(
    "/devices/<deviceId>",
    summary="One device with its state",
    tags=["devices"],
    responses={200: model_response(DeviceView, "The device"), **_errors(READ_FORBIDDEN, 400, 404)},
    security=API_KEY_SECURITY,
)
def get_device(device_id: DeviceIdInPath, caller: Reader) -> Response[DeviceView]:
    return json_reply(HTTPStatus.OK, dependencies()[1].get(device_id, _now()))


@app.patch(
    "/devices/<deviceId>",
    summary="Change a device's name, site, timeZone, silentAfterMinutes or enabled",
    tags=["devices"],
    responses={
        200: model_response(DeviceView, "The device as changed"),
        **_errors(ADMIN_FORBIDDEN, 400, 404, 415, 422),
    },
    security=API_KEY_SECURITY,
)
def change_device(
    device_id: DeviceIdInPath, change: Annotated[DeviceChange, Body()], caller: Admin
) -> Response[DeviceView]:
    return json_reply(HTTPStatus.OK, dependencies()[1].change(device_id, change, caller.key_id, _now()))


@app.post(
    "/devices/<deviceId>/disable",
    summary="Refuse the device's punches from now on",
    tags=["devices"],
    responses={200: model_response(DeviceView, "The device, disabled"), **_errors(ADMIN_FORBIDDEN, 400, 404)},
    security=API_KEY_SECURITY,
)
def disable_device(device_id: DeviceIdInPath, caller: Admin) -> Response[DeviceView]:
    return json_reply(HTTPStatus.OK, dependencies()[1].disable(device_id, caller.key_id, _now()))


@app.delete(
    "/devices/<deviceId>",
    summary="Remove a disabled device from the registry, with its commands; its punches stay",
    tags=["devices"],
    responses={
        200: model_response(Removed, "Removed: the device as it was"),
        **_errors(ADMIN_FORBIDDEN, 400, 404, 409),
    },
    security=API_KEY_SECURITY,
)
def remove_device(device_id: DeviceIdInPath, caller: Admin) -> Response[Removed]:
    return json_reply(HTTPStatus.OK, dependencies()[1].remove(device_id, caller.key_id, _now()))


@app.post(
    "/devices/<deviceId>/push-url",
    summary="A Hikvision terminal's new push URL, answered this once; its old URL is refused from now on",
    tags=["devices"],
    responses={
        200: model_response(Registered, "The terminal and its new push URL"),
        **_errors(ADMIN_FORBIDDEN, 400, 404, 422),
    },
    security=API_KEY_SECURITY,
)
def replace_push_url(device_id: DeviceIdInPath, caller: Admin) -> Response[Registered]:
    replaced = dependencies()[1].replace_push_url(device_id, caller.key_id, _now(), _api_url())
    return json_reply(HTTPStatus.OK, replaced)


@app.get(
    "/devices/<deviceId>/punches",
    summary="The device's most recent punches, newest first, with their delivery status",
    tags=["devices"],
    responses={200: model_response(DevicePunchList, "The punches"), **_errors(READ_FORBIDDEN, 400, 404)},
    security=API_KEY_SECURITY,
)
def device_punches(
    device_id: DeviceIdInPath,
    caller: Reader,
    limit: Annotated[int, Query(ge=1, le=200, description="How many, 1 to 200")] = 50,
) -> Response[DevicePunchList]:
    return json_reply(HTTPStatus.OK, dependencies()[1].punches(device_id, limit))


@app.post(
    "/devices/<deviceId>/health",
    summary="The edge poller's report on a device it reads (a heartbeat, with what it saw)",
    tags=["devices"],
    responses={
        202: model_response(
            HealthRecorded, "Taken; `recorded` is false for a plain heartbeat within the minute"
        ),
        **_errors("The key lacks the ingest scope or may not report for this device", 400, 404, 415, 422),
    },
    security=API_KEY_SECURITY,
)
def report_health(
    device_id: DeviceIdInPath, report: Annotated[HealthReport, Body()], caller: Reporter
) -> Response[HealthRecorded]:
    if not caller.allows_device(device_id):
        raise ApiError(
            HTTPStatus.FORBIDDEN, "device_not_allowed", f"this API key may not report for {device_id}"
        )
    return json_reply(HTTPStatus.ACCEPTED, dependencies()[1].report_health(device_id, report, _now()))


def _api_url() -> str:
    """The API's own URL, as the caller reached it: a Hikvision terminal pushes there."""
    headers = app.current_event.headers
    scheme = headers.get("x-forwarded-proto", "http")
    host = headers.get("host") or app.current_event.request_context.domain_name
    return f"{scheme}://{host}"


@init_phase.ends_at_first_invocation
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return resolve(app, event, context)
