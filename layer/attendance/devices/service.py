"""The device registry and device health: one implementation under the HTTP API and the admin CLI."""

from datetime import UTC, date, datetime, time, timedelta
from http import HTTPStatus

from aws_lambda_powertools import Logger

from attendance.api import ApiError
from attendance.data.commands import CommandStore
from attendance.data.device_punches import DevicePunches
from attendance.data.devices import AlreadyRegistered, DeviceStore
from attendance.data.punches import iso
from attendance.devices.models import (
    DeviceChange,
    DevicePunchList,
    DeviceRegistration,
    DeviceView,
    HealthRecorded,
    HealthReport,
    Registered,
    Removed,
)
from attendance.domain.clock import InvalidTime, parse_zone
from attendance.domain.devices import Device, DeviceKind
from attendance.domain.health import Contact, DeviceHealth, state_of

logger = Logger(child=True)


def not_found(device_id: str) -> ApiError:
    return ApiError(HTTPStatus.NOT_FOUND, "not_found", f"no device {device_id}")


class DeviceService:
    def __init__(
        self, devices: DeviceStore, punches: DevicePunches, commands: CommandStore, default_time_zone: str
    ) -> None:
        self._devices = devices
        self._punches = punches
        self._commands = commands
        self._default_zone = default_time_zone

    # reading

    def list(self, now: datetime) -> list[DeviceView]:
        return [self._view(device, health, now) for device, health in self._devices.list_with_health()]

    def get(self, device_id: str, now: datetime) -> DeviceView:
        device, health = self._found(device_id)
        return self._view(device, health, now)

    def punches(self, device_id: str, limit: int) -> DevicePunchList:
        self._found(device_id)
        views = self._punches.recent(device_id, limit)
        return DevicePunchList(device_id=device_id, count=len(views), punches=views)

    # changing (every change is logged with the key that made it)

    def register(
        self, registration: DeviceRegistration, changed_by: str, now: datetime, api_url: str
    ) -> Registered:
        """`api_url`: where the API is reached, for a Hikvision terminal's push URL."""
        if registration.kind is DeviceKind.ZKTECO and not registration.serial:
            raise _rule_broken(
                "missing_serial", "a zkteco device needs its serial (ADMS identifies it by it)"
            )
        device = Device(
            device_id=registration.device_id,
            kind=registration.kind,
            serial=registration.serial,
            time_zone=_checked_zone(registration.time_zone),
            name=registration.name,
            site=registration.site,
            silent_after_minutes=registration.silent_after_minutes,
            default_type=registration.default_type,
        )
        if device.serial and (holder := self._devices.holder_of_serial(device.serial)):
            # ADMS finds a clock by its serial: two devices sharing one would lock the first out
            raise ApiError(
                HTTPStatus.CONFLICT,
                "serial_taken",
                f"serial {device.serial} is registered to device {holder}",
            )
        push_url = None
        try:
            if device.kind is DeviceKind.HIKVISION:
                token, device = self._devices.register_hikvision(device)
                push_url = _push_url(api_url, token)
            else:
                self._devices.put(device, only_if_new=True)
        except AlreadyRegistered:
            raise ApiError(
                HTTPStatus.CONFLICT, "already_registered", f"device {device.device_id} exists"
            ) from None
        _log_change("device registered", device.device_id, changed_by, kind=device.kind.value)
        return Registered(device=self._view(device, DeviceHealth(), now), push_url=push_url)

    def change(self, device_id: str, change: DeviceChange, changed_by: str, now: datetime) -> DeviceView:
        device, health = self._found(device_id)
        updates = {name: getattr(change, name) for name in change.model_fields_set}
        for required in ("silent_after_minutes", "enabled"):
            if required in updates and updates[required] is None:
                raise _rule_broken("invalid_change", f"{required} cannot be cleared")
        if "time_zone" in updates:
            _checked_zone(updates["time_zone"])
        changed = device.model_copy(update=updates)
        self._devices.put(changed)
        _log_change("device changed", device_id, changed_by, fields=sorted(updates))
        return self._view(changed, health, now)

    def disable(self, device_id: str, changed_by: str, now: datetime) -> DeviceView:
        return self.change(device_id, DeviceChange(enabled=False), changed_by, now)

    def remove(self, device_id: str, changed_by: str, now: datetime) -> Removed:
        """Removes a disabled device from the registry, with its commands; its punches stay, as records of
        what happened. An enabled device is refused (409): disabling it first stops its punches being taken,
        so nothing it sends is accepted from a device the registry no longer knows."""
        device, health = self._found(device_id)
        if device.enabled:
            raise _enabled(device_id)
        commands = self._commands.remove_for_device(device_id)  # first: a failure here keeps the device
        if not self._devices.remove_disabled(device_id):
            if self._devices.get(device_id) is None:  # removed meanwhile
                raise not_found(device_id)
            raise _enabled(device_id)  # enabled meanwhile
        _log_change("device removed", device_id, changed_by, commandsRemoved=commands)
        return Removed(device=self._view(device, health, now), commands_removed=commands)

    def replace_push_url(self, device_id: str, changed_by: str, now: datetime, api_url: str) -> Registered:
        """A Hikvision terminal's new push URL, answered this once; the old URL is refused from now on
        (a leaked URL is the terminal's credential)."""
        device, health = self._found(device_id)
        if device.kind is not DeviceKind.HIKVISION:
            raise _rule_broken(
                "not_hikvision",
                f"device {device_id} is a {device.kind.value} device: only a Hikvision terminal has a push URL",
            )
        token = self._devices.replace_push_token(device_id)
        if token is None:  # removed or re-registered as another kind meanwhile
            raise not_found(device_id)
        _log_change("push URL replaced", device_id, changed_by)
        return Registered(device=self._view(device, health, now), push_url=_push_url(api_url, token))

    # health

    def report_health(self, device_id: str, report: HealthReport, now: datetime) -> HealthRecorded:
        """The edge poller's report for a device it reads: a contact with the details it sent."""
        self._found(device_id)
        details = {name: getattr(report, name) for name in report.model_fields_set - {"via"}}
        if details.get("last_read_at") is not None:
            details["last_read_at"] = _as_utc(details["last_read_at"])
        recorded = self._devices.record_contact(device_id, Contact(via=report.via, details=details), now)
        return HealthRecorded(device_id=device_id, recorded=recorded)

    def _found(self, device_id: str) -> tuple[Device, DeviceHealth]:
        found = self._devices.get_with_health(device_id)
        if found is None:
            raise not_found(device_id)
        return found

    def _view(self, device: Device, health: DeviceHealth, now: datetime) -> DeviceView:
        start, end = self._today(now)
        last_punch = self._punches.last_punch_at(device.device_id)
        return DeviceView(
            device_id=device.device_id,
            name=device.name,
            kind=device.kind,
            site=device.site,
            serial=device.serial,
            time_zone=device.time_zone,
            enabled=device.enabled,
            default_type=device.default_type,
            state=state_of(device, health.last_seen_at, now),
            via=health.via,
            last_seen_at=iso(health.last_seen_at) if health.last_seen_at else None,
            last_punch_at=iso(last_punch) if last_punch else None,
            punches_today=self._punches.count_between(device.device_id, start, end),
            silent_after_minutes=device.silent_after_minutes,
            clock_drift_seconds=health.clock_drift_seconds,
            model=health.model,
            firmware=health.firmware,
            last_error=health.last_error,
            last_read_at=health.last_read_at,
            outbox_depth=health.outbox_depth,
        )

    def _today(self, now: datetime) -> tuple[datetime, datetime]:
        """Today in the stack's zone, as instants [start, end)."""
        zone = parse_zone(self._default_zone)
        today = now.astimezone(zone).date()
        return _midnight(today, zone), _midnight(today + timedelta(days=1), zone)


def _midnight(day: date, zone: object) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)  # type: ignore[arg-type]


def _checked_zone(zone: str | None) -> str | None:
    if zone is not None:
        try:
            parse_zone(zone)
        except InvalidTime as error:
            raise _rule_broken("invalid_time_zone", str(error)) from None
    return zone


def _as_utc(timestamp: str) -> str:
    try:
        return iso(datetime.fromisoformat(timestamp))
    except ValueError:
        raise _rule_broken(
            "invalid_timestamp", f"lastReadAt {timestamp!r} is not a real date and time"
        ) from None


def _push_url(api_url: str, token: str) -> str:
    return f"{api_url.rstrip('/')}/hikvision/events/{token}"


def _enabled(device_id: str) -> ApiError:
    return ApiError(
        HTTPStatus.CONFLICT,
        "device_enabled",
        f"device {device_id} is enabled: disable it first, so that nothing it sends is taken, then remove it",
    )


def _rule_broken(code: str, message: str) -> ApiError:
    return ApiError(HTTPStatus.UNPROCESSABLE_ENTITY, code, message)


def _log_change(what: str, device_id: str, changed_by: str, **extra: object) -> None:
    logger.info(what, extra={"device": device_id, "keyId": changed_by, **extra})
