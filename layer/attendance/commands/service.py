"""Queuing commands for ZKTeco ADMS clocks (HTTP and the CLI), and reading a clock's command history."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from http import HTTPStatus

from aws_lambda_powertools import Logger

from attendance.api import ApiError
from attendance.commands.models import (
    CommandRequest,
    PutEmployee,
    RemoveEmployee,
    ResendLog,
    SetClock,
)
from attendance.data.commands import CommandStore
from attendance.data.devices import DeviceStore
from attendance.data.employees import EmployeeStore
from attendance.domain.clock import InvalidTime, resolve_timestamp, wall_clock_now
from attendance.domain.commands import CommandKind, DeviceCommand, new_command_id
from attendance.domain.devices import Device, DeviceKind
from attendance.domain.employees import Employee
from attendance.push import commands as adms

logger = Logger(child=True)
ID_ATTEMPTS = 5  # a new ID is drawn when the device already has one (nine random digits: rare)


def not_found(message: str) -> ApiError:
    return ApiError(HTTPStatus.NOT_FOUND, "not_found", message)


def _unprocessable(code: str, message: str) -> ApiError:
    return ApiError(HTTPStatus.UNPROCESSABLE_ENTITY, code, message)


class CommandService:
    def __init__(
        self,
        devices: DeviceStore,
        employees: EmployeeStore,
        commands: CommandStore,
        default_time_zone: str,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._devices = devices
        self._employees = employees
        self._commands = commands
        self._default_zone = default_time_zone
        self._now = clock

    def queue(self, device_id: str, request: CommandRequest, queued_by: str) -> DeviceCommand:
        """Queue one command for a ZKTeco clock: 404 for an unknown device, 422 for a Hikvision one, 409 for
        a disabled one (ADMS answers it no command: it would wait until it expired)."""
        device = self._device(device_id)
        if device.kind is not DeviceKind.ZKTECO:
            raise _unprocessable(
                "not_adms", f"device {device_id} is {device.kind}: commands are for ZKTeco ADMS"
            )
        if not device.enabled:
            raise ApiError(
                HTTPStatus.CONFLICT,
                "device_disabled",
                f"device {device_id} is disabled: it gets no command until it is enabled again",
            )
        return self._store(device, request, self._line(device, request), queued_by)

    def history(self, device_id: str) -> list[DeviceCommand]:
        self._device(device_id)
        return self._commands.for_device(device_id)

    def push_employee(
        self, user_id: str, site: str, queued_by: str, expires_in_minutes: int | None = None
    ) -> list[DeviceCommand]:
        """Put a directory employee on every enabled ZKTeco clock of a site."""
        employee = self._working_employee(user_id, "")
        request = PutEmployee.model_validate(
            {
                "kind": "put_employee",
                "userId": user_id,
                "name": employee.name,
                "expiresInMinutes": expires_in_minutes,
            }
        )
        clocks = [device for device in self._devices.in_site(site) if device.kind is DeviceKind.ZKTECO]
        return [self._store(device, request, self._line(device, request), queued_by) for device in clocks]

    def now(self) -> datetime:
        return self._now()

    def _device(self, device_id: str) -> Device:
        device = self._devices.get(device_id)
        if device is None:
            raise not_found(f"no device {device_id}")
        return device

    def _line(self, device: Device, request: CommandRequest) -> str:
        if isinstance(request, PutEmployee):
            return adms.put_user(request.user_id, request.name or self._directory_name(request.user_id))
        if isinstance(request, RemoveEmployee):
            return adms.delete_user(request.user_id)
        if isinstance(request, ResendLog):
            start, end = self._device_times(device, request.start, request.end)
            return adms.query_attlog(start, end)
        if isinstance(request, SetClock):
            # Rendered again when the device fetches it (CommandDelivery): this one shows the form.
            return adms.set_clock(wall_clock_now(device.time_zone or self._default_zone))
        return adms.reboot()

    def _directory_name(self, user_id: str) -> str:
        return self._working_employee(user_id, ": send a name").name

    def _working_employee(self, user_id: str, unknown_hint: str) -> Employee:
        """The directory's entry, to put on clocks: 404 if there is none, 409 if they have left."""
        employee = self._employees.get(user_id)
        if employee is None:
            raise not_found(f"employee {user_id} is not in the directory{unknown_hint}")
        if employee.has_left(self._now(), self._default_zone):
            raise ApiError(
                HTTPStatus.CONFLICT,
                "employee_left",
                f"employee {user_id} left (last working day {employee.left_on}): they are not put on "
                "clocks; remove_employee takes them off",
            )
        return employee

    def _device_times(self, device: Device, start: str, end: str) -> tuple[datetime, datetime]:
        """The range on the clock's own wall clock; naive times are already that."""
        try:
            first, last = (
                resolve_timestamp(raw, device.time_zone, self._default_zone) for raw in (start, end)
            )
        except InvalidTime as error:
            raise _unprocessable("invalid_timestamp", str(error)) from None
        if last.instant < first.instant:
            raise _unprocessable("invalid_range", "'to' must not be before 'from'")
        return datetime.fromisoformat(first.local_time), datetime.fromisoformat(last.local_time)

    def _store(self, device: Device, request: CommandRequest, line: str, queued_by: str) -> DeviceCommand:
        now = self._now()
        for _ in range(ID_ATTEMPTS):
            command = DeviceCommand(
                device_id=device.device_id,
                command_id=new_command_id(),
                kind=CommandKind(request.kind),
                line=line,
                queued_by=queued_by,
                created_at=now,
                expires_at=now + timedelta(minutes=request.expiry_minutes),
            )
            if self._commands.add(command):
                logger.info(
                    "command queued",
                    extra={
                        "device": device.device_id,
                        "commandId": command.command_id,
                        "kind": command.kind.value,
                        "key_id": queued_by,
                    },
                )
                return command
        raise RuntimeError(f"no free command ID for {device.device_id} after {ID_ATTEMPTS} attempts")
