"""An HTTP-level client for the ingest handler: API Gateway HTTP API events in, responses out."""

import gzip
import importlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3
import pytest

from attendance.data.api_keys import ApiKeyStore
from attendance.data.devices import DeviceStore
from attendance.domain.devices import Device
from attendance.domain.keys import Scope
from functions.ingest import app as ingest_app
from local_stack.events import LambdaContext, http_api_event
from local_stack.template import Resolver

INGEST_KEY = "test-ingest-key"


@dataclass
class Reply:
    status: int
    body: dict[str, Any]
    headers: dict[str, str]


class IngestApi:
    """Calls the real handler the way API Gateway does."""

    def __init__(self, key: str | None) -> None:
        self.key = key

    def post(
        self,
        payload: Any,
        path: str = "/punches",
        *,
        key: str | None = None,
        headers: dict[str, str] | None = None,
        compress: bool = False,
        raw: bytes | None = None,
        timeout_seconds: float = 30.0,  # in-process, a batch's time is moto's on a shared machine
    ) -> Reply:
        body = raw if raw is not None else json.dumps(payload).encode()
        sent = {"content-type": "application/json"}
        if compress:
            body = gzip.compress(body)
            sent["content-encoding"] = "gzip"
        if (key or self.key) is not None:
            sent["authorization"] = f"Bearer {key or self.key}"
        sent |= headers or {}
        event = http_api_event("POST", path, body, sent)
        context = LambdaContext(function_name="ingest", timeout_seconds=timeout_seconds)
        response = ingest_app.lambda_handler(event, context)
        return Reply(response["statusCode"], json.loads(response["body"]), response.get("headers", {}))


@pytest.fixture
def ingest_env(use_function_env: Callable[..., dict[str, str]]) -> dict[str, str]:
    """The ingest function's template environment; historic fixed dates are allowed."""
    return cold_start(use_function_env("IngestFunction", MAX_PAST_DAYS="3650"))


def cold_start(environment: dict[str, str]) -> dict[str, str]:
    """Import the handler afresh under its environment, as a new Lambda container would."""
    importlib.reload(ingest_app)
    return environment


@pytest.fixture
def keys(ingest_env: dict[str, str]) -> ApiKeyStore:
    return ApiKeyStore(boto3.client("dynamodb"), ingest_env["API_KEYS_TABLE"])


@pytest.fixture
def api(keys: ApiKeyStore) -> IngestApi:
    keys.create("test", frozenset({Scope.INGEST}), raw_key=INGEST_KEY)
    return IngestApi(INGEST_KEY)


@pytest.fixture
def register_device(ingest_env: dict[str, str]) -> Callable[..., None]:
    store = DeviceStore(boto3.client("dynamodb"), ingest_env["DEVICES_TABLE"])

    def register(device_id: str, time_zone: str | None = None, enabled: bool = True) -> None:
        store.put(Device(device_id=device_id, time_zone=time_zone, enabled=enabled))

    return register


@pytest.fixture
def punches_table(stack: Resolver) -> Callable[[], list[dict[str, Any]]]:
    """Every stored punch item, as plain values."""
    from attendance.data.aws import from_item

    def scan() -> list[dict[str, Any]]:
        items = boto3.client("dynamodb").scan(TableName=stack.refs["PunchesTable"])["Items"]
        return [from_item(item) for item in items]

    return scan


@pytest.fixture
def queued(stack: Resolver) -> Callable[[], list[str]]:
    """Drains the punch queue and returns the logIds it held."""

    def drain() -> list[str]:
        sqs = boto3.client("sqs")
        log_ids: list[str] = []
        while True:
            reply = sqs.receive_message(
                QueueUrl=stack.refs["PunchQueue"], MaxNumberOfMessages=10, VisibilityTimeout=60
            )
            messages = reply.get("Messages", [])
            if not messages:
                return log_ids
            log_ids += [json.loads(message["Body"])["logId"] for message in messages]

    return drain


def punch(
    user: str = "EMP789", at: str = "2025-02-10T09:16:00", kind: str = "in", device: str = "DEV001"
) -> dict:
    return {"deviceId": device, "userId": user, "timestamp": at, "type": kind}
