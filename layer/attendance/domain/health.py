"""Device health: what a device's contacts say about it, its state, and when to alert.

A contact is any request a device (or the edge poller on its behalf) makes. Devices poll every few
seconds, so a contact is recorded at most once a minute, unless it reports details that changed.
"""

from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from attendance.domain.devices import Device

HEARTBEAT_INTERVAL = timedelta(seconds=60)

# The details a contact may report, by their attribute names on the device item.
DETAIL_ATTRIBUTES = {
    "model": "model",
    "firmware": "firmware",
    "clock_drift_seconds": "clockDriftSeconds",
    "last_error": "lastError",
    "last_read_at": "lastReadAt",
    "outbox_depth": "outboxDepth",
}
Detail = str | int | None


class DeviceState(StrEnum):
    ONLINE = "online"
    SILENT = "silent"  # seen, then quiet longer than its silentAfterMinutes
    NEVER_SEEN = "never_seen"
    DISABLED = "disabled"


class Contact(BaseModel):
    """One contact: how it came (adms, hikvision, edge:<poller>, http) and the details it reported.

    `details` holds only what was reported; a None there clears the detail (an error that went away)."""

    model_config = ConfigDict(frozen=True)

    via: str
    details: dict[str, Detail] = {}


class DeviceHealth(BaseModel):
    """What the device item holds besides the registration."""

    model_config = ConfigDict(frozen=True)

    last_seen_at: datetime | None = None
    via: str | None = None
    model: str | None = None
    firmware: str | None = None
    clock_drift_seconds: int | None = None
    last_error: str | None = None
    last_read_at: str | None = None
    outbox_depth: int | None = None
    silent_alerted: bool = False  # a silence notification went out and no recovery since

    def detail(self, name: str) -> Detail:
        return getattr(self, name)


def changed_details(health: DeviceHealth, contact: Contact) -> dict[str, Detail]:
    return {name: value for name, value in contact.details.items() if health.detail(name) != value}


def heartbeat_due(last_seen_at: datetime | None, now: datetime) -> bool:
    return last_seen_at is None or now - last_seen_at >= HEARTBEAT_INTERVAL


def needs_write(health: DeviceHealth, contact: Contact, now: datetime) -> bool:
    """A contact is written when the last one is a minute old, or when it reports something new."""
    return heartbeat_due(health.last_seen_at, now) or bool(changed_details(health, contact))


def state_of(device: Device, last_seen_at: datetime | None, now: datetime) -> DeviceState:
    if not device.enabled:
        return DeviceState.DISABLED
    if last_seen_at is None:
        return DeviceState.NEVER_SEEN
    if now - last_seen_at > timedelta(minutes=device.silent_after_minutes):
        return DeviceState.SILENT
    return DeviceState.ONLINE


class Alert(StrEnum):
    SILENT = "silent"
    BACK_ONLINE = "back_online"


def alert_due(state: DeviceState, alerted: bool) -> Alert | None:
    """One notification when a device falls silent, one when it is back; none while nothing changes.

    A disabled or never-seen device raises nothing; one disabled while silent gets its recovery notice
    only once it is enabled and heard from again."""
    if state is DeviceState.SILENT and not alerted:
        return Alert.SILENT
    if state is DeviceState.ONLINE and alerted:
        return Alert.BACK_ONLINE
    return None
