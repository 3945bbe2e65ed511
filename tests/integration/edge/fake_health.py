"""A stand-in for the cloud's POST /devices/{deviceId}/health, served next to the real ingest.

It answers as the contract says: 401 without the poller's key, 400 for a body outside the schema, 404 for
a device the cloud does not know, 202 otherwise; `failing` makes it answer 503. It keeps what it took."""

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictInt, StrictStr, ValidationError

from local_stack.api_server import LocalApiServer
from local_stack.functions import HttpRoute, LocalFunction

HEALTH_PATH = "/devices/{deviceId}/health"
_WITH_OFFSET = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})$")


def _with_offset(text: str) -> str:
    if not _WITH_OFFSET.match(text):
        raise ValueError("an ISO 8601 time with an offset")
    return text


class HealthBody(BaseModel):
    """The contract's body, under its wire names."""

    model_config = ConfigDict(extra="forbid")

    via: Annotated[StrictStr, Field(pattern=r"^edge:[A-Za-z0-9._-]{1,64}$")]
    lastReadAt: Annotated[StrictStr, AfterValidator(_with_offset)] | None = None
    lastError: Annotated[StrictStr, Field(max_length=500)] | None = None
    clockDriftSeconds: StrictInt | None = None
    outboxDepth: Annotated[StrictInt, Field(ge=0)] | None = None
    model: Annotated[StrictStr, Field(max_length=100)] | None = None
    firmware: Annotated[StrictStr, Field(max_length=100)] | None = None


def _reply(status: int, body: dict[str, Any]) -> dict[str, Any]:
    return {"statusCode": status, "headers": {"content-type": "application/json"}, "body": json.dumps(body)}


class FakeHealthEndpoint:
    def __init__(self, key: str) -> None:
        self._key = key
        self._lock = threading.Lock()
        self.requests = 0
        self.reports: list[tuple[str, dict[str, Any]]] = []  # (deviceId, body) of every 202
        self.registered: set[str] | None = None  # None: every device ID is known
        self.failing = False

    def handle(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        with self._lock:
            self.requests += 1
        if self.failing:
            return _reply(503, {"message": "Service Unavailable"})
        if event["headers"].get("authorization") != f"Bearer {self._key}":
            return _reply(401, {"error": "unauthorized", "message": "a valid API key is required"})
        try:
            body = HealthBody.model_validate_json(event["body"] or "")
        except ValidationError as error:
            return _reply(400, {"error": "invalid_request", "message": str(error)})
        device_id = event["pathParameters"]["deviceId"]
        if self.registered is not None and device_id not in self.registered:
            return _reply(404, {"error": "not_found", "message": f"no device {device_id}"})
        with self._lock:
            self.reports.append((device_id, body.model_dump(exclude_unset=True)))
        return _reply(202, {"deviceId": device_id, "recorded": True})

    def last(self, device_id: str) -> dict[str, Any]:
        return [body for reported, body in self.reports if reported == device_id][-1]


def serve_health(server: LocalApiServer, endpoint: FakeHealthEndpoint) -> None:
    server.routes.append(
        HttpRoute("POST", HEALTH_PATH, LocalFunction("DeviceHealth", endpoint.handle, 10, {}))
    )


@contextmanager
def ingest_down(server: LocalApiServer) -> Iterator[None]:
    """POST /punches answers 503 meanwhile (the first matching route wins)."""
    down = HttpRoute(
        "POST", "/punches", LocalFunction("IngestDown", lambda event, context: _reply(503, {}), 10, {})
    )
    server.routes.insert(0, down)
    try:
        yield
    finally:
        server.routes.remove(down)
