"""The dead-letter queue as people look at it (the dashboard's Deliveries page, `attendance dlq`): each
dead letter with its punch, redrives and abandons, and how delivery stands overall."""

from collections.abc import Callable
from dataclasses import dataclass

from attendance.data.dead_letters import DeadLetterQueue
from attendance.data.punches import PunchStore, iso
from attendance.deliveries.models import (
    AbandonResult,
    DeadLetterList,
    DeadLetterView,
    DeliveryOverview,
    OldestPending,
    RedriveResult,
    StatusCounts,
)
from attendance.domain.punch import SyncStatus
from attendance.domain.records import PunchRecord


@dataclass(frozen=True)
class DeadLetterEntry:
    log_id: str
    record: PunchRecord | None  # None: the message names no stored punch
    dead_lettered_at: str | None  # when the last failure was recorded (UTC), from the punch's history


class DeadLetterService:
    def __init__(self, punches: PunchStore, dead_letters: DeadLetterQueue) -> None:
        self._punches = punches
        self._dead_letters = dead_letters

    def entries(self) -> list[DeadLetterEntry]:
        """Every message in the dead-letter queue with its punch; the messages stay where they are."""
        entries = []
        for letter in self._dead_letters.peek():
            record = self._punches.get(letter.log_id)
            entries.append(
                DeadLetterEntry(letter.log_id, record, dead_lettered_at(record) if record else None)
            )
        return sorted(entries, key=_punch_time_then_death, reverse=True)

    def listing(self) -> DeadLetterList:
        views = [_view(entry) for entry in self.entries()]
        return DeadLetterList(count=len(views), dead_letters=views)

    def redrive(
        self, log_ids: set[str] | None, progress: Callable[[int], None] = lambda n: None
    ) -> RedriveResult:
        """Back to the punch queue, pending again; None means every dead letter."""
        done = self._dead_letters.redrive(log_ids, progress)
        return RedriveResult(redriven=done, not_in_dlq=_not_done(log_ids, done))

    def abandon(
        self, log_ids: set[str] | None, by: str, progress: Callable[[int], None] = lambda n: None
    ) -> AbandonResult:
        """Out of the dead-letter queue for good, kept in the table as abandoned: the CRM never gets them (for
        a punch it will never take, e.g. of a badge nobody holds); None means every dead letter. `by`: who,
        for the punches' history."""
        done = self._dead_letters.abandon(log_ids, f"abandoned by an admin ({by})", progress)
        return AbandonResult(abandoned=done, not_in_dlq=_not_done(log_ids, done))

    def overview(self) -> DeliveryOverview:
        backlog = self._punches.backlog()
        oldest = backlog.oldest_pending
        return DeliveryOverview(
            counts=StatusCounts(**backlog.counts),
            oldest_pending=OldestPending(
                log_id=oldest.punch.log_id, received_at=iso(oldest.punch.received_at)
            )
            if oldest
            else None,
            dead_letters=self._dead_letters.depth(),
        )


def _not_done(log_ids: set[str] | None, done: list[str]) -> list[str]:
    return sorted((log_ids or set()) - set(done))


def dead_lettered_at(record: PunchRecord) -> str | None:
    """When the punch's last failure was recorded: the attempt after which delivery gave up."""
    final = [entry for entry in (record.history or []) if entry.get("status") == SyncStatus.FAILED.value]
    return final[-1]["at"] if final else None


def _punch_time_then_death(entry: DeadLetterEntry) -> tuple[float, str, str]:
    """Sorted in reverse: by punch time, the latest first, as people look for a punch (then the latest to
    die); a message whose punch is not in the table, last."""
    instant = entry.record.punch.instant.timestamp() if entry.record else float("-inf")
    return (instant, entry.dead_lettered_at or "", entry.log_id)


def _view(entry: DeadLetterEntry) -> DeadLetterView:
    record = entry.record
    punch = record.punch if record else None
    return DeadLetterView(
        log_id=entry.log_id,
        user_id=punch.user_id if punch else None,
        device_id=punch.device_id if punch else None,
        punch_time=iso(punch.instant) if punch else None,
        local_time=punch.local_time if punch else None,
        time_zone=punch.time_zone if punch else None,
        type=punch.type if punch else None,
        sync_status=record.status if record else None,
        attempts=record.attempts if record else 0,
        last_error=record.last_error if record else None,
        dead_lettered_at=entry.dead_lettered_at,
    )
