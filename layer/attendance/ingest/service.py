"""Ingest: validate each punch, store it once (exact and near-duplicate dedup), queue what is new."""

from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any

from aws_lambda_powertools import Logger
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from attendance.data.aws import StoreUnavailable
from attendance.data.devices import DeviceStore
from attendance.data.punch_intake import IntakeMemory, PunchIntake, StoreOutcome, StoreResult
from attendance.data.queue import PunchQueue
from attendance.domain.clock import InvalidTime, check_plausible, resolve_timestamp
from attendance.domain.dedup import days_to_judge, earlier_matches
from attendance.domain.devices import Device
from attendance.domain.keys import ApiKey
from attendance.domain.punch import (
    Punch,
    PunchSource,
    PunchSubmission,
    describe_validation_error,
    punch_log_id,
)
from attendance.ingest.budget import UNLIMITED, TimeBudget
from attendance.settings import PunchIntakeSettings

logger = Logger(child=True)
_STORE_WORKERS = 8
_LONGEST_RUN = 25  # punches of one user-day claimed in one write: bounds the time a run takes


class ItemStatus(StrEnum):
    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"
    RETRY = "retry"  # not stored: the request ran short of time before reaching it, or must wait for another


class DuplicateKind(StrEnum):
    SAME_PUNCH = "same_punch"  # this very punch was received before
    NEAR_PUNCH = "near_punch"  # another punch of the user, less than the dedup window from it


def _omitted_when_none(value: object) -> bool:
    return value is None


# Which duplicate, for the answers of a single punch and of a batch's items alike.
DuplicateKindField = Annotated[
    DuplicateKind | None,
    Field(
        alias="duplicateKind",
        exclude_if=_omitted_when_none,
        description="For a duplicate, which: `same_punch` (this punch was received before; `logId` is it) or "
        "`near_punch` (the user has another punch less than `windowSeconds` from it; `logId` is that one)",
    ),
]
WindowSecondsField = Annotated[
    int | None,
    Field(
        alias="windowSeconds",
        exclude_if=_omitted_when_none,
        description="For a `near_punch` duplicate: the dedup window, in seconds",
    ),
]


class ItemResult(BaseModel):
    """What became of one submitted punch."""

    model_config = ConfigDict(frozen=True, serialize_by_alias=True, validate_by_name=True)

    index: int = Field(description="The item's position in the request, from 0")
    status: ItemStatus
    log_id: str | None = Field(
        default=None, alias="logId", exclude_if=_omitted_when_none, description="The punch's ID"
    )
    error: str | None = Field(
        default=None, exclude_if=_omitted_when_none, description="Why it was rejected, as a code"
    )
    reason: str | None = Field(
        default=None,
        exclude_if=_omitted_when_none,
        description="For people: why it was rejected or is a duplicate",
    )
    duplicate_kind: DuplicateKindField = None
    window_seconds: WindowSecondsField = None


