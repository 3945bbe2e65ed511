"""Deliver one queued punch to the CRM, exactly once, and keep the table in step with the queues.

| CRM answer                          | table                        | message                            |
| ----------------------------------- | ---------------------------- | ---------------------------------- |
| 2xx, or "already have it"           | synced (+ reference)         | acknowledged                       |
| transient, attempts left            | pending (+ attempt, error)   | failed: SQS retries it             |
| transient, last allowed attempt     | failed (+ error)             | sent to the DLQ now, acked         |
| permanent (other 4xx)               | failed (+ reason)            | sent to the DLQ now, acked         |
| rate limit (429, 503 + Retry-After) | pending (+ note, no attempt) | queued anew after the wait, acked  |
| none: our rate or time left no turn | unchanged                    | queued anew after the lease, acked |
| none: another delivery holds it     | unchanged                    | queued anew after its lease, acked |

A message of a dead-lettered (failed) punch sent after it was dead-lettered is one the dead-letter queue
gave back without our redrive (the SQS console's "Start DLQ redrive" sends messages back as new ones): the
punch is pending again, noted in its history, and delivered as above. Dropping the message would leave a
failed punch with no message anywhere. One sent before (a duplicate, a copy queued behind a lease) is
acknowledged without a call: the punch has had its attempts.

A punch an admin voided comes as a message too, and is leased the same way, so it never races its own
delivery. The worker removes its record from the CRM (by the reference the CRM gave it), then marks it
voided, which takes it out of every report. One the CRM never had is voided without a call; one the CRM
took without giving a reference is voided with a note to remove it there by hand. One voided to correct its
type is added again with the right type before it is marked voided (attendance.delivery.corrections). A
delivery that fails for good as the void comes is not dead-lettered: the void's message finishes it.

| CRM answer to the removal      | table                        | message                                  |
| ------------------------------ | ---------------------------- | ---------------------------------------- |
| 2xx, or 404 (gone already)     | voided                       | acknowledged                             |
| transient, rate limit, no turn | voiding (+ error)            | failed; acked on its last receive (the   |
|                                |                              | pending sweep queues it again, not a DLQ) |
| permanent (other 4xx)          | synced again (+ the refusal) | acknowledged                             |

A punch has max_receives attempts (three by default), whichever messages carry them. A message's own
receives count its failures, and one queued anew carries the failures before it, since its own receive
count starts again. So the worker dead-letters a punch itself on its last attempt; the redrive policy
stays the net for a message the worker cannot handle at all. Waiting out a rate limit spends no attempt,
and on a new message no receive either.

One punch can have several messages at once (an SQS duplicate, the sweep re-queueing a punch whose
message waits behind a backlog, a redrive), and Frappe HR has no idempotency key. So a delivery first
leases the punch in the table, a conditional update that DynamoDB grants to one copy at a time. A copy
that finds a live lease makes no call and records nothing: the holder owns the delivery. The copy is
acknowledged and the punch queued again for when the lease ends (where it finds the punch delivered, or
takes it over), since the copy may be the holder's own message, received again while the holder ran late
(a cold start or a wait for the CRM past the visibility timeout): acknowledging it ends that message, and a
holder that then failed would leave the punch to the pending sweep, minutes later. Retrying the copy
instead would spend receives of a message whose punch is fine, and could dead-letter it. Should the
holder die, its lease runs out, shorter than the visibility timeout: the holder's message, visible again,
takes the punch over, and failing that the pending sweep queues it again. Recording the outcome ends the
lease; an outcome that could not be recorded (DynamoDB unreachable, the DLQ refusing) lets it run out the
same way.
"""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from uuid import uuid4

from aws_lambda_powertools import Logger

from attendance.data.punches import DeliveryClaim, PunchStore
from attendance.data.queue import PunchQueue
from attendance.delivery.backpressure import CallPacer, queue_delay
from attendance.delivery.crm import CrmClient
from attendance.delivery.outcome import DeliveryOutcome, Verdict
from attendance.domain.punch import SyncStatus
from attendance.domain.records import PunchRecord

if TYPE_CHECKING:  # made when a correction is first needed: rare, and not worth every cold start's import
    from attendance.delivery.corrections import PunchCorrections

logger = Logger(child=True)
_LEASED = (SyncStatus.PENDING, SyncStatus.VOIDING)  # the statuses a delivery leases
# The CRM calls end within seconds_left(); the lease also covers recording their outcome after them.
LEASE_MARGIN_SECONDS = 1.0
NOT_DEAD_LETTERED = "the delivery failed as the punch was being voided: not dead-lettered"
STALE_DEAD_LETTER = (
    "dead-lettered as it was voided: Redrive or Abandon on the Deliveries page drops the letter"
)
# queuedAt is kept to the second: a copy sent within a second of the dead-lettering counts as before it.
DEAD_LETTERED_WITHIN = timedelta(seconds=1)
NEVER_DELIVERED = "voided before the CRM had it: no call"
NO_REFERENCE = "voided; the CRM gave no reference for it when it took it, so remove it there by hand"
RETURNED_FROM_DLQ = (
    "its dead letter came back to the punch queue (the dead-letter queue redriven): pending again"
)


