"""A local stack (`python -m local_stack`) in a process of its own, on free ports, for benchmarks and soaks."""

import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from local_stack.banner import wait_for_banner
from local_stack.running import ANY_FREE_PORTS, stack_process

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


def start_stack(settings: dict[str, str] | None = None) -> Stack:
    """`python -m local_stack` on free ports, with these LOCAL_* settings; returns once it is up."""
    environment = os.environ | ANY_FREE_PORTS | (settings or {})
    log = tempfile.NamedTemporaryFile("w+", prefix="local-stack-", suffix=".log")  # noqa: SIM115 - closed in stop()
    process = stack_process(environment, stdout=log)
    urls = wait_for_banner(process, Path(log.name).read_text, limit_seconds=None)
    if urls is None:
        failure = Path(log.name).read_text()
        log.close()
        sys.exit(failure)
    return Stack(urls.api, urls.aws, urls.crm, process, log)
