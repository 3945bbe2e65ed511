"""The punches table (one item per accepted punch, kept): reading punches and recording their delivery.
Punches are stored by data/punch_intake.py."""

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from attendance.data.aws import batch_get, from_item, to_item, unavailable_on_aws_errors
from attendance.data.punch_lists import with_delivery_status
from attendance.domain.punch import Punch, PunchSource, PunchType, SyncStatus
from attendance.domain.records import DayPunch, PunchRecord
from attendance.domain.shards import DATE_SHARDS, UNDELIVERED_SHARDS, every_shard, sharded, unsharded

UNDELIVERED_INDEX = "byUndelivered"
DATE_INDEX = "byLocalDate"
USER_INDEX = "byUser"
_SHARD_READERS = 8  # a date's shards are queried this many at a time
# The sparse index holds every punch not delivered, and the voided: delivered or not, no longer to be.
_UNDELIVERED = (
    SyncStatus.PENDING,
    SyncStatus.FAILED,
    SyncStatus.ABANDONED,
    SyncStatus.VOIDING,
    SyncStatus.VOIDED,
)


@dataclass(frozen=True)
class DeliveryClaim:
    won: bool  # this delivery holds the lease; else another one does, or the punch is not pending
    record: PunchRecord | None  # the punch as the claim found it; None when there is no such punch
    lease_until: int | None = None  # a lost claim: when the holder's lease ends (epoch seconds), if leased


@dataclass(frozen=True)
class Backlog:
    counts: dict[str, int]  # punches by sync status, the delivered as the rest of the table (or the date)
    oldest_pending: PunchRecord | None


class StatusChange(StrEnum):
    UPDATED = "updated"
    SYNCED = "synced"  # delivered (or voided) meanwhile: left as it is
    MISSING = "missing"


@dataclass(frozen=True)
class VoidDetails:
    """Who voids a punch and why, and the type it should have had, if it is voided to correct that."""

    by: str
    reason: str
    corrected_type: PunchType | None = None

    @property
    def note(self) -> str:
        """The void's entry in the punch's history."""
        note = f"voided by an admin ({self.by}): {self.reason}"
        return f"{note}; to be added again as {self.corrected_type}" if self.corrected_type else note


@dataclass(frozen=True)
class VoidRequest:
    record: PunchRecord | None  # the punch as it was before; None when there is no such punch
    accepted: bool  # False: no such punch, or it is voided (or being voided) already


# A delivered punch is never downgraded, a voided one never revived, and an update never creates a punch.
_NOT_DELIVERED = "attribute_exists(logId) AND NOT syncStatus IN (:synced, :voiding, :voided)"
_SETTLED = (SyncStatus.SYNCED, SyncStatus.VOIDING, SyncStatus.VOIDED)  # its names in _NOT_DELIVERED
_VOIDING = "syncStatus = :voiding"
_APPEND_HISTORY = "history = list_append(if_not_exists(history, :empty), :entry)"


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def shown_fields(punch: Punch) -> dict[str, Any]:
    """What every view of a punch shows of it (the feed's, the voids'), by field name."""
    return {
        "log_id": punch.log_id,
        "device_id": punch.device_id,
        "user_id": punch.user_id,
        "punch_time": iso(punch.instant),
        "local_time": punch.local_time,
        "time_zone": punch.time_zone,
        "type": punch.type,
    }


@dataclass(frozen=True)
class StaleUndelivered:
    pending: list[str]  # logIds of punches to queue again
    dead_letters: list[str]  # logIds of failed punches whose DLQ message is near the end of its retention
    voids: list[str]  # logIds of voided punches whose removal from the CRM is still to be done


