"""Commands on their way to ADMS clocks: handed out on getrequest, their results read from devicecmd."""

from datetime import datetime

from aws_lambda_powertools import Logger

from attendance.data.commands import CommandStore
from attendance.domain.clock import wall_clock_now
from attendance.domain.commands import CommandKind, DeviceCommand
from attendance.domain.devices import Device
from attendance.push import commands as adms

logger = Logger(child=True)
MAX_PER_POLL = 10  # a device polls every few seconds: the rest follow on the next polls


class CommandDelivery:
    def __init__(self, store: CommandStore, default_time_zone: str) -> None:
        self._store = store
        self._default_zone = default_time_zone

    def poll(self, device: Device, now: datetime) -> str:
        """The getrequest reply: the device's pending commands, each taken by exactly one poll."""
        taken: list[DeviceCommand] = []
        for command in self._store.deliverable(device.device_id, now)[:MAX_PER_POLL]:
            line = self._line_now(command, device)
            if self._store.mark_sent(command, line, now):
                taken.append(command.model_copy(update={"line": line}))
        for command in taken:
            logger.info(
                "command sent",
                extra={"device": device.device_id, "commandId": command.command_id, "line": command.line},
            )
        return adms.poll_reply(taken)

    def record_results(self, device: Device, body: str, now: datetime) -> None:
        """Each result against its command; unknown IDs and unreadable lines are logged, never refused, so
        the device does not send them again and again."""
        results, unreadable = adms.parse_results(body)
        for line in unreadable:
            logger.warning("unreadable command result", extra={"device": device.device_id, "line": line})
        for result in results:
            known = self._store.record_result(device.device_id, result.command_id, result.return_code, now)
            extra = {"device": device.device_id, "commandId": result.command_id, "return": result.return_code}
            if known:
                logger.info("command result", extra=extra | {"cmd": result.command})
            else:
                logger.warning("result for an unknown command", extra=extra)

    def _line_now(self, command: DeviceCommand, device: Device) -> str:
        """A clock is set to the time it is fetched, not the time it was queued."""
        if command.kind is CommandKind.SET_CLOCK:
            return adms.set_clock(wall_clock_now(device.time_zone or self._default_zone))
        return command.line