class IngestRejected(Exception):
    """One punch refused before storage (invalid or not allowed)."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


class IngestService:
    def __init__(
        self,
        settings: PunchIntakeSettings,
        intake: PunchIntake,
        devices: DeviceStore,
        queue: PunchQueue,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._settings = settings
        self._intake = intake
        self._devices = devices
        self._queue = queue
        self._clock = clock

    def ingest(
        self, items: Sequence[Any], caller: ApiKey, source: PunchSource, budget: TimeBudget = UNLIMITED
    ) -> list[ItemResult]:
        """One result per item, in order; punches the budget leaves no time for come back as RETRY.
        Raises StoreUnavailable after queueing whatever was stored."""
        now = self._clock()
        device_lookup = _CachedDevices(self._devices)
        results: dict[int, ItemResult] = {}
        punches: list[tuple[int, Punch]] = []
        for index, item in enumerate(items):
            try:
                punches.append((index, self._prepare(item, caller, source, now, device_lookup)))
            except IngestRejected as rejected:
                results[index] = ItemResult(
                    index=index, status=ItemStatus.REJECTED, error=rejected.code, reason=rejected.reason
                )
        stored, failure = self._store_all(punches, now, budget)
        results |= stored
        accepted = [result.log_id for result in stored.values() if result.status is ItemStatus.ACCEPTED]
        unqueued = self._queue.send([log_id for log_id in accepted if log_id])
        if unqueued:
            logger.warning("punches stored but not queued yet", extra={"count": len(unqueued)})
        _log_outcome(list(results.values()))
        if failure:
            raise failure
        return [results[index] for index in sorted(results)]

    def _prepare(
        self, item: Any, caller: ApiKey, source: PunchSource, now: datetime, devices: "_CachedDevices"
    ) -> Punch:
        try:
            submission = PunchSubmission.model_validate(item)
        except ValidationError as error:
            raise IngestRejected("invalid_punch", describe_validation_error(error)) from None
        if not caller.allows_device(submission.device_id):
            raise IngestRejected(
                "device_not_allowed", f"this API key may not send for {submission.device_id}"
            )
        device = devices.get(submission.device_id)
        if device is not None and not device.enabled:
            raise IngestRejected("device_disabled", f"device {submission.device_id} is disabled")
        try:
            resolved = resolve_timestamp(
                submission.timestamp, device.time_zone if device else None, self._settings.default_time_zone
            )
            check_plausible(resolved.instant, now, self._settings.max_future, self._settings.max_past)
        except InvalidTime as error:
            raise IngestRejected("invalid_timestamp", str(error)) from None
        if source is PunchSource.MANUAL and resolved.instant > now:  # a clock may run ahead; an admin may not
            raise IngestRejected(
                "invalid_timestamp",
                f"{submission.timestamp} is later than now: a missed punch is one that happened",
            )
        return Punch(
            log_id=punch_log_id(submission.device_id, submission.user_id, resolved.instant, submission.type),
            device_id=submission.device_id,
            user_id=submission.user_id,
            instant=resolved.instant,
            local_time=resolved.local_time,
            time_zone=resolved.time_zone,
            type=submission.type,
            source=PunchSource(submission.source) if submission.source else source,
            received_at=now,
            verify_mode=submission.verify_mode,
        )

    def _store_all(
        self, punches: list[tuple[int, Punch]], now: datetime, budget: TimeBudget
    ) -> tuple[dict[int, ItemResult], StoreUnavailable | None]:
        """Users in parallel; each user's punches in timestamp order, so a batch's outcome is fixed."""
        by_user: dict[str, list[tuple[int, Punch]]] = defaultdict(list)
        for index, punch in punches:
            by_user[punch.user_id].append((index, punch))
        groups = [
            sorted(group, key=lambda pair: (pair[1].instant, pair[1].log_id)) for group in by_user.values()
        ]
        try:
            known = self._read_ahead([punch for _, punch in punches], now)
        except StoreUnavailable as error:
            logger.error("store unavailable", extra={"error": str(error)})
            return {}, error
        results: dict[int, ItemResult] = {}
        failures: list[StoreUnavailable] = []
        with ThreadPoolExecutor(max_workers=max(1, min(_STORE_WORKERS, len(groups)))) as pool:
            for group_results, failure in pool.map(
                lambda group: self._store_group(group, now, known, budget), groups
            ):
                results |= group_results
                failures += [failure] if failure else []
        return results, failures[0] if failures else None

    def _read_ahead(self, punches: list[Punch], now: datetime) -> IntakeMemory:
        """For a batch, read together: the dedup records its punches are judged on, and which of the
        punches those records name as their duplicates' matches are stored (a resent batch's duplicates
        are confirmed a hundred a request). A single punch reads what it needs itself."""
        window = self._settings.dedup_window_seconds
        if window <= 0 or len(punches) < 2:
            return IntakeMemory()
        keys = {
            key
            for punch in punches
            for key in days_to_judge(punch.user_id, punch.epoch_seconds, window)
            if key
        }
        days = self._intake.dedup_days(sorted(keys), now)
        matches = earlier_matches(((p.log_id, p.user_id, p.epoch_seconds) for p in punches), days, window)
        return IntakeMemory(days, self._intake.stored_among(matches) if matches else set())

    def _store_group(
        self, group: list[tuple[int, Punch]], now: datetime, known: IntakeMemory, budget: TimeBudget
    ) -> tuple[dict[int, ItemResult], StoreUnavailable | None]:
        results: dict[int, ItemResult] = {}
        window = self._settings.dedup_window_seconds
        # this user's dedup records, as read for the batch; add() keeps them current as it stores. The set
        # of stored punches is shared by every user's thread (a punch is matched by its own user's only).
        memory = IntakeMemory(
            {
                key: known.days[key]
                for _, punch in group
                for key in days_to_judge(punch.user_id, punch.epoch_seconds, window)
                if key in known.days
            },
            known.stored,
        )
        pending = group
        while pending:
            if not budget.allows_another():
                results |= {later: _not_reached(later) for later, _ in pending}
                break
            run = _one_day_run(pending, window)
            try:
                stored = self._store_run([punch for _, punch in run], now, memory)
            except StoreUnavailable as error:
                logger.error("store unavailable", extra={"error": str(error)})
                return results, error
            for (index, punch), outcome in zip(run[: len(stored)], stored, strict=True):
                results[index] = _result_of(index, punch, outcome.outcome, outcome.log_id, self._settings)
            pending = pending[len(stored) :]
        return results, None

    def _store_run(self, run: list[Punch], now: datetime, memory: IntakeMemory) -> list[StoreResult]:
        """A run of one user-day's punches claimed together, else its first punch alone (the outcomes of
        those stored, in order)."""
        retention = timedelta(days=self._settings.dedup_retention_days)
        window = self._settings.dedup_window_seconds
        together = self._intake.add_day(run, window, retention, now, memory) if len(run) > 1 else None
        return together or [self._intake.add(run[0], window, retention, now, memory)]


def _one_day_run(punches: list[tuple[int, Punch]], window_seconds: int) -> list[tuple[int, Punch]]:
    """The leading punches (in timestamp order) that lie on one UTC day, none less than a window from its
    midnights: a batch's run of one user-day, claimed in one write. A punch near midnight runs alone."""
    if window_seconds <= 0:
        return punches[:1]
    first = punches[0][1]
    day = days_to_judge(first.user_id, first.epoch_seconds, window_seconds)
    if day[1] is not None:
        return punches[:1]
    run = []
    for index, punch in punches[:_LONGEST_RUN]:
        if days_to_judge(punch.user_id, punch.epoch_seconds, window_seconds) != day:
            break
        run.append((index, punch))
    return run


