"""The local stack as a user runs it (`python -m local_stack`), on free ports, driven over HTTP and SQS."""

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from edge_poller.simulator import free_tcp_port
from local_stack.stack import local_client

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class RunningStack:
    api_url: str
    aws_url: str
    crm_url: str
    api_key: str
    output: list[str]

    def sqs(self) -> Any:
        return local_client("sqs", self.aws_url)

    def queue_url(self, logical_id: str) -> str:
        return self.sqs().get_queue_url(QueueName=f"attendance-sync-{logical_id}")["QueueUrl"]


@pytest.fixture(scope="session")
def local_stack() -> Iterator[RunningStack]:
    ports = {"API_PORT": free_tcp_port(), "AWS_PORT": free_tcp_port(), "CRM_PORT": free_tcp_port()}
    environment = (
        os.environ | {name: str(port) for name, port in ports.items()} | {"LOCAL_API_KEY": "e2e-key"}
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "local_stack"],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output: list[str] = []
    threading.Thread(target=lambda: output.extend(process.stdout), daemon=True).start()
    deadline = time.monotonic() + 90
    while not any("local stack is up" in line for line in output):
        assert process.poll() is None, "".join(output)
        assert time.monotonic() < deadline, "".join(output)
        time.sleep(0.2)
    yield RunningStack(
        f"http://127.0.0.1:{ports['API_PORT']}",
        f"http://127.0.0.1:{ports['AWS_PORT']}",
        f"http://127.0.0.1:{ports['CRM_PORT']}",
        "e2e-key",
        output,
    )
    process.terminate()
    process.wait(timeout=30)


@pytest.fixture
def stack(local_stack: RunningStack) -> RunningStack:
    """A healthy, empty mock CRM for each test."""
    httpx.post(local_stack.crm_url + "/crm/_reset", timeout=5).raise_for_status()
    return local_stack
