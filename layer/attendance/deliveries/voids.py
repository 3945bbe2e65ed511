"""Voiding a punch an admin says should not count (a test punch, a badge punched twice by mistake).

The punch is never deleted: it is marked voiding, with the reason in its history, and queued. The CRM worker
leases it like any delivery, so a void never races the punch's own delivery, removes its record from the CRM
and marks it voided, which takes it out of every report (attendance.delivery.service). The device's copy of
the punch keeps its dedup claim, so sending it again never brings it back. A punch of the wrong type (a
check-out the clock recorded as a check-in) is voided with the type it should have had, and the worker adds
it again with that type once it is out of the CRM (attendance.delivery.corrections).
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus

from aws_lambda_powertools import Logger

from attendance.api import ApiError
from attendance.data.dead_letters import DeadLetterQueue
from attendance.data.punch_intake import PunchIntake
from attendance.data.punches import PunchStore
from attendance.data.queue import PunchQueue
from attendance.deliveries.models import VoidAccepted
from attendance.domain.dedup import Verdict
from attendance.domain.punch import PunchType, SyncStatus, corrected
from attendance.domain.records import PunchRecord

logger = Logger(child=True)


@dataclass(frozen=True)
class CorrectionCheck:
    """Whether a punch voided to correct its type can be added again with it, judged as the worker will
    judge it (attendance.delivery.corrections), so that a void is not made for a correction that cannot be."""

    intake: PunchIntake
    window_seconds: int

    def refusal(self, record: PunchRecord, corrected_type: PunchType, now: datetime) -> ApiError | None:
        voided = record.punch
        punch = corrected(voided, corrected_type, now)
        judgement = self.intake.judgement(punch, self.window_seconds, now, replacing=voided.log_id)
        if judgement.verdict is Verdict.EXACT:
            message = (
                f"that {corrected_type} punch was stored before ({punch.log_id}; perhaps voided since), and a "
                "punch is stored once: void this one alone and add the punch by hand a second apart"
            )
        elif judgement.verdict is Verdict.NEAR:
            message = (
                f"a {corrected_type} punch then would be a near duplicate of punch {judgement.log_id} "
                f"(within {self.window_seconds} s): void this one alone"
            )
        else:
            return None
        return ApiError(HTTPStatus.CONFLICT, "correction_duplicate", message)


class PunchVoids:
    def __init__(
        self,
        punches: PunchStore,
        dead_letters: DeadLetterQueue,
        queue: PunchQueue,
        corrections: CorrectionCheck | None = None,
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
        note = f"voided by an admin ({by}): {reason}"
        if corrected_type is not None:
            note += f"; to be added again as {corrected_type}"
        request = self._punches.request_void(log_id, note, self._clock(), corrected_type)
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

    def _check_correction(self, log_id: str, corrected_type: PunchType) -> None:
        record = self._punches.get(log_id)
        if record is None:
            raise _not_found(log_id)
        if record.status in (SyncStatus.VOIDING, SyncStatus.VOIDED):
            raise _already_voided(record)
        if corrected_type is record.punch.type:
            message = f"punch {log_id} is of type {corrected_type} already"
            raise ApiError(HTTPStatus.UNPROCESSABLE_ENTITY, "invalid_correction", message)
        refusal = self._corrections and self._corrections.refusal(record, corrected_type, self._clock())
        if refusal:
            raise refusal


def _not_found(log_id: str) -> ApiError:
    return ApiError(HTTPStatus.NOT_FOUND, "not_found", f"no punch {log_id}")


def _already_voided(record: PunchRecord) -> ApiError:
    message = f"punch {record.punch.log_id} is {record.status.value} already"
    return ApiError(HTTPStatus.CONFLICT, "already_voided", message)
