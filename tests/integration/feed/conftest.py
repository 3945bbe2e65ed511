"""The live feed's functions, called with the events API Gateway and DynamoDB Streams build, against moto."""

import importlib
import json
import uuid
from collections.abc import Callable
from typing import Any

import boto3
import pytest

from attendance.data.api_keys import ApiKeyStore
from attendance.domain.keys import Scope
from functions.feed import connections as connections_app
from functions.feed import sign_in as token_app
from local_stack.events import LambdaContext, http_api_event

ADMIN_KEY, READ_KEY, INGEST_KEY, EDGE_KEY = "admin-key", "read-key", "ingest-key", "edge-read-key"


@pytest.fixture
def feed_env(use_function_env, stack) -> dict[str, str]:
    environment = use_function_env("FeedTokenFunction") | use_function_env("FeedConnectionsFunction")
    importlib.reload(token_app)
    importlib.reload(connections_app)
    keys = ApiKeyStore(boto3.client("dynamodb"), environment["API_KEYS_TABLE"])
    keys.create("ops", frozenset({Scope.ADMIN}), raw_key=ADMIN_KEY)
    keys.create("dashboard", frozenset({Scope.READ}), raw_key=READ_KEY)
    keys.create("webhook", frozenset({Scope.INGEST}), raw_key=INGEST_KEY)
    keys.create("front desk", frozenset({Scope.READ}), devices=frozenset({"DEV001"}), raw_key=EDGE_KEY)
    return environment


def websocket_event(route: str, connection_id: str, body: Any = None, query: dict | None = None) -> dict:
    """The event API Gateway's WebSocket API sends its Lambda proxy integration."""
    event_type = {"$connect": "CONNECT", "$disconnect": "DISCONNECT"}.get(route, "MESSAGE")
    event: dict[str, Any] = {
        "requestContext": {
            "routeKey": route,
            "eventType": event_type,
            "connectionId": connection_id,
            "messageDirection": "IN",
            "stage": "live",
            "domainName": "abc123.execute-api.us-east-1.amazonaws.com",
            "apiId": "abc123",
            "requestId": uuid.uuid4().hex,
            "connectedAt": 1764489600000,
            "requestTimeEpoch": 1764489600000,
            "identity": {"sourceIp": "203.0.113.9", "userAgent": "test"},
        },
        "isBase64Encoded": False,
    }
    if event_type == "CONNECT":
        event |= {
            "headers": {"Host": "abc123.execute-api.us-east-1.amazonaws.com"},
            "queryStringParameters": query,
        }
    if event_type == "MESSAGE":
        event["requestContext"]["messageId"] = uuid.uuid4().hex
        event["body"] = body if isinstance(body, str) else json.dumps(body)
    return event


@pytest.fixture
def ws(feed_env) -> Callable[..., tuple[int, Any]]:
    """ws("$connect", "conn-1", query={...}) -> (statusCode, parsed body or None)."""

    def call(route: str, connection_id: str, body: Any = None, query: dict | None = None) -> tuple[int, Any]:
        reply = connections_app.lambda_handler(
            websocket_event(route, connection_id, body, query), LambdaContext("feed_connections")
        )
        return reply["statusCode"], json.loads(reply["body"]) if reply.get("body") else None

    return call


@pytest.fixture
def get_token(feed_env) -> Callable[[str | None], tuple[int, Any]]:
    def call(key: str | None, method: str = "POST") -> tuple[int, Any]:
        headers = {"authorization": f"Bearer {key}"} if key else {}
        event = http_api_event(method, "/auth/token", headers=headers)
        event["routeKey"] = f"{method} /auth/token"
        reply = token_app.lambda_handler(event, LambdaContext("feed_token"))
        return reply["statusCode"], json.loads(reply["body"])

    return call


@pytest.fixture
def connection_item(feed_env) -> Callable[[str], dict | None]:
    table = boto3.resource("dynamodb").Table(feed_env["FEED_CONNECTIONS_TABLE"])
    return lambda connection_id: table.get_item(Key={"connectionId": connection_id}).get("Item")
