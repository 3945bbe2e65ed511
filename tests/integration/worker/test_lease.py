"""Copies of one punch's message never call the CRM twice: a delivery first leases the punch, a conditional
update judged by DynamoDB (moto), and a copy that finds a live lease is acknowledged without a call, the
punch queued again for when the lease ends."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from attendance.data.queue import PunchQueue
from attendance.delivery.service import DeliveryFailed
from attendance.ingest.sweep import sweep
from attendance.settings import WorkerSettings
from functions.crm_worker import app as worker_app
from tests.integration.worker.conftest import crm_view, run_until, set_behaviour, synced

COPIES = 8
VISIBILITY_SECONDS = 3  # longer than the short leases below, as the template's 10 s is than the worker's


@pytest.fixture
def stack_parameters() -> dict[str, str]:
    return {"PunchVisibilityTimeout": str(VISIBILITY_SECONDS)}


@pytest.fixture
def messages_in_queue(stack):
    def count() -> int:
        attributes = boto3.client("sqs").get_queue_attributes(
            QueueUrl=stack.refs["PunchQueue"],
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return sum(int(value) for value in attributes.values())

    return count


@pytest.fixture
def delayed_in_queue(stack):
    def count() -> int:
        attributes = boto3.client("sqs").get_queue_attributes(
            QueueUrl=stack.refs["PunchQueue"], AttributeNames=["ApproximateNumberOfMessagesDelayed"]
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessagesDelayed"])

    return count


def wait_for_the_lease_to_end(stored, log_id: str) -> None:
    give_up = time.monotonic() + 5
    while stored(log_id)["leaseUntil"] >= int(time.time()):
        assert time.monotonic() < give_up, "the lease did not run out"
        time.sleep(0.1)


def test_copies_racing_for_one_punch_make_one_crm_call(worker_env, enqueue, crm, stored):
    # Given a Frappe HR (no idempotency key) slow enough for every copy to arrive while the first is in flight
    worker_env(CRM_TARGET="frappe", CRM_URL=crm.url)
    set_behaviour(crm, delayMs=300)
    log_id = enqueue(user="1001")
    # When eight execution environments, each with its own clients, take a copy of its message at once
    environments = [worker_app.delivery_service(WorkerSettings()) for _ in range(COPIES)]
    start = threading.Barrier(COPIES)

    def deliver(service) -> None:
        start.wait()
        service.deliver(log_id, 1, 3, lambda: 5.0)

    with ThreadPoolExecutor(COPIES) as pool:
        list(pool.map(deliver, environments))  # no copy raises: every message is acknowledged
    # Then the CRM was called once, and the punch is synced after one attempt, its lease ended
    assert crm_view(crm)["requests"] == 1
    record = stored(log_id)
    assert (record["syncStatus"], record["attempts"], len(record["history"])) == ("synced", 1, 1)
    assert "leaseUntil" not in record
    assert "leaseOwner" not in record


def test_a_copy_that_finds_the_punch_leased_is_acknowledged_without_a_call_or_an_attempt(
    trigger, enqueue, crm, stored, store, messages_in_queue, delayed_in_queue
):
    # Given a punch leased by a delivery in progress elsewhere
    log_id = enqueue()
    assert store.claim_delivery(log_id, "elsewhere", datetime.now(UTC), 60).won
    # When a copy of its message is worked
    report = trigger.poll_once(wait_seconds=1)
    # Then the copy is acknowledged, so it spends no receive and can never be dead-lettered for this
    assert (report.received, report.succeeded) == (1, 1)
    assert messages_in_queue() == 0
    # and the punch waits in the queue for the lease to end, out of sight until then
    assert delayed_in_queue() == 1
    # and neither the CRM nor the punch saw it: no call, no attempt, the lease still the holder's
    assert crm_view(crm)["requests"] == 0
    record = stored(log_id)
    assert (record["syncStatus"], record["attempts"], record["leaseOwner"]) == ("pending", 0, "elsewhere")
    assert "history" not in record


def test_a_holder_that_died_loses_its_lease_and_its_own_message_delivers_the_punch(
    trigger, enqueue, crm, stored, store, stack
):
    # Given a worker that received the punch's message, leased the punch for a second, and died
    log_id = enqueue()
    boto3.client("sqs").receive_message(QueueUrl=stack.refs["PunchQueue"])
    assert store.claim_delivery(log_id, "died", datetime.now(UTC), 1).won
    # When the message is visible again, after the visibility timeout, and worked
    run_until(trigger, synced(stored, log_id))
    # Then the lease had run out: the punch is delivered once, after one attempt
    assert crm_view(crm)["requests"] == 1
    assert stored(log_id)["attempts"] == 1


def test_a_holder_that_fails_after_its_own_message_was_acknowledged_as_a_copy_is_tried_again_at_once(
    trigger, enqueue, crm, stored, stack
):
    # Given a delivery that ran late: its message, visible again, was received by another environment,
    # which found the punch leased and acknowledged it (so the message is gone) ...
    worker = worker_app.delivery_service(WorkerSettings())
    log_id = enqueue()
    set_behaviour(crm, failRate=1, status=503)
    boto3.client("sqs").receive_message(QueueUrl=stack.refs["PunchQueue"], WaitTimeSeconds=1)
    leased, copy_done = threading.Event(), threading.Event()
    calls = iter(range(1_000))

    def seconds_left() -> float:
        if next(calls) == 0:
            return 2.0 * VISIBILITY_SECONDS  # the lease outlasts the message's visibility timeout
        leased.set()  # held up between its lease and its CRM call until the copy is done
        copy_done.wait(VISIBILITY_SECONDS * 3)
        return 2.0

    with ThreadPoolExecutor(1) as pool:
        holder = pool.submit(worker.deliver, log_id, 1, 3, seconds_left)
        assert leased.wait(5)
        give_up = time.monotonic() + VISIBILITY_SECONDS * 3
        while trigger.poll_once(wait_seconds=1).succeeded == 0:
            assert time.monotonic() < give_up, "the message did not come back after its visibility timeout"
        copy_done.set()
        # ... and then failed (the CRM answered 503), leaving the punch pending after one attempt
        with pytest.raises(DeliveryFailed):
            holder.result(timeout=10)
    assert (stored(log_id)["syncStatus"], stored(log_id)["attempts"]) == ("pending", 1)
    # When the CRM recovers
    set_behaviour(crm, failRate=0)
    # Then the punch comes back once the lease is over, and is delivered, without waiting for the sweep
    run_until(trigger, synced(stored, log_id), limit_seconds=15)
    assert crm_view(crm)["count"] == 1
    assert stored(log_id)["attempts"] == 2


def test_a_punch_whose_holder_died_with_no_message_left_is_queued_again_by_the_sweep(
    trigger, enqueue, crm, stored, store, stack
):
    # Given a punch leased by a worker that died on its message's last receive (that message went to the
    # DLQ on its next receive, so none is left to take the punch over)
    log_id = enqueue()
    sqs = boto3.client("sqs")
    [message] = sqs.receive_message(QueueUrl=stack.refs["PunchQueue"], WaitTimeSeconds=1)["Messages"]
    sqs.delete_message(QueueUrl=stack.refs["PunchQueue"], ReceiptHandle=message["ReceiptHandle"])
    assert store.claim_delivery(log_id, "died", datetime.now(UTC), 1).won
    # When the lease has run out and the pending sweep runs, PendingRequeueMinutes (10) after the queuing
    wait_for_the_lease_to_end(stored, log_id)
    queue = PunchQueue(boto3.client("sqs"), stack.refs["PunchQueue"])
    sweep_time = datetime.now(UTC) + timedelta(minutes=11)
    dead_letters = PunchQueue(boto3.client("sqs"), stack.refs["PunchDeadLetterQueue"])
    assert sweep(store, queue, dead_letters, sweep_time, timedelta(minutes=10)).requeued == 1
    run_until(trigger, synced(stored, log_id))
    # Then the punch is delivered once, after one attempt
    assert crm_view(crm)["requests"] == 1
    assert stored(log_id)["attempts"] == 1
