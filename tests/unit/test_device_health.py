"""Device health rules: state, when a contact is written, when to alert. Pure, no AWS."""

from datetime import UTC, datetime, timedelta

import pytest

from attendance.domain.devices import Device
from attendance.domain.health import (
    Alert,
    Contact,
    DeviceHealth,
    DeviceState,
    alert_due,
    needs_write,
    state_of,
)

NOW = datetime(2030, 1, 1, 12, tzinfo=UTC)
DEVICE = Device(device_id="D1", serial="S1", silent_after_minutes=15)


@pytest.mark.parametrize(
    ("device", "seen_ago", "state"),
    [
        (DEVICE, None, DeviceState.NEVER_SEEN),
        (DEVICE, timedelta(seconds=0), DeviceState.ONLINE),
        (DEVICE, timedelta(minutes=15), DeviceState.ONLINE),  # silent only *longer* than the threshold
        (DEVICE, timedelta(minutes=15, seconds=1), DeviceState.SILENT),
        (DEVICE.model_copy(update={"silent_after_minutes": 60}), timedelta(minutes=59), DeviceState.ONLINE),
        (DEVICE.model_copy(update={"enabled": False}), timedelta(0), DeviceState.DISABLED),
        (DEVICE.model_copy(update={"enabled": False}), None, DeviceState.DISABLED),
    ],
)
def test_state(device, seen_ago, state):
    assert state_of(device, None if seen_ago is None else NOW - seen_ago, NOW) is state


@pytest.mark.parametrize(
    ("health", "contact", "written"),
    [
        (DeviceHealth(), Contact(via="adms"), True),  # never seen
        (DeviceHealth(last_seen_at=NOW - timedelta(seconds=59)), Contact(via="adms"), False),
        (DeviceHealth(last_seen_at=NOW - timedelta(seconds=60)), Contact(via="adms"), True),
        # within the minute, but a detail changed, appeared or was cleared
        (
            DeviceHealth(last_seen_at=NOW, outbox_depth=3),
            Contact(via="edge:a", details={"outbox_depth": 0}),
            True,
        ),
        (DeviceHealth(last_seen_at=NOW), Contact(via="edge:a", details={"model": "K40"}), True),
        (
            DeviceHealth(last_seen_at=NOW, last_error="x"),
            Contact(via="edge:a", details={"last_error": None}),
            True,
        ),
        # within the minute, the same details again
        (DeviceHealth(last_seen_at=NOW, model="K40"), Contact(via="edge:a", details={"model": "K40"}), False),
        (DeviceHealth(last_seen_at=NOW), Contact(via="edge:a", details={"last_error": None}), False),
    ],
)
def test_when_a_contact_is_written(health, contact, written):
    assert needs_write(health, contact, NOW) is written


@pytest.mark.parametrize(
    ("state", "alerted", "alert"),
    [
        (DeviceState.SILENT, False, Alert.SILENT),
        (DeviceState.SILENT, True, None),  # no repeats while silent
        (DeviceState.ONLINE, True, Alert.BACK_ONLINE),
        (DeviceState.ONLINE, False, None),
        (DeviceState.NEVER_SEEN, False, None),
        (DeviceState.DISABLED, False, None),
        (DeviceState.DISABLED, True, None),  # switched off on purpose: no "back online"
    ],
)
def test_alerts(state, alerted, alert):
    assert alert_due(state, alerted) is alert
