"""POST /auth/token: an API key with read or admin scope trades itself for a short-lived feed token and the
WebSocket URL (browsers cannot send an Authorization header on a WebSocket)."""

from attendance import init_phase  # first: the collector rests while the rest imports

# isort: split
from datetime import UTC, datetime, timedelta
from functools import cache
from http import HTTPStatus
from typing import Annotated, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import Depends, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, Field

from attendance.api import (
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
from attendance.data.signing_key import SigningKey
from attendance.domain.keys import ApiKey, Scope
from attendance.feed.tokens import TokenSigner
from attendance.settings import FeedTokenSettings
from attendance.tracing import create_tracer

logger = Logger()
tracer = create_tracer()
metrics = Metrics()
app = http_api()
install_error_handlers(app, logger, metrics, "the live feed sign-in")


class FeedToken(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    token: str = Field(description="Connect with `url?token=<token>`; admits new connections until expiresAt")
    expires_at: str = Field(alias="expiresAt", description="UTC, ISO 8601; at most 15 minutes from now")
    url: str = Field(description="The live feed's WebSocket URL")


@cache
def dependencies() -> tuple[ApiKeyStore, TokenSigner, FeedTokenSettings]:
    settings = FeedTokenSettings()
    lifetime = timedelta(minutes=settings.feed_token_minutes)
    signer = TokenSigner(SigningKey(settings.feed_signing_key_parameter, create_if_missing=True), lifetime)
    return ApiKeyStore(client("dynamodb"), settings.api_keys_table), signer, settings


def _keys() -> ApiKeyStore:
    return dependencies()[0]


Reader = Annotated[ApiKey, Depends(require_key(_keys, Scope.READ, Scope.ADMIN))]


@app.post(
    "/auth/token",
    summary="A short-lived token for the live feed (WebSocket), for a key with read or admin scope",
    tags=["live feed"],
    responses={
        200: model_response(FeedToken, "The token and where to connect"),
        **keyed_refusals(READ_FORBIDDEN),
    },
    security=API_KEY_SECURITY,
)
def issue_token(caller: Reader) -> Response[FeedToken]:
    _, signer, settings = dependencies()
    token, expires = signer.issue(caller, datetime.now(UTC))
    logger.info("feed token issued", extra={"keyId": caller.key_id})
    reply = FeedToken(token=token, expires_at=expires.strftime("%Y-%m-%dT%H:%M:%SZ"), url=settings.feed_url)
    return json_reply(HTTPStatus.OK, reply)


@init_phase.ends_at_first_invocation
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return resolve(app, event, context)
