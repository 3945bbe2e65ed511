"""Voiding a punch an admin says should not count (a test punch, a badge punched twice by mistake).

The punch is never deleted: it is marked voiding, with the reason in its history, and queued. The CRM worker
leases it like any delivery, so a void never races the punch's own delivery, removes its record from the CRM
and marks it voided, which takes it out of every report (attendance.delivery.service). The device's copy of
the punch keeps its dedup claim, so sending it again never brings it back.
"""

from collections.abc import Callable
from datetime import UTC, datetime
from http import HTTPStatus

from aws_lambda_powertools import Logger

from attendance.api import ApiError
from attendance.data.dead_letters import DeadLetterQueue
from attendance.data.punches import PunchStore
from attendance.data.queue import PunchQueue
from attendance.deliveries.models import VoidAccepted
from attendance.domain.punch import SyncStatus

logger = Logger(child=True)


class PunchVoids:
    def __init__(
        self,
        punches: PunchStore,
        dead_letters: DeadLetterQueue,
        queue: PunchQueue,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._punches = punches
        self._dead_letters = dead_letters
        self._queue = queue
        self._clock = clock

    def void(self, log_id: str, reason: str, by: str) -> VoidAccepted:
        """Being voided, and queued for the worker; `by`: who, for the punch's history. A dead-lettered punch
        leaves the dead-letter queue, where no redrive could bring it back anyway."""
        request = self._punches.request_void(log_id, f"voided by an admin ({by}): {reason}", self._clock())
        if request.record is None:
            raise ApiError(HTTPStatus.NOT_FOUND, "not_found", f"no punch {log_id}")
        if not request.accepted:
            status = request.record.status.value
            raise ApiError(HTTPStatus.CONFLICT, "already_voided", f"punch {log_id} is {status} already")
        if request.record.status is SyncStatus.FAILED:
            self._dead_letters.drop(log_id)
        if self._queue.send([log_id]):
            # Voiding it is recorded; the pending sweep queues it, as it does a punch whose queueing failed.
            logger.warning(
                "the punch queue refused a voided punch; the sweep sends it", extra={"logId": log_id}
            )
        return VoidAccepted(
            log_id=log_id, sync_status=SyncStatus.VOIDING, previous_status=request.record.status
        )
