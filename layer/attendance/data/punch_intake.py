"""Taking punches in: each new punch stored once, judged on its user-day dedup records (domain/dedup.py).

The dedup table holds one TTL'd record per user and UTC day; the punches table one item per accepted punch.
"""

import time
from collections.abc import Iterable
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from aws_lambda_powertools import Logger

from attendance.data.aws import StoreUnavailable, batch_get, from_item, to_item, unavailable_on_aws_errors
from attendance.data.punches import punch_item
from attendance.domain.dedup import DedupDay, Judgement, Verdict, days_to_judge, judge, judge_together
from attendance.domain.punch import Punch, PunchSource, SyncStatus

logger = Logger(child=True)

_CONFLICT_RETRIES = 5
_CLAIM_CHECK_DELAYS = (0.05, 0.1, 0.2, 0.4, 0.4)  # how long a near duplicate waits for a claimed punch


class StoreOutcome(StrEnum):
    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"
    NEAR_DUPLICATE = "near_duplicate"
    EARLIER_IN_FLIGHT = "earlier_in_flight"  # near a punch claimed but not stored yet: not stored, send again


@dataclass(frozen=True)
class StoreResult:
    outcome: StoreOutcome
    log_id: str  # the new punch's logId, or the earlier punch's for a duplicate


_VERDICT_OUTCOMES = {Verdict.EXACT: StoreOutcome.DUPLICATE, Verdict.NEAR: StoreOutcome.NEAR_DUPLICATE}


@dataclass
class IntakeMemory:
    """What one request has learnt of the store, so that a batch asks it once rather than per punch: the
    dedup records it read or wrote (a record that moved on is read again), and punches it knows to be
    stored (a punch, once stored, stays)."""

    days: dict[str, DedupDay] = field(default_factory=dict)
    stored: set[str] = field(default_factory=set)


