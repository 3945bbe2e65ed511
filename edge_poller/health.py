"""Device health reports: per device, what the poller last saw, sent to POST /devices/{deviceId}/health.

A device is reported at most once a cycle, and only when its report differs from the last one the cloud
accepted or the heartbeat interval has passed, so an idle cycle costs no request. The last accepted
report is kept in the store: a restart does not send an unchanged one again. Reports go out after the
punches are pushed, and a cloud that fails one ends the round until the next cycle.
"""

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from edge_poller.cloud import CloudClient, HealthAnswer, HealthOutcome
from edge_poller.config import PollerConfig
from edge_poller.store import HealthRecord, Store

logger = logging.getLogger("edge_poller")
DRIFT_NOISE_SECONDS = 5  # device clocks tick in whole seconds and the reading includes a round trip
MAX_IDENTITY_CHARS = 100  # the cloud's limit for model and firmware
_ADVANCING = ("lastReadAt", "clockDriftSeconds")  # compared apart: one moves every cycle, one jitters


@dataclass(frozen=True)
class DeviceIdentity:
    model: str | None
    firmware: str | None


@dataclass
class HealthRound:
    sent: list[str] = field(default_factory=list)
    error: str | None = None


def changed(current: dict[str, Any], last: dict[str, Any]) -> bool:
    """Does this report say something the last accepted one did not? A newer read time alone does not."""

    def steady(body: dict[str, Any]) -> dict[str, Any]:
        return {key: value for key, value in body.items() if key not in _ADVANCING}

    drift, last_drift = current.get("clockDriftSeconds"), last.get("clockDriftSeconds")
    drift_moved = (drift is None) != (last_drift is None) or (
        drift is not None and abs(drift - last_drift) >= DRIFT_NOISE_SECONDS
    )
    return drift_moved or steady(current) != steady(last)


def last_report(record: HealthRecord | None) -> dict[str, Any] | None:
    return json.loads(record.report_json) if record and record.report_json else None


class HealthReporter:
    """Collects what the reads observe (clock drift, model and firmware) and reports it when due."""

    def __init__(
        self, config: PollerConfig, store: Store, cloud: CloudClient, now: Callable[[], datetime]
    ) -> None:
        self.config = config
        self.store = store
        self.cloud = cloud
        self._now = now
        self._interval = timedelta(seconds=config.health_interval_seconds)
        self._drift: dict[str, int] = {}
        self._identity: dict[str, DeviceIdentity] = {}

    def observe_drift(self, device: str, seconds: int) -> None:
        self._drift[device] = seconds

    def knows_identity(self, device: str) -> bool:
        return device in self._identity

    def observe_identity(self, device: str, model: str | None, firmware: str | None) -> None:
        self._identity[device] = DeviceIdentity(
            model[:MAX_IDENTITY_CHARS] if model else None, firmware[:MAX_IDENTITY_CHARS] if firmware else None
        )

    def forget_identity(self, device: str) -> None:
        """The device failed: it may come back replaced or with new firmware, so ask again then."""
        self._identity.pop(device, None)

    def report(self) -> HealthRound:
        """Send the reports that are due; a failure leaves them for the next cycle."""
        result = HealthRound()
        if not self.config.health_reports:
            return result
        reads = self.store.read_states()
        depths = self.store.pending_by_device()
        for device in self.config.devices:
            last_read_at, last_error, serial = reads.get(device.name, (None, None, None))
            device_id = device.device_id or serial
            if not device.enabled or device_id is None:
                continue  # the cloud knows a device by its ID: until a read learns the serial there is none
            record = self.store.health(device.name)
            body = self._body(device.name, last_read_at, last_error, depths.get(device.name, 0), record)
            if not self._due(body, record):
                continue
            outcome = self.cloud.report_health(device_id, body)
            if outcome.answer is HealthAnswer.FAILED:
                logger.warning("health reports wait for the next cycle: %s", outcome.detail)
                result.error = outcome.detail
                break  # the next device's report would most likely wait out the same timeout
            if self._settle(device.name, device_id, body, record, outcome):
                result.sent.append(device.name)
        return result

    def _body(
        self,
        name: str,
        last_read_at: str | None,
        last_error: str | None,
        depth: int,
        record: HealthRecord | None,
    ) -> dict[str, Any]:
        # What this process has not observed yet (a device down since the start) stays as last reported.
        last = last_report(record) or {}
        identity = self._identity.get(name)
        return {
            "via": f"edge:{self.config.poller_name}",
            "lastReadAt": last_read_at,
            "lastError": last_error,
            "clockDriftSeconds": self._drift.get(name, last.get("clockDriftSeconds")),
            "outboxDepth": depth,
            "model": identity.model if identity else last.get("model"),
            "firmware": identity.firmware if identity else last.get("firmware"),
        }

    def _due(self, body: dict[str, Any], record: HealthRecord | None) -> bool:
        now = self._now()
        if record and record.refused_at and now - record.refused_at < self._interval:
            return False  # refused lately: the same report would be refused again
        last = last_report(record)
        if last is None or record is None or record.sent_at is None:
            return True
        return now - record.sent_at >= self._interval or changed(body, last)

    def _settle(
        self,
        name: str,
        device_id: str,
        body: dict[str, Any],
        record: HealthRecord | None,
        outcome: HealthOutcome,
    ) -> bool:
        """Remember the cloud's answer; True if it took the report."""
        now = self._now()
        if outcome.answer is HealthAnswer.ACCEPTED:
            self.store.health_accepted(name, json.dumps(body), now)
            if record and record.refused_reason:
                logger.info("device %s: the cloud accepts its health reports again", name)
            return True
        self._remember_refusal(name, device_id, record, outcome, now)
        return False

    def _remember_refusal(
        self, name: str, device_id: str, record: HealthRecord | None, outcome: HealthOutcome, now: datetime
    ) -> None:
        """Kept for `edge-poller status` and the back-off; logged only when it starts, not every interval."""
        told = bool(
            record and record.refused_reason and record.refused_reason.startswith(outcome.answer.value)
        )
        self.store.health_refused(name, f"{outcome.answer.value}: {outcome.detail}", now)
        if told:
            return
        if outcome.answer is HealthAnswer.NOT_REGISTERED:
            problem = f"the cloud does not know device ID {device_id} ({outcome.detail}); register it"
        else:
            problem = f"health report refused ({outcome.detail})"
        logger.warning(
            "device %s: %s; trying again every %.0f s", name, problem, self._interval.total_seconds()
        )
