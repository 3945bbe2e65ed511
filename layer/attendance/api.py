"""What every HTTP function shares: the validating resolver, one JSON error shape, API-key auth.

Status codes follow one rule across the API:
- 400: the request does not match the documented contract (the body says which fields);
- 422: it matches, but breaks a rule a schema cannot state (a date that does not exist, a time too far
  from now, a range backwards or too long);
- 401 / 403: no valid key, or a key without the scope; 404 / 405: no such route, or not this method.
"""

import json
import re
import zlib
from collections.abc import Callable, Mapping, Sequence
from contextvars import ContextVar
from functools import cache
from http import HTTPStatus
from typing import TYPE_CHECKING, Annotated, Any, get_type_hints
from urllib.parse import unquote

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import (
    APIGatewayHttpResolver,
    Depends,
    Request,
    Response,
    content_types,
)
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.middlewares.openapi_validation import _is_or_contains_sequence
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from aws_lambda_powertools.metrics import MetricUnit
from pydantic import BaseModel, Field

from attendance.data.errors import StoreUnavailable
from attendance.domain.keys import ApiKey, Scope
from attendance.domain.punch import Identifier, problem_text
from attendance.request_body import BodyTooLarge, NotBase64, body_bytes
from attendance.settings import InvalidSettings

if TYPE_CHECKING:  # the store comes with boto3, which a function serving no keyed route never needs
    from attendance.data.api_keys import ApiKeyStore
    from attendance.rate_limiter import KeyRateLimiter

_FIELD_NAME = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*|[0-9]+)$")
API_KEY_SCHEME = "apiKey"
API_KEY_SECURITY = [{API_KEY_SCHEME: []}]
RETRY_AFTER_SECONDS = "30"


class FieldProblem(BaseModel):
    location: str = Field(description="Where the field is: body, query, path or header")
    field: str = Field(description="The field's path, e.g. punch.userId or batch.punches; empty for all")
    problem: str


class ErrorBody(BaseModel):
    """Every refused request: a code for programs, a message for people, and the fields at fault."""

    error: str = Field(description="A stable code, e.g. invalid_request, unauthorized, invalid_timestamp")
    message: str
    details: list[FieldProblem] | None = Field(default=None, description="One entry per invalid field")


