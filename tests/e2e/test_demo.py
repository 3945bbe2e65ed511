"""`make demo`'s office, set up through the running stack's API as an admin would: what the dashboard's
Devices and Employees pages then show."""

from datetime import datetime

import httpx
import pytest

from local_stack.demo import CLOCKS, DIRECTORY, LEAVE_KIND, ON_LEAVE, Demo, arriving_now
from local_stack.running import RunningStack
from local_stack.stack import LocalConfig

pytestmark = pytest.mark.e2e


def port(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def demo_on(stack: RunningStack) -> Demo:
    config = LocalConfig(
        api_port=port(stack.api_url),
        aws_port=port(stack.aws_url),
        crm_port=port(stack.crm_url),
        api_key=stack.api_key,
    )
    return Demo(config)


def test_the_demo_sets_up_its_clocks_and_directory_and_can_run_again(stack: RunningStack, capsys) -> None:
    # Given the demo pointed at the running stack
    demo = demo_on(stack)
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
    # and Dana is on vacation today: on leave, not counted absent
    assert {employee["userId"]: employee["onLeave"] for employee in employees}[ON_LEAVE] == LEAVE_KIND
    # and the second run said the clocks were there already, rather than failing
    output = capsys.readouterr().out
    assert output.count("already registered") == len(CLOCKS)


def test_the_demos_arrivals_of_this_morning_are_what_live_lists(stack: RunningStack) -> None:
    # Given the demo's office
    demo = demo_on(stack)
    demo.set_up_office()
    # When this morning's arrivals come in
    arrivals = arriving_now(datetime.now().astimezone().replace(microsecond=0))
    demo.send_batch(arrivals)
    # Then all three are taken, and the day's latest punches (what the Live page opens with) list them
    assert demo.tally.statuses == {"accepted": 3}
    headers = {"Authorization": f"Bearer {stack.api_key}"}
    listed = set()
    for day in {item["timestamp"][:10] for item in arrivals}:  # two dates only just after midnight
        reply = httpx.get(
            stack.api_url + "/reports/punches", params={"date": day}, headers=headers, timeout=15
        )
        listed |= {punch["logId"] for punch in reply.json()["punches"]}
    assert demo.tally.log_ids <= listed
