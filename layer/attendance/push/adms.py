"""ZKTeco ADMS "attendance push" (pushver 2.x): plain text in, plain text out.

ATTLOG upload body: one record a line, tab-separated, CRLF:
PIN, "YYYY-MM-DD HH:MM:SS" (the device's wall clock), state (0-5), verify mode, workcode, reserved...
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from attendance.domain.clock import parse_zone
from attendance.domain.devices import Device
from attendance.domain.punch import PunchSource, PunchType

STATE_TYPES = {
    "0": PunchType.IN,
    "1": PunchType.OUT,
    "2": PunchType.BREAK_OUT,
    "3": PunchType.BREAK_IN,
    "4": PunchType.OVERTIME_IN,
    "5": PunchType.OVERTIME_OUT,
}


@dataclass(frozen=True)
class MalformedLine:
    number: int
    line: str
    reason: str


def parse_attlog(body: str, device: Device) -> tuple[list[dict[str, str]], list[MalformedLine]]:
    """Punch submissions for the well-formed lines, and the malformed ones with the reason."""
    punches: list[dict[str, str]] = []
    malformed: list[MalformedLine] = []
    for number, line in enumerate(body.splitlines(), start=1):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) < 3 or not fields[0].strip():
            malformed.append(MalformedLine(number, line, "expected PIN, time and state separated by tabs"))
            continue
        try:
            stamp = datetime.strptime(fields[1].strip(), "%Y-%m-%d %H:%M:%S")
        except ValueError:
            malformed.append(MalformedLine(number, line, f"time {fields[1]!r} is not YYYY-MM-DD HH:MM:SS"))
            continue
        punch = {
            "deviceId": device.device_id,
            "userId": fields[0].strip(),
            "timestamp": stamp.isoformat(),  # naive: read in the device's registered zone
            "type": STATE_TYPES.get(fields[2].strip(), device.default_type).value,
            "source": PunchSource.ADMS.value,
        }
        if len(fields) > 3 and fields[3].strip():
            punch["verifyMode"] = fields[3].strip()
        punches.append(punch)
    return punches, malformed


def options_reply(serial: str, device: Device, now: datetime, default_zone: str) -> str:
    """The handshake reply. TimeZone is the current UTC offset in hours of the device's registered zone, else
    of the company's (`default_zone`, in which its naive times are read): the device combines it with our
    HTTP Date header to set its clock, so a wrong value shifts its clock."""
    offset = now.astimezone(parse_zone(device.time_zone or default_zone)).utcoffset() or timedelta(0)
    hours = offset.total_seconds() / 3600
    options = [
        f"GET OPTION FROM: {serial}",
        "ATTLOGStamp=None",
        "OPERLOGStamp=9999",
        "ATTPHOTOStamp=None",
        "ErrorDelay=30",
        "Delay=10",
        "TransTimes=00:00;14:05",
        "TransInterval=1",
        "TransFlag=TransData AttLog",
        f"TimeZone={int(hours) if hours.is_integer() else hours}",
        "Realtime=1",
        "Encrypt=None",
    ]
    return "\n".join(options) + "\n"
