"""The poller's health reports against the cloud's real handler (the devices API on moto), not a stand-in."""

import importlib

import boto3
import pytest

from attendance.data.devices import DeviceStore
from attendance.domain.devices import Device
from edge_poller.cli import main
from functions.devices import app as devices_app
from local_stack.functions import HttpRoute, LocalFunction


@pytest.fixture
def registry(cloud, use_function_env) -> DeviceStore:
    """POST /devices/{deviceId}/health served by the devices function, next to the ingest."""
    environment = use_function_env("DevicesFunction")
    importlib.reload(devices_app)
    handler = LocalFunction("DevicesFunction", devices_app.lambda_handler, 30, {})
    cloud.server.routes.append(HttpRoute("POST", "/devices/{deviceId}/health", handler))
    return DeviceStore(boto3.client("dynamodb"), environment["DEVICES_TABLE"])


def test_the_cloud_takes_a_registered_device_s_report_and_refuses_an_unknown_one(
    device, cloud, registry, write_config, capsys
):
    # Given a registered clock and one the cloud does not know, both read by the poller office-1
    registry.put(Device(device_id="REAL1", serial="REAL1"))
    _, registered = device(serial="REAL1", clock_offset_minutes=1)
    _, unknown = device(serial="GHOST1")
    config = write_config(
        cloud.url, [("real", registered.port, {}), ("ghost", unknown.port, {})], poller_name="office-1"
    )
    # When the poller runs once
    assert main(["--config", str(config), "once"]) == 0
    # Then the cloud holds what the poller saw of the registered clock
    _, health = registry.get_with_health("REAL1")
    assert health.via == "edge:office-1"
    assert (health.model, health.firmware) == ("SimClock", "Ver 6.60 Apr 28 2018")
    assert health.outbox_depth == 0
    assert health.clock_drift_seconds is not None
    assert abs(health.clock_drift_seconds - 60) <= 2
    assert health.last_read_at is not None
    assert health.last_seen_at is not None
    # And the unknown one is shown as not registered
    capsys.readouterr()
    main(["--config", str(config), "status"])
    [ghost] = [line for line in capsys.readouterr().out.splitlines() if line.strip().startswith("ghost:")]
    assert "not registered: HTTP 404" in ghost
