"""ZKTeco ADMS commands as text: the one place their lines are built and their results read.

Firmware differs in details; these are the forms open-source ADMS servers send to pushver 2.x clocks.
The line is recorded with each command, so what a device got can always be seen.
"""

import re
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import parse_qsl

from attendance.domain.commands import DeviceCommand

ADMS_TIME = "%Y-%m-%d %H:%M:%S"
_FIELD_BREAKS = re.compile(r"[\t\r\n]+")  # tabs separate fields and lines separate commands


def _field(value: str) -> str:
    return _FIELD_BREAKS.sub(" ", value).strip()


def put_user(pin: str, name: str) -> str:
    """Add or change an employee on the clock (a normal user: Pri=0)."""
    return f"DATA UPDATE USERINFO PIN={_field(pin)}\tName={_field(name)}\tPri=0"


def delete_user(pin: str) -> str:
    return f"DATA DELETE USERINFO PIN={_field(pin)}"


def query_attlog(start: datetime, end: datetime) -> str:
    """Make the clock upload its records from `start` to `end` (its own wall-clock time) again."""
    return f"DATA QUERY ATTLOG StartTime={start:{ADMS_TIME}}\tEndTime={end:{ADMS_TIME}}"


def set_clock(wall_clock: datetime) -> str:
    """Set the clock to `wall_clock` (the device's local time). Servers disagree on the DateTime value
    (some send Unix seconds); this is the packed form the binary protocol uses for times too, which the
    push protocol's own description gives."""
    return f"SET OPTIONS DateTime={packed_time(wall_clock)}"


def reboot() -> str:
    return "REBOOT"


def packed_time(moment: datetime) -> int:
    """ZKTeco's time encoding: seconds of a calendar of 31-day months and 12-month years since 2000."""
    days = (moment.year % 100) * 12 * 31 + (moment.month - 1) * 31 + moment.day - 1
    return days * 86400 + moment.hour * 3600 + moment.minute * 60 + moment.second


def poll_reply(commands: list[DeviceCommand]) -> str:
    """The getrequest answer: one `C:<id>:<command>` line per command, or `OK` for none."""
    if not commands:
        return "OK"
    return "".join(f"C:{command.command_id}:{command.line}\n" for command in commands)


@dataclass(frozen=True)
class CommandResult:
    command_id: str
    return_code: int
    command: str  # what the device says it ran (CMD=...)


def parse_results(body: str) -> tuple[list[CommandResult], list[str]]:
    """The results in a devicecmd body (`ID=<id>&Return=<code>&CMD=<command>` a line), and the lines that
    are not results."""
    results: list[CommandResult] = []
    unreadable: list[str] = []
    for line in body.splitlines():
        if not line.strip():
            continue
        fields = dict(parse_qsl(line.strip(), keep_blank_values=True))
        command_id, code = fields.get("ID", ""), fields.get("Return", "")
        if not command_id or not re.fullmatch(r"-?[0-9]{1,10}", code):
            unreadable.append(line[:200])
            continue
        results.append(CommandResult(command_id[:64], int(code), fields.get("CMD", "")[:200]))
    return results, unreadable
