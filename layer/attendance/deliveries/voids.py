"""Voiding a punch an admin says should not count (a test punch, a badge punched twice by mistake).

The punch is never deleted: it is marked voiding, with the reason in its history, and queued. The CRM worker
leases it like any delivery, so a void never races the punch's own delivery, removes its record from the CRM
and marks it voided, which takes it out of every report (attendance.delivery.service). The device's copy of
the punch keeps its dedup claim, so sending it again never brings it back. A punch of the wrong type (a
check-out the clock recorded as a check-in) is voided with the type it should have had, and the worker adds
it again with that type once it is out of the CRM (attendance.delivery.corrections).
"""

from collections.abc import Callable
from datetime import UTC, datetime
from http import HTTPStatus
from typing import TYPE_CHECKING

from aws_lambda_powertools import Logger

from attendance.api import ApiError
from attendance.data.dead_letters import DeadLetterQueue
from attendance.data.punches import PunchStore, VoidDetails, iso, shown_fields
from attendance.data.queue import PunchQueue
from attendance.deliveries.models import VoidAccepted, VoidList, VoidView
from attendance.domain.punch import PunchType, SyncStatus
from attendance.domain.records import PunchRecord

if TYPE_CHECKING:  # made when a correction is first asked for: rare, and not worth every cold start's import
    from attendance.delivery.corrections import CorrectionCheck

logger = Logger(child=True)


class PunchVoids:
    def __init__(
        self,
        punches: PunchStore,
        dead_letters: DeadLetterQueue,
        queue: PunchQueue,
        corrections: "Callable[[], CorrectionCheck] | None" = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._punches = punches
        self._dead_letters = dead_letters
        self._queue = queue
        self._corrections = corrections
        self._clock = clock

    def void(
        self, log_id: str, reason: str, by: str, corrected_type: PunchType | None = None
    ) -> VoidAccepted:
        """Being voided, and queued for the worker; `by`: who, for the punch's history; `corrected_type`: to be
        added again with that type once voided (checked first, where this caller can). A dead-lettered punch
        leaves the dead-letter queue, where no redrive could bring it back anyway."""
        if corrected_type is not None:
            self._check_correction(log_id, corrected_type)
        details = VoidDetails(by=by, reason=reason, corrected_type=corrected_type)
        request = self._punches.request_void(log_id, self._clock(), details)
        if request.record is None:
            raise _not_found(log_id)
        if not request.accepted:
            raise _already_voided(request.record)
        if request.record.status is SyncStatus.FAILED:
            self._dead_letters.drop(log_id)
        if self._queue.send([log_id]):
            # Voiding it is recorded; the pending sweep queues it, as it does a punch whose queueing failed.
            logger.warning(
                "the punch queue refused a voided punch; the sweep sends it", extra={"logId": log_id}
            )
        return VoidAccepted(
            log_id=log_id,
            sync_status=SyncStatus.VOIDING,
            previous_status=request.record.status,
            corrected_type=corrected_type,
        )

    def latest(self, limit: int) -> VoidList:
        """The punches voided (or being voided) most recently: the admins' corrections, for review."""
        return VoidList(voids=[_void_view(record) for record in self._punches.voids(limit)])

    def _check_correction(self, log_id: str, corrected_type: PunchType) -> None:
        record = self._punches.get(log_id)
        if record is None:
            raise _not_found(log_id)
        if record.status in (SyncStatus.VOIDING, SyncStatus.VOIDED):
            raise _already_voided(record)
        if corrected_type is record.punch.type:
            message = f"punch {log_id} is of type {corrected_type} already"
            raise ApiError(HTTPStatus.UNPROCESSABLE_ENTITY, "invalid_correction", message)
        refusal = self._corrections and self._corrections().refusal(
            record.punch, corrected_type, self._clock()
        )
        if refusal:
            raise ApiError(HTTPStatus.CONFLICT, "correction_duplicate", refusal)


def _not_found(log_id: str) -> ApiError:
    return ApiError(HTTPStatus.NOT_FOUND, "not_found", f"no punch {log_id}")


def _already_voided(record: PunchRecord) -> ApiError:
    message = f"punch {record.punch.log_id} is {record.status.value} already"
    return ApiError(HTTPStatus.CONFLICT, "already_voided", message)


def _void_view(record: PunchRecord) -> VoidView:
    return VoidView(
        **shown_fields(record.punch),
        sync_status=record.status,
        voided_by=record.voided_by,
        reason=record.void_reason,
        corrected_type=record.corrected_type,
        voided_at=iso(record.voided_at) if record.voided_at else None,
        outcome=record.history[-1]["detail"] if record.history else "",
    )
