"""The CLI's local target with a port variable that holds no port: a usage error, not a traceback."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize(("variable", "command"), [("AWS_PORT", ("dlq", "list")), ("API_PORT", ("watch",))])
def test_a_port_that_is_no_port_is_exit_code_2_naming_it(variable, command):
    result = subprocess.run(
        [sys.executable, "-m", "admin_cli.main", "--local", *command],
        cwd=ROOT,
        env={variable: "abc", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"{variable}='abc' is not a port: give a number from 1 to 65535" in result.stderr
    assert "Traceback" not in result.stderr
