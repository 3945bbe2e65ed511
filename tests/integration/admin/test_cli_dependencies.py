"""The admin CLI stands on the layer alone: it finds the local stack by name, never by importing its code."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
_LOADED_LOCAL_STACK_MODULES = (
    "import json, sys, admin_cli.main; "
    "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] == 'local_stack')))"
)


def test_the_cli_imports_no_local_stack_module():
    # Given a fresh interpreter, so no other test's imports count
    # When it imports the CLI with every command
    loaded = subprocess.run(
        [sys.executable, "-c", _LOADED_LOCAL_STACK_MODULES],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    # Then not one module of local_stack came with it
    assert json.loads(loaded.stdout) == []
