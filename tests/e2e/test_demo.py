"""`make demo`'s office, set up through the running stack's API as an admin would: what the dashboard's
Devices and Employees pages then show."""

import httpx
import pytest

from local_stack.demo import CLOCKS, DIRECTORY, Demo
from local_stack.running import RunningStack
from local_stack.stack import LocalConfig

pytestmark = pytest.mark.e2e


def port(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def test_the_demo_sets_up_its_clocks_and_directory_and_can_run_again(stack: RunningStack, capsys) -> None:
    # Given the demo pointed at the running stack
    config = LocalConfig(
        api_port=port(stack.api_url),
        aws_port=port(stack.aws_url),
        crm_port=port(stack.crm_url),
        api_key=stack.api_key,
    )
    demo = Demo(config)
    # When it sets up the office, twice (a second `make demo` on the same stack)
    demo.set_up_office()
    demo.set_up_office()
    # Then both clocks are registered, online (the edge poller's report), and the five are in the directory
    headers = {"Authorization": f"Bearer {stack.api_key}"}
    devices = httpx.get(stack.api_url + "/devices", headers=headers, timeout=15).json()["devices"]
    states = {device["deviceId"]: device["state"] for device in devices}
    assert {clock["deviceId"]: states.get(clock["deviceId"]) for clock in CLOCKS} == {
        "DEV-FRONT": "online",
        "DEV-SIDE": "online",
    }
    employees = httpx.get(stack.api_url + "/employees", headers=headers, timeout=15).json()["employees"]
    names = {employee["userId"]: employee["name"] for employee in employees}
    assert {user: names.get(user) for user in DIRECTORY} == {user: e["name"] for user, e in DIRECTORY.items()}
    # and the second run said the clocks were there already, rather than failing
    output = capsys.readouterr().out
    assert output.count("already registered") == len(CLOCKS)
