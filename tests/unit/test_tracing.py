"""Tracing off means the X-Ray SDK is never imported; on, Powertools' X-Ray tracer as usual."""

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
