"""The safety nets of delivery, run on a schedule.

The table write and the queue send are not atomic. A punch acknowledged to the client is in the table as
pending. If the ingest function died before queueing it (or SQS refused), it stays pending with an old
queuedAt; the sweep queues it again. So it does a voided punch whose removal from the CRM could not be
done yet (its message ran out of receives, or was never sent): it stays voiding until the CRM answers. A
punch that is queued twice is harmless: the worker skips punches already synced, and the CRM call carries
the logId as its idempotency key.

SQS keeps a message 14 days at most, the dead-letter queue's retention. A dead-lettered (failed) punch that
no admin redrove or purged by then would lose its message: failed, shown by no dead-letter list, redriven by
nothing. So the sweep sends it to the DLQ again before that, counting from its last message there
(queuedAt). The old message and the new one may both be there for a while; the dead-letter tools take a
punch's messages as one.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from aws_lambda_powertools import Logger

from attendance.data.punches import PunchStore
from attendance.data.queue import PunchQueue
from attendance.domain.punch import SyncStatus

logger = Logger(child=True)

# Two days inside the dead-letter queue's 14-day retention (template.yaml), so a sweep that fails for a
# day still sends the message again in time.
DEAD_LETTER_RESEND_AFTER = timedelta(days=12)


@dataclass(frozen=True)
class SweepResult:
    requeued: int  # pending punches, and voided ones still to be removed from the CRM, queued again
    dead_letters_kept: int  # failed punches sent to the DLQ again before their message expired


def sweep(
    store: PunchStore, queue: PunchQueue, dead_letters: PunchQueue, now: datetime, max_age: timedelta
) -> SweepResult:
    """Queue again every punch pending for longer than max_age, and send to the DLQ again every failed punch
    whose message there is DEAD_LETTER_RESEND_AFTER old; one pass over the undelivered."""
    stale = store.stale_undelivered(now - max_age, now - DEAD_LETTER_RESEND_AFTER)
    result = SweepResult(
        requeued=_send_again(stale.pending, queue, store, now, SyncStatus.PENDING)
        + _send_again(stale.voids, queue, store, now, SyncStatus.VOIDING),
        dead_letters_kept=_send_again(stale.dead_letters, dead_letters, store, now, SyncStatus.FAILED),
    )
    if stale.pending or stale.dead_letters or stale.voids:
        logger.warning(
            "sent punches again",
            extra={
                "requeued": result.requeued,
                "deadLettersKept": result.dead_letters_kept,
                "unsent": len(stale.pending)
                + len(stale.voids)
                + len(stale.dead_letters)
                - result.requeued
                - result.dead_letters_kept,
            },
        )
    return result


def _send_again(
    log_ids: list[str], queue: PunchQueue, store: PunchStore, now: datetime, status: SyncStatus
) -> int:
    """Sent and marked queued now (if still in `status`); returns how many SQS took."""
    unsent = set(queue.send(log_ids))
    sent = [log_id for log_id in log_ids if log_id not in unsent]
    for log_id in sent:
        store.mark_queued(log_id, now, status)
    return len(sent)
