"""Every queued punch reaches the CRM exactly once: 3 attempts a visibility timeout apart, then the DLQ."""

import json
import time

import boto3

from local_stack.events import LambdaContext
from local_stack.sqs_trigger import sqs_event
from tests.integration.worker.conftest import crm_view, run_until, set_behaviour


def test_punch_is_delivered_with_its_idempotency_key(trigger, enqueue, crm, stored):
    log_id = enqueue(user="EMP789")
    run_until(trigger, lambda: stored(log_id)["syncStatus"] == "synced")
    [held] = crm_view(crm)["punches"]
    assert held["logId"] == log_id
    assert held["body"] == {
        "logId": log_id,
        "deviceId": "DEV001",
        "userId": "EMP789",
        "timestamp": "2025-02-10T08:00:00+00:00",
        "localTime": "2025-02-10T08:00:00",
        "type": "in",
    }
    record = stored(log_id)
    assert record["crmReference"] == held["crmId"]
    assert record["attempts"] == 1
    assert "syncedAt" in record


def test_crm_failing_twice_then_succeeding_delivers_once(trigger, enqueue, crm, stored, dead_letters):
    # Given a CRM that answers 503 to the next two requests
    set_behaviour(crm, failFirst=2, status=503)
    log_id = enqueue()
    # When the queue is worked until the punch is synced
    run_until(trigger, lambda: stored(log_id)["syncStatus"] == "synced")
    # Then the CRM holds it once, after three attempts, and nothing is dead-lettered
    view = crm_view(crm)
    assert view["count"] == 1
    assert view["punches"][0]["deliveries"] == 1
    assert view["attempts"] == {log_id: 3}
    record = stored(log_id)
    assert record["attempts"] == 3
    assert [entry["status"] for entry in record["history"]] == ["pending", "pending", "synced"]
    assert dead_letters() == []


def test_crm_always_failing_means_three_attempts_then_failed_and_in_the_dlq(
    trigger, enqueue, crm, stored, dead_letters
):
    set_behaviour(crm, failRate=1, status=503)
    log_id = enqueue()
    dlq: list[str] = []
    run_until(trigger, lambda: bool(dlq.extend(dead_letters()) or dlq))
    assert dlq == [log_id]
    assert crm_view(crm)["attempts"] == {log_id: 3}
    record = stored(log_id)
    assert record["syncStatus"] == "failed"
    assert record["attempts"] == 3
    assert "HTTP 503" in record["lastError"]


def test_permanent_refusal_goes_to_the_dlq_after_one_attempt(trigger, enqueue, crm, stored, dead_letters):
    log_id = enqueue(user="UNKNOWN-7")
    run_until(trigger, lambda: stored(log_id)["syncStatus"] == "failed")
    assert dead_letters() == [log_id]
    assert crm_view(crm)["attempts"] == {log_id: 1}
    record = stored(log_id)
    assert record["lastError"] == 'HTTP 422: {"error": "unknown employee"}'
    # and the punch queue is empty: the original message was acknowledged
    assert trigger.poll_once().received == 0


def test_duplicate_message_for_a_synced_punch_makes_no_crm_call(trigger, enqueue, crm, stored, stack):
    log_id = enqueue()
    run_until(trigger, lambda: stored(log_id)["syncStatus"] == "synced")
    requests_before = crm_view(crm)["requests"]
    boto3.client("sqs").send_message(
        QueueUrl=stack.refs["PunchQueue"], MessageBody=json.dumps({"logId": log_id})
    )
    report = trigger.poll_once(wait_seconds=1)
    assert (report.received, report.succeeded) == (1, 1)
    assert crm_view(crm)["requests"] == requests_before


def test_batch_of_ten_with_three_failures_reports_exactly_those(worker_env, enqueue, crm, stack, stored):
    from functions.crm_worker import app as worker_app

    # Given ten queued punches, three of them for users the CRM is failing for
    log_ids = {enqueue(user=f"E{n}"): f"E{n}" for n in range(10)}
    set_behaviour(crm, failUsers=["E2", "E5", "E7"], status=500)
    messages = []
    sqs = boto3.client("sqs")
    while len(messages) < 10:
        messages += sqs.receive_message(
            QueueUrl=stack.refs["PunchQueue"], MaxNumberOfMessages=10, AttributeNames=["All"]
        ).get("Messages", [])
    event = sqs_event(messages, stack.attributes[("PunchQueue", "Arn")])
    # When the worker handles them in one invocation
    result = worker_app.lambda_handler(event, LambdaContext("crm_worker", 8))
    # Then exactly the three failing messages are reported, and the seven others are synced
    failing = {
        m["MessageId"] for m in messages if log_ids[json.loads(m["Body"])["logId"]] in {"E2", "E5", "E7"}
    }
    assert {f["itemIdentifier"] for f in result["batchItemFailures"]} == failing
    statuses = {user: stored(log_id)["syncStatus"] for log_id, user in log_ids.items()}
    assert [user for user, status in statuses.items() if status == "synced"] == [
        "E0",
        "E1",
        "E3",
        "E4",
        "E6",
        "E8",
        "E9",
    ]


