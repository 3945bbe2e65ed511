"""Security properties, each through the real interfaces: keys, device identity, limits, leaks, IAM."""

import gzip
import importlib
import json
import re

import boto3
import pytest

from attendance.data.api_keys import ApiKeyStore
from attendance.data.devices import DeviceStore
from attendance.domain.devices import Device
from attendance.domain.keys import Scope, hash_key
from functions.deliveries import app as deliveries_app
from functions.device_commands import app as commands_app
from functions.device_push import app as push_app
from functions.devices import app as devices_app
from functions.employees import app as employees_app
from functions.ingest import app as ingest_app
from functions.reports import app as reports_app
from local_stack.events import LambdaContext, http_api_event

PUNCH = {"deviceId": "DEV1", "userId": "E1", "timestamp": "2025-02-10T09:00:00", "type": "in"}


@pytest.fixture
def functions(use_function_env):
    """Every HTTP function cold-started with its template environment, and a key store."""
    environment = {}
    for logical_id, module in (
        ("IngestFunction", ingest_app),
        ("DevicePushFunction", push_app),
        ("ReportsFunction", reports_app),
        ("DevicesFunction", devices_app),
        ("EmployeesFunction", employees_app),
        ("DeviceCommandsFunction", commands_app),
        ("DeliveriesFunction", deliveries_app),
    ):
        environment |= use_function_env(logical_id, MAX_PAST_DAYS="3650")
        importlib.reload(module)
    keys = ApiKeyStore(boto3.client("dynamodb"), environment["API_KEYS_TABLE"])
    return keys, environment


def call(
    module,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict | None = None,
    query: dict | None = None,
) -> dict:
    event = http_api_event(method, path, body, {"content-type": "application/json"} | (headers or {}), query)
    if path.startswith("/hikvision/events/"):
        event["pathParameters"] = {"token": path.rsplit("/", 1)[1]}
    return module.lambda_handler(event, LambdaContext("security"))


def stored(environment) -> int:
    return boto3.client("dynamodb").scan(TableName=environment["PUNCHES_TABLE"], Select="COUNT")["Count"]


def test_no_write_path_works_without_a_valid_key_or_registered_device(functions):
    _, environment = functions
    body = json.dumps(PUNCH).encode()
    assert call(ingest_app, "POST", "/punches", body)["statusCode"] == 401
    assert (
        call(ingest_app, "POST", "/device/punch", body, {"authorization": "Bearer guessed"})["statusCode"]
        == 401
    )
    adms = call(
        push_app,
        "POST",
        "/iclock/cdata",
        b"1\t2025-02-10 09:00:00\t0\t1\r\n",
        {"content-type": "text/plain"},
        {"SN": "SPOOFED", "table": "ATTLOG"},
    )
    assert adms["statusCode"] == 403
    hik = call(
        push_app,
        "POST",
        "/hikvision/events/guessed-token-0123456789",
        json.dumps({"eventType": "heartBeat"}).encode(),
    )
    assert hik["statusCode"] == 403
    assert call(reports_app, "GET", "/reports/daily", query={"date": "2025-02-10"})["statusCode"] == 401
    assert stored(environment) == 0


def test_a_registered_serial_may_only_write_as_its_own_device(functions):
    _, environment = functions
    DeviceStore(boto3.client("dynamodb"), environment["DEVICES_TABLE"]).put(
        Device(device_id="FRONT", serial="SN-1", time_zone="UTC")
    )
    reply = call(
        push_app,
        "POST",
        "/iclock/cdata",
        b"7\t2025-02-10 09:00:00\t0\t1\r\n",
        {"content-type": "text/plain"},
        {"SN": "SN-1", "table": "ATTLOG"},
    )
    assert reply["body"] == "OK: 1"
    [item] = boto3.client("dynamodb").scan(TableName=environment["PUNCHES_TABLE"])["Items"]
    assert item["deviceId"]["S"] == "FRONT"


def test_keys_push_tokens_and_secrets_are_stored_hashed(functions):
    keys, environment = functions
    raw, _ = keys.create("k", frozenset({Scope.INGEST}))
    token, _ = DeviceStore(boto3.client("dynamodb"), environment["DEVICES_TABLE"]).register_hikvision(
        Device(device_id="HIK", time_zone="UTC")
    )
    dump = json.dumps(
        [
            boto3.client("dynamodb").scan(TableName=environment[t])["Items"]
            for t in ("API_KEYS_TABLE", "DEVICES_TABLE")
        ]
    )
    assert raw not in dump
    assert token not in dump
    assert hash_key(raw) in dump
    assert hash_key(token) in dump


