"""Devices that push: ZKTeco ADMS (/iclock/...) and Hikvision event push (/hikvision/events/{token}).

Both end in the same validation, dedup and storage as POST /punches. Devices authenticate by
registration: an ADMS device by its serial number, a Hikvision terminal by the token in its push URL.
"""

import base64
import binascii
from datetime import UTC, datetime
from email.utils import formatdate
from functools import cache
from http import HTTPStatus
from itertools import batched
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from attendance.api import internal_error_response, json_response, unavailable_body
from attendance.data.aws import StoreUnavailable, client
from attendance.data.devices import DeviceStore
from attendance.data.punches import PunchStore
from attendance.data.queue import PunchQueue
from attendance.domain.devices import Device, DeviceKind
from attendance.domain.keys import ApiKey, Scope
from attendance.domain.punch import PunchSource
from attendance.ingest.body import MAX_BATCH
from attendance.ingest.service import IngestService, ItemResult, ItemStatus
from attendance.push.adms import options_reply, parse_attlog
from attendance.push.hikvision import MalformedEvent, event_document, read_event
from attendance.settings import DevicePushSettings
from attendance.tracing import create_tracer

logger = Logger()
tracer = create_tracer()
metrics = Metrics()
app = APIGatewayHttpResolver()
MAX_PUSH_BYTES = 2 * 1024 * 1024  # an ADMS backlog or a Hikvision event with its picture


class DeviceRefused(Exception):
    """Unknown or disabled device: refused and logged."""


@cache
def dependencies() -> tuple[DeviceStore, IngestService]:
    settings = DevicePushSettings()
    dynamodb = client("dynamodb")
    devices = DeviceStore(dynamodb, settings.devices_table)
    service = IngestService(
        settings,
        PunchStore(dynamodb, settings.punches_table, settings.dedup_table),
        devices,
        PunchQueue(client("sqs"), settings.punch_queue_url),
    )
    return devices, service


def _as_caller(device: Device) -> ApiKey:
    """A registered device may write for itself only."""
    return ApiKey(
        key_id=f"device:{device.device_id}",
        name=device.device_id,
        scopes=frozenset({Scope.INGEST}),
        devices=frozenset({device.device_id}),
        created_at=datetime.now(UTC),
    )


def _registered(device: Device | None, kind: DeviceKind, described_as: str) -> Device:
    if device is None or device.kind is not kind or not device.enabled:
        state = "disabled" if device and not device.enabled else "unknown"
        logger.warning("push refused", extra={"device": described_as, "reason": state})
        metrics.add_metric(name="PushRefused", unit=MetricUnit.Count, value=1)
        raise DeviceRefused(f"{state} device")
    return device


def _body_bytes() -> bytes:
    event = app.current_event
    raw = event.body or ""
    if len(raw) > MAX_PUSH_BYTES * 4 // 3 + 4:
        raise MalformedEvent("body too large")
    try:
        return base64.b64decode(raw) if event.is_base64_encoded else raw.encode()
    except binascii.Error as error:
        raise MalformedEvent("body is not valid base64") from error


def _text(body: str, status: int = HTTPStatus.OK) -> Response:
    # Devices set their clocks from our Date header: always send a correct one.
    return Response(status, content_types.TEXT_PLAIN, body, {"Date": formatdate(usegmt=True)})


def _ingest(device: Device, punches: list[dict[str, str]], source: PunchSource) -> list[ItemResult]:
    _, service = dependencies()
    results: list[ItemResult] = []
    for chunk in batched(punches, MAX_BATCH):
        results += service.ingest(list(chunk), _as_caller(device), source)
    for result in results:
        if result.status is ItemStatus.REJECTED:
            logger.warning(
                "pushed punch rejected", extra={"device": device.device_id, "reason": result.reason}
            )
    for status in ItemStatus:
        count = sum(result.status is status for result in results)
        if count:
            metrics.add_metric(name=f"Pushed{status.value.title()}", unit=MetricUnit.Count, value=count)
    return results


# ZKTeco ADMS


def _adms_device() -> tuple[str, Device]:
    serial = app.current_event.get_query_string_value("SN", "") or ""
    devices, _ = dependencies()
    return serial, _registered(
        devices.by_serial(serial) if serial else None, DeviceKind.ZKTECO, f"SN={serial}"
    )


