"""The device registry: which devices may push punches, how to read their clocks, how they authenticate."""

from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from attendance.domain.punch import PunchType


class DeviceKind(StrEnum):
    ZKTECO = "zkteco"
    HIKVISION = "hikvision"


class Device(BaseModel):
    model_config = ConfigDict(frozen=True)

    device_id: str
    kind: DeviceKind = DeviceKind.ZKTECO
    serial: str | None = None  # ZKTeco ADMS identifies a device by its serial number alone
    time_zone: str | None = None  # zone of the device's wall clock (IANA or +05:30); None: the stack default
    enabled: bool = True
    push_token_hash: str | None = None  # Hikvision terminals push to /hikvision/events/{token}
    default_type: PunchType = PunchType.IN  # for punches that carry no state
    name: str | None = None  # for people: "Front door"
    site: str | None = None  # where it hangs ("berlin-hq"): commands can go to every clock of a site
    silent_after_minutes: int = 15  # seen, then silent longer than this: the device is `silent`
