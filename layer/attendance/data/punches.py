"""The punches table (one item per accepted punch, kept) and the dedup slots table (TTL'd)."""

import time
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from attendance.data.aws import StoreUnavailable, from_item, to_item, unavailable_on_aws_errors
from attendance.domain.dedup import SlotClaim
from attendance.domain.punch import Punch, PunchSource, PunchType, SyncStatus
from attendance.domain.records import PunchRecord

STATUS_INDEX = "byStatus"
DATE_INDEX = "byLocalDate"
USER_INDEX = "byUser"
_CONFLICT_RETRIES = 5


class StoreOutcome(StrEnum):
    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"
    NEAR_DUPLICATE = "near_duplicate"


@dataclass(frozen=True)
class StoreResult:
    outcome: StoreOutcome
    log_id: str  # the new punch's logId, or the earlier punch's for a duplicate


@dataclass(frozen=True)
class DeliveryClaim:
    won: bool  # this delivery holds the lease; else another one does, or the punch is not pending
    record: PunchRecord | None  # the punch as the claim found it; None when there is no such punch


class StatusChange(StrEnum):
    UPDATED = "updated"
    SYNCED = "synced"  # delivered meanwhile: left as it is
    MISSING = "missing"


# A delivered punch is never downgraded, and an update never creates a punch.
_NOT_DELIVERED = "attribute_exists(logId) AND syncStatus <> :synced"
_APPEND_HISTORY = "history = list_append(if_not_exists(history, :empty), :entry)"


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class PunchStore:
    def __init__(self, client: Any, punches_table: str, dedup_table: str | None = None) -> None:
        self._client = client
        self._punches_table = punches_table
        self._dedup_table = dedup_table

    def add(self, punch: Punch, window_seconds: int, retention: timedelta, now: datetime) -> StoreResult:
        """Store a new punch unless it is an exact or near duplicate, atomically."""
        actions = [self._put_punch(punch, now)]
        if window_seconds > 0:
            claim = SlotClaim(punch.user_id, punch.epoch_seconds, window_seconds)
            actions += self._slot_actions(claim, punch.log_id, now, now + retention)
        for attempt in range(_CONFLICT_RETRIES):
            reasons = self._transact(actions)
            if reasons is None:
                return StoreResult(StoreOutcome.ACCEPTED, punch.log_id)
            duplicate = _duplicate_from(reasons, punch.log_id)
            if duplicate:
                return duplicate
            time.sleep(0.02 * 2**attempt)  # a racing request held one of our slots: try again
        raise StoreUnavailable("storing a punch kept conflicting with concurrent requests")

    def _transact(self, actions: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
        """None when the transaction went through, else DynamoDB's reason for each action."""
        with unavailable_on_aws_errors("storing a punch"):
            try:
                self._client.transact_write_items(TransactItems=actions)
            except self._client.exceptions.TransactionCanceledException as cancelled:
                return cancelled.response.get("CancellationReasons", [])
        return None

    def get(self, log_id: str) -> PunchRecord | None:
        with unavailable_on_aws_errors("reading a punch"):
            reply = self._client.get_item(
                TableName=self._punches_table, Key=to_item({"logId": log_id}), ConsistentRead=True
            )
        return record_from_item(reply["Item"]) if "Item" in reply else None

    def pending_queued_before(self, cutoff: datetime) -> list[PunchRecord]:
        """Punches still pending whose last trip to the queue is older than the cutoff."""
        pages = self._query_pages(
            "listing pending punches",
            STATUS_INDEX,
            "syncStatus = :pending AND receivedAt < :cutoff",
            {":pending": SyncStatus.PENDING, ":cutoff": iso(cutoff)},
            FilterExpression="queuedAt < :cutoff",
        )
        return [record_from_item(item) for page in pages for item in page["Items"]]

    def count_by_status(self) -> dict[str, int]:
        """How many punches are in each sync status, counted on the status index."""
        counts = {}
        for status in SyncStatus:
            pages = self._query_pages(
                "counting punches",
                STATUS_INDEX,
                "syncStatus = :status",
                {":status": status.value},
                Select="COUNT",
            )
            counts[status.value] = sum(page["Count"] for page in pages)
        return counts

    def oldest_pending(self) -> PunchRecord | None:
        with unavailable_on_aws_errors("finding the oldest pending punch"):
            reply = self._client.query(
                TableName=self._punches_table,
                IndexName=STATUS_INDEX,
                Limit=1,
                ScanIndexForward=True,
                KeyConditionExpression="syncStatus = :pending",
                ExpressionAttributeValues=to_item({":pending": SyncStatus.PENDING.value}),
            )
        return record_from_item(reply["Items"][0]) if reply.get("Items") else None

    def count_on_date(self, local_date: str) -> dict[str, int]:
        """Sync statuses of one device-local date's punches, on the date index."""
        counts = dict.fromkeys((status.value for status in SyncStatus), 0)
        pages = self._query_pages(
            "counting punches",
            DATE_INDEX,
            "localDate = :date",
            {":date": local_date},
            ProjectionExpression="syncStatus",
        )
        for page in pages:
            for item in page["Items"]:
                counts[item["syncStatus"]["S"]] += 1
        return counts

    def on_local_dates(self, dates: list[str], user_id: str | None = None) -> list[Punch]:
        """Every punch on these device-local dates, by the date index (a day is one partition)."""
        punches: list[Punch] = []
        for local_date in dates:
            condition, values = "localDate = :date", {":date": local_date}
            filters = {}
            if user_id:
                filters = {"FilterExpression": "userId = :user"}
                values[":user"] = user_id
            punches += self._punches(DATE_INDEX, condition, values, **filters)
        return punches

    def of_user(self, user_id: str, start: datetime, end: datetime) -> list[Punch]:
        """One employee's punches between two instants, by the user index."""
        values = {":user": user_id, ":start": iso(start), ":end": iso(end)}
        return self._punches(USER_INDEX, "userId = :user AND punchTime BETWEEN :start AND :end", values)

    def _punches(self, index: str, condition: str, values: dict[str, Any], **extra: Any) -> list[Punch]:
        pages = self._query_pages("querying punches", index, condition, values, **extra)
        return [record_from_item(item).punch for page in pages for item in page["Items"]]

    def _query_pages(
        self, action: str, index: str, condition: str, values: dict[str, Any], **extra: Any
    ) -> list[dict[str, Any]]:
        """Every page of a query on one of the punches table's indexes."""
        with unavailable_on_aws_errors(action):
            return list(
                self._client.get_paginator("query").paginate(
                    TableName=self._punches_table,
                    IndexName=index,
                    KeyConditionExpression=condition,
                    ExpressionAttributeValues=to_item(values),
                    **extra,
                )
            )

    def mark_queued(self, log_id: str, now: datetime) -> None:
        # A punch delivered meanwhile is no longer pending: nothing to mark.
        not_pending = self._client.exceptions.ConditionalCheckFailedException
        with unavailable_on_aws_errors("marking a punch queued"), suppress(not_pending):
            self._client.update_item(
                TableName=self._punches_table,
                Key=to_item({"logId": log_id}),
                UpdateExpression="SET queuedAt = :now",
                ConditionExpression="syncStatus = :pending",
                ExpressionAttributeValues=to_item({":now": iso(now), ":pending": SyncStatus.PENDING}),
            )

    def claim_delivery(self, log_id: str, owner: str, now: datetime, seconds: float) -> DeliveryClaim:
        """Lease a pending punch to one delivery for `seconds`, unless another holds a live lease.

        DynamoDB judges the condition, so of copies racing for one punch exactly one wins. leaseUntil is
        in epoch seconds, and a lease is live while leaseUntil >= now (whole seconds): it lasts at least
        `seconds`, at most one more. Claiming counts no attempt: record_delivery does, and ends the lease.
        """
        values = {
            ":owner": owner,
            ":until": int(now.timestamp() + seconds),
            ":now": int(now.timestamp()),
            ":pending": SyncStatus.PENDING,
        }
        refused = self._client.exceptions.ConditionalCheckFailedException
        with unavailable_on_aws_errors("leasing a punch for delivery"):
            try:
                reply = self._client.update_item(
                    TableName=self._punches_table,
                    Key=to_item({"logId": log_id}),
                    UpdateExpression="SET leaseUntil = :until, leaseOwner = :owner",
                    ConditionExpression="syncStatus = :pending "
                    "AND (attribute_not_exists(leaseUntil) OR leaseUntil < :now)",
                    ExpressionAttributeValues=to_item(values),
                    ReturnValues="ALL_NEW",
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
            except refused as error:
                found = error.response.get("Item")
                return DeliveryClaim(False, record_from_item(found) if found else None)
        return DeliveryClaim(True, record_from_item(reply["Attributes"]))

    def record_delivery(
        self, log_id: str, now: datetime, status: SyncStatus, detail: str, crm_reference: str | None = None
    ) -> None:
        """Count a delivery attempt and its outcome, ending its lease; a synced punch is never downgraded."""
        values = _history_values(now, status, detail) | {":one": 1, ":zero": 0}
        update = (
            "SET syncStatus = :status, lastAttemptAt = :now, attempts = if_not_exists(attempts, :zero) + :one, "
            + _APPEND_HISTORY
        )
        if status is SyncStatus.SYNCED:
            update += ", syncedAt = :now" + (", crmReference = :reference" if crm_reference else "")
            values |= {":reference": crm_reference} if crm_reference else {}
        else:
            update += ", lastError = :error"
            values[":error"] = detail[:500]
        not_synced = self._client.exceptions.ConditionalCheckFailedException
        with unavailable_on_aws_errors("recording a delivery"), suppress(not_synced):
            self._client.update_item(
                TableName=self._punches_table,
                Key=to_item({"logId": log_id}),
                UpdateExpression=update + " REMOVE leaseUntil, leaseOwner",
                ConditionExpression=_NOT_DELIVERED,
                ExpressionAttributeValues=to_item(values),
            )

    def change_status(self, log_id: str, status: SyncStatus, note: str, now: datetime) -> StatusChange:
        """An admin's change of a punch not yet delivered (redriven: pending, purged: abandoned), with its
        history entry; it counts as queued now. A synced punch is left as it is."""
        refused = self._client.exceptions.ConditionalCheckFailedException
        with unavailable_on_aws_errors("updating a punch"):
            try:
                self._client.update_item(
                    TableName=self._punches_table,
                    Key=to_item({"logId": log_id}),
                    UpdateExpression="SET syncStatus = :status, queuedAt = :now, " + _APPEND_HISTORY,
                    ConditionExpression=_NOT_DELIVERED,
                    ExpressionAttributeValues=to_item(_history_values(now, status, note)),
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
            except refused as error:
                return StatusChange.SYNCED if error.response.get("Item") else StatusChange.MISSING
        return StatusChange.UPDATED

    def _put_punch(self, punch: Punch, now: datetime) -> dict[str, Any]:
        return {
            "Put": {
                "TableName": self._punches_table,
                "Item": to_item(punch_item(punch, now)),
                "ConditionExpression": "attribute_not_exists(logId)",
            }
        }

    def _slot_actions(self, claim: SlotClaim, log_id: str, now: datetime, expires: datetime) -> list[dict]:
        if not self._dedup_table:
            raise ValueError("near-duplicate checks need the dedup table")
        live = "attribute_not_exists(pk) OR expiresAt < :now"
        now_value = to_item({":now": int(now.timestamp())})
        own = {
            "pk": claim.own_key,
            "logId": log_id,
            "punchEpoch": claim.epoch,
            "expiresAt": int(expires.timestamp()),
        }
        return [
            {
                "Put": {
                    "TableName": self._dedup_table,
                    "Item": to_item(own),
                    "ConditionExpression": live,
                    "ExpressionAttributeValues": now_value,
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                }
            },
            self._neighbour_check(
                claim.before_key,
                f"{live} OR punchEpoch <= :bound",
                now_value | to_item({":bound": claim.earliest_allowed_before}),
            ),
            self._neighbour_check(
                claim.after_key,
                f"{live} OR punchEpoch >= :bound",
                now_value | to_item({":bound": claim.latest_allowed_after}),
            ),
        ]

    def _neighbour_check(self, key: str, condition: str, values: dict[str, Any]) -> dict[str, Any]:
        return {
            "ConditionCheck": {
                "TableName": self._dedup_table,
                "Key": to_item({"pk": key}),
                "ConditionExpression": condition,
                "ExpressionAttributeValues": values,
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        }


def _duplicate_from(reasons: list[dict[str, Any]], log_id: str) -> StoreResult | None:
    """Which condition failed: the punch itself (exact duplicate) or a slot (near duplicate)."""
    failed = [reason.get("Code") == "ConditionalCheckFailed" for reason in reasons]
    if failed and failed[0]:
        return StoreResult(StoreOutcome.DUPLICATE, log_id)
    for reason, did_fail in zip(reasons, failed, strict=True):
        if did_fail:
            earlier = from_item(reason.get("Item", {}))
            return StoreResult(StoreOutcome.NEAR_DUPLICATE, str(earlier.get("logId", "")))
    return None  # only conflicts with concurrent transactions


def _history_values(now: datetime, status: SyncStatus, detail: str) -> dict[str, Any]:
    """The values of a status update and its history entry (_APPEND_HISTORY, _NOT_DELIVERED)."""
    entry = {"at": iso(now), "status": status.value, "detail": detail[:500]}
    return {
        ":status": status.value,
        ":now": iso(now),
        ":entry": [entry],
        ":empty": [],
        ":synced": SyncStatus.SYNCED.value,
    }


def punch_item(punch: Punch, now: datetime) -> dict[str, Any]:
    return {
        "logId": punch.log_id,
        "deviceId": punch.device_id,
        "userId": punch.user_id,
        "punchTime": iso(punch.instant),
        "punchEpoch": punch.epoch_seconds,
        "localTime": punch.local_time,
        "localDate": punch.local_time[:10],
        "timeZone": punch.time_zone,
        "type": punch.type.value,
        "source": punch.source.value,
        "verifyMode": punch.verify_mode,
        "receivedAt": iso(punch.received_at),
        "queuedAt": iso(now),
        "syncStatus": SyncStatus.PENDING.value,
        "attempts": 0,
    }


def record_from_item(item: dict[str, Any]) -> PunchRecord:
    values = from_item(item)
    punch = Punch(
        log_id=values["logId"],
        device_id=values["deviceId"],
        user_id=values["userId"],
        instant=datetime.fromisoformat(values["punchTime"]),
        local_time=values["localTime"],
        time_zone=values["timeZone"],
        type=PunchType(values["type"]),
        source=PunchSource(values["source"]),
        received_at=datetime.fromisoformat(values["receivedAt"]),
        verify_mode=values.get("verifyMode"),
    )
    queued_at = values.get("queuedAt")
    return PunchRecord(
        punch=punch,
        status=SyncStatus(values["syncStatus"]),
        attempts=values.get("attempts", 0),
        last_error=values.get("lastError"),
        queued_at=datetime.fromisoformat(queued_at) if queued_at else None,
        history=values.get("history", []),
    )
