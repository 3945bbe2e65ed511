"""The `attendance` command on a base install (the edge poller's), which lacks the admin extra."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

WITHOUT_TYPER = (
    "import importlib.abc, sys\n"
    "class Absent(importlib.abc.MetaPathFinder):\n"
    "    def find_spec(self, name, path, target=None):\n"
    "        if name.split('.')[0] == 'typer': raise ModuleNotFoundError(name, name=name)\n"
    "sys.meta_path.insert(0, Absent())\n"
    "from admin_cli import run; run()\n"
)


def test_without_the_admin_extra_the_command_says_how_to_install_it():
    # Given an install without typer (pip install attendance-sync, for the edge poller)
    # When the `attendance` console script runs
    result = subprocess.run(
        [sys.executable, "-c", WITHOUT_TYPER, "dlq", "list"], capture_output=True, text=True, cwd=ROOT
    )
    # Then it names the missing extra and how to add it, with the usage exit code, and no traceback
    assert result.returncode == 2
    assert "pip install 'attendance-sync[admin]'" in result.stderr
    assert "Traceback" not in result.stderr
