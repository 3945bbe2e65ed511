"""The scheduled check: each device's state, one notification when it falls silent and one when it is back."""

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from aws_lambda_powertools import Logger

from attendance.data.devices import DeviceStore
from attendance.data.notifications import AlarmTopic
from attendance.data.punches import iso
from attendance.domain.devices import Device
from attendance.domain.health import Alert, DeviceHealth, DeviceState, alert_due, state_of

logger = Logger(child=True)


@dataclass
class CheckResult:
    states: Counter[DeviceState] = field(default_factory=Counter)
    alerts: list[tuple[str, Alert]] = field(default_factory=list)


class HealthCheck:
    def __init__(self, devices: DeviceStore, alarms: AlarmTopic) -> None:
        self._devices = devices
        self._alarms = alarms

    def run(self, now: datetime) -> CheckResult:
        result = CheckResult()
        for device, health in self._devices.list_with_health():
            state = state_of(device, health.last_seen_at, now)
            result.states[state] += 1
            alert = alert_due(state, health.silent_alerted)
            if alert and self._notify_once(device, health, alert, now):
                result.alerts.append((device.device_id, alert))
        return result

    def _notify_once(self, device: Device, health: DeviceHealth, alert: Alert, now: datetime) -> bool:
        """The flag on the device item is flipped conditionally first, so of two concurrent checks only
        one notifies; if the notification cannot be sent, the flag goes back for the next check."""
        silent = alert is Alert.SILENT
        if not self._devices.mark_alerted(device.device_id, silent):
            return False
        try:
            self._alarms.publish(*_notification(device, health, alert, now))
        except Exception:
            self._devices.mark_alerted(device.device_id, not silent)
            raise
        logger.warning("device alert sent", extra={"device": device.device_id, "alert": alert.value})
        return True


def _notification(device: Device, health: DeviceHealth, alert: Alert, now: datetime) -> tuple[str, str]:
    label = f"{device.device_id} ({device.name})" if device.name else device.device_id
    where = f" at {device.site}" if device.site else ""
    last_seen = iso(health.last_seen_at) if health.last_seen_at else "never"
    if alert is Alert.SILENT:
        subject = f"Device {device.device_id} is silent"
        body = (
            f"Device {label}{where} has not been heard from since {last_seen} "
            f"(more than {_minutes(device.silent_after_minutes)}; checked {iso(now)})."
        )
    else:
        subject = f"Device {device.device_id} is back online"
        body = f"Device {label}{where} is back online: last heard from at {last_seen} (via {health.via})."
    return subject, body


def _minutes(count: int) -> str:
    return "1 minute" if count == 1 else f"{count} minutes"
