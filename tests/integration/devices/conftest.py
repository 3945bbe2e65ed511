"""The devices API, the device push handler and the scheduled health check, through real events against moto."""

import importlib
import json
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import boto3
import pytest

from attendance.data.api_keys import ApiKeyStore
from attendance.data.devices import DeviceStore
from attendance.domain.keys import Scope
from functions.device_health import app as health_app
from functions.device_push import app as push_app
from functions.devices import app as devices_app
from local_stack.events import LambdaContext
from local_stack.template import Resolver
from tests.integration.client_hooks import hooked
from tests.integration.device_push.conftest import PushReply
from tests.integration.device_push.conftest import call as push_call
from tests.integration.http_calls import Reply, call_route
from tests.punches import store_punch, utc_punch

ADMIN_KEY, READ_KEY, INGEST_KEY, POLLER_KEY = "admin-key", "read-key", "ingest-key", "poller-key"
POLLER_DEVICES = frozenset({"EDGE-1"})  # the poller's key may report for these devices only


@pytest.fixture
def devices_env(use_function_env) -> dict[str, str]:
    environment = use_function_env("DevicesFunction", DEFAULT_TIME_ZONE="Europe/Berlin")
    importlib.reload(devices_app)
    keys = ApiKeyStore(boto3.client("dynamodb"), environment["API_KEYS_TABLE"])
    keys.create("ops", frozenset({Scope.ADMIN}), raw_key=ADMIN_KEY)
    keys.create("dashboard", frozenset({Scope.READ}), raw_key=READ_KEY)
    keys.create("webhook", frozenset({Scope.INGEST}), raw_key=INGEST_KEY)
    keys.create("edge", frozenset({Scope.INGEST}), devices=POLLER_DEVICES, raw_key=POLLER_KEY)
    return environment


@pytest.fixture
def api(devices_env) -> Callable[..., Reply]:
    """Calls the devices API: api("GET", "/devices/{deviceId}", deviceId="X", key=READ_KEY)."""

    def call(method: str, route: str, key: str | None = ADMIN_KEY, **arguments: Any) -> Reply:
        # a Hikvision push URL is built from the host the API was reached by
        forwarded = {"host": "api.example.com", "x-forwarded-proto": "https"}
        return call_route(devices_app.lambda_handler, method, route, key, headers=forwarded, **arguments)

    return call


@pytest.fixture
def register(api) -> Callable[..., dict[str, Any]]:
    def add(device_id: str, kind: str = "zkteco", **fields: Any) -> dict[str, Any]:
        body = {"deviceId": device_id, "kind": kind, **fields}
        if kind == "zkteco":
            body.setdefault("serial", f"SN-{device_id}")
        reply = api("POST", "/devices", body=body)
        assert reply.status == 201, reply.body
        return reply.body

    return add


@pytest.fixture
def push(use_function_env, devices_env) -> Callable[..., PushReply]:
    """The device push handler (ADMS, Hikvision) with its own environment, as on Lambda."""
    use_function_env("DevicePushFunction")
    importlib.reload(push_app)
    return push_call


@pytest.fixture
def registry(stack: Resolver) -> DeviceStore:
    return DeviceStore(boto3.client("dynamodb"), stack.refs["DevicesTable"])


@pytest.fixture
def add_punch(stack: Resolver) -> Callable[..., str]:
    def add(device_id: str, user_id: str, instant: datetime) -> str:
        punch = utc_punch(user_id, instant, device_id)
        store_punch(stack, punch)
        return punch.log_id

    return add


@pytest.fixture
def device_writes(stack: Resolver) -> Iterator[list[dict[str, Any]]]:
    """Every UpdateItem on the devices table that DynamoDB carried out (a refused condition is not one),
    by clients created after this fixture (handlers build theirs on their first request)."""
    writes: list[dict[str, Any]] = []
    table = stack.refs["DevicesTable"]

    def remember(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        if params.get("TableName") == table:
            context["device_update"] = params

    def count(parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        if "device_update" in context and "Error" not in parsed:
            writes.append(context["device_update"])

    with hooked(
        {"provide-client-params.dynamodb.UpdateItem": remember, "after-call.dynamodb.UpdateItem": count}
    ):
        yield writes


@pytest.fixture
def check(use_function_env, stack: Resolver) -> Callable[[datetime], dict[str, Any]]:
    """The scheduled health check, run as the scheduler runs it at `moment`."""
    use_function_env("DeviceHealthFunction")
    importlib.reload(health_app)

    def run(moment: datetime) -> dict[str, Any]:
        event = {"source": "aws.scheduler", "time": moment.isoformat()}
        return health_app.lambda_handler(event, LambdaContext("device_health"))

    return run


@pytest.fixture
def notifications(stack: Resolver) -> Callable[[], list[dict[str, Any]]]:
    """What the alarm topic sent so far, read from its local inbox queue."""
    sqs = boto3.client("sqs")
    inbox = sqs.get_queue_url(QueueName=stack.refs["AlarmTopic"].rsplit(":", 1)[1] + "-Inbox")["QueueUrl"]
    received: list[dict[str, Any]] = []

    def read() -> list[dict[str, Any]]:
        while True:
            messages = sqs.receive_message(QueueUrl=inbox, MaxNumberOfMessages=10).get("Messages", [])
            if not messages:
                return received
            for message in messages:
                received.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=inbox, ReceiptHandle=message["ReceiptHandle"])

    return read
