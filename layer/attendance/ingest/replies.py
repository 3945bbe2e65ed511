"""What ingest answers: a single punch's status, or a batch's counts with one result per item."""

from collections.abc import Sequence
from http import HTTPStatus
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from attendance.api import ApiError
from attendance.ingest.service import DuplicateKindField, ItemResult, ItemStatus, WindowSecondsField

_SINGLE_STATUS = {ItemStatus.ACCEPTED: HTTPStatus.ACCEPTED, ItemStatus.DUPLICATE: HTTPStatus.CONFLICT}
# A rejected single punch: a key that may not write for its device is a 403; the rest are punches that
# match the contract but cannot be accepted (422).
_REJECTION_STATUS = {"device_not_allowed": HTTPStatus.FORBIDDEN, "device_disabled": HTTPStatus.FORBIDDEN}


class PunchReply(BaseModel):
    """202 for a new punch; 409 for a duplicate, with the earlier punch's logId."""

    model_config = ConfigDict(serialize_by_alias=True, validate_by_name=True)

    status: Literal["accepted", "duplicate"]
    log_id: str = Field(alias="logId")
    reason: str | None = Field(default=None, exclude_if=lambda value: value is None)
    duplicate_kind: DuplicateKindField = None
    window_seconds: WindowSecondsField = None


# How long a client should wait before sending again what a batch left for retry: the time a busy store
# needs to catch up, short enough that an edge poller drains its backlog without idling.
RETRY_AFTER_SECONDS = 2


class BatchReply(BaseModel):
    """200 for every batch: how many of each outcome, and each item's result in order.

    An item whose status is `retry` was not stored: the request ran short of time before reaching it (a
    slow or throttled store), or a punch of the same user less than the window from it was still being
    stored by another request. Send those items again after `retryAfter` seconds (also the `Retry-After`
    header); every other item's result is final."""

    model_config = ConfigDict(serialize_by_alias=True, validate_by_name=True)

    received: int
    accepted: int
    duplicate: int
    rejected: int
    retry: int = Field(description="Items not reached in time and not stored: send them again")
    retry_after: int | None = Field(
        default=None,
        alias="retryAfter",
        exclude_if=lambda value: value is None,
        description="Seconds to wait before sending the retry items again; present when retry > 0",
    )
    results: list[ItemResult]


def single_reply(result: ItemResult) -> tuple[HTTPStatus, PunchReply]:
    """The status and body for one punch; a rejection is raised as an ApiError."""
    if result.status is ItemStatus.REJECTED:
        code = result.error or "invalid_punch"
        status = _REJECTION_STATUS.get(code, HTTPStatus.UNPROCESSABLE_ENTITY)
        raise ApiError(status, code, result.reason or "punch rejected")
    if result.status is ItemStatus.RETRY:
        wait = {"Retry-After": str(RETRY_AFTER_SECONDS)}
        raise ApiError(
            HTTPStatus.SERVICE_UNAVAILABLE, "retry", result.reason or "send it again", headers=wait
        )
    reply = PunchReply(
        status=result.status.value,
        log_id=result.log_id or "",
        reason=result.reason,
        duplicate_kind=result.duplicate_kind,
        window_seconds=result.window_seconds,
    )
    return _SINGLE_STATUS[result.status], reply


def batch_reply(results: Sequence[ItemResult]) -> BatchReply:
    counts = {status.value: sum(result.status is status for result in results) for status in ItemStatus}
    retry_after = RETRY_AFTER_SECONDS if counts[ItemStatus.RETRY.value] else None
    return BatchReply(received=len(results), results=list(results), retry_after=retry_after, **counts)