class ApiError(Exception):
    """A request we refuse, with the status and the JSON body that names the problem."""

    def __init__(
        self,
        status: HTTPStatus,
        code: str,
        message: str,
        details: list[FieldProblem] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.headers = headers or {}

    def body(self) -> ErrorBody:
        return ErrorBody(error=self.code, message=self.message, details=self.details)


# How an error reaches the client: JSON for the API, plain text for devices that only read text.
ErrorRenderer = Callable[[int, ErrorBody, dict[str, str]], Response]


def json_error(status: int, body: ErrorBody, headers: dict[str, str]) -> Response:
    return Response(status, content_types.APPLICATION_JSON, body.model_dump(exclude_none=True), headers)


def http_api() -> APIGatewayHttpResolver:
    """A resolver that validates every request and response against the route's pydantic models."""
    return APIGatewayHttpResolver(enable_validation=True, json_body_deserializer=_load_json)


def _load_json(text: str) -> Any:
    """json.loads, where anything undecodable (deep nesting too) is an invalid body, never a 500."""
    try:
        return json.loads(text)
    except RecursionError:
        raise json.JSONDecodeError("nesting too deep", text[:40], 0) from None


def model_response(model: type[BaseModel], description: str) -> OpenAPIResponse:
    """An OpenAPI response whose JSON body is `model`."""
    return {"description": description, "content": {"application/json": {"model": model}}}


def json_reply(status: int, body: Any) -> Response[Any]:
    """A JSON reply; the route's reply model validates and serialises `body`."""
    return Response(status, content_types.APPLICATION_JSON, body)


def error_responses(described: Mapping[int, str]) -> dict[int, OpenAPIResponse]:
    """OpenAPI responses for refusals, each with the ErrorBody schema."""
    return {status: model_response(ErrorBody, text) for status, text in described.items()}


COMMON_ERRORS = {
    500: "Unexpected failure (logged); nothing half-stored",
    503: "Storage unavailable; send again after Retry-After seconds",
}
AUTH_ERRORS = {
    401: "No API key, or an unknown or revoked one",
    403: "The key lacks the scope this route needs",
}
RATE_LIMITED = "The key sent more requests this second than its limit; send again after Retry-After seconds"
# The IDs in routes' paths, named and described alike by every function that serves one.
UserIdInPath = Annotated[
    Identifier, Path(alias="userId", description="The ID the clocks know the employee by")
]
DeviceIdInPath = Annotated[Identifier, Path(alias="deviceId", description="The device's ID")]
READ_FORBIDDEN = "The key lacks the read or admin scope"
ADMIN_FORBIDDEN = "The key lacks the admin scope"


def keyed_refusals(forbidden: str, described: Mapping[int, str] | None = None) -> dict[int, OpenAPIResponse]:
    """The refusals of a route that needs a key: 401, 403 (`forbidden` says why), 500 and 503, and those
    `described`, whose text wins where the route says more (a 503 that also means "retry", say)."""
    return error_responses({**AUTH_ERRORS, 403: forbidden, **COMMON_ERRORS, **(described or {})})


def install_error_handlers(
    app: APIGatewayHttpResolver,
    logger: Logger,
    metrics: Metrics,
    what: str,
    render: ErrorRenderer = json_error,
) -> None:
    """Every failure becomes one ErrorBody with the right status; `what` names the service in a 503."""

    def refuse(error: ApiError) -> Response:
        logger.info("request refused", extra={"error": error.code, "reason": error.message})
        metrics.add_metric(name="RequestsRefused", unit=MetricUnit.Count, value=1)
        if error.status == HTTPStatus.TOO_MANY_REQUESTS:
            metrics.add_metric(name="RequestsRateLimited", unit=MetricUnit.Count, value=1)
        return render(error.status, error.body(), error.headers)

    @app.exception_handler(ApiError)
    def handle_api_error(error: ApiError) -> Response:
        return refuse(error)

    @app.exception_handler(RequestValidationError)
    def handle_invalid(error: RequestValidationError) -> Response:
        return refuse(invalid_request(error.errors()))

    @app.exception_handler(RequestUnsupportedContentType)
    def handle_content_type(error: RequestUnsupportedContentType) -> Response:
        media_type = app.current_event.headers.get("content-type", "")
        return refuse(unsupported_media_type(media_type))

    @app.exception_handler(NotFoundError)
    def handle_no_route(error: NotFoundError) -> Response:
        allowed = allowed_methods(app)
        if not allowed:
            return refuse(ApiError(HTTPStatus.NOT_FOUND, "not_found", "no such route"))
        if app.current_event.http_method in allowed:  # the route exists; a path parameter cannot match
            return refuse(
                ApiError(
                    HTTPStatus.BAD_REQUEST, "invalid_request", "a path parameter holds characters no ID has"
                )
            )
        refusal = ApiError(
            HTTPStatus.METHOD_NOT_ALLOWED,
            "method_not_allowed",
            f"use {' or '.join(allowed)} on this route",
            headers={"Allow": ", ".join(allowed)},
        )
        return refuse(refusal)

    @app.exception_handler(StoreUnavailable)
    def handle_store_unavailable(error: StoreUnavailable) -> Response:
        logger.exception("storage unavailable")
        body = ErrorBody(error="unavailable", message=f"{what} is unavailable; try again later")
        return render(HTTPStatus.SERVICE_UNAVAILABLE, body, {"Retry-After": RETRY_AFTER_SECONDS})

    def internal_error() -> Response:
        return render(
            HTTPStatus.INTERNAL_SERVER_ERROR, ErrorBody(error="internal", message="internal error"), {}
        )

    @app.exception_handler(InvalidSettings)
    def handle_invalid_settings(error: InvalidSettings) -> Response:
        # the deployment's mistake, not the request's: the log's message names the variable and its value
        logger.exception(f"invalid settings: {error}")
        return internal_error()

    @app.exception_handler(Exception)
    def handle_unexpected(error: Exception) -> Response:
        logger.exception("unexpected error")
        return internal_error()


def allowed_methods(app: APIGatewayHttpResolver) -> list[str]:
    """The methods this function serves on the requested path (API Gateway sends it the others too),
    whatever characters its path parameters hold."""
    path = app.current_event.path
    return sorted({route.method for route in _routes(app) if _any_parameter(route.path).match(path)})


def _any_parameter(template: str) -> re.Pattern[str]:
    """/devices/<deviceId> as API Gateway matches /devices/{deviceId}: any segment is a parameter."""
    return re.compile("^" + re.sub(r"<\w+>", "[^/]+", template) + "$")


def invalid_request(errors: Sequence[Any]) -> ApiError:
    """A 400 naming each field that breaks the contract (once, however many union members it failed)."""
    details = list({(problem.location, problem.field): problem for problem in map(_problem, errors)}.values())
    if any(error.get("type") == "json_invalid" for error in errors):
        return ApiError(HTTPStatus.BAD_REQUEST, "invalid_json", "body is not valid JSON")
    message = "; ".join(f"{detail.field or detail.location}: {detail.problem}" for detail in details)
    return ApiError(HTTPStatus.BAD_REQUEST, "invalid_request", message, details)


def _problem(error: Mapping[str, Any]) -> FieldProblem:
    location, *parts = [str(part) for part in error.get("loc", ())] or ["body"]
    # pydantic names the union member that failed (constrained-str, function-after[...]): not a field
    path = [part for part in parts if _FIELD_NAME.match(part)]
    problem = problem_text(error)
    if error.get("type") == "missing" and not path and location == "body":
        problem = "a JSON body is required"
    return FieldProblem(location=location, field=".".join(path), problem=problem)


def unsupported_media_type(media_type: str, wanted: str = "application/json") -> ApiError:
    return ApiError(
        HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
        f"Content-Type must be {wanted}, not {media_type or 'missing'!r}",
    )


def file_body(event: Any, media_type: str, limit: int) -> bytes:
    """The bytes of a file sent as the body (a route that reads one: no JSON), typed `media_type`: a 415
    for another type, a 413 over `limit` bytes."""
    headers = {name.lower(): value for name, value in (event.headers or {}).items()}
    sent = headers.get("content-type", "").split(";")[0].strip().lower()
    if sent != media_type:
        raise unsupported_media_type(sent, media_type)
    return read_body(event.body, event.is_base64_encoded, limit)


def read_body(body: str | None, is_base64: bool, limit: int) -> bytes:
    """The body's bytes (`body_bytes`), its refusals answered in JSON: 413 `body_too_large`, 400
    `invalid_body`."""
    try:
        return body_bytes(body, is_base64, limit)
    except BodyTooLarge as refused:
        raise ApiError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "body_too_large", str(refused)) from None
    except NotBase64 as refused:
        raise ApiError(HTTPStatus.BAD_REQUEST, "invalid_body", str(refused)) from None


