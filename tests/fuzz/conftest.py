"""Fuzzing fixtures: every HTTP function cold-started on moto, a key, a registered ADMS and Hikvision device."""

import importlib
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, settings

from attendance.data.api_keys import ApiKeyStore
from attendance.data.devices import DeviceStore
from attendance.domain.devices import Device
from attendance.domain.keys import Scope
from functions.device_push import app as push_app
from functions.ingest import app as ingest_app
from local_stack.events import LambdaContext, http_api_event

settings.register_profile(
    "fuzz", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
settings.load_profile("fuzz")
KEY, SERIAL = "fuzz-key", "FUZZ-SN"


@pytest.fixture
def world(use_function_env) -> dict[str, Any]:
    environment = use_function_env("IngestFunction", MAX_PAST_DAYS="36500", MAX_FUTURE_MINUTES="5256000")
    environment |= use_function_env("DevicePushFunction", MAX_PAST_DAYS="36500", MAX_FUTURE_MINUTES="5256000")
    importlib.reload(ingest_app)
    importlib.reload(push_app)
    ApiKeyStore(boto3.client("dynamodb"), environment["API_KEYS_TABLE"]).create(
        "fuzz",
        frozenset(Scope),
        raw_key=KEY,
        rate_limit=0,  # a fuzzer sends far faster than any client
    )
    devices = DeviceStore(boto3.client("dynamodb"), environment["DEVICES_TABLE"])
    devices.put(Device(device_id="ZK", serial=SERIAL, time_zone="Europe/Berlin"))
    token, _ = devices.register_hikvision(Device(device_id="HIK", time_zone="UTC"))
    return {"environment": environment, "token": token}


@pytest.fixture
def stored(world) -> Callable[[], int]:
    def count() -> int:
        return boto3.client("dynamodb").scan(TableName=world["environment"]["PUNCHES_TABLE"], Select="COUNT")[
            "Count"
        ]

    return count


def invoke(
    module: Any,
    path: str,
    body: bytes,
    headers: dict[str, str],
    query: dict[str, str] | None = None,
    path_parameters: dict[str, str] | None = None,
) -> dict[str, Any]:
    event = http_api_event("POST", path, body, headers, query)
    if path_parameters:
        event["pathParameters"] = path_parameters
    return module.lambda_handler(event, LambdaContext("fuzz"))
