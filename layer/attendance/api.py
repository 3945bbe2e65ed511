"""What every HTTP edge shares: client errors with a JSON body, and API-key authentication."""

from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import Response, content_types

from attendance.data.api_keys import ApiKeyStore
from attendance.domain.keys import ApiKey, Scope


class ApiError(Exception):
    """A request we refuse, with the status and the JSON body that names the problem."""

    def __init__(self, status: HTTPStatus, code: str, message: str, details: list[Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"error": self.code, "message": self.message}
        if self.details:
            body["details"] = self.details
        return body


def json_response(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    return Response(status, content_types.APPLICATION_JSON, body, headers)


def unavailable_body(what: str) -> dict[str, str]:
    """A 503's body: the caller may retry; nothing about why (that goes to the log)."""
    return {"error": "unavailable", "message": f"{what} is unavailable; try again later"}


def unavailable_response(what: str) -> Response:
    """503 with Retry-After, for clients of the JSON API."""
    return json_response(HTTPStatus.SERVICE_UNAVAILABLE, unavailable_body(what), {"Retry-After": "30"})


def internal_error_response() -> Response:
    return json_response(HTTPStatus.INTERNAL_SERVER_ERROR, {"error": "internal", "message": "internal error"})


def authenticate(headers: Mapping[str, str], keys: ApiKeyStore, scope: Scope) -> ApiKey:
    """The caller's key from `Authorization: Bearer <key>`; 401 without a live key, 403 without the scope."""
    scheme, _, token = (_header(headers, "authorization") or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(HTTPStatus.UNAUTHORIZED, "unauthorized", "send 'Authorization: Bearer <api key>'")
    key = keys.find(token.strip())
    if key is None or key.revoked:
        raise ApiError(HTTPStatus.UNAUTHORIZED, "unauthorized", "API key is unknown or revoked")
    if scope not in key.scopes:
        raise ApiError(HTTPStatus.FORBIDDEN, "forbidden", f"API key lacks the '{scope}' scope")
    return key


def _header(headers: Mapping[str, str], name: str) -> str | None:
    return next((value for key, value in headers.items() if key.lower() == name), None)
