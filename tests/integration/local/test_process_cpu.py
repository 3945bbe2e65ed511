"""The bench's CPU accounting: a stack's processes are found by parentage and named by their function."""

import os
import subprocess
import sys

from bench.process_cpu import STACK, cpu_seconds

BUSY_HALF_SECOND = "import time\nend = time.process_time() + 0.5\nwhile time.process_time() < end: pass\nprint('done', flush=True)\ninput()"


def test_a_child_environments_cpu_is_counted_under_its_function():
    # Given a child process that burns half a second of CPU as an execution environment of "Busy"
    environment = os.environ | {"AWS_LAMBDA_FUNCTION_NAME": "Busy"}
    child = subprocess.Popen(
        [sys.executable, "-c", BUSY_HALF_SECOND],
        env=environment,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout
        assert child.stdout.readline().strip() == "done"
        # When the CPU of this process and its descendants is read
        used = cpu_seconds(os.getpid())
    finally:
        child.communicate("\n", timeout=10)
    # Then the child's half second is under its function, and this process's own under the stack
    assert 0.45 <= used["Busy"] < 5
    assert used[STACK] > 0
