"""What each function's handler imports on a cold start, as deployed with tracing on, in
a fresh interpreter with only the packages Lambda would have: nothing a request of it never uses, and
X-Ray patching of exactly the libraries it calls through."""

import json
import subprocess
import sys

import pytest

from bench.cold_start import ON_LAMBDA_PATH, ROOT, functions

WATCHED = ("boto3", "httpx", "pydantic_settings", "sqlite3", "aws_xray_sdk.core")
IMPORT_AND_REPORT = ON_LAMBDA_PATH + (
    "__import__(sys.argv[3])\n"
    "patched = sys.modules.get('aws_xray_sdk.core.patcher')\n"
    "print(json.dumps({'loaded': [name for name in json.loads(sys.argv[5]) if name in sys.modules],\n"
    "                  'patched': sorted(patched._PATCHED_MODULES) if patched else []}))"
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


def imported(function: dict) -> dict:
    arguments = [
        function["code"],
        str(ROOT / "layer"),
        function["module"],
        function["blocked"],
        json.dumps(WATCHED),
    ]
    result = subprocess.run(
        [sys.executable, "-I", "-c", IMPORT_AND_REPORT, *arguments],
        capture_output=True,
        text=True,
        check=True,
        env=function["env"] | {"TRACING_MODE": "Active"},  # the heavier case, whatever the default
    )
    return json.loads(result.stdout)


@pytest.mark.parametrize("function", functions(), ids=lambda function: function["id"])
def test_a_handler_imports_only_what_its_requests_use(function):
    # Given the function as deployed, with tracing on
    # When a fresh interpreter imports its handler
    report = imported(function)
    loaded = set(report["loaded"])
    # Then httpx comes only with the CRM worker, which calls the CRM with it; nothing reads settings through
    # pydantic-settings; nothing opens SQLite; and a function without AWS clients has no boto3
    assert ("httpx" in loaded) == (function["id"] == "CrmWorkerFunction")
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


FREEZE_REPORT = (
    "import gc, json\n"
    "from attendance.data.aws import client\n"
    "before = gc.get_freeze_count(); client('dynamodb'); first = gc.get_freeze_count()\n"
    "client('sqs'); print(json.dumps([before, first, gc.get_freeze_count()]))"
)


def test_the_first_client_freezes_what_the_init_made_and_later_ones_do_not():
    # Given a fresh interpreter that imported the layer's client factory
    result = subprocess.run(
        [
            sys.executable,
            "-I",
            "-c",
            f"import sys; sys.path.insert(0, {str(ROOT / 'layer')!r})\n" + FREEZE_REPORT,
        ],
        capture_output=True,
        text=True,
        check=True,
        env={"AWS_DEFAULT_REGION": "us-east-1", "PATH": "/usr/bin:/bin"},
    )
    before, first, second = json.loads(result.stdout)
    # Then the init's objects were frozen with its first client (the interpreter freezes a few of its own
    # at start), and not again with the next
    assert first > before + 10_000
    assert second == first
