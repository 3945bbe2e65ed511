"""`make run` where another stack (or any program) already holds one of its ports."""

import os
import socket
import subprocess
import sys

import pytest

from local_stack.running import ANY_FREE_PORTS, ROOT


@pytest.mark.parametrize("setting", ["AWS_PORT", "CRM_PORT", "API_PORT", "WS_MANAGEMENT_PORT"])
def test_a_stack_whose_port_is_taken_says_which_and_exits(setting: str) -> None:
    # Given a program listening on the port the stack would take for this setting (the others free)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        environment = os.environ | ANY_FREE_PORTS | {setting: str(port)}
        # When the stack starts
        started = subprocess.run(
            [sys.executable, "-m", "local_stack"],
            cwd=ROOT,
            env=environment,
            capture_output=True,
            text=True,
            timeout=60,
        )
    # Then it exits at once with a failure naming the setting and its port, and what to do instead,
    # rather than waiting forever or starting without it
    assert started.returncode == 1, started.stdout + started.stderr
    assert "could not start: " in started.stdout
    assert f"{setting}={port}" in started.stdout
    assert "Traceback" not in started.stdout + started.stderr
    assert "set API_PORT, AWS_PORT" in started.stdout
    assert "or 0 for any free port" in started.stdout


@pytest.mark.parametrize("value", ["abc", "70000"])
def test_a_port_that_is_no_port_is_refused_before_anything_starts(value: str) -> None:
    # Given one port variable that holds no port, and another that holds none either
    environment = os.environ | ANY_FREE_PORTS | {"API_PORT": value, "WS_PORT": "-1"}
    # When the stack starts
    started = subprocess.run(
        [sys.executable, "-m", "local_stack"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    # Then it says so for each, a line each, and exits as a usage error without a traceback
    assert started.returncode == 2, started.stdout + started.stderr
    assert started.stdout.splitlines() == [
        f"could not start: API_PORT={value!r} is not a port: give a number from 1 to 65535, or 0 for any free one",
        "could not start: WS_PORT='-1' is not a port: give a number from 1 to 65535, or 0 for any free one",
    ]
    assert "Traceback" not in started.stderr
