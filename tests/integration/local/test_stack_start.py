"""`make run` where another stack (or any program) already holds one of its ports."""

import os
import socket
import subprocess
import sys

from local_stack.running import ANY_FREE_PORTS, ROOT


def test_a_stack_whose_aws_port_is_taken_says_so_and_exits() -> None:
    # Given a program listening on the port the stack's moto would take
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        environment = os.environ | ANY_FREE_PORTS | {"AWS_PORT": str(taken.getsockname()[1])}
        # When the stack starts
        started = subprocess.run(
            [sys.executable, "-m", "local_stack"],
            cwd=ROOT,
            env=environment,
            capture_output=True,
            text=True,
            timeout=60,
        )
    # Then it exits at once with a failure, naming the port and what to set instead of waiting forever
    assert started.returncode == 1
    assert f"could not listen on port {environment['AWS_PORT']}" in started.stdout
    assert "set API_PORT, AWS_PORT" in started.stdout
