"""What each function's handler imports on a cold start, as deployed with tracing on, in
a fresh interpreter with only the packages Lambda would have: nothing a request of it never uses, and
X-Ray patching of exactly the libraries it calls through."""

import json
import subprocess
import sys
from typing import Any

import pytest

from bench.cold_start import ON_LAMBDA_PATH, ROOT, functions

WATCHED = ("boto3", "httpx", "pydantic_settings", "sqlite3", "aws_xray_sdk.core")
IMPORT_AND_REPORT = ON_LAMBDA_PATH + (
    "__import__(sys.argv[3])\n"
    "patched = sys.modules.get('aws_xray_sdk.core.patcher')\n"
    "plugins = sys.modules.get('pydantic.plugin._loader')\n"
    "print(json.dumps({'loaded': [name for name in json.loads(sys.argv[5]) if name in sys.modules],\n"
    "                  'patched': sorted(patched._PATCHED_MODULES) if patched else [],\n"
    "                  'plugins_looked_for': plugins is not None and plugins._plugins is not None}))"
)
# The functions that create a Tracer (the scheduled ones only log): their AWS calls become subsegments.
WITH_TRACER = {
    "CrmWorkerFunction",
    "DashboardFunction",
    "DeliveriesFunction",
    "DeviceCommandsFunction",
    "DevicePushFunction",
    "DevicesFunction",
    "EmployeesFunction",
    "FeedConnectionsFunction",
    "FeedFanoutFunction",
    "FeedTokenFunction",
    "IngestFunction",
    "ReportsFunction",
}


def _arguments(function: dict) -> list[str]:
    return [
        function["code"],
        str(ROOT / "layer"),
        function["module"],
        function["blocked"],
        json.dumps(WATCHED),
    ]


def _last_line_on_lambda(script: str, function: dict, environment: dict[str, str]) -> Any:
    """What `script` (run after ON_LAMBDA_PATH's start) printed last, as JSON, run as the function."""
    result = subprocess.run(
        [sys.executable, "-I", "-c", script, *_arguments(function)],
        capture_output=True,
        text=True,
        check=True,
        env=environment,
    )
    return json.loads(result.stdout.splitlines()[-1])


def imported(function: dict) -> dict:
    # tracing on: the heavier case, whatever the default
    return _last_line_on_lambda(IMPORT_AND_REPORT, function, function["env"] | {"TRACING_MODE": "Active"})


@pytest.mark.parametrize("function", functions(), ids=lambda function: function["id"])
def test_a_handler_imports_only_what_its_requests_use(function):
    # Given the function as deployed, with tracing on
    # When a fresh interpreter imports its handler
    report = imported(function)
    loaded = set(report["loaded"])
    # Then httpx comes only with the CRM worker, which calls the CRM with it; nothing reads settings through
    # pydantic-settings; nothing opens SQLite; and a function without AWS clients has no boto3
    assert ("httpx" in loaded) == (function["id"] == "CrmWorkerFunction")
    # And pydantic, building the handler's models, did not read every package's entry points for a plugin
    assert report["plugins_looked_for"] is False
    assert "pydantic_settings" not in loaded
    assert "sqlite3" not in loaded
    assert ("boto3" in loaded) == bool(function["clients"])
    # And a function with a Tracer has X-Ray patch exactly the libraries it calls through
    if function["id"] in WITH_TRACER:
        assert "aws_xray_sdk.core" in loaded
        calls_through = {"botocore"} if function["clients"] else set()
        if function["id"] == "CrmWorkerFunction":
            calls_through.add("httpx")
        assert set(report["patched"]) == calls_through
    else:
        assert report["patched"] == []


COLLECTOR_REPORT = ON_LAMBDA_PATH + (
    "import gc\n"
    "module = __import__(sys.argv[3]); after_import = gc.isenabled()\n"
    "try: module.lambda_handler({}, None)\n"
    "except Exception: pass\n"
    "print(json.dumps([after_import, gc.isenabled(), gc.get_freeze_count()]))"
)


@pytest.mark.parametrize("function", functions(), ids=lambda function: function["id"])
def test_the_collector_rests_through_a_handlers_import_until_its_first_invocation(function):
    # Given the function in its execution environment (AWS_LAMBDA_FUNCTION_NAME is set)
    # When a fresh interpreter imports its handler, then invokes it (here with an event it refuses)
    after_import, after_invocation, frozen = _last_line_on_lambda(COLLECTOR_REPORT, function, function["env"])
    # Then the collector rested through the import, and runs again from the first invocation on, with the
    # init's objects frozen
    assert function["env"]["AWS_LAMBDA_FUNCTION_NAME"] == function["id"]
    assert after_import is False
    assert after_invocation is True
    assert frozen > 10_000


CLIENTS_REPORT = (
    "import gc, json\n"
    "from attendance.data.aws import client\n"
    "before = (gc.isenabled(), gc.get_freeze_count()); client('dynamodb')\n"
    "first = (gc.isenabled(), gc.get_freeze_count()); client('sqs')\n"
    "print(json.dumps([before, first, (gc.isenabled(), gc.get_freeze_count())]))"
)


def _clients_report(environment: dict[str, str]) -> list[list]:
    result = subprocess.run(
        [
            sys.executable,
            "-I",
            "-c",
            f"import sys; sys.path.insert(0, {str(ROOT / 'layer')!r})\n" + CLIENTS_REPORT,
        ],
        capture_output=True,
        text=True,
        check=True,
        env={"AWS_DEFAULT_REGION": "us-east-1", "PATH": "/usr/bin:/bin"} | environment,
    )
    return json.loads(result.stdout)


def test_in_an_environment_the_first_client_ends_the_init_and_later_ones_change_nothing():
    # Given a fresh interpreter of an execution environment that imported the layer's client factory
    before, first, second = _clients_report({"AWS_LAMBDA_FUNCTION_NAME": "IngestFunction"})
    # Then the collector rested until the first client, which froze the init's objects (the interpreter
    # freezes a few of its own at start) and set the collector going; the next client changed nothing
    assert before[0] is False
    assert first[0] is True
    assert first[1] > before[1] + 10_000
    assert second == first


def test_outside_an_environment_the_collector_never_rests_and_the_first_client_still_freezes():
    # Given a fresh interpreter that is no execution environment (a test, the command line)
    before, first, second = _clients_report({})
    # Then the collector ran throughout; the first client froze the objects made before it, once
    assert before[0] is first[0] is second[0] is True
    assert first[1] > before[1] + 10_000
    assert second == first
