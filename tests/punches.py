"""Punches for tests that store them below the API: a device in UTC, its local time the instant's."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3

from attendance.data.dead_letters import DeadLetterQueue
from attendance.data.punch_intake import PunchIntake, StoreResult
from attendance.domain.punch import Punch, PunchSource, PunchType, punch_log_id
from local_stack.template import Resolver


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


def punch_intake(stack: Resolver) -> PunchIntake:
    return PunchIntake(boto3.client("dynamodb"), stack.refs["PunchesTable"], stack.refs["DedupTable"])


def store_punch(
    stack: Resolver, punch: Punch, window_seconds: int = 0, now: datetime | None = None
) -> StoreResult:
    """Store a punch as ingest does (judged on its dedup records when `window_seconds` is set)."""
    return punch_intake(stack).add(punch, window_seconds, timedelta(days=1), now or datetime.now(UTC))


class InvocationDied(BaseException):
    """The Lambda runtime ending an invocation (a timeout, a crash): nothing after it runs."""


# The botocore event on which a client dies before putting a punch (after its dedup claim)
BEFORE_PUT_ITEM = "before-parameter-build.dynamodb.PutItem"


def dying_before_a_punch_is_put(stack: Resolver) -> Callable[..., None]:
    """A botocore hook (for BEFORE_PUT_ITEM) that ends the invocation when it is about to put a punch."""

    def die(params: dict[str, Any], **_: Any) -> None:
        if params.get("TableName") == stack.refs["PunchesTable"]:
            raise InvocationDied

    return die


def claim_without_storing(stack: Resolver, punch: Punch) -> None:
    """What an ingest invocation that dies between its two writes leaves: the punch claimed in its user-day
    dedup record, the punch itself not stored."""
    dynamodb = boto3.client("dynamodb")
    dynamodb.meta.events.register(BEFORE_PUT_ITEM, dying_before_a_punch_is_put(stack))
    intake = PunchIntake(dynamodb, stack.refs["PunchesTable"], stack.refs["DedupTable"])
    try:
        intake.add(punch, 60, timedelta(days=1), datetime.now(UTC))
    except InvocationDied:
        return
    raise AssertionError("the punch was stored")


def dead_letter_queue(stack: Resolver) -> DeadLetterQueue:
    """The stack's dead-letter tools, on clients made now (so they carry the hooks registered by then)."""
    return DeadLetterQueue(
        boto3.client("sqs"),
        boto3.client("dynamodb"),
        stack.refs["PunchDeadLetterQueue"],
        stack.refs["PunchQueue"],
        stack.refs["PunchesTable"],
    )