BodyDecoder = Callable[[dict[str, Any]], dict[str, Any]]


def resolve(
    app: APIGatewayHttpResolver, event: dict[str, Any], context: Any, decode_body: BodyDecoder | None = None
) -> dict[str, Any]:
    """Route a request as API Gateway hands it over.

    Path parameters are matched decoded (IDs may hold `+`, `@`, `:`, which clients percent-encode). A
    route that needs a key has it checked first, before anything of the request is validated: a caller
    without a valid key gets a 401 (or 403, 429), never an answer about the rest of its request. A
    request to a route that reads a JSON body then has that body checked by `decode_body` (default:
    typed, UTF-8 JSON), since the resolver would otherwise also parse form and multipart bodies, which
    the contract does not offer, and fail on undecodable bytes."""
    event = event | {"rawPath": unquote(event.get("rawPath") or "")}
    method = event.get("requestContext", {}).get("http", {}).get("method", "")
    route = _route(app, method, event["rawPath"])
    try:
        key_check = _key_check(route.func) if route else None
        key = key_check.check(event.get("headers") or {}) if key_check else None
        if route and route.dependant.body_params:
            event = (decode_body or json_text_event)(event)
            _require_object_body(route, event)
    except Exception as failure:  # answered by the resolver's own handlers, as inside it
        return _handled_before_routing(app, failure)
    checked = _checked_key.set(key)
    try:
        return app.resolve(event, context)
    finally:
        _checked_key.reset(checked)


