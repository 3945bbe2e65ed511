"""What the devices API takes and answers: registrations, changes, health reports, device views."""

from typing import Annotated, Any

from annotated_types import Ge, Le
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, Strict, StringConstraints

from attendance.domain.devices import DeviceKind
from attendance.domain.health import DeviceState
from attendance.domain.punch import (
    ISO_TIMESTAMP_PATTERN,
    AddressableIdentifier,
    Identifier,
    PunchType,
    _whole_number,
    in_words,
)
from attendance.domain.records import ListedPunch

MAX_SILENT_MINUTES = 7 * 24 * 60
# Built when a request first uses one: most requests use a few of these models
_MODEL = ConfigDict(serialize_by_alias=True, validate_by_name=True, frozen=True, defer_build=True)


def _hidden_when_none(value: Any) -> bool:
    return value is None


def _whole(low: int, high: int) -> Any:
    """A JSON integer in [low, high]: 15.0 counts (as in JSON Schema), true and "15" do not."""
    return Annotated[int, Strict(), Ge(low), Le(high), BeforeValidator(_whole_number)]


# IANA names (Europe/Berlin, America/Argentina/Buenos_Aires, Etc/GMT+5) and offsets (+05:30). Whether the
# zone exists is a rule no schema states: an unknown one is a 422.
ZoneText = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_+\-/:]+$")]
Name = Annotated[str, StringConstraints(min_length=1, max_length=100)]
SilentAfterMinutes = _whole(1, MAX_SILENT_MINUTES)
Via = Annotated[str, StringConstraints(pattern=r"^(http|edge:[A-Za-z0-9._:@/+\-]{1,64})$")]
OffsetTimestamp = Annotated[
    str,
    StringConstraints(pattern=ISO_TIMESTAMP_PATTERN.replace(")?$", ")$")),
    in_words("should be an ISO 8601 date and time with an offset, e.g. 2026-02-10T09:16:00Z or ...:00+01:00"),
]


class DeviceRegistration(BaseModel):
    """A device to register. A ZKTeco clock needs its serial (ADMS identifies it by that)."""

    model_config = _MODEL | ConfigDict(extra="ignore")

    device_id: AddressableIdentifier = Field(alias="deviceId", description="The deviceId its punches carry")
    kind: DeviceKind
    serial: Identifier | None = Field(default=None, description="Serial number; required for zkteco")
    time_zone: ZoneText | None = Field(
        default=None, alias="timeZone", description="Zone of its clock (IANA or +05:30); default: the stack's"
    )
    name: Name | None = None
    site: Identifier | None = None
    silent_after_minutes: SilentAfterMinutes = Field(default=15, alias="silentAfterMinutes")
    default_type: PunchType = Field(default=PunchType.IN, alias="defaultType")


class DeviceChange(BaseModel):
    """Only the fields sent change; null clears name, site or timeZone. Any other field is refused: a
    serial or kind is fixed at registration (register the device again under a new ID)."""

    model_config = _MODEL | ConfigDict(extra="forbid")

    name: Name | None = None
    site: Identifier | None = None
    time_zone: ZoneText | None = Field(default=None, alias="timeZone")
    silent_after_minutes: SilentAfterMinutes | None = Field(default=None, alias="silentAfterMinutes")
    enabled: Annotated[bool, Strict()] | None = None


class HealthReport(BaseModel):
    """What the edge poller reports for a device it reads."""

    model_config = _MODEL | ConfigDict(extra="ignore")

    via: Via = Field(description="edge:<poller name>, or http")
    last_read_at: OffsetTimestamp | None = Field(
        default=None, alias="lastReadAt", description="When the poller last read the device, with an offset"
    )
    last_error: Annotated[str, StringConstraints(max_length=500)] | None = Field(
        default=None, alias="lastError"
    )
    clock_drift_seconds: _whole(-(10**9), 10**9) | None = Field(  # type: ignore[valid-type]
        default=None, alias="clockDriftSeconds", description="Device clock minus the poller's, in seconds"
    )
    outbox_depth: _whole(0, 10**9) | None = Field(default=None, alias="outboxDepth")  # type: ignore[valid-type]
    model: Annotated[str, StringConstraints(max_length=100)] | None = None
    firmware: Annotated[str, StringConstraints(max_length=100)] | None = None


class HealthRecorded(BaseModel):
    model_config = _MODEL

    device_id: str = Field(alias="deviceId")
    recorded: bool = Field(description="false: a plain heartbeat within a minute of the last one")


class DeviceView(BaseModel):
    """A device: its registration, what it reported, and its state now."""

    model_config = _MODEL

    device_id: str = Field(alias="deviceId")
    name: str | None
    kind: DeviceKind
    site: str | None
    serial: str | None
    time_zone: str | None = Field(alias="timeZone")
    enabled: bool
    default_type: PunchType = Field(alias="defaultType")
    state: DeviceState
    via: str | None = Field(description="How it was last heard from: adms, hikvision, edge:<poller>, http")
    last_seen_at: str | None = Field(alias="lastSeenAt")
    last_punch_at: str | None = Field(alias="lastPunchAt")
    punches_today: int = Field(alias="punchesToday", description="Punches today in the stack's time zone")
    silent_after_minutes: int = Field(alias="silentAfterMinutes")
    clock_drift_seconds: int | None = Field(alias="clockDriftSeconds", exclude_if=_hidden_when_none)
    model: str | None = Field(exclude_if=_hidden_when_none)
    firmware: str | None = Field(exclude_if=_hidden_when_none)
    last_error: str | None = Field(alias="lastError", exclude_if=_hidden_when_none)
    last_read_at: str | None = Field(alias="lastReadAt", exclude_if=_hidden_when_none)
    outbox_depth: int | None = Field(alias="outboxDepth", exclude_if=_hidden_when_none)


class DeviceList(BaseModel):
    model_config = _MODEL

    count: int
    devices: list[DeviceView]


class Registered(BaseModel):
    model_config = _MODEL

    device: DeviceView
    push_url: str | None = Field(
        default=None,
        alias="pushUrl",
        description="Hikvision only, shown this once: where the terminal pushes its events",
        exclude_if=_hidden_when_none,
    )


class Removed(BaseModel):
    model_config = _MODEL

    device: DeviceView = Field(description="The device as it was")
    commands_removed: int = Field(
        alias="commandsRemoved", description="Its commands removed with it, history included"
    )


class DevicePunchList(BaseModel):
    model_config = _MODEL

    device_id: str = Field(alias="deviceId")
    count: int
    punches: list[ListedPunch]
