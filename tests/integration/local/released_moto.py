"""Scenarios run on moto as released: in a fresh interpreter, which never imports the local stack's patches."""

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[3]


def observed_in_fresh_interpreter(module: str, *arguments: str, timeout: float = 300) -> dict[str, Any]:
    """What `python -m module arguments` prints as JSON, run from the repository's root."""
    # No AWS_* variable: mock_aws brings its own credentials, and no endpoint may lead elsewhere.
    environment = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
    finished = subprocess.run(
        [sys.executable, "-m", module, *arguments],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
    )
    assert finished.returncode == 0, finished.stderr
    return json.loads(finished.stdout)
