"""A stored punch with its delivery state, whole or as a list shows it."""

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from attendance.domain.punch import Punch, PunchType, SyncStatus


class PunchRecord(BaseModel):
    model_config = ConfigDict(frozen=True)

    punch: Punch
    status: SyncStatus
    attempts: int = 0
    last_error: str | None = None
    queued_at: datetime | None = None
    history: list[dict[str, str]] = []  # every delivery attempt and admin action: at, status, detail
    crm_reference: str | None = None  # the CRM's ID for it, when it was delivered and the CRM gave one
    delivered: bool = False  # the CRM took it at some point (a voided punch may have been delivered first)
    corrected_type: PunchType | None = None  # voided to be added again as this type, once out of the CRM
    voided_by: str | None = None  # who asked for the void (an API key's name, a CLI user), and why
    void_reason: str | None = None
    voided_at: datetime | None = None  # when the void was done


class ListedPunch(BaseModel):
    """A punch as a list of latest punches shows it: its index entry, with its delivery status."""

    model_config = ConfigDict(
        alias_generator=to_camel, serialize_by_alias=True, validate_by_name=True, frozen=True
    )

    log_id: str
    user_id: str
    punch_time: str = Field(description="The UTC instant")
    local_time: str = Field(description="The device's wall-clock time")
    type: str
    source: str
    sync_status: str = Field(description="pending, synced, failed, abandoned, voiding or voided")
    attempts: int
    last_error: str | None


class DayPunch(ListedPunch):
    """One of a day's punches, from any device."""

    device_id: str
    time_zone: str = Field(description="The zone localTime is in")
    received_at: str = Field(description="When the API took the punch (UTC)")
