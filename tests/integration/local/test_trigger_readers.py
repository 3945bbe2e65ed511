"""The event sources read moto in-process (as the local stack does) or through the API (with boto3 clients):
the same stream and queue contents must give the same Lambda events, and the in-process reader must keep
SQS's semantics: receive counts, redrive to the dead-letter queue, deletes, failures reported, long polls."""

import json
import threading
import time
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.config import Config

from local_stack import moto_patches
from local_stack.sqs_trigger import Boto3QueueReader, MotoQueueReader, QueueReader, SqsTrigger
from local_stack.stream_trigger import Boto3StreamReader, MotoStreamReader, StreamReader, StreamTrigger

STREAMS_CONFIG = Config(account_id_endpoint_mode="disabled")  # moto serves the regional endpoint only


def stream_readers(stream_arn: str) -> dict[str, StreamReader]:
    return {
        "boto3": Boto3StreamReader(boto3.client("dynamodbstreams", config=STREAMS_CONFIG)),
        "moto": MotoStreamReader.for_stream(stream_arn),
    }


def queue_readers(queue_arn: str) -> dict[str, QueueReader]:
    return {"boto3": Boto3QueueReader(boto3.client("sqs")), "moto": MotoQueueReader.for_queue(queue_arn)}


def recording(events: list[dict[str, Any]], result: Callable[[dict[str, Any]], Any] = lambda _e: None) -> Any:
    def handle(event: dict[str, Any], *_context: Any) -> Any:
        events.append(json.loads(json.dumps(event)))  # as the function receives it, JSON
        return result(event)

    return handle


def test_both_stream_readers_give_the_same_events(table: str):
    # Given a mapping of the same stream through each reader, both from LATEST
    events: dict[str, list[dict[str, Any]]] = {name: [] for name in ("boto3", "moto")}
    mappings = {
        name: StreamTrigger(reader, table, recording(events[name]), function_arn="fn")
        for name, reader in stream_readers(table).items()
    }
    for mapping in mappings.values():
        mapping.start()

    # When items of every attribute type are inserted, modified (by put and update) and removed
    dynamodb = boto3.client("dynamodb")
    dynamodb.put_item(
        TableName="items",
        Item={
            "id": {"S": "a"},
            "n": {"N": "1.50"},
            "m": {"M": {"l": {"L": [{"S": "x"}, {"N": "2"}, {"BOOL": False}, {"NULL": True}]}}},
            "ss": {"SS": ["p", "q"]},
            "ns": {"NS": ["1", "2"]},
        },
    )
    dynamodb.update_item(
        TableName="items",
        Key={"id": {"S": "a"}},
        UpdateExpression="SET n = n + :one",
        ExpressionAttributeValues={":one": {"N": "1"}},
    )
    dynamodb.update_item(
        TableName="items",
        Key={"id": {"S": "b"}},
        UpdateExpression="SET s = :s",
        ExpressionAttributeValues={":s": {"S": "created by an update"}},
    )
    dynamodb.delete_item(TableName="items", Key={"id": {"S": "a"}})
    for mapping in mappings.values():
        assert mapping.poll_once().records == 4

    # Then both functions got the same events, byte for byte
    assert json.dumps(events["moto"]) == json.dumps(events["boto3"])
    assert [r["eventName"] for r in events["moto"][0]["Records"]] == ["INSERT", "MODIFY", "INSERT", "REMOVE"]


@pytest.mark.parametrize("reader", ["boto3", "moto"])
def test_each_stream_reader_resumes_after_its_iterator_expired(table: str, reader: str, monkeypatch):
    # Given a mapping that delivered a record, then was not polled for 16 minutes
    now = [1000.0]
    monkeypatch.setattr(moto_patches, "_clock", lambda: now[0])
    events: list[dict[str, Any]] = []
    mapping = StreamTrigger(stream_readers(table)[reader], table, recording(events))
    mapping.start()
    put = boto3.client("dynamodb").put_item
    put(TableName="items", Item={"id": {"S": "a"}})
    mapping.poll_once()
    now[0] += 16 * 60
    put(TableName="items", Item={"id": {"S": "b"}})

    # When it polls with its expired iterator
    mapping.poll_once()

    # Then it carries on after the last record it delivered
    assert [[r["dynamodb"]["Keys"]["id"]["S"] for r in e["Records"]] for e in events] == [["a"], ["b"]]


