"""The device push handler through API Gateway HTTP API events against moto."""

import base64
import importlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3
import pytest

from attendance.data.aws import from_item
from attendance.data.devices import DeviceStore
from attendance.domain.devices import Device, DeviceKind
from attendance.domain.punch import PunchType
from functions.device_push import app as push_app
from local_stack.events import LambdaContext, http_api_event
from local_stack.template import Resolver


@dataclass
class PushReply:
    status: int
    text: str
    headers: dict[str, str]

    def json(self) -> Any:
        return json.loads(self.text)


def call(
    method: str,
    path: str,
    body: bytes | None = None,
    query: dict | None = None,
    content_type: str = "text/plain",
) -> PushReply:
    event = http_api_event(method, path, body, {"content-type": content_type}, query)
    if path.startswith("/hikvision/events/"):
        event["pathParameters"] = {"token": path.rsplit("/", 1)[1]}
        event["routeKey"] = "POST /hikvision/events/{token}"
    response = push_app.lambda_handler(event, LambdaContext("device_push"))
    body_text = response["body"]
    if response.get("isBase64Encoded"):
        body_text = base64.b64decode(body_text).decode()
    return PushReply(response["statusCode"], body_text, response.get("headers", {}))


@pytest.fixture
def push_env(use_function_env) -> dict[str, str]:
    environment = use_function_env("DevicePushFunction", MAX_PAST_DAYS="3650")
    importlib.reload(push_app)
    return environment


@pytest.fixture
def registry(push_env) -> DeviceStore:
    return DeviceStore(boto3.client("dynamodb"), push_env["DEVICES_TABLE"])


@pytest.fixture
def zk_device(registry) -> Device:
    device = Device(
        device_id="FRONT-DOOR", kind=DeviceKind.ZKTECO, serial="CQZ7224460246", time_zone="Europe/Berlin"
    )
    registry.put(device)
    return device


@pytest.fixture
def hik_token(registry) -> str:
    token, _ = registry.register_hikvision(
        Device(device_id="HIK-LOBBY", time_zone="Europe/London", default_type=PunchType.IN)
    )
    return token


@pytest.fixture
def stored(stack: Resolver) -> Callable[[], list[dict[str, Any]]]:
    def scan() -> list[dict[str, Any]]:
        items = boto3.client("dynamodb").scan(TableName=stack.refs["PunchesTable"])["Items"]
        return sorted((from_item(item) for item in items), key=lambda p: p["punchTime"])

    return scan


@pytest.fixture
def queued(stack: Resolver) -> Callable[[], int]:
    def count() -> int:
        attributes = boto3.client("sqs").get_queue_attributes(
            QueueUrl=stack.refs["PunchQueue"], AttributeNames=["ApproximateNumberOfMessages"]
        )
        return int(attributes["Attributes"]["ApproximateNumberOfMessages"])

    return count
