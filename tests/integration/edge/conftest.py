"""Edge poller fixtures: simulated devices over TCP, and a real HTTP ingest (the ingest handler on moto)."""

import importlib
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from attendance.data.api_keys import ApiKeyStore
from attendance.data.aws import from_item
from edge_poller.simulator import DeviceState, ZkSimulator
from functions.ingest import app as ingest_app
from local_stack.api_server import LocalApiServer
from local_stack.functions import HttpRoute, LocalFunction
from local_stack.template import Resolver

CLOUD_KEY = "edge-test-key"


class Cloud:
    """The ingest API over real HTTP, counting the requests it serves."""

    def __init__(self, stack: Resolver) -> None:
        self.requests = 0
        self._lock = threading.Lock()
        function = LocalFunction("IngestFunction", self._count, 30, {})
        self.server = LocalApiServer("127.0.0.1", 0, [HttpRoute("POST", "/punches", function)])
        self._stack = stack
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def _count(self, event: dict[str, Any], context: Any) -> Any:
        with self._lock:
            self.requests += 1
        return ingest_app.lambda_handler(event, context)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def punches(self) -> list[dict[str, Any]]:
        pages = (
            boto3.client("dynamodb")
            .get_paginator("scan")
            .paginate(TableName=self._stack.refs["PunchesTable"])
        )
        return [from_item(item) for page in pages for item in page["Items"]]


@pytest.fixture
def cloud(use_function_env, stack) -> Iterator[Cloud]:
    environment = use_function_env("IngestFunction", MAX_PAST_DAYS="3650")
    importlib.reload(ingest_app)
    ApiKeyStore(boto3.client("dynamodb"), environment["API_KEYS_TABLE"]).create("edge", raw_key=CLOUD_KEY)
    server = Cloud(stack)
    yield server
    server.server.shutdown()
    server.server.server_close()


@pytest.fixture
def device() -> Iterator[Callable[..., tuple[DeviceState, ZkSimulator]]]:
    started: list[ZkSimulator] = []

    def start(**state: Any) -> tuple[DeviceState, ZkSimulator]:
        records = state.pop("records", 0)
        device_state = DeviceState(**state)
        device_state.fill(records) if records else None
        simulator = ZkSimulator(device_state, port=0).start()
        started.append(simulator)
        return device_state, simulator

    yield start
    for simulator in started:
        simulator.stop()


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value).replace("'", '"')


@pytest.fixture
def write_config(tmp_path: Path) -> Callable[..., Path]:
    """A TOML config for the poller; each device is (name, port, extra settings)."""

    def write(cloud_url: str, devices: list[tuple[str, int, dict[str, Any]]], **settings: Any) -> Path:
        lines = [f'cloud_url = "{cloud_url}"', f'api_key = "{CLOUD_KEY}"', 'state_dir = "state"']
        lines += [f"{key} = {_toml(value)}" for key, value in settings.items()]
        for name, port, extra in devices:
            lines += ["[[devices]]", f'name = "{name}"', 'host = "127.0.0.1"', f"port = {port}"]
            lines += [
                f"{key} = {_toml(value)}"
                for key, value in ({"time_zone": "UTC", "timeout_seconds": 3} | extra).items()
            ]
        path = tmp_path / "edge-poller.toml"
        path.write_text("\n".join(lines) + "\n")
        return path

    return write
