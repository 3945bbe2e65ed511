"""The sparse byUndelivered index: what enters and leaves it, the counts read from it, and the backfill
of the index keys of punches stored before the sharded keys existed."""

from datetime import UTC, datetime, timedelta

import boto3
import pytest

from attendance.data.punches import UNDELIVERED_INDEX, PunchStore
from attendance.domain.punch import SyncStatus
from attendance.domain.shards import unsharded
from tests.punches import store_punch, utc_punch

NOW = datetime.now(UTC)


def stored(stack, store: PunchStore, user: str, status: SyncStatus | None = None) -> str:
    punch = utc_punch(user, datetime(2025, 2, 10, 9, tzinfo=UTC), received_at=NOW)
    store_punch(stack, punch, window_seconds=60, now=NOW)
    if status:
        store.record_delivery(punch.log_id, NOW, status, "outcome")
    return punch.log_id


@pytest.fixture
def store(stack):
    return PunchStore(boto3.client("dynamodb"), stack.refs["PunchesTable"])


def indexed(stack) -> dict[str, str]:
    pages = (
        boto3.client("dynamodb")
        .get_paginator("scan")
        .paginate(TableName=stack.refs["PunchesTable"], IndexName=UNDELIVERED_INDEX)
    )
    return {
        item["logId"]["S"]: unsharded(item["undelivered"]["S"]) for page in pages for item in page["Items"]
    }


def test_a_punch_is_in_the_index_until_it_is_delivered(stack, store):
    # Given punches that are pending, retried, failed for good and delivered
    pending = stored(stack, store, "A")
    retried = stored(stack, store, "B", SyncStatus.PENDING)
    failed = stored(stack, store, "C", SyncStatus.FAILED)
    delivered = stored(stack, store, "D", SyncStatus.SYNCED)
    # Then only the undelivered are indexed, each under its status
    assert indexed(stack) == {pending: "pending", retried: "pending", failed: "failed"}
    # And an admin's purge moves the failed one to abandoned, where it stays
    store.change_status(failed, SyncStatus.ABANDONED, "purged", NOW)
    assert indexed(stack)[failed] == "abandoned"
    assert delivered not in indexed(stack)


def test_counts_come_from_the_index_and_the_table(stack, store):
    stored(stack, store, "A")
    stored(stack, store, "B", SyncStatus.FAILED)
    stored(stack, store, "C", SyncStatus.SYNCED)
    stored(stack, store, "D", SyncStatus.SYNCED)
    expected = {"synced": 2, "pending": 1, "failed": 1, "abandoned": 0, "voiding": 0, "voided": 0}
    assert store.backlog().counts == expected
    assert store.backlog("2025-02-10").counts == expected
    other_day = store.backlog("2025-02-11")
    assert other_day.counts == {
        "synced": 0,
        "pending": 0,
        "failed": 0,
        "abandoned": 0,
        "voiding": 0,
        "voided": 0,
    }
    # And the oldest pending punch is the oldest of all, whatever the date asked about
    assert store.backlog().oldest_pending.punch.user_id == "A"
    assert other_day.oldest_pending.punch.user_id == "A"


def test_the_backlog_reads_the_index_once(stack):
    # Given a backlog of pending and failed punches, and a client whose requests are counted
    client = boto3.client("dynamodb")
    store = PunchStore(client, stack.refs["PunchesTable"])
    stored(stack, store, "A")
    stored(stack, store, "B", SyncStatus.FAILED)
    scans: list[str] = []
    client.meta.events.register(
        "provide-client-params.dynamodb.Scan", lambda params, **_: scans.append(params.get("IndexName"))
    )
    # When the counts and the oldest pending punch are read together
    backlog = store.backlog()
    # Then the sparse index was scanned once for both
    assert scans == [UNDELIVERED_INDEX]
    assert (backlog.counts["pending"], backlog.counts["failed"]) == (1, 1)
    assert backlog.oldest_pending.punch.user_id == "A"


def test_backfill_indexes_punches_stored_before_the_sharded_keys(stack, store):
    # Given punches stored by an earlier release, which wrote neither the date shard nor the undelivered key
    pending, failed = stored(stack, store, "A"), stored(stack, store, "B", SyncStatus.FAILED)
    old = {pending, failed}
    delivered = stored(stack, store, "C", SyncStatus.SYNCED)
    dynamodb = boto3.client("dynamodb")
    for log_id in {*old, delivered}:
        dynamodb.update_item(
            TableName=stack.refs["PunchesTable"],
            Key={"logId": {"S": log_id}},
            UpdateExpression="REMOVE undelivered, dayShard",
        )
    assert indexed(stack) == {}
    assert store.on_local_dates(["2025-02-10"]) == []
    seen: list[tuple[int, int]] = []
    # When a dry run counts them, it changes nothing
    assert store.backfill_index_keys(dry_run=True, progress=lambda *counts: seen.append(counts)) == 3
    assert indexed(stack) == {}
    assert seen[-1] == (3, 3)  # scanned, found
    # When the backfill runs, the reports, the sweep and the counts see them again
    assert store.backfill_index_keys(dry_run=False, progress=lambda *counts: None) == 3
    assert set(indexed(stack)) == old
    assert {punch.log_id for punch in store.on_local_dates(["2025-02-10"])} == {*old, delivered}
    assert store.backlog().counts["failed"] == 1
    assert store.stale_undelivered(NOW + timedelta(minutes=1), NOW).pending == [pending]
    # And a second run finds nothing left to do
    assert store.backfill_index_keys(dry_run=False, progress=lambda *counts: None) == 0
