"""The dead-letter queue: look at it without taking messages away, redrive or abandon chosen punches, purge it.

SQS has no "peek": listing receives every message with a short visibility timeout and then makes them
visible again. StartMessageMoveTask redrives a whole queue only, so chosen messages are redriven here.

Reading long-polls: a short poll (no wait) asks only a sample of SQS's servers and may answer empty while
the queue holds messages, which would list, redrive or purge only some of them and call it all. A long
poll asks every server and answers as soon as it has messages, so it waits only when messages are missing
(held by another reader's look at the queue, which lets them go at once). Once reading has as many as the
queue counted, it goes on with short polls until one comes back empty: the count is approximate, and can
lag a minute behind messages just sent.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from attendance.data.aws import StoreUnavailable, unavailable_on_aws_errors
from attendance.data.punches import PunchStore, StatusChange
from attendance.data.queue import PunchQueue, log_id_in
from attendance.domain.punch import SyncStatus

PEEK_SECONDS = 30
LONG_POLL_SECONDS = 1  # the shortest long poll
_DEPTH = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]


@dataclass(frozen=True)
class DeadLetter:
    """A punch's messages in the DLQ: one, or more when it was dead-lettered again before an admin acted
    (an SQS duplicate, a message the queue gave back that the CRM refused again). Listed, redriven and
    purged as one."""

    log_id: str
    receipt_handles: tuple[str, ...]
    sent_at: datetime  # when its first message was sent (a DLQ keeps a message's original time)


class DeadLetterQueue:
    def __init__(self, sqs: Any, dynamodb: Any, dlq_url: str, queue_url: str, punches_table: str) -> None:
        self._sqs, self._dlq_url = sqs, dlq_url
        self._punches = PunchStore(dynamodb, punches_table)
        self._queue = PunchQueue(sqs, queue_url)

    def depth(self) -> int:
        """How many messages the queue holds, those being looked at (in flight) included."""
        with unavailable_on_aws_errors("counting the dead-letter queue"):
            reply = self._sqs.get_queue_attributes(QueueUrl=self._dlq_url, AttributeNames=_DEPTH)
        return sum(int(reply["Attributes"].get(name, 0)) for name in _DEPTH)

    def peek(self) -> list[DeadLetter]:
        """Every message in the DLQ; they stay there (visible again at once)."""
        letters = self._receive_all()
        self._release(letters)
        return letters

    def redrive(
        self, log_ids: set[str] | None, progress: Callable[[int], None] = lambda n: None
    ) -> list[str]:
        """Back to the punch queue, status reset to pending; None means all. Returns the logIds redriven."""
        done = []
        for letter in self._take(log_ids):
            # Pending first, then queued, then gone from the DLQ: a crash in between leaves a punch that
            # the worker delivers at most once (it skips synced punches and leases the punch it calls for).
            found = self._set_status(letter.log_id, SyncStatus.PENDING, "redriven by an admin")
            if found is StatusChange.MISSING:
                self._release([letter])  # no such punch: nothing to deliver, leave it for a look
                continue
            if found is StatusChange.SYNCED:
                self._delete(letter)  # delivered meanwhile (e.g. after an invocation timed out): stale
                continue
            if self._queue.send([letter.log_id]):
                raise StoreUnavailable("redriving a punch failed: the punch queue refused it")
            self._delete(letter)
            done.append(letter.log_id)
            progress(len(done))
        return done

    def abandon(
        self, log_ids: set[str] | None, note: str, progress: Callable[[int], None] = lambda n: None
    ) -> list[str]:
        """Out of the DLQ for good, each punch marked abandoned with `note` in its history, never deleted from
        the table; None means all. A punch delivered meanwhile stays synced, and a message naming no stored
        punch is dropped: neither is counted. Returns the logIds abandoned."""
        done = []
        for letter in self._take(log_ids):
            found = self._set_status(letter.log_id, SyncStatus.ABANDONED, note)
            self._delete(letter)
            if found is StatusChange.UPDATED:
                done.append(letter.log_id)
                progress(len(done))
        return done

    def drop(self, log_id: str) -> None:
        """This punch's messages out of the DLQ, its status left to the caller (a voided punch's)."""
        for letter in self._take({log_id}):
            self._delete(letter)

    def purge(self, by: str, progress: Callable[[int], None] = lambda n: None) -> list[str]:
        """Empty the DLQ; each punch is marked abandoned, never deleted from the table, with `by` (who purged)
        in its history. Final: an abandoned punch is never redriven, and a clock sending it again is a
        duplicate."""
        return self.abandon(None, f"abandoned by an admin ({by}, DLQ purged)", progress)

    def _take(self, log_ids: set[str] | None) -> list[DeadLetter]:
        """The letters of these punches (None: all), held for this reader; the others visible again."""
        letters = self._receive_all()
        chosen = [letter for letter in letters if log_ids is None or letter.log_id in log_ids]
        self._release([letter for letter in letters if letter not in chosen])
        return chosen

    def _receive_all(self) -> list[DeadLetter]:
        """The queue's messages: long polls until as many as it counted before the first receive (those
        another reader is looking at come back within one), then short polls for any the count missed."""
        expected = self.depth()
        seen: dict[str, dict[str, Any]] = {}  # by MessageId: a long poll may hand one out twice
        with unavailable_on_aws_errors("reading the dead-letter queue"):
            while True:
                reply = self._sqs.receive_message(
                    QueueUrl=self._dlq_url,
                    MaxNumberOfMessages=10,
                    VisibilityTimeout=PEEK_SECONDS,
                    WaitTimeSeconds=0 if len(seen) >= expected else LONG_POLL_SECONDS,
                    AttributeNames=["SentTimestamp"],
                )
                messages = reply.get("Messages", [])
                if not messages:
                    break
                seen |= {message["MessageId"]: message for message in messages}
        return _by_punch(seen.values())

    def _release(self, letters: Iterable[DeadLetter]) -> None:
        with unavailable_on_aws_errors("releasing dead-letter messages"):
            for letter in letters:
                for handle in letter.receipt_handles:
                    self._sqs.change_message_visibility(
                        QueueUrl=self._dlq_url, ReceiptHandle=handle, VisibilityTimeout=0
                    )

    def _delete(self, letter: DeadLetter) -> None:
        with unavailable_on_aws_errors("deleting a dead-letter message"):
            for handle in letter.receipt_handles:
                self._sqs.delete_message(QueueUrl=self._dlq_url, ReceiptHandle=handle)

    def _set_status(self, log_id: str, status: SyncStatus, note: str) -> StatusChange:
        return self._punches.change_status(log_id, status, note, datetime.now(UTC))


def _by_punch(messages: Iterable[dict[str, Any]]) -> list[DeadLetter]:
    """One letter per punch, in the order their first messages came."""
    copies: dict[str, list[dict[str, Any]]] = {}
    for message in messages:
        copies.setdefault(_log_id(message), []).append(message)
    return [
        DeadLetter(log_id, tuple(m["ReceiptHandle"] for m in found), min(map(_sent_at, found)))
        for log_id, found in copies.items()
    ]


def _log_id(message: dict[str, Any]) -> str:
    try:
        return log_id_in(message["Body"])
    except (ValueError, KeyError, TypeError):
        return f"(unreadable message {message['MessageId']})"


def _sent_at(message: dict[str, Any]) -> datetime:
    return datetime.fromtimestamp(int(message.get("Attributes", {}).get("SentTimestamp", "0")) / 1000, UTC)
