"""A local stack (`python -m local_stack`) in a process of its own, on free ports, for benchmarks and soaks."""

import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edge_poller.simulator import free_tcp_port

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Stack:
    api: str
    aws: str
    crm: str
    process: subprocess.Popen
    log: Any

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=60)
        self.log.close()


def start_stack(settings: dict[str, str] | None = None, attempts: int = 3) -> Stack:
    """`python -m local_stack` on free ports, with these LOCAL_* settings; returns once it is up.

    A port found free can be taken before the stack binds it (by another stack starting beside it, or as
    the source port of some connection): then the stack starts again on other ports."""
    for attempt in range(1, attempts + 1):
        stack, failure = _start_on_free_ports(settings or {})
        if stack:
            return stack
        if "address already in use" not in failure or attempt == attempts:
            sys.exit(failure)
    raise AssertionError("unreachable")


def _start_on_free_ports(settings: dict[str, str]) -> tuple[Stack | None, str]:
    names = ("API_PORT", "AWS_PORT", "CRM_PORT", "WS_PORT", "WS_MANAGEMENT_PORT")
    ports = {name: free_tcp_port() for name in names}
    environment = os.environ | {name: str(port) for name, port in ports.items()} | settings
    log = tempfile.NamedTemporaryFile("w+", prefix="local-stack-", suffix=".log")  # noqa: SIM115 - closed in stop()
    process = subprocess.Popen(
        [sys.executable, "-m", "local_stack"], cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT
    )
    while "local stack is up" not in Path(log.name).read_text():
        if process.poll() is not None:
            failure = Path(log.name).read_text()
            log.close()
            return None, failure
        time.sleep(0.3)
    urls = (f"http://127.0.0.1:{ports[name]}" for name in ("API_PORT", "AWS_PORT", "CRM_PORT"))
    return Stack(*urls, process, log), ""
