"""The same punch by ADMS push and through the edge poller is stored once."""

import importlib
from datetime import datetime

import boto3

from attendance.data.devices import DeviceStore
from attendance.domain.devices import Device
from edge_poller.cli import main
from functions.device_push import app as push_app
from tests.integration.device_push.conftest import call


def test_adms_push_and_edge_poller_store_one_punch(use_function_env, cloud, device, write_config):
    # Given a clock registered for ADMS under its serial, which the edge poller also reads
    environment = use_function_env("DevicePushFunction", MAX_PAST_DAYS="3650")
    importlib.reload(push_app)
    DeviceStore(boto3.client("dynamodb"), environment["DEVICES_TABLE"]).put(
        Device(device_id="ZK123", serial="ZK123", time_zone="Europe/Berlin")
    )
    state, simulator = device(serial="ZK123", time_zone="Europe/Berlin")
    state.punch("1001", punch=0, at=datetime(2025, 2, 10, 8, 59, 12))
    # When the device pushes the punch by ADMS and the poller reads it too
    assert (
        call(
            "POST",
            "/iclock/cdata",
            b"1001\t2025-02-10 08:59:12\t0\t1\t\t0\t0\r\n",
            {"SN": "ZK123", "table": "ATTLOG"},
        ).text
        == "OK: 1"
    )
    config = write_config(cloud.url, [("front", simulator.port, {"time_zone": "Europe/Berlin"})])
    assert main(["--config", str(config), "once"]) == 0
    # Then the cloud holds it once, and the poller's copy was a duplicate
    [punch] = cloud.punches()
    assert (punch["deviceId"], punch["userId"], punch["punchTime"]) == (
        "ZK123",
        "1001",
        "2025-02-10T07:59:12Z",
    )
    assert punch["source"] == "adms"
