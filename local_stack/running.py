"""`python -m local_stack` as a user runs it, on free ports: for the end-to-end tests, the contract fuzz and
the benchmarks."""

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from local_stack.banner import wait_for_banner
from local_stack.stack import PORT_VARIABLES, local_client

ROOT = Path(__file__).resolve().parents[1]
START_SECONDS = 90
# Each port 0: the stack listens on free ones and names them in its banner. Ports picked here and handed
# over could be taken by another program before the stack, seconds later, listens on them.
ANY_FREE_PORTS = dict.fromkeys(PORT_VARIABLES.values(), "0")


@dataclass
class RunningStack:
    api_url: str
    aws_url: str
    crm_url: str
    api_key: str
    output: list[str] = field(default_factory=list)
    ws_url: str = "ws://127.0.0.1:3001"  # the live feed's WebSocket API
    ws_management_url: str = "http://127.0.0.1:3002"  # its @connections API
    process_id: int = 0  # `python -m local_stack`'s

    def sqs(self) -> Any:
        return local_client("sqs", self.aws_url)

    def queue_url(self, logical_id: str) -> str:
        return self.sqs().get_queue_url(QueueName=f"attendance-sync-{logical_id}")["QueueUrl"]

    def wait_until_queue_is_empty(self, limit: float = 60.0) -> None:
        """Until the punch queue holds no message (waiting, being delivered, or back after a failed try):
        what an earlier test sent is delivered or dead-lettered, so it reaches no later test's CRM."""
        sqs, queue = self.sqs(), self.queue_url("PunchQueue")
        names = [f"ApproximateNumberOfMessages{state}" for state in ("", "NotVisible", "Delayed")]
        give_up = time.monotonic() + limit
        while counts := {
            name: int(count)
            for name, count in sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=names)[
                "Attributes"
            ].items()
            if int(count)
        }:
            assert time.monotonic() < give_up, (
                f"the punch queue is still not empty after {limit:.0f} s: {counts}"
            )
            time.sleep(0.2)

    def crm_held(self) -> dict[str, Any]:
        """What the mock CRM holds: `punches` (each with its logId and deliveries), `count`, `requests`."""
        return httpx.get(self.crm_url + "/crm/attendance", timeout=10).json()

    def crm_log_ids(self) -> set[str]:
        """The logIds of the punches the mock CRM holds."""
        return {punch["logId"] for punch in self.crm_held()["punches"]}

    def post_punch(self, device: str, user: str, at: datetime | None = None, kind: str = "in") -> str:
        """One punch through POST /punches with the stack's key (now, unless `at`); its logId."""
        moment = (at or datetime.now(UTC)).replace(microsecond=0)
        punch = {"deviceId": device, "userId": user, "timestamp": moment.isoformat(), "type": kind}
        reply = httpx.post(
            self.api_url + "/punches",
            headers={"Authorization": f"Bearer {self.api_key}"},
            json=punch,
            timeout=15,
        )
        assert reply.status_code == 202, reply.text
        return reply.json()["logId"]


def stack_process(environment: dict[str, str], **output: Any) -> subprocess.Popen:
    """`python -m local_stack` under this environment, its output (and errors) where `output` says.

    In a session of its own: where the kernel groups CPU time by session (autogroup), the stack and its
    processes share the cores with the program that started it as one program with another, and its
    background environments' lower priority (local_stack/cpu.py) counts only against its own API. Beside a
    busy test run they would otherwise wait behind every other process, and a punch took minutes to reach
    the CRM."""
    return subprocess.Popen(
        [sys.executable, "-m", "local_stack"],
        cwd=ROOT,
        env=environment,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        **output,
    )


@contextmanager
def running_local_stack(api_key: str, **settings: str) -> Iterator[RunningStack]:
    """Starts the stack on free ports (extra settings, e.g. LOCAL_SCHEDULE_SECONDS), waits until it says it
    is up and where, and stops it when the block ends."""
    environment = os.environ | ANY_FREE_PORTS | {"LOCAL_API_KEY": api_key} | settings
    process = stack_process(environment, stdout=subprocess.PIPE, text=True)
    output: list[str] = []
    threading.Thread(target=lambda: output.extend(process.stdout or []), daemon=True).start()
    try:
        urls = wait_for_banner(process, lambda: "".join(output), START_SECONDS)
        if urls is None:
            raise RuntimeError("the local stack did not start:\n" + "".join(output))
        yield RunningStack(
            urls.api, urls.aws, urls.crm, api_key, output, urls.ws, urls.ws_management, process.pid
        )
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:  # a stop that hangs must not leave the stack running
            process.kill()
            process.wait()


def wait_for(condition: Callable[[], bool], limit: float = 60.0, every: float = 0.2) -> None:
    """Until `condition()` holds; fails the test after `limit` seconds."""
    give_up = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < give_up, "condition not met in time"
        time.sleep(every)