def _require_object_body(route: Any, event: Mapping[str, Any]) -> None:
    """A 400 for a JSON array sent where the route reads an object. Powertools would hand the route the
    array's first element: for a parameter that is not a list it takes a list's first value, its rule for
    a repeated query parameter, applied to the body as well."""
    if any(_is_or_contains_sequence(param.field_info.annotation) for param in route.dependant.body_params):
        return
    if str(event.get("body") or "").lstrip().startswith("["):
        problem = "should be a JSON object, not an array"
        details = [FieldProblem(location="body", field="", problem=problem)]
        raise ApiError(HTTPStatus.BAD_REQUEST, "invalid_request", f"body: {problem}", details)


def _handled_before_routing(app: APIGatewayHttpResolver, failure: Exception) -> dict[str, Any]:
    """What the resolver's exception handler for `failure` answers, as API Gateway's result."""
    handler = app.exception_handler_manager.lookup_exception_handler(type(failure))
    if handler is None:
        raise failure
    response: Response = handler(failure)
    body = (
        response.body if isinstance(response.body, str) else json.dumps(response.body, separators=(",", ":"))
    )
    return {
        "statusCode": response.status_code,
        "headers": response.headers,
        "body": body,
        "isBase64Encoded": False,
    }


def _route(app: APIGatewayHttpResolver, method: str, path: str) -> Any:
    """The route the resolver will call for this request (static routes first, as it does), or the one
    it would if its path parameters held only what IDs hold; None if no route serves the path."""
    routes = [route for route in _routes(app) if route.method == method]
    matched = (route for route in routes if route.rule.match(path))
    return next(matched, None) or next((r for r in routes if _any_parameter(r.path).match(path)), None)


def _routes(app: APIGatewayHttpResolver) -> list[Any]:
    return app._static_routes + app._dynamic_routes  # Powertools keeps no public route table


def json_text_event(event: Mapping[str, Any]) -> dict[str, Any]:
    """The event with its body as JSON text, or an ApiError: 415 when the body is not typed JSON or is
    encoded other than by gzip, 413 over MAX_JSON_BODY_BYTES (after gunzip), 400 when it is not UTF-8.
    Checked before routing: the resolver would otherwise parse form and multipart bodies too, which the
    contract does not offer, and fail on undecodable bytes."""
    headers = {key.lower(): value for key, value in (event.get("headers") or {}).items()}
    require_json_media_type(headers)
    raw = read_body(event.get("body"), bool(event.get("isBase64Encoded")), MAX_JSON_BODY_BYTES)
    raw = _decoded(raw, headers.pop("content-encoding", "identity").strip().lower())
    try:
        text = raw.decode()
    except UnicodeDecodeError:
        raise ApiError(HTTPStatus.BAD_REQUEST, "invalid_json", "body is not UTF-8 JSON") from None
    return {**event, "headers": headers | JSON_CONTENT, "body": text, "isBase64Encoded": False}


MAX_JSON_BODY_BYTES = 1024 * 1024  # decompressed; 500 punches need about 100 KiB


def _decoded(raw: bytes, encoding: str) -> bytes:
    if encoding == "gzip":
        return _gunzip(raw)
    if encoding not in ("identity", ""):
        raise ApiError(
            HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
            "unsupported_encoding",
            f"Content-Encoding {encoding!r} is not supported; use gzip or none",
        )
    return raw


def _gunzip(raw: bytes) -> bytes:
    """Decompress at most MAX_JSON_BODY_BYTES, so a gzip bomb costs us nothing."""
    decompressor = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        data = decompressor.decompress(raw, MAX_JSON_BODY_BYTES + 1)
    except zlib.error as error:
        raise ApiError(HTTPStatus.BAD_REQUEST, "invalid_gzip", f"body does not gunzip: {error}") from None
    if len(data) > MAX_JSON_BODY_BYTES or decompressor.unconsumed_tail:
        too_large = f"{BodyTooLarge(MAX_JSON_BODY_BYTES)} (after decompression)"  # a plain body's words
        raise ApiError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "body_too_large", too_large)
    if not decompressor.eof:
        raise ApiError(HTTPStatus.BAD_REQUEST, "invalid_gzip", "gzip body is truncated")
    return data


