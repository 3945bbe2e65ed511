"""Edge poller fixtures: simulated devices over TCP, and a real HTTP ingest (the ingest handler on moto)."""

import base64
import gzip
import importlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from http import HTTPStatus
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
    """The ingest API over real HTTP, counting the requests it serves. It can be told to struggle as the
    ingest does under load: answer a batch only in part (the rest marked "retry", per the batch reply
    contract), fail with a 5xx, or answer late."""

    def __init__(self, stack: Resolver) -> None:
        self.requests = 0
        self.batches: list[tuple[float, int]] = []  # (monotonic time received, punches in it), each push
        self.manages: int | None = None  # store at most this many punches per batch, answer the rest "retry"
        self.retry_after = 1
        self._failures: list[int] = []  # HTTP statuses for the next requests
        self._stalls: list[float] = []  # delays for the next requests
        self._partials: list[int] = []  # for the next requests, instead of `manages`
        self._before: list[Callable[[], None]] = []  # run as the next requests arrive
        self._lock = threading.Lock()
        function = LocalFunction("IngestFunction", self._serve, 30, {})
        self.server = LocalApiServer("127.0.0.1", 0, [HttpRoute("POST", "/punches", function)])
        self._stack = stack
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def fail_next(self, requests: int, status: int = 503) -> None:
        self._failures += [status] * requests

    def answer_in_part_next(self, requests: int, stored: int) -> None:
        self._partials += [stored] * requests

    def stall_next(self, requests: int, seconds: float) -> None:
        """Answer only after `seconds`: a client that gives up sooner never learns that its punches were stored."""
        self._stalls += [seconds] * requests

    def before_next(self, requests: int, action: Callable[[], None]) -> None:
        """Run `action` as each of the next requests arrives, before the ingest sees it: another client,
        say, whose request lands first."""
        self._before += [action] * requests

    def _serve(self, event: dict[str, Any], context: Any) -> Any:
        with self._lock:
            self.requests += 1
            failure = self._failures.pop(0) if self._failures else None
            stall = self._stalls.pop(0) if self._stalls else 0.0
            manages = self._partials.pop(0) if self._partials else self.manages
            before = self._before.pop(0) if self._before else None
        punches = _punches(event)
        self.batches.append((time.monotonic(), len(punches)))
        if failure:
            return {"statusCode": failure, "body": json.dumps({"message": HTTPStatus(failure).phrase})}
        time.sleep(stall)
        if before:
            before()
        if manages is None or len(punches) <= manages:
            return ingest_app.lambda_handler(event, context)
        return self._partial(event, context, punches, manages)

    def _partial(
        self, event: dict[str, Any], context: Any, punches: list[dict[str, Any]], stored: int
    ) -> Any:
        """The real ingest stores the first `stored` punches; the rest come back "retry", not stored."""
        headers = {k: v for k, v in event["headers"].items() if k != "content-encoding"}
        body = json.dumps({"punches": punches[:stored]})
        result = ingest_app.lambda_handler(
            event | {"headers": headers, "body": body, "isBase64Encoded": False}, context
        )
        reply = json.loads(result["body"])
        reply["results"] += [{"index": i, "status": "retry"} for i in range(stored, len(punches))]
        reply |= {"received": len(punches), "retry": len(punches) - stored, "retryAfter": self.retry_after}
        result["body"] = json.dumps(reply)
        result["headers"] = result.get("headers", {}) | {"Retry-After": str(self.retry_after)}
        return result

    def pushed(self) -> list[int]:
        """The size of each batch the poller sent, in order."""
        return [size for _, size in self.batches]

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


def _punches(event: dict[str, Any]) -> list[dict[str, Any]]:
    raw = base64.b64decode(event["body"]) if event.get("isBase64Encoded") else (event["body"] or "").encode()
    if event["headers"].get("content-encoding") == "gzip":
        raw = gzip.decompress(raw)
    return json.loads(raw).get("punches", []) if raw.strip() else []


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
        lines = [f'cloud_url = "{cloud_url}"', f'api_key = "{CLOUD_KEY}"']
        lines += [f"{key} = {_toml(value)}" for key, value in ({"state_dir": "state"} | settings).items()]
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
