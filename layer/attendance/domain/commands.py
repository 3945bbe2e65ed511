"""Commands for ZKTeco ADMS clocks: what was asked of a device, and what became of it."""

import secrets
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class CommandKind(StrEnum):
    PUT_EMPLOYEE = "put_employee"  # add or change an employee on the clock
    REMOVE_EMPLOYEE = "remove_employee"
    RESEND_LOG = "resend_log"  # the clock uploads its attendance log of a range again
    SET_CLOCK = "set_clock"
    REBOOT = "reboot"


class CommandStatus(StrEnum):
    PENDING = "pending"  # waiting for the device's next poll
    SENT = "sent"  # handed to the device, no result yet
    DONE = "done"  # the device answered Return=0
    FAILED = "failed"  # the device answered another code
    EXPIRED = "expired"  # never fetched before it expired


class DeviceCommand(BaseModel):
    model_config = ConfigDict(frozen=True)

    device_id: str
    command_id: str  # digits: every firmware reads them
    kind: CommandKind
    line: str  # the command as the device gets it, after `C:<id>:`
    status: CommandStatus = CommandStatus.PENDING
    queued_by: str  # the key_id (or CLI user) that queued it
    created_at: datetime
    expires_at: datetime
    sent_at: datetime | None = None
    finished_at: datetime | None = None
    return_code: int | None = None

    def status_at(self, now: datetime) -> CommandStatus:
        """A pending command past its expiry is expired: the device can no longer fetch it."""
        if self.status is CommandStatus.PENDING and self.expires_at <= now:
            return CommandStatus.EXPIRED
        return self.status


def new_command_id() -> str:
    """Nine digits, no leading zero: short, unique enough per device (the store refuses a reused one)."""
    return str(100_000_000 + secrets.randbelow(900_000_000))
