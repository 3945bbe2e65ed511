"""What an admin asks of a clock (a body tagged by `kind`), and how a queued command is shown."""

from datetime import datetime
from typing import Annotated, Literal

from annotated_types import Ge, Le
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, Strict

from attendance.data.punches import iso
from attendance.domain.commands import CommandKind, CommandStatus, DeviceCommand
from attendance.domain.employees import PersonName
from attendance.domain.punch import Identifier, Timestamp, _whole_number

DEFAULT_EXPIRY_MINUTES = 24 * 60
MAX_EXPIRY_MINUTES = 30 * 24 * 60

ExpiryMinutes = Annotated[int, Strict(), Ge(1), Le(MAX_EXPIRY_MINUTES), BeforeValidator(_whole_number)]


class _Command(BaseModel):
    model_config = ConfigDict(frozen=True, serialize_by_alias=True)

    expires_in_minutes: ExpiryMinutes | None = Field(
        default=None,
        alias="expiresInMinutes",
        description=f"Minutes the device has to fetch it (default {DEFAULT_EXPIRY_MINUTES}); then it expires",
    )

    @property
    def expiry_minutes(self) -> int:
        return self.expires_in_minutes or DEFAULT_EXPIRY_MINUTES


class PutEmployee(_Command):
    """Add the employee to the clock, or change their name on it."""

    kind: Literal["put_employee"]
    user_id: Identifier = Field(alias="userId", description="The PIN the clock will know them by")
    name: PersonName | None = Field(default=None, description="Default: the name in the employee directory")


class RemoveEmployee(_Command):
    """Delete the employee from the clock."""

    kind: Literal["remove_employee"]
    user_id: Identifier = Field(alias="userId")


class ResendLog(_Command):
    """The clock uploads its attendance records of the range again (duplicates are absorbed by dedup)."""

    kind: Literal["resend_log"]
    start: Timestamp = Field(alias="from", description="ISO 8601; without an offset, the clock's own time")
    end: Timestamp = Field(alias="to", description="ISO 8601, not before `from`")


class SetClock(_Command):
    """Set the clock to the current time of its registered zone."""

    kind: Literal["set_clock"]


class Reboot(_Command):
    kind: Literal["reboot"]


CommandRequest = Annotated[
    PutEmployee | RemoveEmployee | ResendLog | SetClock | Reboot, Field(discriminator="kind")
]
EXAMPLE_COMMAND = {"kind": "put_employee", "userId": "1001", "name": "Anna Berg"}


class CommandView(BaseModel):
    """A queued command and what became of it."""

    model_config = ConfigDict(serialize_by_alias=True, validate_by_name=True)

    command_id: str = Field(alias="commandId", description="The ID the device answers with")
    device_id: str = Field(alias="deviceId")
    kind: CommandKind
    command: str = Field(description="The command as the device gets it (after `C:<id>:`)")
    status: CommandStatus
    return_code: int | None = Field(alias="returnCode", description="The device's result; 0 is success")
    queued_by: str = Field(alias="queuedBy", description="The API key (or CLI user) that queued it")
    created_at: str = Field(alias="createdAt")
    expires_at: str = Field(alias="expiresAt")
    sent_at: str | None = Field(alias="sentAt")
    finished_at: str | None = Field(alias="finishedAt")

    @classmethod
    def of(cls, command: DeviceCommand, now: datetime) -> "CommandView":
        return cls(
            command_id=command.command_id,
            device_id=command.device_id,
            kind=command.kind,
            command=command.line,
            status=command.status_at(now),
            return_code=command.return_code,
            queued_by=command.queued_by,
            created_at=iso(command.created_at),
            expires_at=iso(command.expires_at),
            sent_at=iso(command.sent_at) if command.sent_at else None,
            finished_at=iso(command.finished_at) if command.finished_at else None,
        )


class CommandHistory(BaseModel):
    model_config = ConfigDict(serialize_by_alias=True, validate_by_name=True)

    device_id: str = Field(alias="deviceId")
    count: int
    commands: list[CommandView] = Field(description="Newest first")


class EmployeePush(BaseModel):
    model_config = ConfigDict(serialize_by_alias=True, validate_by_name=True)

    user_id: str = Field(alias="userId")
    site: str
    count: int = Field(description="Clocks the employee was queued for")
    commands: list[CommandView]
