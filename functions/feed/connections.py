"""The live feed's WebSocket routes: $connect checks the token and records the connection with its rooms,
subscribe and unsubscribe change the rooms (the reply says which it has now), $default answers a ping or
says what was wrong, $disconnect forgets the connection."""

from attendance import init_phase  # first: the collector rests while the rest imports

# isort: split
import json
from datetime import UTC, datetime
from functools import cache
from http import HTTPStatus
from typing import Annotated, Any, Literal

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import APIGatewayWebSocketEvent, event_source
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from attendance.data.aws import StoreUnavailable, client
from attendance.data.feed import ConnectionStore
from attendance.data.signing_key import SigningKey
from attendance.domain.punch import describe_validation_error
from attendance.feed.connections import ConnectionService, Refused
from attendance.feed.events import FeedError, Pong, Subscribed, encode, now_iso
from attendance.feed.rooms import MAX_ROOMS
from attendance.feed.tokens import TokenSigner
from attendance.settings import FeedConnectionsSettings
from attendance.tracing import create_tracer

logger = Logger()
tracer = create_tracer()
metrics = Metrics()


class RoomsRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: Literal["subscribe", "unsubscribe"]
    rooms: Annotated[list[str], Field(min_length=1, max_length=MAX_ROOMS)]


@cache
def service() -> ConnectionService:
    settings = FeedConnectionsSettings()
    store = ConnectionStore(client("dynamodb"), settings.feed_connections_table)
    return ConnectionService(store, TokenSigner(SigningKey(settings.feed_signing_key_parameter)))


@init_phase.ends_at_first_invocation
@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_source(data_class=APIGatewayWebSocketEvent)
def lambda_handler(event: APIGatewayWebSocketEvent, context: LambdaContext) -> dict[str, Any]:
    context_of = event.request_context
    logger.append_keys(connectionId=context_of.connection_id, route=context_of.route_key)
    try:
        if context_of.event_type == "CONNECT":
            return _connect(event)
        if context_of.event_type == "DISCONNECT":
            service().disconnect(context_of.connection_id)
            return {"statusCode": HTTPStatus.OK}
        return _message(event)
    except StoreUnavailable:
        logger.exception("the connections table could not be reached")
        return _reply(HTTPStatus.SERVICE_UNAVAILABLE, _error("unavailable", "the feed is unavailable; retry"))


def _connect(event: APIGatewayWebSocketEvent) -> dict[str, Any]:
    query = event.query_string_parameters or {}
    try:
        connection = service().connect(
            event.request_context.connection_id, query.get("token"), query.get("rooms"), datetime.now(UTC)
        )
    except Refused as refused:
        logger.info("connection refused", extra={"reason": refused.message})
        metrics.add_metric(name="FeedConnectionsRefused", unit=MetricUnit.Count, value=1)
        return _reply(refused.status, _error(refused.code, refused.message))
    logger.info("connected", extra={"keyId": connection.key_id, "rooms": sorted(connection.rooms)})
    metrics.add_metric(name="FeedConnections", unit=MetricUnit.Count, value=1)
    return {"statusCode": HTTPStatus.OK}


def _message(event: APIGatewayWebSocketEvent) -> dict[str, Any]:
    body = _json(event.body)
    if isinstance(body, dict) and body.get("action") == "ping":
        return _reply(HTTPStatus.OK, Pong(at=now_iso()))
    try:
        request = RoomsRequest.model_validate(body)
    except ValidationError as error:
        return _reply(HTTPStatus.BAD_REQUEST, _error("invalid_request", _explain(error)))
    connection_id = event.request_context.connection_id
    change = service().subscribe if request.action == "subscribe" else service().unsubscribe
    try:
        rooms = change(connection_id, request.rooms)
    except Refused as refused:
        return _reply(refused.status, _error(refused.code, refused.message))
    return _reply(HTTPStatus.OK, Subscribed(at=now_iso(), rooms=sorted(rooms)))


def _json(text: str | None) -> Any:
    try:
        return json.loads(text or "")
    except ValueError:
        return None


def _explain(error: ValidationError) -> str:
    return (
        'send {"action": "subscribe" or "unsubscribe", "rooms": ["all", "deliveries", "device:<id>", '
        '"user:<id>"]} or {"action": "ping"}: ' + describe_validation_error(error)
    )


def _error(code: str, message: str) -> FeedError:
    return FeedError(at=now_iso(), error=code, message=message)


def _reply(status: int, message: BaseModel) -> dict[str, Any]:
    """A two-way route sends `body` back to the client; on $connect a non-2xx status refuses the handshake."""
    return {"statusCode": int(status), "body": encode(message)}
