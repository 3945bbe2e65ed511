"""Punches for tests that store them below the API: a device in UTC, its local time the instant's."""

from datetime import UTC, datetime

from attendance.domain.punch import Punch, PunchSource, PunchType, punch_log_id


def utc_punch(
    user: str,
    instant: datetime,
    device: str = "D1",
    kind: PunchType = PunchType.IN,
    received_at: datetime | None = None,
) -> Punch:
    return Punch(
        log_id=punch_log_id(device, user, instant, kind),
        device_id=device,
        user_id=user,
        instant=instant,
        local_time=instant.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds"),
        time_zone="UTC",
        type=kind,
        source=PunchSource.API,
        received_at=received_at or datetime.now(UTC),
    )