@pytest.mark.parametrize(
    ("body", "headers", "status"),
    [
        (b"{" * 200_000, {}, 400),  # deeply nested: refused by the parser, not a crash
        (b"[" * 100_000 + b"]" * 100_000, {}, 400),
        (b"x" * (2 * 1024 * 1024), {}, 413),  # oversized
        (
            gzip.compress(b" " * (64 * 1024 * 1024), mtime=0),
            {"content-encoding": "gzip"},
            413,
        ),  # a 64 MiB gzip bomb
    ],
)
def test_oversized_and_deeply_nested_bodies_are_refused(functions, body, headers, status):
    keys, environment = functions
    raw, _ = keys.create("k", frozenset({Scope.INGEST}))
    reply = call(ingest_app, "POST", "/punches", body, {"authorization": f"Bearer {raw}"} | headers)
    assert reply["statusCode"] == status
    assert stored(environment) == 0


INTERNALS = re.compile(
    r"Traceback|File \"|botocore|boto3|dynamodb|arn:aws|attendance-sync-|\.py\b", re.IGNORECASE
)


def test_error_messages_leak_no_internals(functions, stack):
    keys, _ = functions
    raw, _ = keys.create("k", frozenset({Scope.INGEST}))
    auth = {"authorization": f"Bearer {raw}"}
    replies = [
        call(ingest_app, "POST", "/punches", b"{bad", auth),
        call(ingest_app, "POST", "/punches", json.dumps(PUNCH | {"type": "x"}).encode(), auth),
        call(ingest_app, "POST", "/punches", b"{}", auth | {"content-type": "text/xml"}),
        call(push_app, "POST", "/hikvision/events/x", b"{bad"),
    ]
    boto3.client("dynamodb").delete_table(TableName=stack.refs["DedupTable"])  # the store fails
    replies.append(call(ingest_app, "POST", "/punches", json.dumps(PUNCH).encode(), auth))
    replies.append(
        call(
            reports_app,
            "GET",
            "/reports/daily",
            headers={"authorization": "Bearer nope"},
            query={"date": "2025-02-10"},
        )
    )
    for reply in replies:
        assert 400 <= reply["statusCode"] < 600
        assert not INTERNALS.search(reply["body"]), reply["body"]
    assert replies[4]["statusCode"] == 503


def test_template_keeps_secrets_out_of_plain_parameters(template):
    for name, parameter in template["Parameters"].items():
        secretish = re.search(r"secret|password|token|key", name, re.IGNORECASE)
        # only where a secret lives (an SSM parameter's name) or how long a token lives
        assert not secretish or name.endswith(("ParameterName", "Minutes")), (
            f"{name} looks like a secret in a plain parameter"
        )
        if secretish and name.endswith("ParameterName"):
            assert parameter["AllowedPattern"].startswith("^/"), name
    worker_policy = json.dumps(template["Resources"]["CrmWorkerFunction"]["Properties"]["Policies"])
    assert "ssm:GetParameter" in worker_policy
    assert '"*"' not in worker_policy


ADMIN_CHANGES = [
    (devices_app, "POST", "/devices", {"deviceId": "NEW-1", "kind": "zkteco", "serial": "SN-NEW-1"}),
    (devices_app, "PATCH", "/devices/FRONT", {"name": "renamed"}),
    (devices_app, "POST", "/devices/FRONT/disable", None),
    (commands_app, "POST", "/devices/FRONT/commands", {"kind": "reboot"}),
    (employees_app, "PUT", "/employees/E1", {"name": "Eve"}),
    (deliveries_app, "POST", "/deliveries/dead-letters/redrive", {"all": True}),
]


@pytest.mark.parametrize(("module", "method", "path", "body"), ADMIN_CHANGES)
def test_only_an_admin_key_changes_devices_employees_commands_and_deliveries(
    functions, module, method, path, body
):
    # Given a registered clock, and keys of every scope but admin
    keys, environment = functions
    DeviceStore(boto3.client("dynamodb"), environment["DEVICES_TABLE"]).put(
        Device(device_id="FRONT", serial="SN-1", time_zone="UTC")
    )
    raw = json.dumps(body).encode() if body is not None else None
    # When each tries the change, and so does a caller without any key
    statuses = [call(module, method, path, raw)["statusCode"]]
    for scope in (Scope.INGEST, Scope.REPORTS, Scope.READ):
        key, _ = keys.create(f"{scope}-only", frozenset({scope}))
        statuses.append(call(module, method, path, raw, {"authorization": f"Bearer {key}"})["statusCode"])
    # Then all are refused, and nothing changed
    assert statuses == [401, 403, 403, 403]
    [device] = DeviceStore(boto3.client("dynamodb"), environment["DEVICES_TABLE"]).list()
    assert (device.device_id, device.name, device.enabled) == ("FRONT", None, True)
    for table in ("EMPLOYEES_TABLE", "COMMANDS_TABLE"):
        assert boto3.client("dynamodb").scan(TableName=environment[table])["Count"] == 0
