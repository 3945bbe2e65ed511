"""The live feed's messages: one versioned JSON object per WebSocket frame.

Every message has `type`, `version` and `at` (when the change happened, UTC). A client ignores types it
does not know, and a change to a message's fields that a client could trip over comes as a new version.
docs/feed-events.schema.json is generated from these models.
"""

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter
from pydantic.alias_generators import to_camel

from attendance.domain.health import DeviceState
from attendance.domain.punch import PunchSource, PunchType, SyncStatus

VERSION = 1


class EventType(StrEnum):
    PUNCH_ACCEPTED = "punch.accepted"
    PUNCH_DELIVERED = "punch.delivered"
    PUNCH_FAILED = "punch.failed"
    PUNCH_DEAD_LETTERED = "punch.dead_lettered"
    PUNCH_ABANDONED = "punch.abandoned"
    PUNCH_VOIDED = "punch.voided"
    PUNCH_VOID_REFUSED = "punch.void_refused"
    DEVICE_STATE = "device.state"
    SUBSCRIBED = "subscribed"
    PONG = "pong"
    ERROR = "error"


class _Camel(BaseModel):
    model_config = ConfigDict(frozen=True, alias_generator=to_camel, populate_by_name=True)


class FeedPunch(_Camel):
    """A punch as the feed shows it: what it is, and where its delivery stands."""

    log_id: str
    device_id: str
    user_id: str
    punch_time: str = Field(description="The instant, UTC (ISO 8601)")
    local_time: str = Field(description="The device's wall-clock time")
    time_zone: str
    type: PunchType
    source: PunchSource
    sync_status: SyncStatus
    attempts: int = Field(ge=0, description="Delivery attempts so far")


class FeedDevice(_Camel):
    device_id: str
    name: str | None
    site: str | None
    state: DeviceState
    previous_state: DeviceState | None = Field(description="None for a device just registered")
    last_seen_at: str | None
    time_zone: str = Field(
        description="The zone of the device's wall clock (IANA name or offset): the company's for one "
        "registered without a zone"
    )


class _Message(_Camel):
    version: Literal[1] = VERSION
    at: str = Field(description="When the change happened (UTC, ISO 8601)")


class PunchAccepted(_Message):
    """A new punch was stored (and queued for delivery)."""

    type: Literal[EventType.PUNCH_ACCEPTED] = EventType.PUNCH_ACCEPTED
    punch: FeedPunch


class PunchDelivered(_Message):
    type: Literal[EventType.PUNCH_DELIVERED] = EventType.PUNCH_DELIVERED
    punch: FeedPunch
    crm_reference: str | None = Field(default=None, description="The CRM's ID for it, when it gave one")


class PunchFailed(_Message):
    """One delivery attempt failed; `final` when it was the last one (a punch.dead_lettered follows)."""

    type: Literal[EventType.PUNCH_FAILED] = EventType.PUNCH_FAILED
    punch: FeedPunch
    attempt: int = Field(ge=1)
    error: str
    final: bool


class PunchDeadLettered(_Message):
    """Delivery gave up: the punch waits in the dead-letter queue for an admin."""

    type: Literal[EventType.PUNCH_DEAD_LETTERED] = EventType.PUNCH_DEAD_LETTERED
    punch: FeedPunch
    error: str


class PunchAbandoned(_Message):
    """An admin gave up on a dead-lettered punch: out of the dead-letter queue, kept, never delivered."""

    type: Literal[EventType.PUNCH_ABANDONED] = EventType.PUNCH_ABANDONED
    punch: FeedPunch
    note: str = Field(description="The punch's history entry: by whom, or that the queue was purged")


class PunchVoided(_Message):
    """An admin voided the punch, and it is done: out of the CRM and out of every report, kept in the table."""

    type: Literal[EventType.PUNCH_VOIDED] = EventType.PUNCH_VOIDED
    punch: FeedPunch
    reason: str = Field(description="The admin's void, as its history has it: by whom, and why")
    note: str = Field(description="How it ended: its record removed from the CRM, or never there")


class PunchVoidRefused(_Message):
    """The CRM would not remove a voided punch's record: the punch stays delivered, and in the reports."""

    type: Literal[EventType.PUNCH_VOID_REFUSED] = EventType.PUNCH_VOID_REFUSED
    punch: FeedPunch
    error: str = Field(description="The CRM's refusal")


class DeviceStateChanged(_Message):
    type: Literal[EventType.DEVICE_STATE] = EventType.DEVICE_STATE
    device: FeedDevice


class Subscribed(_Message):
    """The reply to subscribe and unsubscribe: the connection's rooms now."""

    type: Literal[EventType.SUBSCRIBED] = EventType.SUBSCRIBED
    rooms: list[str]


class Pong(_Message):
    type: Literal[EventType.PONG] = EventType.PONG


class FeedError(_Message):
    """The reply to a frame the feed cannot take."""

    type: Literal[EventType.ERROR] = EventType.ERROR
    error: str
    message: str


FeedEvent = (
    PunchAccepted
    | PunchDelivered
    | PunchFailed
    | PunchDeadLettered
    | PunchAbandoned
    | PunchVoided
    | PunchVoidRefused
    | DeviceStateChanged
)
FeedMessage = Annotated[FeedEvent | Subscribed | Pong | FeedError, Field(discriminator="type")]
_MESSAGE = TypeAdapter(FeedMessage)


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def encode(message: BaseModel) -> str:
    return message.model_dump_json(by_alias=True)


def decode(text: str | bytes) -> Any:
    """A message as a client reads it (and the tests check every message they receive with it)."""
    return _MESSAGE.validate_json(text)


def json_schema() -> dict[str, Any]:
    schema = _MESSAGE.json_schema(by_alias=True, ref_template="#/$defs/{model}")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "attendance-sync live feed message",
        "description": __doc__.strip(),
        **schema,
    }