class PunchIntake:
    def __init__(self, client: Any, punches_table: str, dedup_table: str) -> None:
        self._client = client
        self._punches_table = punches_table
        self._dedup_table = dedup_table

    def add(
        self,
        punch: Punch,
        window_seconds: int,
        retention: timedelta,
        now: datetime,
        memory: IntakeMemory | None = None,
        replacing: str | None = None,
    ) -> StoreResult:
        """Store a new punch unless it is an exact or near duplicate (attendance/domain/dedup.py).

        `memory` carries what this caller's request has learnt of the store, and learns what this adds.
        `replacing`: the logId of a punch this one corrects, which is being voided: no duplicate of it.
        """
        if window_seconds <= 0:
            return self._put_new(punch, now)
        memory = memory or IntakeMemory()
        keys = _day_keys(punch, window_seconds)
        for attempt in range(_CONFLICT_RETRIES):
            days = [memory.days.get(key) or self._dedup_day(key, now, consistent=attempt > 0) for key in keys]
            memory.days |= {day.key: day for day in days}
            judgement = self._judge(punch, window_seconds, days, replacing)
            if judgement.verdict is Verdict.NEW:
                result = self._store_new(punch, days, retention, now, memory.days, attempt)
            else:
                result = self._confirm_earlier(punch, judgement, days, now, memory.stored)
            if result:
                if result.outcome is StoreOutcome.ACCEPTED:
                    memory.stored.add(punch.log_id)
                return result
            for key in keys:  # a racing request wrote one of the days, or a claim was withdrawn
                memory.days.pop(key, None)
        raise StoreUnavailable("storing a punch kept conflicting with concurrent requests")

    def judgement(
        self, punch: Punch, window_seconds: int, now: datetime, replacing: str | None = None
    ) -> Judgement:
        """How `punch` would be judged if it were added now (as `add` judges it); nothing is written."""
        if window_seconds <= 0:
            return Judgement(Verdict.EXACT if self._exists(punch.log_id) else Verdict.NEW, punch.log_id)
        days = [self._dedup_day(key, now, consistent=True) for key in _day_keys(punch, window_seconds)]
        return self._judge(punch, window_seconds, days, replacing)

    def _judge(
        self, punch: Punch, window_seconds: int, days: list[DedupDay], replacing: str | None = None
    ) -> Judgement:
        """The punch judged on its days; one an admin adds by hand is not the near duplicate of a voided
        punch (read, consistently, on such near duplicates only), nor of the punch it is `replacing`."""
        not_counting: set[str] = {replacing} if replacing else set()
        while True:
            judgement = judge(punch.log_id, punch.epoch_seconds, window_seconds, days, not_counting)
            manual_near = judgement.verdict is Verdict.NEAR and punch.source is PunchSource.MANUAL
            if not (manual_near and self.voided(judgement.log_id)):
                return judgement
            not_counting.add(judgement.log_id)

    def voided(self, log_id: str) -> bool:
        """Whether the stored punch `log_id` is voided (a consistent read)."""
        return (self._read(log_id, "syncStatus") or {}).get("syncStatus") == SyncStatus.VOIDED.value

    def _store_new(
        self,
        punch: Punch,
        days: list[DedupDay],
        retention: timedelta,
        now: datetime,
        known: dict[str, DedupDay],
        attempt: int,
    ) -> StoreResult | None:
        """Claim the punch in its day, then store it; None when a day moved on since it was read."""
        own, *neighbour = days
        claimed = own.with_punch(punch.log_id, punch.epoch_seconds, int(now.timestamp()))
        expires = now + retention
        if neighbour:
            return self._store_beside_midnight(punch, claimed, neighbour[0], expires, now, known, attempt)
        if not self._claim(claimed, expires):
            return None
        known[claimed.key] = claimed
        return self._put_new(punch, now)

    def add_day(
        self,
        punches: list[Punch],
        window_seconds: int,
        retention: timedelta,
        now: datetime,
        memory: IntakeMemory,
    ) -> list[StoreResult] | None:
        """One user's punches of one UTC day, none less than a window from its midnights, in timestamp
        order: claimed in one write, then stored one by one, with the outcomes `add` would give each in
        turn. None, with nothing written, when one of them must first be confirmed against a punch claimed
        before, or the day moved on since it was read: the caller then adds them one by one."""
        key, _ = days_to_judge(punches[0].user_id, punches[0].epoch_seconds, window_seconds)
        day = memory.days.get(key) or self._dedup_day(key, now, consistent=False)
        judgements = judge_together([(p.log_id, p.epoch_seconds) for p in punches], day, window_seconds)
        if judgements is None:
            return None
        new = {
            p.log_id: p.epoch_seconds
            for p, j in zip(punches, judgements, strict=True)
            if j.verdict is Verdict.NEW
        }
        claimed = day.with_punches(new, int(now.timestamp()))
        if not self._claim(claimed, now + retention):
            memory.days.pop(key, None)
            return None
        memory.days[key] = claimed
        results = []
        for punch, judgement in zip(punches, judgements, strict=True):
            if judgement.verdict is Verdict.NEW:
                results.append(self._put_new(punch, now))
                memory.stored.add(punch.log_id)
            else:  # a duplicate of one of these, stored just before
                results.append(StoreResult(_VERDICT_OUTCOMES[judgement.verdict], judgement.log_id))
        return results

    def _claim(self, claimed: DedupDay, expires: datetime) -> bool:
        """Write a day with its new claims on condition that it is still the version read."""
        moved_on = self._client.exceptions.ConditionalCheckFailedException
        with unavailable_on_aws_errors("storing a punch"):
            try:
                self._client.put_item(**self._put_day(claimed, expires)["Put"])
            except moved_on:
                return False
        return True

    def _store_beside_midnight(
        self,
        punch: Punch,
        claimed: DedupDay,
        neighbour: DedupDay,
        expires: datetime,
        now: datetime,
        known: dict[str, DedupDay],
        attempt: int,
    ) -> StoreResult | None:
        """A punch less than a window from midnight is judged on two days: its own is written and the
        neighbour's version checked with the punch itself in one transaction (a rare case, at twice the
        units), so that nothing lands between the check and the write."""
        actions = [
            self._put_punch(punch, now),
            self._put_day(claimed, expires),
            self._day_unchanged(neighbour),
        ]
        reasons = self._transact(actions)
        if reasons is None:
            known[claimed.key] = claimed
            return StoreResult(StoreOutcome.ACCEPTED, punch.log_id)
        if _failed(reasons[0]):
            return StoreResult(StoreOutcome.DUPLICATE, punch.log_id)
        if not any(_failed(reason) for reason in reasons):
            time.sleep(0.02 * 2**attempt)  # a concurrent transaction, not a changed day: back off
        return None

    def _put_new(self, punch: Punch, now: datetime) -> StoreResult:
        """Put a punch on condition that no punch has its logId: one stored before its dedup record expired,
        or by a request racing this one to store a claimed punch, makes it a duplicate."""
        exists = self._client.exceptions.ConditionalCheckFailedException
        with unavailable_on_aws_errors("storing a punch"):
            try:
                self._client.put_item(**self._put_punch(punch, now)["Put"])
            except exists:
                return StoreResult(StoreOutcome.DUPLICATE, punch.log_id)
        return StoreResult(StoreOutcome.ACCEPTED, punch.log_id)

    def _confirm_earlier(
        self, punch: Punch, judgement: Judgement, days: list[DedupDay], now: datetime, known_stored: set[str]
    ) -> StoreResult | None:
        """A duplicate stands once the punch it matches is stored. A claim whose punch is missing belongs to
        an invocation still storing it, or to one that died before it could: this very punch is then
        stored now; a near duplicate waits for the earlier punch, or for its claim to be withdrawn (None:
        judge again)."""
        if judgement.log_id in known_stored or self._stored(
            judgement.log_id, wait=judgement.verdict is Verdict.NEAR
        ):
            return StoreResult(_VERDICT_OUTCOMES[judgement.verdict], judgement.log_id)
        if judgement.verdict is Verdict.EXACT:
            return self._put_new(punch, now)
        [day] = [day for day in days if judgement.log_id in day.punches]
        if day.claims_may_be_in_flight(int(now.timestamp())):
            return StoreResult(StoreOutcome.EARLIER_IN_FLIGHT, judgement.log_id)
        self._withdraw_claim(day, judgement.log_id)
        return None

    def _stored(self, log_id: str, wait: bool) -> bool:
        """Whether the punch is stored; with `wait`, checked again over about a second (an invocation puts
        its punch a few milliseconds after claiming it)."""
        for delay in (0.0, *_CLAIM_CHECK_DELAYS) if wait else (0.0,):
            time.sleep(delay)
            if self._exists(log_id):
                return True
        return False

    def stored_among(self, log_ids: Iterable[str]) -> set[str]:
        """Which of these punches are stored, read together (strongly consistent, as a single check is)."""
        keys = [{"logId": log_id} for log_id in sorted(set(log_ids))]
        found = batch_get(
            self._client,
            self._punches_table,
            keys,
            "reading punches",
            ConsistentRead=True,
            ProjectionExpression="logId",
        )
        return {item["logId"] for item in found}

    def _exists(self, log_id: str) -> bool:
        return self._read(log_id, "logId") is not None

    def _read(self, log_id: str, attributes: str) -> dict[str, Any] | None:
        """A punch's `attributes` (a projection), read strongly consistent; None when it is not stored."""
        with unavailable_on_aws_errors("reading a punch"):
            reply = self._client.get_item(
                TableName=self._punches_table,
                Key=to_item({"logId": log_id}),
                ConsistentRead=True,
                ProjectionExpression=attributes,
            )
        return from_item(reply["Item"]) if "Item" in reply else None

    def _withdraw_claim(self, day: DedupDay, log_id: str) -> None:
        """Take an abandoned claim out of its day; a day that moved on meanwhile is judged again as it is."""
        logger.warning("abandoned dedup claim withdrawn", extra={"logId": log_id, "day": day.key})
        moved_on = self._client.exceptions.ConditionalCheckFailedException
        with unavailable_on_aws_errors("withdrawing a dedup claim"), suppress(moved_on):
            self._client.update_item(
                TableName=self._dedup_table,
                Key=to_item({"pk": day.key}),
                UpdateExpression="SET version = :next REMOVE punches.#claim",
                ConditionExpression="version = :read",
                ExpressionAttributeNames={"#claim": log_id},
                ExpressionAttributeValues=to_item({":next": day.version + 1, ":read": day.version}),
            )

    def dedup_days(self, keys: list[str], now: datetime) -> dict[str, DedupDay]:
        """Many user-days' records at once (a batch's), a hundred keys a request."""
        found = {key: DedupDay(key) for key in keys}
        items = batch_get(
            self._client, self._dedup_table, [{"pk": key} for key in keys], "reading the dedup records"
        )
        for day in (_dedup_day_from(item, now) for item in items):
            found[day.key] = day
        return found

    def _dedup_day(self, key: str, now: datetime, consistent: bool) -> DedupDay:
        with unavailable_on_aws_errors("reading the dedup records"):
            reply = self._client.get_item(
                TableName=self._dedup_table, Key=to_item({"pk": key}), ConsistentRead=consistent
            )
        return _dedup_day_from(from_item(reply["Item"]), now) if "Item" in reply else DedupDay(key)

    def _put_day(self, day: DedupDay, expires: datetime) -> dict[str, Any]:
        item = {
            "pk": day.key,
            "version": day.version,
            "punches": dict(day.punches),
            "claimedAt": day.claimed_at,
        }
        return {
            "Put": {
                "TableName": self._dedup_table,
                "Item": to_item(item | {"expiresAt": int(expires.timestamp())}),
            }
            | _read_at(day.version - 1)
        }

    def _day_unchanged(self, day: DedupDay) -> dict[str, Any]:
        return {
            "ConditionCheck": {"TableName": self._dedup_table, "Key": to_item({"pk": day.key})}
            | _read_at(day.version)
        }

    def _transact(self, actions: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
        """None when the transaction went through, else DynamoDB's reason for each action."""
        with unavailable_on_aws_errors("storing a punch"):
            try:
                self._client.transact_write_items(TransactItems=actions)
            except self._client.exceptions.TransactionCanceledException as cancelled:
                return cancelled.response.get("CancellationReasons", [])
        return None

    def _put_punch(self, punch: Punch, now: datetime) -> dict[str, Any]:
        return {
            "Put": {
                "TableName": self._punches_table,
                "Item": to_item(punch_item(punch, now)),
                "ConditionExpression": "attribute_not_exists(logId)",
            }
        }


def _day_keys(punch: Punch, window_seconds: int) -> list[str]:
    """The user-day records a punch is judged on: its own day's, and a neighbouring day's within the window."""
    return [key for key in days_to_judge(punch.user_id, punch.epoch_seconds, window_seconds) if key]


def _dedup_day_from(values: dict[str, Any], now: datetime) -> DedupDay:
    """A user-day's record; one past its retention counts as empty but keeps its version."""
    live = values["expiresAt"] >= int(now.timestamp())
    punches = {log_id: int(epoch) for log_id, epoch in values["punches"].items()} if live else {}
    return DedupDay(values["pk"], int(values["version"]), punches, int(values.get("claimedAt", 0)))


def _failed(reason: dict[str, Any]) -> bool:
    return reason.get("Code") == "ConditionalCheckFailed"


def _read_at(version: int) -> dict[str, Any]:
    """The condition that a dedup day record is still as it was read (version 0: there was none)."""
    if version == 0:
        return {"ConditionExpression": "attribute_not_exists(pk)"}
    return {
        "ConditionExpression": "version = :read",
        "ExpressionAttributeValues": to_item({":read": version}),
    }
