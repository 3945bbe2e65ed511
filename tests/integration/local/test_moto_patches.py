"""moto made safe for the local stack's concurrency: SQS requests from many threads at once behave as on AWS."""

import json
from concurrent.futures import ThreadPoolExecutor

import boto3


def test_concurrent_receives_move_each_exhausted_message_to_the_dlq_once(aws):
    # Given a queue whose messages go to the DLQ after one receive, and are visible again at once
    sqs = boto3.client("sqs")
    dlq = sqs.create_queue(QueueName="dead")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    queue = sqs.create_queue(
        QueueName="work",
        Attributes={
            "VisibilityTimeout": "0",
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 1}),
        },
    )["QueueUrl"]
    for start in range(0, 200, 10):
        sqs.send_message_batch(
            QueueUrl=queue, Entries=[{"Id": str(n), "MessageBody": str(n)} for n in range(start, start + 10)]
        )

    # When eight pollers receive from it at once until it is empty
    def poll(_: int) -> int:
        received = 0
        while messages := sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", []):
            received += len(messages)
        return received

    with ThreadPoolExecutor(8) as pollers:
        received = sum(pollers.map(poll, range(8)))

    # Then no receive failed, and every message sits in the DLQ exactly once
    dead: list[str] = []
    while messages := sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10, VisibilityTimeout=60).get(
        "Messages", []
    ):
        dead += [m["Body"] for m in messages]
    assert sorted(dead, key=int) == [str(n) for n in range(200)]
    assert received >= 200


def test_a_long_poll_is_answered_when_a_message_arrives(aws):
    # Given an empty queue and a receive waiting on it
    sqs = boto3.client("sqs")
    queue = sqs.create_queue(QueueName="waiting")["QueueUrl"]
    with ThreadPoolExecutor(1) as receiver:
        waiting = receiver.submit(sqs.receive_message, QueueUrl=queue, WaitTimeSeconds=10)
        # When a message is sent meanwhile (the wait does not hold up other requests)
        sqs.send_message(QueueUrl=queue, MessageBody="late")
        # Then the waiting receive returns it
        assert [m["Body"] for m in waiting.result(timeout=15)["Messages"]] == ["late"]
