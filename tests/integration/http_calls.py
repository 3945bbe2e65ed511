"""Calling an HTTP function's handler as API Gateway does: a payload 2.0 event for a route, a parsed reply."""

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from local_stack.events import LambdaContext, http_api_event

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


@dataclass
class Reply:
    status: int
    body: Any  # the JSON body, or None when there is none
    headers: dict[str, str] = field(default_factory=dict)


def call_route(
    handler: Handler,
    method: str,
    route: str,
    key: str | None = None,
    body: Any = None,
    query: dict[str, str] | None = None,
    content_type: str = "application/json",
    headers: dict[str, str] | None = None,
    **path: str,
) -> Reply:
    """`route` as in the template (`/devices/{deviceId}`), its parameters in `path`; `body` is sent as it
    is when str or bytes, else as JSON."""
    sent = {"content-type": content_type} | (headers or {})
    if key:
        sent["authorization"] = f"Bearer {key}"
    raw = body if body is None or isinstance(body, str | bytes) else json.dumps(body)
    concrete = route
    for name, value in path.items():
        concrete = concrete.replace("{" + name + "}", value)
    event = http_api_event(method, concrete, raw, sent, query)
    event["routeKey"] = f"{method} {route}"
    event["pathParameters"] = path or None
    response = handler(event, LambdaContext("http"))
    text = response.get("body") or ""
    return Reply(response["statusCode"], json.loads(text) if text else None, response.get("headers", {}))
