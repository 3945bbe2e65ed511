"""The DLQ operations against moto's queues, including a stale message for a punch delivered meanwhile."""

import json
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from attendance.data.dead_letters import DeadLetterQueue
from attendance.data.punches import PunchStore
from attendance.domain.punch import Punch, PunchSource, PunchType, SyncStatus, punch_log_id


@pytest.fixture
def setup(stack):
    dynamodb, sqs = boto3.client("dynamodb"), boto3.client("sqs")
    store = PunchStore(dynamodb, stack.refs["PunchesTable"], stack.refs["DedupTable"])
    dlq = DeadLetterQueue(
        sqs,
        dynamodb,
        stack.refs["PunchDeadLetterQueue"],
        stack.refs["PunchQueue"],
        stack.refs["PunchesTable"],
    )

    def dead(user: str, status: SyncStatus) -> str:
        instant = datetime(2025, 2, 10, 9, tzinfo=UTC)
        punch = Punch(
            log_id=punch_log_id("D", user, instant, PunchType.IN),
            device_id="D",
            user_id=user,
            instant=instant,
            local_time="2025-02-10T09:00:00",
            time_zone="UTC",
            type=PunchType.IN,
            source=PunchSource.API,
            received_at=datetime.now(UTC),
        )
        store.add(punch, 60, timedelta(days=1), datetime.now(UTC))
        store.record_delivery(punch.log_id, datetime.now(UTC), status, "HTTP 503")
        sqs.send_message(
            QueueUrl=stack.refs["PunchDeadLetterQueue"], MessageBody=json.dumps({"logId": punch.log_id})
        )
        return punch.log_id

    return store, dlq, dead


def test_list_leaves_the_messages_in_place(setup):
    _, dlq, dead = setup
    failed = dead("A", SyncStatus.FAILED)
    assert [letter.log_id for letter in dlq.peek()] == [failed]
    assert [letter.log_id for letter in dlq.peek()] == [failed]


def test_redrive_requeues_failed_punches_and_drops_stale_messages(setup, stack):
    store, dlq, dead = setup
    failed, delivered = dead("A", SyncStatus.FAILED), dead("B", SyncStatus.SYNCED)
    assert dlq.redrive(None) == [failed]
    assert store.get(failed).status is SyncStatus.PENDING
    assert store.get(delivered).status is SyncStatus.SYNCED
    assert dlq.peek() == []
    queued = boto3.client("sqs").receive_message(QueueUrl=stack.refs["PunchQueue"], MaxNumberOfMessages=10)
    assert [json.loads(m["Body"])["logId"] for m in queued["Messages"]] == [failed]


def test_purge_abandons_failed_punches_but_never_a_delivered_one(setup):
    store, dlq, dead = setup
    failed, delivered = dead("A", SyncStatus.FAILED), dead("B", SyncStatus.SYNCED)
    assert dlq.purge() == [failed]
    assert store.get(failed).status is SyncStatus.ABANDONED
    assert store.get(delivered).status is SyncStatus.SYNCED
    assert dlq.peek() == []
