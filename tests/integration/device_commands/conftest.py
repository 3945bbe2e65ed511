"""The device commands API and the ADMS command routes, through API Gateway events against moto."""

import importlib
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import boto3
import pytest

from attendance.data.api_keys import ApiKeyStore
from attendance.data.commands import CommandStore
from attendance.data.devices import DeviceStore
from attendance.data.employees import EmployeeStore
from attendance.domain.commands import CommandKind, DeviceCommand
from attendance.domain.devices import Device, DeviceKind
from attendance.domain.employees import Employee
from attendance.domain.keys import Scope
from functions.device_commands import app as commands_app
from functions.device_push import app as push_app
from local_stack.events import LambdaContext, http_api_event

ADMIN_KEY, READ_KEY, INGEST_KEY = "admin-key", "read-key", "ingest-key"
SERIAL = "CMD0001"


@pytest.fixture
def environment(use_function_env) -> dict[str, str]:
    # Both functions' variables: they share the tables, and each reads only its own settings.
    use_function_env("DevicePushFunction")
    environment = use_function_env("DeviceCommandsFunction")
    importlib.reload(commands_app)
    importlib.reload(push_app)
    keys = ApiKeyStore(boto3.client("dynamodb"), environment["API_KEYS_TABLE"])
    keys.create("admin", frozenset({Scope.ADMIN}), raw_key=ADMIN_KEY)
    keys.create("viewer", frozenset({Scope.READ}), raw_key=READ_KEY)
    keys.create("clock", frozenset({Scope.INGEST}), raw_key=INGEST_KEY)
    return environment


@pytest.fixture
def devices(environment) -> DeviceStore:
    return DeviceStore(boto3.client("dynamodb"), environment["DEVICES_TABLE"])


@pytest.fixture
def employees(environment) -> EmployeeStore:
    return EmployeeStore(boto3.client("dynamodb"), environment["EMPLOYEES_TABLE"])


@pytest.fixture
def clock(devices) -> Device:
    """A registered ZKTeco clock in Berlin, at site berlin-hq."""
    device = Device(
        device_id="GATE-1", kind=DeviceKind.ZKTECO, serial=SERIAL, time_zone="Europe/Berlin", site="berlin-hq"
    )
    devices.put(device)
    return device


@pytest.fixture
def anna(employees) -> Employee:
    employee = Employee(user_id="1001", name="Anna Berg")
    employees.put(employee)
    return employee


def api(
    method: str,
    path: str,
    body: Any = None,
    key: str | None = ADMIN_KEY,
    query: dict | None = None,
    content_type: str = "application/json",
) -> tuple[int, Any]:
    headers = {"content-type": content_type} | ({"authorization": f"Bearer {key}"} if key else {})
    raw = body if isinstance(body, str | bytes) or body is None else json.dumps(body)
    event = http_api_event(method, path, raw, headers, query)
    response = commands_app.lambda_handler(event, LambdaContext("device_commands"))
    return response["statusCode"], json.loads(response["body"])


def adms(method: str, path: str, serial: str = SERIAL, body: bytes | None = None) -> tuple[int, str]:
    event = http_api_event(method, path, body, {"content-type": "text/plain"}, {"SN": serial})
    response = push_app.lambda_handler(event, LambdaContext("device_push"))
    return response["statusCode"], response["body"]


@pytest.fixture
def queue() -> Callable[..., dict[str, Any]]:
    def send(device_id: str = "GATE-1", **command: Any) -> dict[str, Any]:
        status, body = api("POST", f"/devices/{device_id}/commands", command)
        assert status == 201, body
        return body

    return send


def history(device_id: str = "GATE-1", key: str = ADMIN_KEY) -> list[dict[str, Any]]:
    status, body = api("GET", f"/devices/{device_id}/commands", key=key)
    assert status == 200, body
    return body["commands"]


def queue_reboot(table: str, device_id: str, queued_at: datetime, lasting: timedelta) -> None:
    """A reboot queued for the device at `queued_at`, straight into the commands table, expiring `lasting`
    after it (a command as the API would have queued it, at a time the test chooses)."""
    CommandStore(boto3.client("dynamodb"), table).add(
        DeviceCommand(
            device_id=device_id,
            command_id="123456789",
            kind=CommandKind.REBOOT,
            line="REBOOT",
            queued_by="key_old",
            created_at=queued_at,
            expires_at=queued_at + lasting,
        )
    )
