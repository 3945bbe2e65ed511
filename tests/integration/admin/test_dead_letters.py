"""The DLQ operations against moto's queues, including a stale message for a punch delivered meanwhile."""

import json
import threading
import time
from datetime import UTC, datetime

import boto3
import pytest

from attendance.data.punches import PunchStore, StatusChange
from attendance.data.queue import message_body
from attendance.domain.punch import SyncStatus
from tests.integration.sqs_polling import false_empty_short_polls, lagging_counts
from tests.punches import dead_letter_queue, store_punch, utc_punch


@pytest.fixture
def setup(stack):
    dynamodb, sqs = boto3.client("dynamodb"), boto3.client("sqs")
    store = PunchStore(dynamodb, stack.refs["PunchesTable"])
    dlq = dead_letter_queue(stack)

    def dead(user: str, status: SyncStatus) -> str:
        punch = utc_punch(user, datetime(2025, 2, 10, 9, tzinfo=UTC), device="D")
        store_punch(stack, punch, window_seconds=60)
        store.record_delivery(punch.log_id, datetime.now(UTC), status, "HTTP 503")
        sqs.send_message(QueueUrl=stack.refs["PunchDeadLetterQueue"], MessageBody=message_body(punch.log_id))
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


def test_a_punch_dead_lettered_twice_is_listed_and_redriven_once(setup, stack):
    # Given a punch with two messages in the DLQ (dead-lettered again before an admin acted)
    store, dlq, dead = setup
    twice = dead("T", SyncStatus.FAILED)
    sqs = boto3.client("sqs")
    sqs.send_message(QueueUrl=stack.refs["PunchDeadLetterQueue"], MessageBody=message_body(twice))
    # Then it is listed once
    assert [letter.log_id for letter in dlq.peek()] == [twice]
    # and a redrive queues it once and takes both messages away
    assert dlq.redrive({twice}) == [twice]
    assert dlq.depth() == 0
    queued = sqs.receive_message(QueueUrl=stack.refs["PunchQueue"], MaxNumberOfMessages=10)["Messages"]
    assert [json.loads(m["Body"])["logId"] for m in queued] == [twice]
    assert [entry["status"] for entry in store.get(twice).history].count("pending") == 1


def test_purge_abandons_failed_punches_but_never_a_delivered_one(setup):
    store, dlq, dead = setup
    failed, delivered = dead("A", SyncStatus.FAILED), dead("B", SyncStatus.SYNCED)
    assert dlq.purge("cli:ops") == [failed]
    assert store.get(failed).status is SyncStatus.ABANDONED
    assert (
        store.get(failed).history[-1]["detail"] == "abandoned by an admin (cli:ops, DLQ purged)"
    )  # who did it
    assert store.get(delivered).status is SyncStatus.SYNCED
    assert dlq.peek() == []


def test_redrive_leaves_the_message_of_an_unknown_punch_in_the_dlq_for_a_look(setup, stack):
    _, dlq, _ = setup
    boto3.client("sqs").send_message(
        QueueUrl=stack.refs["PunchDeadLetterQueue"], MessageBody=message_body("no-such-punch")
    )
    assert dlq.redrive(None) == []
    assert [letter.log_id for letter in dlq.peek()] == ["no-such-punch"]
    queued = boto3.client("sqs").receive_message(QueueUrl=stack.refs["PunchQueue"])
    assert "Messages" not in queued


def test_an_admin_status_change_is_kept_in_the_history_and_never_touches_a_delivered_punch(setup):
    store, _, dead = setup
    failed, delivered = dead("A", SyncStatus.FAILED), dead("B", SyncStatus.SYNCED)
    now = datetime(2025, 3, 1, 12, tzinfo=UTC)
    assert (
        store.change_status(failed, SyncStatus.PENDING, "redriven by an admin", now) is StatusChange.UPDATED
    )
    assert store.change_status(delivered, SyncStatus.PENDING, "redriven", now) is StatusChange.SYNCED
    assert store.change_status("no-such-punch", SyncStatus.PENDING, "redriven", now) is StatusChange.MISSING
    record = store.get(failed)
    assert (record.status, record.attempts, record.queued_at) == (SyncStatus.PENDING, 1, now)
    assert record.history[-1] == {
        "at": "2025-03-01T12:00:00Z",
        "status": "pending",
        "detail": "redriven by an admin",
    }
    assert store.get(delivered).status is SyncStatus.SYNCED
    assert store.get("no-such-punch") is None


def test_a_purge_takes_every_letter_when_short_polls_come_back_empty(setup, stack):
    # Given two dead letters, and SQS answering short polls as AWS may: empty, though the queue holds them
    store, _, dead = setup
    failed = {dead("P1", SyncStatus.FAILED), dead("P2", SyncStatus.FAILED)}
    with false_empty_short_polls():
        dlq = dead_letter_queue(stack)
        # When an admin purges the queue
        purged = dlq.purge("cli:ops")
    # Then both were taken and marked abandoned, and the queue is empty
    assert set(purged) == failed
    assert {store.get(log_id).status for log_id in failed} == {SyncStatus.ABANDONED}
    assert setup[1].peek() == []


def test_a_list_made_while_another_reader_looks_at_the_queue_misses_nothing(setup, stack):
    # Given two dead letters that another reader (a second admin's list) has just received to look at
    _, dlq, dead = setup
    letters = {dead("L1", SyncStatus.FAILED), dead("L2", SyncStatus.FAILED)}
    sqs = boto3.client("sqs")
    url = stack.refs["PunchDeadLetterQueue"]
    held = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=30)["Messages"]
    assert len(held) == 2

    def let_go() -> None:  # as a look does once it has read them
        time.sleep(0.2)  # well inside the 1 s long poll, even on a busy machine
        for message in held:
            sqs.change_message_visibility(
                QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
            )

    # When an admin lists the queue meanwhile
    other = threading.Thread(target=let_go)
    other.start()
    listed = dlq.peek()
    other.join()
    # Then both letters are listed, not an empty queue
    assert {letter.log_id for letter in listed} == letters


def test_a_letter_the_queue_has_not_counted_yet_is_listed_too(setup, stack):
    # Given a punch just dead-lettered, not yet in the queue's approximate count (it lags behind sends)
    _, _, dead = setup
    letters = {dead("C1", SyncStatus.FAILED)}
    with lagging_counts(behind=1):
        dlq = dead_letter_queue(stack)
        assert dlq.depth() == 0
        # When the dead letters are listed
        listed = dlq.peek()
    # Then it is there
    assert {letter.log_id for letter in listed} == letters


def test_redrive_all_of_an_empty_dlq_is_done_but_a_logid_not_there_is_not_found(cli):
    # Given an empty DLQ (a nightly job redrives whatever is there)
    # When every dead letter is redriven, and then one named punch
    everything = cli("--json", "dlq", "redrive", "--all")
    named = cli("--json", "dlq", "redrive", "NO-SUCH-LOG", expect=1)
    # Then --all did all there was (exit 0, nothing redriven), while the named punch is not found (exit 1)
    assert json.loads(everything.output) == {"redriven": [], "notInDlq": []}
    assert json.loads(named.output) == {"redriven": [], "notInDlq": ["NO-SUCH-LOG"]}
