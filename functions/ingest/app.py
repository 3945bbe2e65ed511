"""Ingest API: POST /punches (and /device/punch for devices set up for the earlier middleware)."""

from functools import cache
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
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
from attendance.data.devices import DeviceStore
from attendance.data.punches import PunchStore
from attendance.data.queue import PunchQueue
from attendance.domain.keys import Scope
from attendance.domain.punch import PunchSource
from attendance.ingest.body import decode_json_body, split_punches
from attendance.ingest.service import IngestService, ItemResult, ItemStatus
from attendance.settings import IngestSettings
from attendance.tracing import create_tracer

logger = Logger()
tracer = create_tracer()
metrics = Metrics()
app = APIGatewayHttpResolver()

_SINGLE_STATUS = {ItemStatus.ACCEPTED: HTTPStatus.ACCEPTED, ItemStatus.DUPLICATE: HTTPStatus.CONFLICT}
_REJECTION_STATUS = {"device_not_allowed": HTTPStatus.FORBIDDEN, "device_disabled": HTTPStatus.FORBIDDEN}


@cache
def dependencies() -> tuple[ApiKeyStore, IngestService]:
    """Built once per container, on first use."""
    settings = IngestSettings()
    dynamodb = client("dynamodb")
    service = IngestService(
        settings,
        PunchStore(dynamodb, settings.punches_table, settings.dedup_table),
        DeviceStore(dynamodb, settings.devices_table),
        PunchQueue(client("sqs"), settings.punch_queue_url),
    )
    return ApiKeyStore(dynamodb, settings.api_keys_table), service


_INGEST_RESPONSES: dict[int, OpenAPIResponse] = {
    200: {"description": "A batch: counts and one result per item (accepted, duplicate or rejected)"},
    202: {"description": 'The punch was accepted: `{"status": "accepted", "logId": ...}`'},
    400: {"description": "Invalid JSON, body or punch; the JSON body names the problem"},
    401: {"description": "No API key, or an unknown or revoked one"},
    403: {"description": "The key lacks the ingest scope, or may not send for this device"},
    409: {"description": "A duplicate: `logId` is the earlier punch's"},
    413: {"description": "Body over 1 MiB (after gzip) or more than 500 punches"},
    415: {"description": "Not application/json, or an encoding other than gzip"},
    503: {"description": "Storage unavailable; nothing was stored, send again"},
}


@app.post(
    "/punches", summary="Send one punch or a batch of up to 500", tags=["ingest"], responses=_INGEST_RESPONSES
)
def post_punches() -> Response[Any]:
    return _ingest(PunchSource.API)


@app.post(
    "/device/punch",
    summary="The same as POST /punches, for devices set up for the earlier middleware",
    tags=["ingest"],
    responses=_INGEST_RESPONSES,
)
def post_device_punch() -> Response[Any]:
    return _ingest(PunchSource.DEVICE)


def _ingest(source: PunchSource) -> Response:
    keys, service = dependencies()
    event = app.current_event
    caller = authenticate(event.headers, keys, Scope.INGEST)
    document = decode_json_body(event.body, event.is_base64_encoded, event.headers)
    items, is_batch = split_punches(document)
    results = service.ingest(items, caller, source)
    _count(results)
    if is_batch:
        return json_response(HTTPStatus.OK, _batch_body(results))
    logger.set_correlation_id(results[0].log_id)
    return _single_reply(results[0])


def _single_reply(result: ItemResult) -> Response:
    if result.status is ItemStatus.REJECTED:
        code = result.error or "invalid_punch"
        status = _REJECTION_STATUS.get(code, HTTPStatus.BAD_REQUEST)
        return json_response(status, {"status": "rejected", "error": code, "message": result.reason})
    body = {"status": result.status.value, "logId": result.log_id}
    if result.reason:
        body["reason"] = result.reason
    return json_response(_SINGLE_STATUS[result.status], body)


def _batch_body(results: list[ItemResult]) -> dict[str, Any]:
    counts = {status.value: sum(result.status is status for result in results) for status in ItemStatus}
    return {"received": len(results), **counts, "results": [result.as_json() for result in results]}


def _count(results: list[ItemResult]) -> None:
    names = {ItemStatus.ACCEPTED: "PunchesAccepted", ItemStatus.DUPLICATE: "PunchesDuplicate"}
    for status in ItemStatus:
        count = sum(result.status is status for result in results)
        if count:
            metrics.add_metric(name=names.get(status, "PunchesRejected"), unit=MetricUnit.Count, value=count)


@app.exception_handler(ApiError)
def handle_api_error(error: ApiError) -> Response:
    if error.status >= HTTPStatus.INTERNAL_SERVER_ERROR:
        logger.error(error.message)
    else:
        logger.info("request refused", extra={"error": error.code, "reason": error.message})
        metrics.add_metric(name="RequestsRefused", unit=MetricUnit.Count, value=1)
    return json_response(error.status, error.body())


@app.exception_handler(StoreUnavailable)
def handle_store_unavailable(error: StoreUnavailable) -> Response:
    logger.exception("storage unavailable")
    return unavailable_response("punch storage")


@app.exception_handler(Exception)
def handle_unexpected(error: Exception) -> Response:
    logger.exception("unexpected error")
    return internal_error_response()


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
