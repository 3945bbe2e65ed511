"""Deliveries API: punches by sync status, the dead-letter queue with each punch's error, redrives and
abandons, and voiding a punch. Reading needs the read or admin scope, changing anything the admin scope."""

from attendance import init_phase  # first: the collector rests while the rest imports

# isort: split
from functools import cache, partial
from http import HTTPStatus
from typing import TYPE_CHECKING, Annotated, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import Depends, Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from attendance.api import (
    ADMIN_FORBIDDEN,
    API_KEY_SECURITY,
    READ_FORBIDDEN,
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
from attendance.data.dead_letters import DeadLetterQueue
from attendance.data.punches import PunchStore
from attendance.data.queue import PunchQueue
from attendance.deliveries.models import (
    MAX_VOIDS_LISTED,
    AbandonResult,
    ChosenDeadLetters,
    DeadLetterChoice,
    DeadLetterList,
    DeliveryOverview,
    RedriveResult,
    VoidAccepted,
    VoidList,
    VoidPunch,
)
from attendance.deliveries.service import DeadLetterService
from attendance.deliveries.voids import PunchVoids
from attendance.domain.keys import ApiKey, Scope
from attendance.domain.punch import Identifier
from attendance.settings import DeliveriesSettings
from attendance.tracing import create_tracer

if TYPE_CHECKING:
    from attendance.delivery.corrections import CorrectionCheck

logger = Logger()
tracer = create_tracer()
metrics = Metrics()
app = http_api()
install_error_handlers(app, logger, metrics, "the delivery status")


@cache
def dependencies() -> tuple[ApiKeyStore, DeadLetterService, PunchVoids]:
    settings = DeliveriesSettings()
    dynamodb, sqs = client("dynamodb"), client("sqs")
    punches = PunchStore(dynamodb, settings.punches_table)
    queue = DeadLetterQueue(
        sqs, dynamodb, settings.punch_dlq_url, settings.punch_queue_url, settings.punches_table
    )
    check = cache(partial(correction_check, settings))
    voids = PunchVoids(punches, queue, PunchQueue(sqs, settings.punch_queue_url), check)
    return ApiKeyStore(dynamodb, settings.api_keys_table), DeadLetterService(punches, queue), voids


def correction_check(settings: DeliveriesSettings) -> "CorrectionCheck":
    """Whether a void's correction can be made; imported when first asked for, since corrections are rare
    and the dedup rules are not worth every cold start's import."""
    from attendance.data.punch_intake import PunchIntake
    from attendance.delivery.corrections import CorrectionCheck

    intake = PunchIntake(client("dynamodb"), settings.punches_table, settings.dedup_table)
    return CorrectionCheck(intake, settings.dedup_window_seconds)


def _keys() -> ApiKeyStore:
    return dependencies()[0]


Reader = Annotated[ApiKey, Depends(require_key(_keys, Scope.READ, Scope.ADMIN))]
Admin = Annotated[ApiKey, Depends(require_key(_keys, Scope.ADMIN))]


def _errors(forbidden: str, *extra: int) -> dict[int, Any]:
    texts = {
        400: "The body is not {logIds: [...]} or {all: true} (exactly one); `details` names the fields",
        415: "The body is not application/json",
    }
    return keyed_refusals(forbidden, {status: texts[status] for status in extra})


def _void_errors() -> dict[int, Any]:
    texts = {
        400: "The logId or the body ({reason, correctedType}) is not valid; `details` names the fields",
        404: "No punch with this logId",
        409: "The punch is voided (or being voided) already (`already_voided`), or the corrected punch would be "
        "a duplicate (`correction_duplicate`): nothing was changed",
        415: "The body is not application/json",
        422: "`correctedType` is the punch's own type (`invalid_correction`)",
    }
    return keyed_refusals(ADMIN_FORBIDDEN, texts)


@app.get(
    "/deliveries",
    summary="Punches by sync status, the oldest pending punch, and the dead-letter queue's size",
    tags=["deliveries"],
    responses={
        200: model_response(DeliveryOverview, "How delivery stands"),
        **_errors(READ_FORBIDDEN),
    },
    security=API_KEY_SECURITY,
)
def overview(caller: Reader) -> Response[DeliveryOverview]:
    return json_reply(HTTPStatus.OK, dependencies()[1].overview())


@app.get(
    "/deliveries/dead-letters",
    summary="Every dead-lettered punch with its last error and attempts (the messages stay in the queue)",
    tags=["deliveries"],
    responses={
        200: model_response(
            DeadLetterList,
            "The dead letters by punch time, the latest first (a message whose punch is not in the table, last)",
        ),
        **_errors(READ_FORBIDDEN),
    },
    security=API_KEY_SECURITY,
)
def dead_letters(caller: Reader) -> Response[DeadLetterList]:
    return json_reply(HTTPStatus.OK, dependencies()[1].listing())


@app.get(
    "/deliveries/voids",
    summary="The punches voided by an admin, latest first: who voided each and why, and how the void went",
    description="For reviewing corrections: each punch voided or being voided, with the reason given, the "
    "type it was added again with (a punch of the wrong type), and the latest entry of its history.",
    tags=["deliveries"],
    responses={
        200: model_response(VoidList, "The latest voids"),
        **keyed_refusals(
            READ_FORBIDDEN, {400: f"`limit` is not a whole number from 1 to {MAX_VOIDS_LISTED}"}
        ),
    },
    security=API_KEY_SECURITY,
)
def voids(
    caller: Reader,
    limit: Annotated[int, Query(ge=1, le=MAX_VOIDS_LISTED, description="How many, at most")] = 50,
) -> Response[VoidList]:
    return json_reply(HTTPStatus.OK, dependencies()[2].latest(limit))


_CHOOSING = (
    'Send `{"logIds": [...]}` for chosen punches (at most 100) or `{"all": true}` for every one. A logId '
    "that is not in the dead-letter queue (or was delivered meanwhile) is answered in `notInDlq`."
)


@app.post(
    "/deliveries/dead-letters/redrive",
    summary="Redrive dead-lettered punches: pending again and queued, so the worker tries each again, as a new punch",
    description=_CHOOSING,
    tags=["deliveries"],
    responses={
        200: model_response(RedriveResult, "What was redriven"),
        **_errors(ADMIN_FORBIDDEN, 400, 415),
    },
    security=API_KEY_SECURITY,
)
def redrive(request: Annotated[DeadLetterChoice, Body()], caller: Admin) -> Response[RedriveResult]:
    result = dependencies()[1].redrive(_chosen(request))
    logger.info(
        "dead letters redriven",
        extra={"keyId": caller.key_id, "redriven": result.redriven, "notInDlq": result.not_in_dlq},
    )
    metrics.add_metric(name="PunchesRedriven", unit=MetricUnit.Count, value=len(result.redriven))
    return json_reply(HTTPStatus.OK, result)


@app.post(
    "/deliveries/dead-letters/abandon",
    summary="Abandon dead-lettered punches the CRM will never take: out of the queue, kept in the table as "
    "abandoned, never sent",
    description=_CHOOSING + " An abandoned punch still counts in the reports; the CRM never gets it.",
    tags=["deliveries"],
    responses={
        200: model_response(AbandonResult, "What was abandoned"),
        **_errors(ADMIN_FORBIDDEN, 400, 415),
    },
    security=API_KEY_SECURITY,
)
def abandon(request: Annotated[DeadLetterChoice, Body()], caller: Admin) -> Response[AbandonResult]:
    result = dependencies()[1].abandon(_chosen(request), f"key {caller.name}")
    logger.info(  # who gave up on which punches: the record of a decision the CRM never sees
        "dead letters abandoned",
        extra={"keyId": caller.key_id, "abandoned": result.abandoned, "notInDlq": result.not_in_dlq},
    )
    metrics.add_metric(name="PunchesAbandoned", unit=MetricUnit.Count, value=len(result.abandoned))
    return json_reply(HTTPStatus.OK, result)


@app.post(
    "/punches/<logId>/void",
    summary="Void a punch that should not count: its record removed from the CRM, and out of every report",
    description="For a test punch, or one punched twice by mistake; a punch the clock missed is added with "
    "POST /employees/{userId}/punches. The punch is kept in the table with the reason in its history, and "
    "its dedup claim stays, so the device sending it again never brings it back. The answer comes at once; "
    "the removal follows within seconds (punch.voided on the live feed). A CRM that will not remove it "
    "leaves it delivered, with its refusal in lastError. With `correctedType`, a punch of the wrong type (a "
    "check-out the clock recorded as a check-in) is corrected: once it is out of the CRM, the same punch "
    "with that type is added by hand in its place, and delivered.",
    tags=["deliveries"],
    responses={202: model_response(VoidAccepted, "Being voided"), **_void_errors()},
    security=API_KEY_SECURITY,
)
def void_punch(
    log_id: Annotated[Identifier, Path(alias="logId", description="The punch's logId")],
    request: Annotated[VoidPunch, Body()],
    caller: Admin,
) -> Response[VoidAccepted]:
    accepted = dependencies()[2].void(log_id, request.reason, f"key {caller.name}", request.corrected_type)
    logger.info(  # who voided which punch and why: the record of a decision
        "punch voided",
        extra={
            "keyId": caller.key_id,
            "logId": log_id,
            "reason": request.reason,
            "was": accepted.previous_status,
            "correctedType": request.corrected_type,
        },
    )
    metrics.add_metric(name="PunchesVoided", unit=MetricUnit.Count, value=1)
    return json_reply(HTTPStatus.ACCEPTED, accepted)


def _chosen(request: DeadLetterChoice) -> set[str] | None:
    return set(request.log_ids) if isinstance(request, ChosenDeadLetters) else None


@init_phase.ends_at_first_invocation
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return resolve(app, event, context)
