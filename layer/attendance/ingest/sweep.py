"""The safety net between the table write and the queue send, which are not atomic.

A punch acknowledged to the client is in the table as pending. If the ingest function died before
queueing it (or SQS refused), it stays pending with an old queuedAt; the sweep queues it again. A
punch that is queued twice is harmless: the worker skips punches already synced, and the CRM call
carries the logId as its idempotency key.
"""

from datetime import datetime, timedelta

from aws_lambda_powertools import Logger

from attendance.data.punches import PunchStore
from attendance.data.queue import PunchQueue

logger = Logger(child=True)


def requeue_stale_pending(store: PunchStore, queue: PunchQueue, now: datetime, max_age: timedelta) -> int:
    """Queue again every punch pending for longer than max_age; returns how many were queued."""
    stale = store.pending_queued_before(now - max_age)
    unsent = set(queue.send(stale))
    requeued = [log_id for log_id in stale if log_id not in unsent]
    for log_id in requeued:
        store.mark_queued(log_id, now)
    if stale:
        logger.warning(
            "requeued stale pending punches", extra={"requeued": len(requeued), "unsent": len(unsent)}
        )
    return len(requeued)