class PunchStore:
    def __init__(self, client: Any, punches_table: str) -> None:
        self._client = client
        self._punches_table = punches_table

    def get(self, log_id: str) -> PunchRecord | None:
        with unavailable_on_aws_errors("reading a punch"):
            reply = self._client.get_item(
                TableName=self._punches_table, Key=to_item({"logId": log_id}), ConsistentRead=True
            )
        return record_from_item(reply["Item"]) if "Item" in reply else None

    def stale_undelivered(self, pending_cutoff: datetime, dead_letter_cutoff: datetime) -> StaleUndelivered:
        """The punches the sweep sends again, from one pass over the sparse index, which holds only the
        undelivered and the voided: those pending or being voided whose last trip to the queue is older
        than `pending_cutoff`, and those dead-lettered (failed) whose last message to the DLQ is older than
        `dead_letter_cutoff`."""
        entries = self._undelivered(
            "listing punches to queue again",
            "(begins_with(undelivered, :pending) AND receivedAt < :cutoff AND queuedAt < :cutoff) "
            "OR (begins_with(undelivered, :voiding) AND queuedAt < :cutoff) "
            "OR (begins_with(undelivered, :failed) AND queuedAt < :dead_cutoff)",
            {
                ":pending": f"{SyncStatus.PENDING}#",
                ":voiding": f"{SyncStatus.VOIDING}#",
                ":cutoff": iso(pending_cutoff),
                ":failed": f"{SyncStatus.FAILED}#",
                ":dead_cutoff": iso(dead_letter_cutoff),
            },
        )
        by_status: dict[str, list[str]] = {status: [] for status in _UNDELIVERED}
        for entry in entries:
            by_status[unsharded(entry["undelivered"])].append(entry["logId"])
        return StaleUndelivered(
            pending=by_status[SyncStatus.PENDING],
            dead_letters=by_status[SyncStatus.FAILED],
            voids=by_status[SyncStatus.VOIDING],
        )

    def backlog(self, local_date: str | None = None) -> Backlog:
        """How delivery stands, from one pass over the sparse index (the cost of the backlog, never of the
        table): the punches in each sync status (one device-local date's only, if given) and the oldest
        pending punch of all."""
        entries = self._undelivered("reading the delivery backlog")
        on_date = (
            [entry for entry in entries if entry.get("localDate") == local_date] if local_date else entries
        )
        counts = _by_status(on_date)
        total = self._count_on_date(local_date) if local_date else self._item_count()
        oldest = min(
            (entry for entry in entries if unsharded(entry["undelivered"]) == SyncStatus.PENDING),
            key=lambda entry: (entry["receivedAt"], entry["logId"]),
            default=None,
        )
        return Backlog(
            counts={SyncStatus.SYNCED.value: max(0, total - sum(counts.values()))} | counts,
            oldest_pending=self.get(oldest["logId"]) if oldest else None,
        )

    def _item_count(self) -> int:
        """The table's item count, which DynamoDB refreshes about every six hours: on AWS a constant-time
        read, where counting the delivered would read every punch ever delivered."""
        with unavailable_on_aws_errors("counting punches"):
            return self._client.describe_table(TableName=self._punches_table)["Table"]["ItemCount"]

    def _count_on_date(self, local_date: str) -> int:
        """How many punches one device-local date has, on the date index."""
        pages = self._each_shard("counting punches", [local_date], Select="COUNT")
        return sum(page["Count"] for shard in pages for page in shard)

    def _undelivered(
        self,
        action: str,
        condition: str | None = None,
        values: dict[str, Any] | None = None,
        attributes: str = "logId, undelivered, receivedAt, localDate",
    ) -> list[dict[str, Any]]:
        """Every entry of the sparse byUndelivered index (matching the condition): it holds only the
        punches not delivered, so reading it whole costs what the backlog is, never the table."""
        extra: dict[str, Any] = {"ProjectionExpression": attributes}
        if condition:
            extra |= {"FilterExpression": condition, "ExpressionAttributeValues": to_item(values or {})}
        with unavailable_on_aws_errors(action):
            pages = self._client.get_paginator("scan").paginate(
                TableName=self._punches_table, IndexName=UNDELIVERED_INDEX, **extra
            )
            return [from_item(item) for page in pages for item in page["Items"]]

    def voids(self, limit: int) -> list[PunchRecord]:
        """The `limit` punches voided or being voided whose void was asked for (or last tried) most recently,
        newest first: one pass over the sparse index, which keeps them, then their items."""
        entries = self._undelivered(
            "listing voided punches",
            "begins_with(undelivered, :voiding) OR begins_with(undelivered, :voided)",
            {":voiding": f"{SyncStatus.VOIDING}#", ":voided": f"{SyncStatus.VOIDED}#"},
            "logId, queuedAt",
        )
        entries.sort(key=lambda entry: (entry.get("queuedAt", ""), entry["logId"]), reverse=True)
        keys = [{"logId": entry["logId"]} for entry in entries[:limit]]
        found = batch_get(self._client, self._punches_table, keys, "reading voided punches")
        items = {item["logId"]: item for item in found}
        return [record_from_values(items[key["logId"]]) for key in keys if key["logId"] in items]

    def on_local_dates(self, dates: list[str], user_id: str | None = None) -> list[Punch]:
        """Every punch on these device-local dates (one user's only, if given), by the date index: every
        shard of every date queried in parallel. In punch time order."""
        punches = [
            punch_from_values(from_item(item))
            for pages in self._each_shard("querying punches", dates, user_id)
            for page in pages
            for item in page["Items"]
        ]
        return sorted(punches, key=lambda punch: (punch.instant, punch.log_id))

    def _each_shard(
        self, action: str, local_dates: list[str], user_id: str | None = None, **extra: Any
    ) -> Iterator[list[dict[str, Any]]]:
        """The pages of these dates' punches (one user's only, if given), shard by shard, queried in parallel."""
        values = {}
        if user_id:
            values, extra = {":user": user_id}, extra | {"FilterExpression": "userId = :user"}

        def query(key: str) -> list[dict[str, Any]]:
            return self._query_pages(action, DATE_INDEX, "dayShard = :day", values | {":day": key}, **extra)

        return _on_every_shard(local_dates, query)

    def latest_on_local_date(self, local_date: str, limit: int) -> list[DayPunch]:
        """The date's `limit` latest punches by punch time, newest first, with their delivery status: each
        shard's latest (one page of at most `limit`), merged."""

        def latest(key: str) -> list[dict[str, Any]]:
            with unavailable_on_aws_errors("querying a day's latest punches"):
                reply = self._client.query(
                    TableName=self._punches_table,
                    IndexName=DATE_INDEX,
                    KeyConditionExpression="dayShard = :day",
                    ExpressionAttributeValues=to_item({":day": key}),
                    ScanIndexForward=False,
                    Limit=limit,
                )
            return [from_item(item) for item in reply["Items"]]

        entries = [entry for shard in _on_every_shard([local_date], latest) for entry in shard]
        newest = sorted(entries, key=lambda entry: (entry["punchTime"], entry["logId"]), reverse=True)
        return with_delivery_status(self._client, self._punches_table, newest[:limit], DayPunch)

    def of_user(self, user_id: str, start: datetime, end: datetime) -> list[Punch]:
        """One employee's punches between two instants, by the user index."""
        values = {":user": user_id, ":start": iso(start), ":end": iso(end)}
        return self._punches(USER_INDEX, "userId = :user AND punchTime BETWEEN :start AND :end", values)

    def listed(self, punches: list[Punch]) -> list[DayPunch]:
        """These punches, in their order, as a list shows them: with each one's delivery status."""
        items = (punch_item(punch, punch.received_at) for punch in punches)
        entries = [{key: item[key] for key in _LISTED} for item in items]
        return with_delivery_status(self._client, self._punches_table, entries, DayPunch)

    def _punches(self, index: str, condition: str, values: dict[str, Any], **extra: Any) -> list[Punch]:
        pages = self._query_pages("querying punches", index, condition, values, **extra)
        return [punch_from_values(from_item(item)) for page in pages for item in page["Items"]]

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

    def backfill_index_keys(self, dry_run: bool, progress: Callable[[int, int], None]) -> int:
        """Give every punch stored before the sharded date index and the undelivered index its keys there;
        returns how many needed them. Safe to stop and run again: each punch is written once, on condition
        that its status is still the one read, and a run skips what an earlier one did."""
        missing = scanned = 0
        pages = self._client.get_paginator("scan").paginate(
            TableName=self._punches_table,
            # A voided punch left the date index on purpose.
            FilterExpression="(attribute_not_exists(dayShard) AND syncStatus <> :voided) "
            "OR (attribute_not_exists(undelivered) AND syncStatus <> :synced)",
            ProjectionExpression="logId, syncStatus, localDate",
            ExpressionAttributeValues=to_item(
                {":synced": SyncStatus.SYNCED.value, ":voided": SyncStatus.VOIDED.value}
            ),
        )
        with unavailable_on_aws_errors("backfilling the index keys"):
            for page in pages:
                scanned += page["ScannedCount"]
                for item in map(from_item, page["Items"]):
                    missing += 1
                    if not dry_run:
                        self._add_index_keys(item["logId"], SyncStatus(item["syncStatus"]), item["localDate"])
                progress(scanned, missing)
        return missing

    def _add_index_keys(self, log_id: str, status: SyncStatus, local_date: str) -> None:
        update = "SET dayShard = :day"
        values: dict[str, Any] = {":status": status.value, ":day": sharded(local_date, log_id, DATE_SHARDS)}
        if status is not SyncStatus.SYNCED:
            update += ", undelivered = :undelivered"
            values[":undelivered"] = _undelivered_key(status, log_id)
        moved_on = self._client.exceptions.ConditionalCheckFailedException
        with suppress(moved_on):  # its status changed since the scan: the next run sees it as it is now
            self._client.update_item(
                TableName=self._punches_table,
                Key=to_item({"logId": log_id}),
                UpdateExpression=update,
                ConditionExpression="syncStatus = :status",
                ExpressionAttributeValues=to_item(values),
            )

    def mark_queued(self, log_id: str, now: datetime, status: SyncStatus = SyncStatus.PENDING) -> None:
        """Its last trip to a queue (the punch queue; the DLQ for a failed punch) was now. A punch whose
        status moved on meanwhile (delivered, redriven) is left as it is."""
        moved_on = self._client.exceptions.ConditionalCheckFailedException
        with unavailable_on_aws_errors("marking a punch queued"), suppress(moved_on):
            self._client.update_item(
                TableName=self._punches_table,
                Key=to_item({"logId": log_id}),
                UpdateExpression="SET queuedAt = :now",
                ConditionExpression="syncStatus = :status",
                ExpressionAttributeValues=to_item({":now": iso(now), ":status": status}),
            )

    def claim_delivery(self, log_id: str, owner: str, now: datetime, seconds: float) -> DeliveryClaim:
        """Lease a pending punch (or one being voided) to one delivery for `seconds`, unless another holds a
        live lease.

        DynamoDB judges the condition, so of copies racing for one punch exactly one wins. leaseUntil is
        in epoch seconds, and a lease is live while leaseUntil >= now (whole seconds): it lasts at least
        `seconds`, at most one more. Claiming counts no attempt: record_delivery does, and ends the lease.
        """
        values = {
            ":owner": owner,
            ":until": int(now.timestamp() + seconds),
            ":now": int(now.timestamp()),
            ":pending": SyncStatus.PENDING,
            ":voiding": SyncStatus.VOIDING,
        }
        refused = self._client.exceptions.ConditionalCheckFailedException
        with unavailable_on_aws_errors("leasing a punch for delivery"):
            try:
                reply = self._client.update_item(
                    TableName=self._punches_table,
                    Key=to_item({"logId": log_id}),
                    UpdateExpression="SET leaseUntil = :until, leaseOwner = :owner",
                    ConditionExpression="syncStatus IN (:pending, :voiding) "
                    "AND (attribute_not_exists(leaseUntil) OR leaseUntil < :now)",
                    ExpressionAttributeValues=to_item(values),
                    ReturnValues="ALL_NEW",
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
            except refused as error:
                found = error.response.get("Item")
                if not found:
                    return DeliveryClaim(False, None)
                lease_until = found.get("leaseUntil", {}).get("N")
                return DeliveryClaim(
                    False, record_from_item(found), int(lease_until) if lease_until else None
                )
        return DeliveryClaim(True, record_from_item(reply["Attributes"]))

    def record_delivery(
        self, log_id: str, now: datetime, status: SyncStatus, detail: str, crm_reference: str | None = None
    ) -> bool:
        """Count a delivery attempt and its outcome, ending its lease; a synced punch is never downgraded. A
        punch voided while it was being delivered keeps being voided, and a delivery's reference is kept
        for removing it from the CRM. False when the outcome was not recorded (the punch was delivered,
        or is being voided or voided)."""
        values = _history_values(now, status, detail) | {":one": 1, ":zero": 0}
        update = (
            "SET syncStatus = :status, lastAttemptAt = :now, attempts = if_not_exists(attempts, :zero) + :one, "
            + _APPEND_HISTORY
        )
        removed = "leaseUntil, leaseOwner"
        if status is SyncStatus.SYNCED:
            update += ", syncedAt = :now" + (", crmReference = :reference" if crm_reference else "")
            values |= {":reference": crm_reference} if crm_reference else {}
            removed += ", undelivered"  # out of the sparse index
        else:
            update += ", lastError = :error"
            values[":error"] = detail[:500]
            if status is not SyncStatus.PENDING:  # a retry leaves the index entry as it is
                # failed: its message has just gone to the DLQ, whose 14 days the sweep counts from here
                update += ", undelivered = :undelivered, queuedAt = :now"
                values[":undelivered"] = _undelivered_key(status, log_id)
        not_synced = self._client.exceptions.ConditionalCheckFailedException
        with unavailable_on_aws_errors("recording a delivery"):
            try:
                self._client.update_item(
                    TableName=self._punches_table,
                    Key=to_item({"logId": log_id}),
                    UpdateExpression=f"{update} REMOVE {removed}",
                    ConditionExpression=_NOT_DELIVERED,
                    ExpressionAttributeValues=to_item(values),
                )
            except not_synced:
                if status is SyncStatus.SYNCED:
                    self._delivered_while_voiding(log_id, now, crm_reference)
                return False
        return True

    def _delivered_while_voiding(self, log_id: str, now: datetime, crm_reference: str | None) -> None:
        """Delivered while an admin voided it: it stays voiding, with what removing it from the CRM needs."""
        detail = f"delivered ({crm_reference or 'no reference'}) as it was voided; to be removed from the CRM"
        values = _history_values(now, SyncStatus.VOIDING, detail)
        update = (
            "SET syncedAt = :now, " + _APPEND_HISTORY + (", crmReference = :ref" if crm_reference else "")
        )
        self._update_while_voiding(
            log_id, update, values | ({":ref": crm_reference} if crm_reference else {})
        )

    def _update_while_voiding(
        self, log_id: str, update: str, values: dict[str, Any], removed: str = ""
    ) -> bool:
        """`update` (a SET clause), its lease ended and `removed` gone, if the punch is being voided; False
        when it is not (any more)."""
        used = {name: value for name, value in values.items() if name in update}  # DynamoDB refuses extras
        not_voiding = self._client.exceptions.ConditionalCheckFailedException
        with unavailable_on_aws_errors("recording a void"):
            try:
                self._client.update_item(
                    TableName=self._punches_table,
                    Key=to_item({"logId": log_id}),
                    UpdateExpression=f"{update} REMOVE leaseUntil, leaseOwner{removed}",
                    ConditionExpression=_VOIDING,
                    ExpressionAttributeValues=to_item(used | {":voiding": SyncStatus.VOIDING.value}),
                )
            except not_voiding:
                return False
        return True

    def note_while_voiding(self, log_id: str, now: datetime, detail: str) -> bool:
        """What failed while the punch is being voided (its removal from the CRM, for now; its own delivery,
        as the void came): in its history and lastError, its lease ended, still being voided (counted as
        queued now, so the sweep tries again after its cutoff); False when it is not being voided."""
        values = _history_values(now, SyncStatus.VOIDING, detail) | {":error": detail[:500]}
        update = "SET lastError = :error, lastAttemptAt = :now, queuedAt = :now, " + _APPEND_HISTORY
        return self._update_while_voiding(log_id, update, values)

    def refuse_void(self, log_id: str, now: datetime, detail: str) -> bool:
        """The CRM would not remove it: delivered as before (out of the sparse index), the refusal in its
        history and lastError, and no correction made."""
        values = _history_values(now, SyncStatus.SYNCED, detail) | {":error": detail[:500]}
        update = "SET syncStatus = :status, lastError = :error, " + _APPEND_HISTORY
        return self._update_while_voiding(log_id, update, values, removed=", undelivered, correctedType")

    def request_void(self, log_id: str, now: datetime, request: VoidDetails) -> VoidRequest:
        """An admin voids a punch: being voided (queued now, in the sparse index), the request's note in its
        history, who and why kept, unless it is voided already; with a corrected type, to be added again as
        that type once it is out of the CRM. The punch as it was before tells what else is to be done."""
        refused = self._client.exceptions.ConditionalCheckFailedException
        voided = {":voiding": SyncStatus.VOIDING.value, ":voided": SyncStatus.VOIDED.value}
        kept = {"voidedBy": request.by, "voidReason": request.reason}
        if request.corrected_type:
            kept["correctedType"] = request.corrected_type.value
        with unavailable_on_aws_errors("voiding a punch"):
            try:
                before = self._set_status(
                    log_id,
                    SyncStatus.VOIDING,
                    request.note,
                    now,
                    "attribute_exists(logId) AND NOT syncStatus IN (:voiding, :voided)",
                    voided,
                    also=kept,
                )
            except refused as error:
                found = error.response.get("Item")
                return VoidRequest(record_from_item(found) if found else None, accepted=False)
        return VoidRequest(record_from_item(before), accepted=True)

    def finish_void(self, log_id: str, now: datetime, detail: str) -> bool:
        """Voided for good: out of the date, user and device indexes (so out of every report and list), its
        lease ended, `detail` in its history; False when it is not being voided (any more). The punch time
        stays in punchEpoch."""
        values = _history_values(now, SyncStatus.VOIDED, detail) | {
            ":undelivered": _undelivered_key(SyncStatus.VOIDED, log_id)
        }
        update = "SET syncStatus = :status, undelivered = :undelivered, voidedAt = :now, " + _APPEND_HISTORY
        return self._update_while_voiding(log_id, update, values, removed=", dayShard, punchTime")

    def note_rate_limit(self, log_id: str, now: datetime, detail: str, queued_until: datetime) -> None:
        """A rate-limited try of a pending punch: in its history and lastError, but no attempt counted and
        its status unchanged; its lease ends, and it counts as queued until its message is visible again
        (so the pending sweep leaves it be). A punch no longer pending is left as it is."""
        entry = _history_values(now, SyncStatus.PENDING, detail)
        values = {name: entry[name] for name in (":now", ":entry", ":empty")} | {
            ":error": detail[:500],
            ":queued": iso(queued_until),
            ":pending": SyncStatus.PENDING.value,
        }
        not_pending = self._client.exceptions.ConditionalCheckFailedException
        with unavailable_on_aws_errors("recording a rate limit"), suppress(not_pending):
            self._client.update_item(
                TableName=self._punches_table,
                Key=to_item({"logId": log_id}),
                UpdateExpression="SET lastError = :error, lastAttemptAt = :now, queuedAt = :queued, "
                + _APPEND_HISTORY
                + " REMOVE leaseUntil, leaseOwner",
                ConditionExpression="syncStatus = :pending",
                ExpressionAttributeValues=to_item(values),
            )

    def change_status(self, log_id: str, status: SyncStatus, note: str, now: datetime) -> StatusChange:
        """An admin's change of a punch not yet delivered (redriven: pending, purged: abandoned), with its
        history entry; it counts as queued now. A synced punch is left as it is."""
        refused = self._client.exceptions.ConditionalCheckFailedException
        with unavailable_on_aws_errors("updating a punch"):
            try:
                settled = {f":{done}": done.value for done in _SETTLED}
                self._set_status(log_id, status, note, now, _NOT_DELIVERED, settled)
            except refused as error:
                return StatusChange.SYNCED if error.response.get("Item") else StatusChange.MISSING
        return StatusChange.UPDATED

    def take_back_dead_letter(self, log_id: str, now: datetime, note: str) -> bool:
        """A dead-lettered (failed) punch whose message came back to the punch queue is pending again, with
        `note` in its history; False when it is not dead-lettered (any more)."""
        not_failed = self._client.exceptions.ConditionalCheckFailedException
        with unavailable_on_aws_errors("taking back a dead-lettered punch"):
            try:
                self._set_status(
                    log_id,
                    SyncStatus.PENDING,
                    note,
                    now,
                    "syncStatus = :failed",
                    {":failed": SyncStatus.FAILED},
                )
            except not_failed:
                return False
        return True

    def _set_status(
        self,
        log_id: str,
        status: SyncStatus,
        note: str,
        now: datetime,
        condition: str,
        values: dict[str, Any],
        also: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """The status and its history entry, queued now, and the attributes `also`, if `condition` (with its
        `values`) holds: the item as it was before; else ConditionalCheckFailedException, carrying the item as
        it was."""
        entry = _history_values(now, status, note)
        also = also or {}
        reply = self._client.update_item(
            TableName=self._punches_table,
            Key=to_item({"logId": log_id}),
            UpdateExpression="SET syncStatus = :status, undelivered = :undelivered, queuedAt = :now, "
            + "".join(f"{name} = :{name}, " for name in also)
            + _APPEND_HISTORY,
            ConditionExpression=condition,
            ExpressionAttributeValues=to_item(
                {name: entry[name] for name in (":status", ":now", ":entry", ":empty")}
                | {":undelivered": _undelivered_key(status, log_id)}
                | values
                | {f":{name}": value for name, value in also.items()}
            ),
            ReturnValues="ALL_OLD",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
        return reply["Attributes"]


def _undelivered_key(status: SyncStatus, log_id: str) -> str:
    return sharded(status.value, log_id, UNDELIVERED_SHARDS)


def _by_status(entries: list[dict[str, Any]]) -> dict[str, int]:
    """Counts of undelivered index entries by status (their key without its shard)."""
    counts = dict.fromkeys((status.value for status in _UNDELIVERED), 0)
    for entry in entries:
        counts[unsharded(entry["undelivered"])] += 1
    return counts


def _on_every_shard[T](local_dates: list[str], query: Callable[[str], T]) -> Iterator[T]:
    """query(shard key) for each of the date index's shards of these dates, in parallel, in date and shard
    order."""
    keys = [key for local_date in local_dates for key in every_shard(local_date, DATE_SHARDS)]
    with ThreadPoolExecutor(max_workers=_SHARD_READERS) as pool:
        yield from pool.map(query, keys)


def _history_values(now: datetime, status: SyncStatus, detail: str) -> dict[str, Any]:
    """The values of a status update and its history entry (_APPEND_HISTORY, _NOT_DELIVERED)."""
    entry = {"at": iso(now), "status": status.value, "detail": detail[:500]}
    return {
        ":status": status.value,
        ":now": iso(now),
        ":entry": [entry],
        ":empty": [],
    } | {f":{done}": done.value for done in _SETTLED}


# What a list shows of a punch besides its delivery status: DayPunch's fields, as the table stores them.
_LISTED = (
    "logId",
    "userId",
    "deviceId",
    "punchTime",
    "localTime",
    "timeZone",
    "type",
    "source",
    "receivedAt",
)


def punch_item(punch: Punch, now: datetime) -> dict[str, Any]:
    return {
        "logId": punch.log_id,
        "deviceId": punch.device_id,
        "userId": punch.user_id,
        "punchTime": iso(punch.instant),
        "punchEpoch": punch.epoch_seconds,
        "localTime": punch.local_time,
        "localDate": punch.local_time[:10],
        "dayShard": sharded(punch.local_time[:10], punch.log_id, DATE_SHARDS),  # its key in byLocalDate
        "timeZone": punch.time_zone,
        "type": punch.type.value,
        "source": punch.source.value,
        "verifyMode": punch.verify_mode,
        "receivedAt": iso(punch.received_at),
        "queuedAt": iso(now),
        "syncStatus": SyncStatus.PENDING.value,
        "undelivered": _undelivered_key(SyncStatus.PENDING, punch.log_id),  # its key in byUndelivered
        "attempts": 0,
    }


def punch_from_values(values: dict[str, Any]) -> Punch:
    """The punch in a table item or in an index entry (every index projects all of the punch)."""
    return Punch(
        log_id=values["logId"],
        device_id=values["deviceId"],
        user_id=values["userId"],
        instant=_instant(values),
        local_time=values["localTime"],
        time_zone=values["timeZone"],
        type=PunchType(values["type"]),
        source=PunchSource(values["source"]),
        received_at=datetime.fromisoformat(values["receivedAt"]),
        verify_mode=values.get("verifyMode"),
    )


def _moment(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _instant(values: dict[str, Any]) -> datetime:
    """punchTime, a key of the indexes, which a voided punch leaves; the table item keeps punchEpoch."""
    if "punchTime" in values:
        return datetime.fromisoformat(values["punchTime"])
    return datetime.fromtimestamp(int(values["punchEpoch"]), UTC)


def record_from_item(item: dict[str, Any]) -> PunchRecord:
    return record_from_values(from_item(item))


def record_from_values(values: dict[str, Any]) -> PunchRecord:
    """A punch's table item (as plain values) as the record of its delivery."""
    return PunchRecord(
        punch=punch_from_values(values),
        status=SyncStatus(values["syncStatus"]),
        crm_reference=values.get("crmReference"),
        delivered="syncedAt" in values,
        corrected_type=values.get("correctedType"),
        voided_by=values.get("voidedBy"),
        void_reason=values.get("voidReason"),
        voided_at=_moment(values.get("voidedAt")),
        attempts=values.get("attempts", 0),
        last_error=values.get("lastError"),
        queued_at=_moment(values.get("queuedAt")),
        history=values.get("history", []),
    )
