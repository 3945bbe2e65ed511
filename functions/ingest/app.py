"""Ingest API: POST /punches (and /device/punch for devices set up for the earlier middleware), and the
punches admins add by hand for employees (POST /employees/{userId}/punches)."""

from attendance import init_phase  # first: the collector rests while the rest imports

# isort: split
from dataclasses import dataclass
from functools import cache
from typing import Annotated, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import Depends, Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from attendance.api import (
    API_KEY_SECURITY,
    RATE_LIMITED,
    UserIdInPath,
    http_api,
    install_error_handlers,
    keyed_refusals,
    model_response,
    require_key,
    resolve,
)
from attendance.data.api_keys import ApiKeyStore
from attendance.data.aws import client
from attendance.data.devices import DeviceStore
from attendance.data.punch_intake import PunchIntake
from attendance.data.queue import PunchQueue
from attendance.data.request_counts import RequestCounts
from attendance.domain.keys import ApiKey, Scope
from attendance.domain.punch import PunchSource
from attendance.ingest.body import MissedPunch, PunchBody, decoded_json_event, punch_items
from attendance.ingest.budget import UNLIMITED, TimeBudget
from attendance.ingest.replies import BatchReply, PunchReply, batch_reply, single_reply
from attendance.ingest.service import IngestService, ItemResult, ItemStatus
from attendance.rate_limiter import KeyRateLimiter
from attendance.settings import IngestSettings
from attendance.tracing import create_tracer

logger = Logger()
tracer = create_tracer()
metrics = Metrics()
app = http_api()
install_error_handlers(app, logger, metrics, "punch storage")


@cache
def ingest_settings() -> IngestSettings:
    return IngestSettings()


@dataclass(frozen=True)
class Dependencies:
    keys: ApiKeyStore
    limiter: KeyRateLimiter
    service: IngestService


@cache
def dependencies() -> Dependencies:
    """Built once per container, on first use."""
    settings = ingest_settings()
    dynamodb = client("dynamodb")
    service = IngestService(
        settings,
        PunchIntake(dynamodb, settings.punches_table, settings.dedup_table),
        DeviceStore(dynamodb, settings.devices_table),
        PunchQueue(client("sqs"), settings.punch_queue_url),
    )
    limiter = KeyRateLimiter(
        RequestCounts(dynamodb, settings.request_counts_table), settings.client_rate_limit
    )
    return Dependencies(ApiKeyStore(dynamodb, settings.api_keys_table), limiter, service)


Caller = Annotated[
    ApiKey,
    Depends(require_key(lambda: dependencies().keys, Scope.INGEST, limiter=lambda: dependencies().limiter)),
]
Punches = Annotated[PunchBody, Body(description="One punch, or a batch of up to 500")]
_RESPONSES = {
    200: model_response(
        BatchReply, "A batch: counts and one result per item; send `retry` items again after `Retry-After`"
    ),
    202: model_response(PunchReply, "The punch was accepted"),
    409: model_response(PunchReply, "A duplicate: `logId` is the earlier punch's"),
    **keyed_refusals(
        "The key lacks the ingest scope, or may not send for this device, or the device is disabled",
        {
            400: "The body does not match this contract (invalid JSON, gzip or field); `details` names the fields",
            413: "Body over 1 MiB (after gzip)",
            415: "Not application/json, or an encoding other than gzip",
            422: "A well-formed punch whose time cannot be taken: no such date, or too far from now",
            429: RATE_LIMITED,
            503: "Storage unavailable, or a punch of the same user less than the window from this one is still "
            "being stored by another request (`retry`); send again after Retry-After seconds",
        },
    ),
}


@app.post(
    "/punches",
    summary="Send one punch or a batch of up to 500 (JSON, optionally gzip-encoded)",
    tags=["ingest"],
    responses=_RESPONSES,
    security=API_KEY_SECURITY,
)
def post_punches(body: Punches, caller: Caller) -> Response[PunchReply | BatchReply]:
    return _ingest(body, caller, PunchSource.API)


@app.post(
    "/device/punch",
    summary="The same as POST /punches, for devices set up for the earlier middleware",
    tags=["ingest"],
    responses=_RESPONSES,
    security=API_KEY_SECURITY,
)
def post_device_punch(body: Punches, caller: Caller) -> Response[PunchReply | BatchReply]:
    return _ingest(body, caller, PunchSource.DEVICE)


Admin = Annotated[ApiKey, Depends(require_key(lambda: dependencies().keys, Scope.ADMIN))]


@app.post(
    "/employees/<userId>/punches",
    summary="Add a punch the clock missed, by hand (admins): stored, deduplicated and delivered as any other",
    tags=["ingest"],
    responses={
        202: model_response(PunchReply, "The punch was added"),
        409: model_response(PunchReply, "A duplicate: the employee has this punch already; `logId` is it"),
        **keyed_refusals(
            "The key lacks the admin scope, or may not send for this clock, or the clock is disabled",
            {
                400: "The body does not match this contract; `details` names the fields",
                413: "Body over 1 MiB",
                415: "Not application/json",
                422: "A time that cannot be taken: no such date, or too far from now",
                503: "Storage unavailable, or another punch of the employee less than the window from this one "
                "is being stored (`retry`); send again after Retry-After seconds",
            },
        ),
    },
    security=API_KEY_SECURITY,
)
def post_missed_punch(
    user_id: UserIdInPath, body: Annotated[MissedPunch, Body()], caller: Admin
) -> Response[PunchReply]:
    [result] = dependencies().service.ingest([body.submission(user_id)], caller, PunchSource.MANUAL)
    logger.info(  # who added which punch by hand: the record of a correction
        "punch added by hand",
        extra={
            "userId": user_id,
            "punch": body.model_dump(by_alias=True),
            "result": result.status.value,
            "logId": result.log_id,
            "keyId": caller.key_id,
            "keyName": caller.name,
        },
    )
    _count([result])
    status, reply = single_reply(result)
    return Response(status, content_types.APPLICATION_JSON, reply)


def _ingest(body: Any, caller: ApiKey, source: PunchSource) -> Response[PunchReply | BatchReply]:
    service = dependencies().service
    items, is_batch = punch_items(body)
    results = service.ingest(items, caller, source, _budget() if is_batch else UNLIMITED)
    _count(results)
    if is_batch:
        reply = batch_reply(results)
        wait = {"Retry-After": str(reply.retry_after)} if reply.retry_after else None
        return Response(200, content_types.APPLICATION_JSON, reply, wait)
    logger.set_correlation_id(results[0].log_id)
    status, reply = single_reply(results[0])
    return Response(status, content_types.APPLICATION_JSON, reply)


def _budget() -> TimeBudget:
    """A batch stops starting punches before the function's time runs out (a single punch is always tried)."""
    reserve = ingest_settings().batch_time_reserve_seconds
    return TimeBudget(app.lambda_context.get_remaining_time_in_millis, reserve)


_METRIC_NAMES = {
    ItemStatus.ACCEPTED: "PunchesAccepted",
    ItemStatus.DUPLICATE: "PunchesDuplicate",
    ItemStatus.REJECTED: "PunchesRejected",
    ItemStatus.RETRY: "PunchesDeferred",
}


def _count(results: list[ItemResult]) -> None:
    for status in ItemStatus:
        count = sum(result.status is status for result in results)
        if count:
            metrics.add_metric(name=_METRIC_NAMES[status], unit=MetricUnit.Count, value=count)


@init_phase.ends_at_first_invocation
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return resolve(app, event, context, decoded_json_event)
