"""A clock's life as an admin sees it, through the running local stack with the simulator as the clock:
registered -> handshake (online) -> a command fetched and its result recorded -> a minute's silence (one
alert) -> back (one recovery). It waits out the real minute: contacts are recorded once a minute."""

import json
import time

import httpx
import pytest

from edge_poller.simulator import AdmsClock, DeviceState
from local_stack.running import wait_for
from local_stack.stack import local_client

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
DEVICE_ID, SERIAL = "E2E-LIFE-GATE", "E2ELIFE0001"


def api(stack, method: str, path: str, body: dict | None = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {stack.api_key}"}
    return httpx.request(method, stack.api_url + path, json=body, headers=headers, timeout=10)


def device(stack) -> dict:
    return api(stack, "GET", f"/devices/{DEVICE_ID}").json()


def command_status(stack, command_id: str) -> str:
    commands = api(stack, "GET", f"/devices/{DEVICE_ID}/commands").json()["commands"]
    return next(command["status"] for command in commands if command["commandId"] == command_id)


class AlarmInbox:
    """The local stack's SQS queue subscribed to the alarm topic: the notifications about this device."""

    def __init__(self, stack) -> None:
        self.sqs = local_client("sqs", stack.aws_url)
        self.url = self.sqs.get_queue_url(QueueName="attendance-sync-AlarmTopic-Inbox")["QueueUrl"]
        self.subjects: list[str] = []

    def read(self) -> list[str]:
        while messages := self.sqs.receive_message(QueueUrl=self.url, MaxNumberOfMessages=10).get("Messages"):
            for message in messages:
                subject = json.loads(message["Body"]).get("Subject", "")
                if DEVICE_ID in subject:
                    self.subjects.append(subject)
                self.sqs.delete_message(QueueUrl=self.url, ReceiptHandle=message["ReceiptHandle"])
        return self.subjects


def test_a_clock_from_registration_to_silence_and_back(local_stack):
    inbox = AlarmInbox(local_stack)
    # Given a ZKTeco clock registered over HTTP, never heard from
    registration = {"deviceId": DEVICE_ID, "kind": "zkteco", "serial": SERIAL, "silentAfterMinutes": 1}
    assert api(local_stack, "POST", "/devices", registration).status_code == 201
    assert device(local_stack)["state"] == "never_seen"
    # When it comes up in ADMS push mode: handshake, then a poll every 0.3 s
    clock = AdmsClock(
        local_stack.api_url, DeviceState(serial=SERIAL, time_zone="UTC"), poll_seconds=0.3
    ).start()
    try:
        # Then it is online, heard from via ADMS
        assert (device(local_stack)["state"], device(local_stack)["via"]) == ("online", "adms")
        # When an admin queues a command over HTTP, then the clock fetches it and reports the result
        queued = api(local_stack, "POST", f"/devices/{DEVICE_ID}/commands", {"kind": "reboot"})
        assert queued.status_code == 201, queued.text
        command_id = queued.json()["commandId"]
        wait_for(lambda: command_status(local_stack, command_id) == "done")
        assert clock.handshakes == 2  # a reboot makes the clock handshake again
    finally:
        clock.stop()
    # When it falls silent for longer than its threshold (a minute: the shortest there is)
    # Then a check (every 3 s in this stack) raises exactly one alert, and no more while it stays silent
    wait_for(lambda: len(inbox.read()) == 1, limit=120)
    assert inbox.subjects == [f"Device {DEVICE_ID} is silent"]
    assert device(local_stack)["state"] == "silent"
    time.sleep(7)  # at least two more checks
    assert len(inbox.read()) == 1
    # When it comes back, then it is online and exactly one recovery is sent
    back = AdmsClock(
        local_stack.api_url, DeviceState(serial=SERIAL, time_zone="UTC"), poll_seconds=0.3
    ).start()
    try:
        assert device(local_stack)["state"] == "online"
        wait_for(lambda: len(inbox.read()) == 2, limit=30)
        time.sleep(8)
        assert inbox.read() == [f"Device {DEVICE_ID} is silent", f"Device {DEVICE_ID} is back online"]
    finally:
        back.stop()