def _log_outcome(results: Sequence[ItemResult]) -> None:
    """One line per request (a line per punch would cost more in log ingestion than storing the punch)."""
    counts = Counter(result.status.value for result in results)
    accepted = [result.log_id for result in results if result.status is ItemStatus.ACCEPTED]
    rejected = Counter(result.error for result in results if result.status is ItemStatus.REJECTED)
    logger.info(
        "punches received", extra={"counts": dict(counts), "accepted": accepted, "rejected": dict(rejected)}
    )


def _not_reached(index: int) -> ItemResult:
    reason = "not stored: the request ran short of time before reaching it; send it again"
    return ItemResult(index=index, status=ItemStatus.RETRY, reason=reason)


def _result_of(
    index: int, punch: Punch, outcome: StoreOutcome, log_id: str, settings: PunchIntakeSettings
) -> ItemResult:
    if outcome is StoreOutcome.ACCEPTED:
        return ItemResult(index=index, status=ItemStatus.ACCEPTED, log_id=log_id)
    if outcome is StoreOutcome.EARLIER_IN_FLIGHT:
        reason = (
            f"an earlier punch of user {punch.user_id} close to this one is still being stored; send it again"
        )
        return ItemResult(index=index, status=ItemStatus.RETRY, reason=reason)
    duplicate = ItemResult(index=index, status=ItemStatus.DUPLICATE, log_id=log_id)
    if outcome is StoreOutcome.DUPLICATE:
        reason = "this punch was already received"
        return duplicate.model_copy(update={"reason": reason, "duplicate_kind": DuplicateKind.SAME_PUNCH})
    window = settings.dedup_window_seconds
    reason = f"user {punch.user_id} has an accepted punch less than {window} s from this one"
    near = {"reason": reason, "duplicate_kind": DuplicateKind.NEAR_PUNCH, "window_seconds": window}
    return duplicate.model_copy(update=near)


class _CachedDevices:
    """Each device is looked up once per request."""

    def __init__(self, store: DeviceStore) -> None:
        self._store = store
        self._seen: dict[str, Device | None] = {}

    def get(self, device_id: str) -> Device | None:
        if device_id not in self._seen:
            self._seen[device_id] = self._store.get(device_id)
        return self._seen[device_id]