# What the resolver is shown once the media type is checked: it reads only application/json itself.
JSON_CONTENT = {"content-type": content_types.APPLICATION_JSON}


def require_json_media_type(headers: Mapping[str, str]) -> None:
    """application/json or any +json type (headers with lower-case names); else a 415."""
    media_type = headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/json" and not media_type.endswith("+json"):
        raise unsupported_media_type(media_type)


class KeyCheck:
    """A route dependency: the caller's live key with one of `scopes`, or a 401/403; with a `limiter`,
    a 429 when the key is over its request rate. `resolve` runs it before the request is validated; the
    route then gets the key that check found, so a request is looked up and counted once."""

    def __init__(
        self,
        keys: Callable[[], "ApiKeyStore"],
        scopes: tuple[Scope, ...],
        limiter: Callable[[], "KeyRateLimiter"] | None,
    ) -> None:
        self._keys = keys
        self._scopes = scopes
        self._limiter = limiter

    def dependency(self, request: Request) -> ApiKey:
        return _checked_key.get() or self.check(request.headers)

    def check(self, headers: Mapping[str, str]) -> ApiKey:
        key = authenticate(headers, self._keys(), *self._scopes)
        if self._limiter is not None:
            refuse_over_limit(key, self._limiter())
        return key


# The key `resolve` checked for the request in hand (None: the route needs none, or no check ran yet).
_checked_key: ContextVar[ApiKey | None] = ContextVar("checked_key", default=None)


def require_key(
    keys: Callable[[], "ApiKeyStore"], *scopes: Scope, limiter: Callable[[], "KeyRateLimiter"] | None = None
) -> Callable[[Request], ApiKey]:
    """The dependency a keyed route declares: `Annotated[ApiKey, Depends(require_key(...))]`."""
    return KeyCheck(keys, scopes, limiter).dependency


@cache
def _key_check(handler: Callable[..., Any]) -> KeyCheck | None:
    """The key check a route's handler declares among its parameters, if any."""
    for hint in get_type_hints(handler, include_extras=True).values():
        for marker in getattr(hint, "__metadata__", ()):
            check = getattr(marker.dependency, "__self__", None) if isinstance(marker, Depends) else None
            if isinstance(check, KeyCheck):
                return check
    return None


def refuse_over_limit(key: ApiKey, limiter: "KeyRateLimiter") -> None:
    """A 429 with Retry-After when this request takes `key` over its rate."""
    refusal = limiter.check(key)
    if refusal is not None:
        raise ApiError(
            HTTPStatus.TOO_MANY_REQUESTS,
            "rate_limited",
            f"API key {key.key_id} may send {refusal.limit} requests a second; send again after Retry-After seconds",
            headers={"Retry-After": str(refusal.retry_after)},
        )


def authenticate(headers: Mapping[str, str], keys: "ApiKeyStore", *scopes: Scope) -> ApiKey:
    """The caller's key from `Authorization: Bearer <key>`; 401 without a live key, 403 without any of
    the scopes."""
    scheme, _, token = (_header(headers, "authorization") or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(HTTPStatus.UNAUTHORIZED, "unauthorized", "send 'Authorization: Bearer <api key>'")
    key = keys.find(token.strip())
    if key is None or key.revoked:
        raise ApiError(HTTPStatus.UNAUTHORIZED, "unauthorized", "API key is unknown or revoked")
    if not key.scopes & set(scopes):
        wanted = " or ".join(f"'{scope}'" for scope in scopes)
        raise ApiError(HTTPStatus.FORBIDDEN, "forbidden", f"API key lacks the {wanted} scope")
    return key


def _header(headers: Mapping[str, str], name: str) -> str | None:
    return next((value for key, value in headers.items() if key.lower() == name), None)