class DeliveryFailed(Exception):
    """The punch was not delivered this time; its message must be retried by SQS."""


class DeliveryService:
    def __init__(
        self,
        store: PunchStore,
        dead_letters: PunchQueue,
        crm: CrmClient,
        punch_queue: PunchQueue,
        corrections: "Callable[[], PunchCorrections]",
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._store = store
        self._dead_letters = dead_letters
        self._crm = crm
        self._punch_queue = punch_queue
        self._clock = clock
        self._corrections = corrections

    def deliver(
        self,
        log_id: str,
        receive_count: int,
        max_receives: int,
        seconds_left: Callable[[], float],
        *,
        earlier_attempts: int = 0,
        pacer: CallPacer | None = None,
        sent_at: datetime | None = None,
    ) -> Verdict | None:
        """The CRM's verdict (None: no call, another delivery or none was due); raises DeliveryFailed when
        SQS should deliver the message again. `earlier_attempts`: the failed attempts before this message;
        `sent_at`: when SQS took the message (its SentTimestamp)."""
        lease = seconds_left() + LEASE_MARGIN_SECONDS
        leased_until = self._clock() + timedelta(seconds=lease)
        claim = self._store.claim_delivery(log_id, uuid4().hex, self._clock(), lease)
        if self._taken_back(log_id, claim, sent_at):
            claim = self._store.claim_delivery(log_id, uuid4().hex, self._clock(), lease)
        # This message's earlier receives were failed attempts; this one is not counted yet.
        spent = earlier_attempts + receive_count - 1
        if claim.record is None or not claim.won:
            _log_unclaimed(log_id, claim.record)
            if claim.record is not None and claim.record.status in _LEASED and claim.lease_until:
                self._queue_after_lease(log_id, claim.lease_until, spent)
            return None
        if claim.record.status is SyncStatus.VOIDING:
            return self._remove(claim.record, seconds_left, pacer, last=spent + 1 >= max_receives)
        outcome = self._crm.deliver(claim.record.punch, seconds_left, pacer)
        # A delivery is in the punch's history and on the live feed; the log keeps the failures.
        log = logger.debug if outcome.verdict in (Verdict.DELIVERED, Verdict.PACED) else logger.info
        log("CRM " + outcome.verdict.value, extra={"logId": log_id, "detail": outcome.detail})
        if outcome.verdict is Verdict.DELIVERED:
            self._store.record_delivery(
                log_id, self._clock(), SyncStatus.SYNCED, outcome.detail, outcome.crm_reference
            )
        elif outcome.verdict is Verdict.PERMANENT:
            self._dead_letter(log_id, outcome)
        elif outcome.verdict is Verdict.RATE_LIMITED:
            self._wait_out_rate_limit(log_id, outcome, spent)
        elif outcome.verdict is Verdict.PACED:
            # Nothing happened to record; the lease still stands, so the punch comes back after it.
            until_lease_ends = (leased_until - self._clock()).total_seconds() + 1
            self._queue_later(log_id, max(outcome.retry_after or 0, until_lease_ends), spent)
        elif spent + 1 >= max_receives:
            self._dead_letter(log_id, outcome)
        else:
            self._store.record_delivery(log_id, self._clock(), SyncStatus.PENDING, outcome.detail)
            raise DeliveryFailed(outcome.detail)
        return outcome.verdict

    def _remove(
        self, record: PunchRecord, seconds_left: Callable[[], float], pacer: CallPacer | None, last: bool
    ) -> Verdict | None:
        """A voided punch's record out of the CRM, then voided in the table (see the module's table)."""
        log_id, reference = record.punch.log_id, record.crm_reference
        if reference is None:
            self._finish_void(record, NO_REFERENCE if record.delivered else NEVER_DELIVERED, last)
            return None
        outcome = self._crm.remove(log_id, reference, seconds_left, pacer)
        logger.info("CRM removal " + outcome.verdict.value, extra={"logId": log_id, "detail": outcome.detail})
        if outcome.verdict is Verdict.DELIVERED:
            self._finish_void(record, f"voided; {reference} {outcome.detail} in the CRM", last)
        elif outcome.verdict is Verdict.PERMANENT:
            self._store.refuse_void(log_id, self._clock(), f"the CRM would not remove it: {outcome.detail}")
        else:
            self._store.note_while_voiding(log_id, self._clock(), f"removal from the CRM: {outcome.detail}")
            if not last:  # the last receive is acknowledged: the sweep queues it again, never the DLQ
                raise DeliveryFailed(outcome.detail)
        return outcome.verdict

    def _finish_void(self, record: PunchRecord, detail: str, last: bool) -> None:
        """Voided, `detail` in its history; one voided to correct its type is first added again with the
        type it should have had (attendance.delivery.corrections). A correction that cannot be made yet
        leaves the punch being voided, for a later try (never the DLQ), as a removal that failed for now."""
        log_id, corrected_type = record.punch.log_id, record.corrected_type
        if corrected_type is not None:
            correction = self._corrections().add(record.punch, corrected_type, self._clock())
            if not correction.done:
                self._store.note_while_voiding(log_id, self._clock(), correction.note)
                if not last:
                    raise DeliveryFailed(correction.note)
                return
            detail = f"{detail}; {correction.note}"
        self._store.finish_void(log_id, self._clock(), detail)

    def _taken_back(self, log_id: str, claim: DeliveryClaim, sent_at: datetime | None) -> bool:
        """A message of a dead-lettered punch sent after it was dead-lettered: the dead-letter queue redriven
        from outside (the SQS console's "Start DLQ redrive" sends its messages back as new ones, status
        untouched). Dropping it would leave the punch failed with no message anywhere, so it is taken as
        the redrive it is. A copy sent before (an SQS duplicate, a copy queued behind a lease) is left: the
        punch has had its attempts."""
        record = claim.record
        if claim.won or record is None or record.status is not SyncStatus.FAILED:
            return False
        if sent_at and record.queued_at and sent_at <= record.queued_at + DEAD_LETTERED_WITHIN:
            return False
        taken = self._store.take_back_dead_letter(log_id, self._clock(), RETURNED_FROM_DLQ)
        if taken:
            logger.info(
                "a dead letter came back to the punch queue: delivered again", extra={"logId": log_id}
            )
        return taken

    def _wait_out_rate_limit(self, log_id: str, outcome: DeliveryOutcome, spent: int) -> None:
        """Noted on the punch without an attempt, its lease ended, and queued anew after the wait."""
        delay = queue_delay(outcome.retry_after or 0)
        now = self._clock()
        note = f"rate limited by the CRM ({outcome.detail}); trying again in {delay} s, no attempt spent"
        self._store.note_rate_limit(log_id, now, note, now + timedelta(seconds=delay))
        self._queue_later(log_id, delay, spent)

    def _queue_after_lease(self, log_id: str, lease_until: int, spent: int) -> None:
        """A copy acknowledged while another delivery holds the punch: the holder may be working this very
        message (received again after its visibility timeout while the holder ran late), which the
        acknowledgement ends. So the punch is queued again for when the lease is over, and should the
        holder fail, it is tried again then, not only by the pending sweep minutes later."""
        until_lease_ends = lease_until - self._clock().timestamp() + 1
        self._queue_later(log_id, max(until_lease_ends, 1), spent)

    def _queue_later(self, log_id: str, seconds: float, spent: int) -> None:
        if not self._punch_queue.send_later(log_id, queue_delay(seconds), spent):
            raise DeliveryFailed("could not queue the punch again; SQS retries its message")

    def _dead_letter(self, log_id: str, outcome: DeliveryOutcome) -> None:
        """Retrying cannot help, or the last attempt failed: to the DLQ now (first, so a failure here leaves
        the punch pending). Not a punch voided during the attempt: the void takes it out of everything, and
        its dead letter would outlive it (and set off the DLQ alarm), so the failure is noted and its lease
        ended, for the void's message to finish at once."""
        if self._store.note_while_voiding(log_id, self._clock(), f"{outcome.detail}; {NOT_DEAD_LETTERED}"):
            logger.info("not dead-lettered: the punch is being voided", extra={"logId": log_id})
            return
        if self._dead_letters.send([log_id]):
            raise DeliveryFailed("permanent failure, but the dead-letter queue refused the message")
        if not self._store.record_delivery(log_id, self._clock(), SyncStatus.FAILED, outcome.detail):
            # Voided between the check and the send: the void finishes, and the Deliveries page lists the
            # letter as voided, for Redrive or Abandon to drop.
            self._store.note_while_voiding(log_id, self._clock(), f"{outcome.detail}; {STALE_DEAD_LETTER}")


def _log_unclaimed(log_id: str, record: PunchRecord | None) -> None:
    """Why this copy of the message is acknowledged without a CRM call."""
    if record is None:
        logger.error("queued logId has no punch; dropping the message", extra={"logId": log_id})
    elif record.status not in _LEASED:
        logger.info("punch already " + record.status.value + "; no CRM call", extra={"logId": log_id})
    else:
        logger.info(
            "punch leased by another delivery of it; this copy is acknowledged, the punch queued again for "
            "when the lease ends",
            extra={"logId": log_id},
        )
