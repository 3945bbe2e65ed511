"""A stored punch with its delivery state."""

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from attendance.domain.punch import Punch, SyncStatus


class PunchRecord(BaseModel):
    model_config = ConfigDict(frozen=True)

    punch: Punch
    status: SyncStatus
    attempts: int = 0
    last_error: str | None = None
    queued_at: datetime | None = None
    history: list[dict[str, str]] = []  # every delivery attempt and admin action: at, status, detail
