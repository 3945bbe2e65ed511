"""End to end: a device registered over HTTP and heard from by ADMS is online in GET /devices."""

import json

import httpx
import pytest
from click.testing import Result
from typer.testing import CliRunner

from admin_cli.main import app

pytestmark = pytest.mark.e2e


def test_an_adms_handshake_makes_a_registered_device_online(local_stack):
    headers = {"Authorization": f"Bearer {local_stack.api_key}"}
    # Given a ZKTeco clock registered over HTTP, never heard from
    registration = {
        "deviceId": "E2E-HEALTH-ZK1",
        "kind": "zkteco",
        "serial": "E2EHEALTHSN1",
        "name": "E2E door",
    }
    registered = httpx.post(f"{local_stack.api_url}/devices", json=registration, headers=headers, timeout=10)
    assert registered.status_code == 201, registered.text
    assert registered.json()["device"]["state"] == "never_seen"

    # When the clock makes its ADMS handshake (plain HTTP, no key: the serial identifies it)
    handshake = httpx.get(
        f"{local_stack.api_url}/iclock/cdata", params={"SN": "E2EHEALTHSN1", "options": "all"}, timeout=10
    )
    assert handshake.status_code == 200, handshake.text

    # Then GET /devices lists it online, heard from via ADMS
    listed = httpx.get(f"{local_stack.api_url}/devices", headers=headers, timeout=10)
    assert listed.status_code == 200
    [device] = [d for d in listed.json()["devices"] if d["deviceId"] == "E2E-HEALTH-ZK1"]
    assert (device["state"], device["via"], device["name"]) == ("online", "adms", "E2E door")
    assert device["lastSeenAt"] is not None


def test_the_cli_and_the_api_share_one_registry(local_stack):
    headers = {"Authorization": f"Bearer {local_stack.api_key}"}
    environment = {
        "AWS_PORT": local_stack.aws_url.rsplit(":", 1)[1],
        "API_PORT": local_stack.api_url.rsplit(":", 1)[1],
    }
    runner = CliRunner()

    def cli(*args: str) -> Result:
        return runner.invoke(app, ["--local", "--json", "devices", *args], env=environment)

    # Given a device registered with the CLI
    added = cli(
        "add",
        "--id",
        "E2E-HEALTH-ZK2",
        "--kind",
        "zkteco",
        "--serial",
        "E2EHEALTHSN2",
        "--zone",
        "UTC",
        "--name",
        "Dock",
        "--site",
        "plant-1",
        "--silent-after",
        "5",
    )
    assert added.exit_code == 0, added.output

    # When the same ID is registered again over HTTP, and the device is disabled over HTTP
    again = httpx.post(
        f"{local_stack.api_url}/devices",
        json={"deviceId": "E2E-HEALTH-ZK2", "kind": "hikvision"},
        headers=headers,
        timeout=10,
    )
    disabled = httpx.post(
        f"{local_stack.api_url}/devices/E2E-HEALTH-ZK2/disable", headers=headers, timeout=10
    )

    # Then HTTP saw the CLI's registration, and the CLI sees the HTTP change
    assert again.status_code == 409
    assert (disabled.status_code, disabled.json()["name"], disabled.json()["silentAfterMinutes"]) == (
        200,
        "Dock",
        5,
    )
    [listed] = [d for d in json.loads(cli("list").output) if d["id"] == "E2E-HEALTH-ZK2"]
    assert listed["state"] == "disabled"
    # and registering it again from the CLI is refused as over HTTP (exit 2, nothing changed)
    taken = cli("add", "--id", "E2E-HEALTH-ZK2", "--kind", "zkteco", "--serial", "OTHER", "--zone", "UTC")
    assert (taken.exit_code, json.loads(taken.output)["error"]) == (2, "already_registered")
