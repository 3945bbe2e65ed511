"""Tracing off means the X-Ray SDK is never imported; on, Powertools' X-Ray tracer as usual."""

import json
import os
import subprocess
import sys

import pytest

from attendance.tracing import NoTracing, create_tracer

LOADED = "import functions.ingest.app, sys; print('aws_xray_sdk.core' in sys.modules)"


@pytest.mark.parametrize(
    ("variables", "x_ray_loaded"),
    [
        ({"TRACING_MODE": "PassThrough"}, "False"),
        ({"POWERTOOLS_TRACE_DISABLED": "true"}, "False"),
        ({"TRACING_MODE": "Active"}, "True"),
    ],
)
def test_the_x_ray_sdk_is_imported_only_when_tracing_is_on(variables, x_ray_loaded, monkeypatch):
    # Given a fresh interpreter with these variables
    monkeypatch.delenv("POWERTOOLS_TRACE_DISABLED", raising=False)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    # When the ingest handler is imported
    result = subprocess.run([sys.executable, "-c", LOADED], capture_output=True, text=True, check=True)
    # Then the X-Ray SDK is loaded or not
    assert result.stdout.strip() == x_ray_loaded


def test_a_handler_traced_with_tracing_off_returns_and_raises_as_it_would(monkeypatch):
    monkeypatch.setenv("TRACING_MODE", "PassThrough")
    tracer = create_tracer()
    assert isinstance(tracer.provider, NoTracing)

    @tracer.capture_lambda_handler
    def handler(event: dict, context: object) -> dict:
        if event.get("fail"):
            raise ValueError("bad event")
        return {"ok": True}

    assert handler({}, None) == {"ok": True}
    with pytest.raises(ValueError, match="bad event"):
        handler({"fail": True}, None)


TRACED_CALL = """
import json
from moto import mock_aws
from aws_xray_sdk.core import xray_recorder
from attendance.tracing import create_tracer

class Kept:
    def __init__(self): self.sent = []
    def send_entity(self, entity): self.sent.append(entity.to_dict())
    def set_daemon_address(self, address): pass

def names(entity):
    return [entity["name"]] + [name for sub in entity.get("subsegments", []) for name in names(sub)]

with mock_aws():
    tracer = create_tracer()
    kept = Kept()
    xray_recorder.configure(emitter=kept)
    from attendance.data.aws import client

    @tracer.capture_lambda_handler
    def handler(event, context):
        client("sqs").list_queues()

    handler({}, None)
print(json.dumps(sorted({name for entity in kept.sent for name in names(entity)})))
"""
# What Lambda sets for a traced invocation: Powertools traces only in Lambda, the SDK records under the
# invocation's trace.
TRACED_INVOCATION = {
    "TRACING_MODE": "Active",
    "POWERTOOLS_TRACE_DISABLED": "false",
    "LAMBDA_TASK_ROOT": "/var/task",
    "AWS_LAMBDA_FUNCTION_NAME": "traced",
    "_X_AMZN_TRACE_ID": "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
}


def test_with_tracing_on_an_aws_call_of_a_client_made_after_the_tracer_is_a_subsegment():
    # Given a traced invocation in a fresh interpreter (patching is process-wide)
    # When the handler calls AWS with a client the data layer makes on its first request
    result = subprocess.run(
        [sys.executable, "-c", TRACED_CALL],
        capture_output=True,
        text=True,
        check=True,
        env=os.environ | TRACED_INVOCATION,
    )
    # Then the handler and its call are recorded
    assert json.loads(result.stdout) == ["## handler", "sqs"]
