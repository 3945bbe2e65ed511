"""From a device's attendance records to punches in the cloud's one punch format."""

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from pydantic import ValidationError

from attendance.domain.clock import parse_zone, resolve_timestamp
from attendance.domain.punch import PunchSource, PunchSubmission, PunchType, describe_validation_error
from edge_poller.config import DeviceConfig
from edge_poller.store import NewRecord

# pyzk's `punch` is the state key the person chose on the device.
STATE_TYPES = {
    0: PunchType.IN,
    1: PunchType.OUT,
    2: PunchType.BREAK_OUT,
    3: PunchType.BREAK_IN,
    4: PunchType.OVERTIME_IN,
    5: PunchType.OVERTIME_OUT,
}


@dataclass(frozen=True)
class DeviceRecord:
    """One attendance record as read from the device: its wall-clock time has no zone."""

    user_id: str
    timestamp: datetime  # ZKTeco: the device's wall clock, no zone; Hikvision: with its offset
    state: int
    verify_mode: int | str

    def key(self, device_id: str) -> str:
        """Identity on the device: the same record read again has the same key."""
        return f"{device_id}|{self.user_id}|{self.timestamp.isoformat()}|{self.state}"


def to_outbox(records: Sequence[DeviceRecord], device: DeviceConfig, device_id: str) -> list[NewRecord]:
    """Punches for these records, each with its device wall-clock time turned into an offset timestamp.
    A record the cloud would refuse anyway (say, a PIN with a space) is kept aside with the reason."""
    types = punch_types(records, device)
    return [
        _outbox_record(record, punch_type, device, device_id)
        for record, punch_type in zip(records, types, strict=True)
    ]


def _outbox_record(
    record: DeviceRecord, punch_type: PunchType, device: DeviceConfig, device_id: str
) -> NewRecord:
    key, at = record.key(device_id), record.timestamp.isoformat()
    try:
        punch = submission(record, punch_type, device, device_id)
    except ValidationError as error:
        raw = {"deviceId": device_id, "userId": record.user_id, "timestamp": at, "state": record.state}
        return NewRecord(key, at, json.dumps(raw), describe_validation_error(error))
    return NewRecord(key, at, json.dumps(punch.model_dump(mode="json", by_alias=True, exclude_none=True)))


def submission(
    record: DeviceRecord, punch_type: PunchType, device: DeviceConfig, device_id: str
) -> PunchSubmission:
    resolved = resolve_timestamp(record.timestamp.isoformat(), device.time_zone, device.time_zone)
    with_offset = resolved.instant.astimezone(parse_zone(device.time_zone)).isoformat()
    return PunchSubmission.model_validate(
        {
            "deviceId": device_id,
            "userId": record.user_id,
            "timestamp": with_offset,
            "type": punch_type,
            "verifyMode": str(record.verify_mode) or None,
            "source": PunchSource.EDGE,
        }
    )


def punch_types(records: Sequence[DeviceRecord], device: DeviceConfig) -> list[PunchType]:
    """State keys 0-5 map directly; 255 (no state) or unknown keys follow the device's `unknown_punch`:
    a fixed type, or in/out alternating by order within each user's day on this device."""
    fixed = device.fixed_unknown_type()
    seen_today: dict[tuple[str, str], int] = {}
    types = []
    for record in sorted(range(len(records)), key=lambda i: (records[i].timestamp, i)):
        current = records[record]
        day = (current.user_id, current.timestamp.date().isoformat())
        order = seen_today.get(day, 0)
        seen_today[day] = order + 1
        known = STATE_TYPES.get(current.state)
        types.append((record, known or fixed or (PunchType.IN if order % 2 == 0 else PunchType.OUT)))
    return [punch_type for _, punch_type in sorted(types)]
