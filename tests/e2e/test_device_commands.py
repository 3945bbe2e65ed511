"""Commands to a ZKTeco ADMS clock through the running local stack, with the simulator as the clock."""

import json
from datetime import datetime, timedelta

import httpx
import pytest
from typer.testing import CliRunner

from admin_cli.main import app as cli_app
from attendance.data.devices import DeviceStore
from attendance.domain.devices import Device
from edge_poller.simulator import AdmsClock, DeviceState
from local_stack.running import wait_for
from local_stack.stack import local_client

pytestmark = pytest.mark.e2e
DEVICE_ID, SERIAL = "E2E-CMD-GATE", "E2ECMD0001"


@pytest.fixture
def clock(local_stack):
    """A registered ZKTeco clock in ADMS push mode with three punches from yesterday, polling every 0.3 s."""
    dynamodb = local_client("dynamodb", local_stack.aws_url)
    DeviceStore(dynamodb, "attendance-sync-DevicesTable").put(
        Device(device_id=DEVICE_ID, serial=SERIAL, time_zone="UTC")
    )
    state = DeviceState(serial=SERIAL, time_zone="UTC")
    yesterday = (datetime.now() - timedelta(days=1)).replace(hour=8, minute=0, second=0, microsecond=0)
    for hours, user in ((0, "E2E-CMD-U1"), (1, "E2E-CMD-U2"), (9, "E2E-CMD-U1")):
        state.punch(user, punch=1 if hours == 9 else 0, at=yesterday + timedelta(hours=hours))
    simulator = AdmsClock(local_stack.api_url, state, poll_seconds=0.3).start()
    yield simulator, yesterday
    simulator.stop()


def api(stack, method: str, path: str, body: dict | None = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {stack.api_key}"}
    return httpx.request(method, stack.api_url + path, json=body, headers=headers, timeout=10)


def command_status(stack, command_id: str) -> dict:
    commands = api(stack, "GET", f"/devices/{DEVICE_ID}/commands").json()["commands"]
    return next(command for command in commands if command["commandId"] == command_id)


def stored_punches(stack) -> list[dict]:
    table = local_client("dynamodb", stack.aws_url)
    items = table.scan(
        TableName="attendance-sync-PunchesTable",
        FilterExpression="deviceId = :device",
        ExpressionAttributeValues={":device": {"S": DEVICE_ID}},
    )["Items"]
    return [{name: next(iter(value.values())) for name, value in item.items()} for item in items]


def queue(stack, body: dict) -> str:
    reply = api(stack, "POST", f"/devices/{DEVICE_ID}/commands", body)
    assert reply.status_code == 201, reply.text
    return reply.json()["commandId"]


def test_a_queued_command_reaches_the_clock_and_its_result_comes_back(local_stack, clock):
    simulator, yesterday = clock
    # Given the clock handshook and uploaded its three punches
    assert simulator.handshakes == 1
    wait_for(lambda: len(stored_punches(local_stack)) == 3)
    # When an admin puts an employee on it over HTTP
    command_id = queue(local_stack, {"kind": "put_employee", "userId": "E2E-CMD-U3", "name": "Eve Example"})
    # Then the clock fetches it on a poll, enrols her, and the command is recorded done
    wait_for(lambda: command_status(local_stack, command_id)["status"] == "done")
    assert simulator.device.names["E2E-CMD-U3"] == "Eve Example"
    done = command_status(local_stack, command_id)
    assert (done["returnCode"], done["command"]) == (
        0,
        "DATA UPDATE USERINFO PIN=E2E-CMD-U3\tName=Eve Example\tPri=0",
    )
    # When the admin asks it to send yesterday's log again
    resend = queue(
        local_stack,
        {
            "kind": "resend_log",
            "from": yesterday.isoformat(),
            "to": (yesterday + timedelta(hours=12)).isoformat(),
        },
    )
    # Then it uploads the range again (acknowledged `OK: 3`, else its result would not be 0) and dedup
    # absorbs it: still three punches
    wait_for(lambda: command_status(local_stack, resend)["status"] == "done")
    assert [c.command_id for c in simulator.executed] == [command_id, resend]
    assert [c.return_code for c in simulator.executed] == [0, 0]
    assert len(stored_punches(local_stack)) == 3
    # And a reboot makes it greet the server again
    reboot = queue(local_stack, {"kind": "reboot"})
    wait_for(lambda: command_status(local_stack, reboot)["status"] == "done")
    assert simulator.handshakes == 2
    # Leave nothing on its way to the CRM for the tests that follow
    wait_for(lambda: {p["syncStatus"] for p in stored_punches(local_stack)} == {"synced"})


def test_the_cli_queues_and_lists_commands(local_stack, clock):
    simulator, _ = clock
    runner = CliRunner()
    environment = {
        "AWS_PORT": local_stack.aws_url.rsplit(":", 1)[1],
        "API_PORT": local_stack.api_url.rsplit(":", 1)[1],
    }

    def cli(*args: str, expect: int = 0) -> str:
        result = runner.invoke(cli_app, ["--local", "--json", "devices", "command", *args], env=environment)
        assert result.exit_code == expect, result.output + repr(result.exception)
        return result.stdout  # the JSON; logs go to stderr

    # When an operator takes an employee off the clock and sets its clock from the CLI
    simulator.device.put_user("E2E-CMD-U9", "Leaver")
    removed = json.loads(cli("remove-employee", DEVICE_ID, "E2E-CMD-U9"))["commandId"]
    clock_set = json.loads(cli("set-clock", DEVICE_ID, "--expires-in", "5"))["commandId"]
    # Then the clock runs both, and `list` shows them done, newest first, queued by the CLI user
    wait_for(
        lambda: {c["id"]: c["status"] for c in json.loads(cli("list", DEVICE_ID))}.get(removed) == "done"
    )
    wait_for(
        lambda: {c["id"]: c["status"] for c in json.loads(cli("list", DEVICE_ID))}.get(clock_set) == "done"
    )
    listed = json.loads(cli("list", DEVICE_ID))
    assert [row["id"] for row in listed[:2]] == [clock_set, removed]
    assert all(row["by"].startswith("cli") for row in listed[:2])
    assert "E2E-CMD-U9" not in simulator.device.users
    # And refusals end the command: an unknown device (1), a backwards range (2)
    cli("reboot", "NO-SUCH-CLOCK", expect=1)
    cli("resend-log", DEVICE_ID, "--from", "2025-02-10T17:00", "--to", "2025-02-10T08:00", expect=2)
    # Leave nothing on its way to the CRM for the tests that follow
    wait_for(lambda: {p["syncStatus"] for p in stored_punches(local_stack)} == {"synced"})