@app.get("/iclock/cdata", summary="ZKTeco ADMS handshake: the options for ?SN=<serial>", tags=["device push"])
def adms_handshake() -> Response[Any]:
    serial, device = _adms_device()
    return _text(options_reply(serial, device, datetime.now(UTC)))


@app.post(
    "/iclock/cdata",
    summary="ZKTeco ADMS upload (?SN=...&table=ATTLOG): tab-separated records, answered OK: <n>",
    tags=["device push"],
)
def adms_upload() -> Response[Any]:
    _, device = _adms_device()
    table = (app.current_event.get_query_string_value("table", "") or "").upper()
    if table != "ATTLOG":
        return _text("OK")  # OPERLOG, USERINFO, photos: acknowledged so the device does not resend them
    body = _body_bytes().decode("utf-8", errors="replace")
    punches, malformed = parse_attlog(body, device)
    for line in malformed:
        logger.warning(
            "malformed ATTLOG line skipped",
            extra={"device": device.device_id, "line": line.number, "reason": line.reason},
        )
    _ingest(device, punches, PunchSource.ADMS)
    # Only now, with every record stored, may the device forget them.
    return _text(f"OK: {len(punches) + len(malformed)}")


@app.get("/iclock/getrequest", summary="ZKTeco ADMS command poll: always OK", tags=["device push"])
def adms_poll_commands() -> Response[Any]:
    _adms_device()
    return _text("OK")  # no commands for the device


@app.post("/iclock/devicecmd", summary="ZKTeco ADMS command results: acknowledged", tags=["device push"])
def adms_command_result() -> Response[Any]:
    _adms_device()
    return _text("OK")


# Hikvision


@app.post(
    "/hikvision/events/<token>",
    summary="Hikvision event push (JSON or multipart); the token comes from the device registration",
    tags=["device push"],
)
def hikvision_event(token: str) -> Response[Any]:
    devices, _ = dependencies()
    device = _registered(devices.by_push_token(token), DeviceKind.HIKVISION, "hikvision push token")
    content_type = app.current_event.headers.get("content-type", "application/json")
    outcome = read_event(event_document(_body_bytes(), content_type), device)
    if outcome.punch is None:
        logger.info("event acknowledged", extra={"device": device.device_id, "note": outcome.note})
        return json_response(HTTPStatus.OK, {"status": "ok", "result": "ignored", "note": outcome.note})
    [result] = _ingest(device, [outcome.punch], PunchSource.HIKVISION)
    body = {"status": "ok", "result": result.status.value, "logId": result.log_id, "note": result.reason}
    return json_response(HTTPStatus.OK, {key: value for key, value in body.items() if value is not None})


def _is_adms() -> bool:
    return app.current_event.path.startswith("/iclock/")


@app.exception_handler(DeviceRefused)
def handle_refused(error: DeviceRefused) -> Response:
    if _is_adms():
        return _text(f"ERROR: {error}", HTTPStatus.FORBIDDEN)
    return json_response(HTTPStatus.FORBIDDEN, {"error": "device_refused", "message": str(error)})


@app.exception_handler(MalformedEvent)
def handle_malformed(error: MalformedEvent) -> Response:
    logger.warning("malformed push", extra={"reason": str(error)})
    if _is_adms():
        return _text(f"ERROR: {error}", HTTPStatus.BAD_REQUEST)
    return json_response(HTTPStatus.BAD_REQUEST, {"error": "malformed_event", "message": str(error)})


@app.exception_handler(StoreUnavailable)
def handle_store_unavailable(error: StoreUnavailable) -> Response:
    """Not acknowledged: the device keeps its records and sends them again."""
    logger.exception("storage unavailable")
    if _is_adms():
        return _text("ERROR: storage unavailable, send again later", HTTPStatus.SERVICE_UNAVAILABLE)
    return json_response(HTTPStatus.SERVICE_UNAVAILABLE, unavailable_body("punch storage"))


@app.exception_handler(Exception)
def handle_unexpected(error: Exception) -> Response:
    logger.exception("unexpected error")
    if _is_adms():
        return _text("ERROR: internal error", HTTPStatus.INTERNAL_SERVER_ERROR)
    return internal_error_response()


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