@pytest.fixture
def queue(aws: None) -> tuple[str, str, str]:
    """A queue whose messages are visible again at once, and a dead-letter queue after 3 receives:
    its URL and ARN, and the dead-letter queue's URL."""
    sqs = boto3.client("sqs")
    dead_letters = sqs.create_queue(QueueName="dead-letters")["QueueUrl"]
    dead_letters_arn = sqs.get_queue_attributes(QueueUrl=dead_letters, AttributeNames=["QueueArn"])
    redrive = {"deadLetterTargetArn": dead_letters_arn["Attributes"]["QueueArn"], "maxReceiveCount": 3}
    url = sqs.create_queue(
        QueueName="work", Attributes={"VisibilityTimeout": "0", "RedrivePolicy": json.dumps(redrive)}
    )["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn, dead_letters


def send(url: str, *bodies: str) -> None:
    boto3.client("sqs").send_message_batch(
        QueueUrl=url,
        Entries=[
            {
                "Id": str(i),
                "MessageBody": body,
                "MessageAttributes": {
                    "kind": {"DataType": "String", "StringValue": "punch"},
                    "size": {"DataType": "Number", "StringValue": str(len(body))},
                    "raw": {"DataType": "Binary", "BinaryValue": body.encode()},
                },
            }
            for i, body in enumerate(bodies)
        ],
    )


def failing_all(event: dict[str, Any]) -> dict[str, Any]:
    return {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in event["Records"]]}


def bodies(url: str) -> list[str]:
    sqs = boto3.client("sqs")
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=30)
    return sorted(message["Body"] for message in messages.get("Messages", []))


def test_both_queue_readers_give_the_same_events_and_the_moto_one_redrives(queue):
    url, arn, dead_letters = queue
    send(url, "one", "two", "three")
    events: dict[str, list[dict[str, Any]]] = {"boto3": [], "moto": []}
    triggers = {
        name: SqsTrigger(reader, url, arn, recording(events[name], failing_all))
        for name, reader in queue_readers(arn).items()
    }

    # When the messages are received through the API, then in-process, and fail each time
    assert triggers["boto3"].poll_once().failed == 3
    assert triggers["moto"].poll_once().failed == 3

    # Then the in-process event is the API's, but for what a second receive changes
    [through_api], [in_process] = events["boto3"], events["moto"]
    for record in through_api["Records"]:
        record["attributes"]["ApproximateReceiveCount"] = "2"
    handles = [record.pop("receiptHandle") for e in (through_api, in_process) for record in e["Records"]]
    assert json.dumps(in_process) == json.dumps(through_api)
    assert len(set(handles)) == 6  # each receive hands out its own receipt handles
    assert in_process["Records"][0]["messageAttributes"]["raw"]["binaryValue"] == "b25l"  # b"one"

    # And after a third failed receive, the fourth moves them to the dead-letter queue
    assert triggers["moto"].poll_once().failed == 3
    assert triggers["moto"].poll_once().received == 0
    assert bodies(dead_letters) == ["one", "three", "two"]
    assert bodies(url) == []


def test_the_moto_reader_deletes_what_succeeded_and_keeps_what_failed(queue):
    url, arn, _dead_letters = queue
    send(url, "good", "bad")
    events: list[dict[str, Any]] = []

    def fail_bad(event: dict[str, Any]) -> dict[str, Any]:
        failed = [r["messageId"] for r in event["Records"] if r["body"] == "bad"]
        return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in failed]}

    trigger = SqsTrigger(MotoQueueReader.for_queue(arn), url, arn, recording(events, fail_bad))

    report = trigger.poll_once()

    assert (report.received, report.succeeded, report.failed) == (2, 1, 1)
    assert bodies(url) == ["bad"]


def test_the_moto_reader_long_polls_until_a_message_arrives(queue):
    url, arn, _dead_letters = queue
    trigger = SqsTrigger(MotoQueueReader.for_queue(arn), url, arn, recording([]))
    reports = []
    polling = threading.Thread(target=lambda: reports.append(trigger.poll_once(wait_seconds=5)))
    polling.start()
    time.sleep(0.2)  # the poll is waiting on the empty queue

    send(url, "late")
    polling.join()

    assert reports[0].succeeded == 1
    assert bodies(url) == []
