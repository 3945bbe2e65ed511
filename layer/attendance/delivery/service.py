"""Deliver one queued punch to the CRM, exactly once, and keep the table in step with the queues.

| CRM answer                         | table                      | message                         |
| ---------------------------------- | -------------------------- | ------------------------------- |
| 2xx, or "already have it"          | synced (+ reference)       | acknowledged                    |
| transient, attempts left           | pending (+ attempt, error) | failed: SQS retries it          |
| transient, last allowed attempt    | failed (+ error)           | failed: SQS moves it to the DLQ |
| permanent (other 4xx)              | failed (+ reason)          | sent to the DLQ now, acked      |
"""

from collections.abc import Callable
from datetime import UTC, datetime

import httpx
from aws_lambda_powertools import Logger

from attendance.data.punches import PunchStore
from attendance.data.queue import PunchQueue
from attendance.delivery.outcome import DeliveryOutcome, Verdict
from attendance.delivery.targets.base import CrmTarget
from attendance.domain.punch import Punch, SyncStatus

logger = Logger(child=True)
MIN_CALL_SECONDS = 0.2  # below this there is no point in calling: count it as a transient failure


class DeliveryFailed(Exception):
    """The punch was not delivered this time; its message must be retried by SQS."""


class DeliveryService:
    def __init__(
        self,
        store: PunchStore,
        dead_letters: PunchQueue,
        target: CrmTarget,
        http: httpx.Client,
        call_timeout: float,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._store = store
        self._dead_letters = dead_letters
        self._target = target
        self._http = http
        self._call_timeout = call_timeout
        self._clock = clock

    def deliver(
        self, log_id: str, receive_count: int, max_receives: int, seconds_left: Callable[[], float]
    ) -> None:
        """Raises DeliveryFailed when SQS should deliver the message again."""
        record = self._store.get(log_id)
        if record is None:
            logger.error("queued logId has no punch; dropping the message", extra={"logId": log_id})
            return
        if record.status is not SyncStatus.PENDING:
            logger.info("punch already " + record.status.value + "; no CRM call", extra={"logId": log_id})
            return
        outcome = self._call(record.punch, seconds_left())
        logger.info("CRM " + outcome.verdict.value, extra={"logId": log_id, "detail": outcome.detail})
        if outcome.verdict is Verdict.DELIVERED:
            self._store.record_delivery(
                log_id, self._clock(), SyncStatus.SYNCED, outcome.detail, outcome.crm_reference
            )
        elif outcome.verdict is Verdict.PERMANENT:
            self._dead_letter(log_id, outcome)
        else:
            final = receive_count >= max_receives
            status = SyncStatus.FAILED if final else SyncStatus.PENDING
            self._store.record_delivery(log_id, self._clock(), status, outcome.detail)
            raise DeliveryFailed(outcome.detail + (" (last attempt: on to the DLQ)" if final else ""))

    def _dead_letter(self, log_id: str, outcome: DeliveryOutcome) -> None:
        """Retrying cannot help: to the DLQ now (first, so a failure here leaves the punch pending)."""
        if self._dead_letters.send([log_id]):
            raise DeliveryFailed("permanent failure, but the dead-letter queue refused the message")
        self._store.record_delivery(log_id, self._clock(), SyncStatus.FAILED, outcome.detail)

    def _call(self, punch: Punch, seconds_left: float) -> DeliveryOutcome:
        budget = min(self._call_timeout, seconds_left)
        if budget < MIN_CALL_SECONDS:
            return DeliveryOutcome(Verdict.TRANSIENT, "no time left in this invocation to call the CRM")
        request = self._target.request_for(punch)
        headers = request.headers | {"Idempotency-Key": punch.log_id}
        try:
            # httpx times each phase; halving the budget keeps connect + read inside it.
            response = self._http.post(request.url, json=request.json, headers=headers, timeout=budget / 2)
        except httpx.TimeoutException:
            return DeliveryOutcome(Verdict.TRANSIENT, f"CRM did not answer within {budget:.1f} s")
        except httpx.HTTPError as error:
            return DeliveryOutcome(Verdict.TRANSIENT, f"CRM unreachable: {type(error).__name__}: {error}")
        return self._target.judge(response)