def test_slow_crm_is_cut_off_inside_the_invocation(worker_env, enqueue, crm, stack, stored):
    from functions.crm_worker import app as worker_app

    # Given a CRM that takes 20 s to answer and a worker invocation with 4 s left
    set_behaviour(crm, delayMs=20_000)
    log_id = enqueue()
    [message] = boto3.client("sqs").receive_message(
        QueueUrl=stack.refs["PunchQueue"], AttributeNames=["All"]
    )["Messages"]
    event = sqs_event([message], stack.attributes[("PunchQueue", "Arn")])
    context = LambdaContext("crm_worker", 4)
    # When the worker runs
    result = worker_app.lambda_handler(event, context)
    # Then it gave up on the call and returned while the invocation still had time left
    assert context.get_remaining_time_in_millis() > 0
    assert [f["itemIdentifier"] for f in result["batchItemFailures"]] == [message["MessageId"]]
    record = stored(log_id)
    assert record["syncStatus"] == "pending"
    assert "did not answer within" in record["lastError"]


def test_a_dead_letter_moved_back_to_the_punch_queue_is_delivered_as_a_redrive(
    trigger, enqueue, crm, stored, stack
):
    # Given a punch the CRM refused for good: marked failed, its message in the dead-letter queue
    set_behaviour(crm, failUsers=["EMP-BACK"], status=422)
    log_id = enqueue(user="EMP-BACK")
    run_until(trigger, lambda: stored(log_id)["syncStatus"] == "failed")
    # When the CRM takes it again and the dead-letter queue is redriven from outside the product, as the SQS
    # console's "Start DLQ redrive" does: the message moved back to the punch queue, the punch left failed
    set_behaviour(crm, failUsers=[])
    time.sleep(2)  # an admin's redrive comes a while after the dead-lettering (queuedAt is to the second)
    assert move_dead_letters_back(stack) == 1
    run_until(trigger, lambda: stored(log_id)["syncStatus"] == "synced", limit_seconds=15)
    # Then the CRM holds it once, and its history says how it came back
    assert crm_view(crm)["punches"][0]["deliveries"] == 1
    assert [entry["status"] for entry in stored(log_id)["history"]] == ["failed", "pending", "synced"]
    assert "dead letter came back" in stored(log_id)["history"][1]["detail"]


def move_dead_letters_back(stack) -> int:
    """What StartMessageMoveTask does to the dead-letter queue: each message sent to its source queue as it
    is, then deleted from the DLQ; returns how many were moved."""
    sqs = boto3.client("sqs")
    moved = 0
    while messages := sqs.receive_message(
        QueueUrl=stack.refs["PunchDeadLetterQueue"], MaxNumberOfMessages=10, WaitTimeSeconds=1
    ).get("Messages", []):
        for message in messages:
            sqs.send_message(QueueUrl=stack.refs["PunchQueue"], MessageBody=message["Body"])
            sqs.delete_message(
                QueueUrl=stack.refs["PunchDeadLetterQueue"], ReceiptHandle=message["ReceiptHandle"]
            )
            moved += 1
    return moved


def test_a_copy_sent_before_its_punch_was_dead_lettered_makes_no_further_call(
    trigger, enqueue, crm, stored, stack
):
    # Given a punch the CRM refuses for good, and a second copy of its message sent now but visible only later
    # (as a copy queued behind a lease, or an SQS duplicate)
    set_behaviour(crm, failUsers=["EMP-COPY"], status=422)
    log_id = enqueue(user="EMP-COPY")
    boto3.client("sqs").send_message(
        QueueUrl=stack.refs["PunchQueue"], MessageBody=json.dumps({"logId": log_id}), DelaySeconds=2
    )
    # When the first is refused and the punch dead-lettered, and then the copy comes
    run_until(trigger, lambda: stored(log_id)["syncStatus"] == "failed")
    time.sleep(2.5)
    report = trigger.poll_once(wait_seconds=1)
    # Then the copy is acknowledged without another call: the punch had its attempt and stays failed
    assert (report.received, report.succeeded) == (1, 1)
    assert crm_view(crm)["attempts"] == {log_id: 1}
    assert stored(log_id)["syncStatus"] == "failed"
