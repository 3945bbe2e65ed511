"""The one definition of a punch, from what a client submits to what is stored and delivered."""

import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from annotated_types import Ge
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    StringConstraints,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    field_validator,
)
from pydantic_core import PydanticCustomError

from attendance.domain.clock import parse_zone


class PunchType(StrEnum):
    IN = "in"
    OUT = "out"
    BREAK_OUT = "break_out"
    BREAK_IN = "break_in"
    OVERTIME_IN = "overtime_in"
    OVERTIME_OUT = "overtime_out"


class PunchSource(StrEnum):
    """Which path brought a punch in; informational, never part of its identity."""

    API = "api"
    DEVICE = "device"
    EDGE = "edge"
    ADMS = "adms"
    HIKVISION = "hikvision"
    MANUAL = "manual"  # added by hand (an admin, for a punch the clock missed)


# The sources a client may name. "manual" is the system's own mark for a punch an admin added (POST
# /employees/{userId}/punches): it lets a punch stand beside a voided one and counts as added by hand in
# the reports, so an ingest key may not claim it.
SubmittedSource = Literal["api", "device", "edge", "adms", "hikvision"]


class SyncStatus(StrEnum):
    PENDING = "pending"
    SYNCED = "synced"
    FAILED = "failed"
    ABANDONED = "abandoned"
    VOIDING = "voiding"  # an admin voided it; its record in the CRM, if any, is being removed
    VOIDED = "voided"  # out of the reports and out of the CRM; kept in the table with its history


def in_words(problem: str) -> WrapValidator:
    """A value that does not match its pattern is refused with `problem`, which people can read; the
    pattern itself stays in the JSON Schema, for programs."""

    def check(value: object, handler: ValidatorFunctionWrapHandler) -> object:
        try:
            return handler(value)
        except ValidationError as error:
            if any(detail["type"] == "string_pattern_mismatch" for detail in error.errors()):
                raise PydanticCustomError("string_pattern_mismatch", problem) from None
            raise

    return WrapValidator(check)


Identifier = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:@/+\-]+$"),
    in_words("should hold only letters, digits and . _ : @ / + - (no spaces)"),
]
# An ID that is given an address of its own (/devices/{deviceId}, /employees/{userId}): an Identifier
# without "/", which no path segment can carry (a registered device or directory entry holding one could
# never be read, changed or disabled).
ADDRESSABLE_PATTERN = r"^[A-Za-z0-9._:@+\-]+$"
AddressableIdentifier = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64, pattern=ADDRESSABLE_PATTERN),
    in_words("should hold only letters, digits and . _ : @ + - (no spaces, and no / in an ID with a page)"),
]
# ISO 8601 date and time, to the minute or finer, with an optional offset. ASCII digits only: the same
# pattern holds in JSON Schema (ECMA-262) and in the validator. Whether the date exists and is plausible
# is checked when the punch is read (attendance.domain.clock).
ISO_TIMESTAMP_PATTERN = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}"  # date
    r"[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}([.][0-9]{1,6})?)?"  # time, to the minute or finer
    r"(Z|[+-][0-9]{2}:?[0-9]{2})?$"  # offset
)
Timestamp = Annotated[
    str,
    StringConstraints(pattern=ISO_TIMESTAMP_PATTERN),
    in_words(
        "should be an ISO 8601 date and time, e.g. 2026-02-10T09:16:00, or with an offset: ...:00Z, ...:00+01:00"
    ),
]
EXAMPLE_PUNCH = {"deviceId": "DEV001", "userId": "EMP789", "timestamp": "2025-02-10T09:16:00", "type": "in"}


def _whole_number(value: object) -> object:
    # JSON Schema counts 15.0 as an integer; booleans are not numbers.
    return int(value) if isinstance(value, float) and value.is_integer() else value


VerifyMode = (
    Annotated[str, StringConstraints(min_length=1, max_length=32)]
    | Annotated[int, Strict(), Ge(0), BeforeValidator(_whole_number)]
)


class PunchSubmission(BaseModel):
    """A punch as a client, device or the edge poller sends it. Values are taken exactly as sent (no
    trimming, types in lower case); unknown fields are ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True, json_schema_extra={"examples": [EXAMPLE_PUNCH]})

    device_id: Identifier = Field(alias="deviceId", description="The time clock's ID")
    user_id: Identifier = Field(alias="userId", description="The employee's ID on the clock")
    timestamp: Timestamp = Field(
        description="ISO 8601. With an offset it is taken as is; without, it is the device's wall-clock time."
    )
    type: PunchType
    verify_mode: VerifyMode | None = Field(
        default=None,
        alias="verifyMode",
        description="How the employee was identified: a device code (1 fingerprint, 15 face) or a name",
    )
    source: SubmittedSource | None = None

    @field_validator("verify_mode")
    @classmethod
    def _verify_mode_as_text(cls, value: str | int | None) -> str | None:
        # Devices report verify modes as numbers or names; they are kept as text.
        return None if value is None else str(value)


class Punch(BaseModel):
    """A validated punch with its identity and normalised time: what is stored and delivered."""

    model_config = ConfigDict(frozen=True)

    log_id: str
    device_id: str
    user_id: str
    instant: datetime  # UTC, whole seconds
    local_time: str  # the device's wall-clock time, ISO 8601 without offset
    time_zone: str  # IANA name, or a fixed offset such as +05:30
    type: PunchType
    source: PunchSource
    received_at: datetime
    verify_mode: str | None = None

    @property
    def epoch_seconds(self) -> int:
        return int(self.instant.timestamp())

    @property
    def timestamp_with_offset(self) -> str:
        """The instant in the punch's own zone, e.g. 2025-02-10T09:16:00+01:00."""
        return self.instant.astimezone(parse_zone(self.time_zone)).isoformat()


def punch_log_id(device_id: str, user_id: str, instant: datetime, punch_type: PunchType) -> str:
    """The same punch (device, user, instant to the second, type) always gets the same logId."""
    utc = instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    digest = hashlib.sha256(f"{device_id}|{user_id}|{utc}|{punch_type.value}".encode()).hexdigest()
    return digest[:32]


def corrected(punch: Punch, punch_type: PunchType, now: datetime) -> Punch:
    """The punch as it should have been recorded, of `punch_type` (a check-out the clock took for a
    check-in): the same clock, employee and time, added by hand, so a punch of its own."""
    return punch.model_copy(
        update={
            "log_id": punch_log_id(punch.device_id, punch.user_id, punch.instant, punch_type),
            "type": punch_type,
            "source": PunchSource.MANUAL,
            "received_at": now,
            "verify_mode": None,
        }
    )


def describe_validation_error(error: ValidationError) -> str:
    """'type: Input should be ...; userId: Field required': each field and its problem, for people. A rule
    across fields (a model's own validator) names its fields itself."""
    problems = []
    for detail in error.errors(include_url=False):
        location = ".".join(str(part) for part in detail["loc"])
        problems.append(f"{location}: {problem_text(detail)}" if location else problem_text(detail))
    return "; ".join(problems)


def problem_text(detail: Mapping[str, Any]) -> str:
    """pydantic's words for one error, without the "Value error, " it puts before a validator's own."""
    return str(detail.get("msg") or detail.get("type", "invalid")).removeprefix("Value error, ")
