"""Which feed events a table change means: pure functions of the item before and after the change.

The punches table changes far more often than the feed has news (a delivery's lease, a re-queue):
only a new punch, a delivery, a failed attempt, a dead letter, an admin's abandon and the end of a void
(done, or refused by the CRM) are events.
"""

from dataclasses import dataclass
from datetime import datetime

from attendance.data.punches import iso, shown_fields
from attendance.domain.devices import Device
from attendance.domain.health import DeviceHealth, DeviceState, state_of
from attendance.domain.punch import SyncStatus
from attendance.domain.records import PunchRecord
from attendance.feed.events import (
    DeviceStateChanged,
    FeedDevice,
    FeedEvent,
    FeedPunch,
    PunchAbandoned,
    PunchAccepted,
    PunchDeadLettered,
    PunchDelivered,
    PunchFailed,
    PunchVoided,
    PunchVoidRefused,
)


@dataclass(frozen=True)
class PunchChange:
    at: datetime
    old: PunchRecord | None
    new: PunchRecord | None
    crm_reference: str | None = None


@dataclass(frozen=True)
class DeviceChange:
    at: datetime
    old: tuple[Device, DeviceHealth] | None
    new: tuple[Device, DeviceHealth] | None


def punch_events(change: PunchChange) -> list[FeedEvent]:
    old, new = change.old, change.new
    if new is None:
        return []
    at, punch = iso_millis(change.at), feed_punch(new)
    if old is None:
        return [PunchAccepted(at=at, punch=punch)]
    if old.status is SyncStatus.VOIDING and new.status is not SyncStatus.VOIDING:
        return _void_ended(at, punch, new)
    events: list[FeedEvent] = []
    if new.status is SyncStatus.SYNCED and old.status is not SyncStatus.SYNCED:
        events.append(PunchDelivered(at=at, punch=punch, crm_reference=change.crm_reference))
    elif new.attempts > old.attempts:
        final = new.status is SyncStatus.FAILED
        error = new.last_error or "unknown error"
        events.append(PunchFailed(at=at, punch=punch, attempt=new.attempts, error=error, final=final))
    if new.status is SyncStatus.FAILED and old.status is not SyncStatus.FAILED:
        events.append(PunchDeadLettered(at=at, punch=punch, error=new.last_error or "unknown error"))
    if new.status is SyncStatus.ABANDONED and old.status is not SyncStatus.ABANDONED:
        events.append(PunchAbandoned(at=at, punch=punch, note=_last_note(new) or "abandoned by an admin"))
    return events


def _void_ended(at: str, punch: FeedPunch, new: PunchRecord) -> list[FeedEvent]:
    """Voided, or the CRM refused to remove it (delivered as before)."""
    if new.status is SyncStatus.VOIDED:
        asked = [
            entry.get("detail", "") for entry in new.history if entry.get("status") == SyncStatus.VOIDING
        ]
        reason = next((detail for detail in reversed(asked) if detail.startswith("voided by")), "")
        return [PunchVoided(at=at, punch=punch, reason=reason or "voided by an admin", note=_last_note(new))]
    return [PunchVoidRefused(at=at, punch=punch, error=new.last_error or _last_note(new))]


def _last_note(record: PunchRecord) -> str:
    return record.history[-1].get("detail", "") if record.history else ""


def device_events(change: DeviceChange, default_zone: str) -> list[FeedEvent]:
    """A device.state when the state a viewer would compute changed: registered, disabled or enabled,
    heard from after a silence, or announced silent by the health check (the only write a silence makes).
    `default_zone`: the zone of a device registered without one."""
    if change.new is None:
        return []
    device, health = change.new
    state = state_of(device, health.last_seen_at, change.at)
    previous = state_of(*_seen(change.old), change.at) if change.old else None
    if change.old and health.silent_alerted and not change.old[1].silent_alerted:
        previous = DeviceState.ONLINE if previous is DeviceState.SILENT else previous
    if state == previous:
        return []
    view = FeedDevice(
        device_id=device.device_id,
        name=device.name,
        site=device.site,
        state=state,
        previous_state=previous,
        last_seen_at=iso(health.last_seen_at) if health.last_seen_at else None,
        time_zone=device.time_zone or default_zone,
    )
    return [DeviceStateChanged(at=iso_millis(change.at), device=view)]


def _seen(item: tuple[Device, DeviceHealth]) -> tuple[Device, datetime | None]:
    return item[0], item[1].last_seen_at


def feed_punch(record: PunchRecord) -> FeedPunch:
    return FeedPunch(
        **shown_fields(record.punch),
        source=record.punch.source,
        sync_status=record.status,
        attempts=record.attempts,
    )


def iso_millis(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
