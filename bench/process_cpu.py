"""CPU time of a local stack's processes, by part, read from /proc (Linux): where a punch's CPU goes."""

import os
from collections import Counter
from pathlib import Path

STACK = "stack process: moto, HTTP API, pollers"
MOCK_CRM = "mock CRM"
_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(root_pid: int) -> Counter:
    """CPU seconds used so far by the stack `root_pid` and its live descendants, by part: the stack's own
    process, each function's execution environments together, the mock CRM."""
    used: Counter = Counter()
    for pid, part in _parts(root_pid).items():
        used[part] += process_seconds(pid)
    return used


def process_seconds(pid: int) -> float:
    """CPU seconds one live process has used so far (0 once it is gone)."""
    fields = _stat(pid)
    return (int(fields[11]) + int(fields[12])) / _TICKS if fields else 0.0  # utime + stime


def _parts(root_pid: int) -> dict[int, str]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        fields = _stat(int(entry.name)) if entry.name.isdigit() else None
        if fields:
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    parts, todo = {root_pid: STACK}, list(children.get(root_pid, []))
    while todo:
        pid = todo.pop()
        parts[pid] = _part(pid)
        todo += children.get(pid, [])
    return parts


def _part(pid: int) -> str:
    try:
        environment = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return "other"
    for variable in environment:
        if variable.startswith(b"AWS_LAMBDA_FUNCTION_NAME="):
            return variable.split(b"=", 1)[1].decode()
    return MOCK_CRM if b"local_stack.mock_crm" in command else "other"


def _stat(pid: int) -> list[str] | None:
    """/proc/<pid>/stat's fields after the command name: [0] state, [1] parent, [11] utime, [12] stime."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
