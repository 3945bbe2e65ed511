"""The mock CRM in a process of its own, as the local stack runs it: it serves, says why it cannot, and never
outlives the process that started it."""

import signal
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import httpx
import pytest

from local_stack.mock_crm import GENERIC_PATH, MockCrmProcess
from local_stack.running import wait_for

ROOT = Path(__file__).resolve().parents[3]


def serving(url: str) -> bool:
    try:
        httpx.get(url + "/crm/attendance/count", timeout=2)
    except httpx.TransportError:  # refused, or closed by a server on its way out
        return False
    return True


def test_it_serves_the_mock_crm_until_stopped() -> None:
    crm = MockCrmProcess(port=0).start()
    try:
        with httpx.Client(base_url=crm.url, timeout=5) as client:
            stored = client.post(GENERIC_PATH, json={"logId": "L1", "userId": "U1"})
            repeated = client.post(GENERIC_PATH, json={"logId": "L1", "userId": "U1"})
            counts = client.get("/crm/attendance/count").json()
    finally:
        crm.stop()
    assert (stored.status_code, repeated.status_code) == (201, 200)
    assert repeated.json() == {"id": stored.json()["id"], "duplicate": True}
    assert counts == {"count": 1, "requests": 2, "rateLimited": 0}
    assert not serving(crm.url)


def test_its_behaviour_changes_only_the_fields_sent_and_refuses_what_is_no_json_object() -> None:
    crm = MockCrmProcess(port=0).start()
    try:
        with httpx.Client(base_url=crm.url, timeout=5) as client:
            client.post("/crm/_behaviour", json={"requireToken": "t0ken"})
            changed = client.post("/crm/_behaviour", json={"failRate": 0.5}).json()
            refused = client.post("/crm/_behaviour", content=b"failRate=1")
            kept = client.post("/crm/_behaviour", json={}).json()
    finally:
        crm.stop()
    assert (changed["requireToken"], changed["failRate"]) == ("t0ken", 0.5)
    assert refused.status_code == 400
    assert kept == changed  # the refused change changed nothing


def test_a_taken_port_fails_the_start_as_binding_in_process_would() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(OSError, match="in use"):
            MockCrmProcess(port=taken.getsockname()[1]).start()


def test_it_ends_when_the_process_that_started_it_is_killed() -> None:
    starter = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent("""
                import time
                from local_stack.mock_crm import MockCrmProcess
                print(MockCrmProcess(port=0).start().url, flush=True)
                time.sleep(600)
            """),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert starter.stdout
    url = starter.stdout.readline().strip()
    assert serving(url)
    starter.send_signal(signal.SIGKILL)  # no chance to stop anything
    starter.wait()
    wait_for(lambda: not serving(url), limit=30)
