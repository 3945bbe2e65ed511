"""`make run` where another stack (or any program) already holds one of its ports."""

import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from local_stack.demo import is_listening
from local_stack.running import ANY_FREE_PORTS, ROOT


def start_stack(environment: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`python -m local_stack` as `make run` starts it, under this environment, until it exits."""
    return subprocess.run(
        [sys.executable, "-m", "local_stack"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("setting", ["AWS_PORT", "CRM_PORT", "API_PORT", "WS_MANAGEMENT_PORT"])
def test_a_stack_whose_port_is_taken_says_which_and_exits(setting: str) -> None:
    # Given a program listening on the port the stack would take for this setting (the others free)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        environment = os.environ | ANY_FREE_PORTS | {setting: str(port)}
        # When the stack starts
        started = start_stack(environment)
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
    started = start_stack(environment)
    # Then it says so for each, a line each, and exits as a usage error without a traceback
    assert started.returncode == 2, started.stdout + started.stderr
    assert started.stdout.splitlines() == [
        f"could not start: API_PORT={value!r} is not a port: give a number from 1 to 65535, or 0 for any free one",
        "could not start: WS_PORT='-1' is not a port: give a number from 1 to 65535, or 0 for any free one",
    ]
    assert "Traceback" not in started.stderr


def start_beside_a_taken_aws_port(parameters: str) -> subprocess.CompletedProcess[str]:
    """`python -m local_stack` with these LOCAL_PARAMETERS while a program holds the port moto would take:
    anything the stack started would fail on it."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        environment = os.environ | ANY_FREE_PORTS | {"AWS_PORT": str(taken.getsockname()[1])}
        return start_stack(environment | {"LOCAL_PARAMETERS": parameters, "LOCAL_LOG_COLD_STARTS": "1"})


def test_parameters_the_template_refuses_are_each_named_before_anything_starts() -> None:
    # Given a zone that does not exist, a misspelt name, a value below the template's MinValue and one above
    # its MaxValue
    parameters = "DefaultTimeZone=Europe/Berln,MaxRecieveCount=1,PunchVisibilityTimeout=5,WorkerBatchSize=50"
    # When the stack starts with them
    started = start_beside_a_taken_aws_port(parameters)
    # Then it exits 2 with a line for each, naming the parameter, its value and the rule, having started
    # nothing: not moto (whose port is taken), not one function
    assert started.returncode == 2, started.stdout + started.stderr
    lines = started.stdout.splitlines()
    assert lines[0].startswith(
        "could not start: DefaultTimeZone='Europe/Berln': not a time zone the functions know"
    )
    assert lines[1:] == [
        "could not start: MaxRecieveCount='1': template.yaml has no such parameter (did you mean MaxReceiveCount?)",
        "could not start: PunchVisibilityTimeout='5': below MinValue 10",
        "could not start: WorkerBatchSize='50': above MaxValue 10",
    ]
    assert "Traceback" not in started.stderr


def test_a_parameter_entry_that_is_no_name_and_value_is_refused_not_dropped() -> None:
    started = start_beside_a_taken_aws_port("LogLevel=WARNING,CrmTimeZone")
    assert started.returncode == 2, started.stdout + started.stderr
    assert started.stdout.splitlines() == [
        "could not start: LOCAL_PARAMETERS entry 'CrmTimeZone' is not Name=value"
    ]
    assert "Traceback" not in started.stderr


def test_a_number_variable_that_holds_no_number_in_its_range_is_refused_before_anything_starts() -> None:
    # Given the stack's number variables holding a word, a fraction where a count goes, a chance above 1
    # and a schedule of no seconds
    numbers = {
        "LOCAL_CONCURRENCY": "four",
        "LOCAL_CHAOS_CRASH_LIMIT": "2.5",
        "LOCAL_CHAOS_CRASH_BEFORE_QUEUE": "10",
        "LOCAL_SCHEDULE_SECONDS": "0",
    }
    # When the stack starts
    started = start_stack(os.environ | ANY_FREE_PORTS | numbers)
    # Then it names each variable, its value and what it takes, a line each, and exits as a usage error
    # without a traceback
    assert started.returncode == 2, started.stdout + started.stderr
    assert sorted(started.stdout.splitlines()) == [
        "could not start: LOCAL_CHAOS_CRASH_BEFORE_QUEUE='10' is not a number from 0 to 1",
        "could not start: LOCAL_CHAOS_CRASH_LIMIT='2.5' is not a whole number of at least 0",
        "could not start: LOCAL_CONCURRENCY='four' is not a whole number from 1 to 64",
        "could not start: LOCAL_SCHEDULE_SECONDS='0' is not a number of at least 1",
    ]
    assert "Traceback" not in started.stderr


def test_ctrl_c_while_starting_and_again_while_stopping_stops_without_a_traceback() -> None:
    # Given a stack starting up: moto listens, its functions' environments are still importing their handlers
    aws_port = free_port()
    stack = subprocess.Popen(
        [sys.executable, "-m", "local_stack"],
        cwd=ROOT,
        env=os.environ | ANY_FREE_PORTS | {"AWS_PORT": str(aws_port)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_until_listening(aws_port)
    # When Ctrl-C is pressed, and pressed again once it says it is stopping
    stack.send_signal(signal.SIGINT)
    first_lines = lines_until(stack, "stopping...")
    stack.send_signal(signal.SIGINT)
    stdout, stderr = stack.communicate(timeout=60)
    # Then it says that it still is, and ends cleanly rather than with a traceback
    assert stack.returncode == 0, stdout + stderr
    assert "Traceback" not in "".join(first_lines) + stdout + stderr
    assert stdout.splitlines() == ["still stopping: ending the functions' processes, a few seconds more"]


def lines_until(process: subprocess.Popen[str], awaited: str) -> list[str]:
    """What the process prints up to the line `awaited`; fails if it ends without printing it."""
    assert process.stdout
    lines = []
    while (line := process.stdout.readline()) != f"{awaited}\n":
        assert line, f"ended without printing {awaited!r}: {''.join(lines)}"
        lines.append(line)
    return lines


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_listening(port: int, limit: float = 60) -> None:
    deadline = time.monotonic() + limit
    while not is_listening(port):
        assert time.monotonic() < deadline, f"nothing listens on port {port} after {limit} s"
        time.sleep(0.05)
