"""The DynamoDB Streams event source mapping against moto: Lambda's event, checkpoints, retries, bisection,
record age and the on-failure destination."""

import json
import re
import time
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from local_stack import moto_patches
from local_stack.stream_trigger import StreamSettings, StreamTrigger
from local_stack.template import Resolver

STREAMS_CONFIG = Config(account_id_endpoint_mode="disabled")  # moto serves the regional endpoint only
SECOND_UTC = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"
MILLISECOND_UTC = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"


class Handler:
    """A function standing in for the fan-out: records each event, and fails as told."""

    def __init__(self, fail: Callable[[dict[str, Any]], Any] = lambda _event: None) -> None:
        self.events: list[dict[str, Any]] = []
        self.fail = fail

    def __call__(self, event: dict[str, Any]) -> Any:
        json.dumps(event)  # Lambda's events are JSON
        self.events.append(event)
        return self.fail(event)

    def batches(self) -> list[list[str]]:
        return [[record["dynamodb"]["Keys"]["id"]["S"] for record in e["Records"]] for e in self.events]


@pytest.fixture
def stream_arn(table: str) -> str:
    return table


@pytest.fixture
def failures_queue(aws: None) -> str:
    return boto3.client("sqs").create_queue(QueueName="failures")["QueueUrl"]


def trigger(
    stream_arn: str, handler: Handler, queue_url: str | None = None, **settings: Any
) -> StreamTrigger:
    started = StreamTrigger(
        boto3.client("dynamodbstreams", config=STREAMS_CONFIG),
        stream_arn,
        handler,
        StreamSettings(**settings),
        sqs=boto3.client("sqs"),
        destination_url=queue_url,
        function_arn="arn:aws:lambda:us-east-1:123456789012:function:fanout",
    )
    started.start()
    return started


def put(*ids: str, **attributes: str) -> None:
    for item_id in ids:
        boto3.client("dynamodb").put_item(
            TableName="items",
            Item={"id": {"S": item_id}} | {name: {"S": value} for name, value in attributes.items()},
        )


def invocation_records(queue_url: str) -> list[dict[str, Any]]:
    sqs = boto3.client("sqs")
    received: list[dict[str, Any]] = []
    while messages := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", []):
        received += [json.loads(message["Body"]) for message in messages]
        sqs.delete_message_batch(
            QueueUrl=queue_url,
            Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
        )
    return received


def fail_on(*ids: str) -> Callable[[dict[str, Any]], None]:
    def fail(event: dict[str, Any]) -> None:
        if any(record["dynamodb"]["Keys"]["id"]["S"] in ids for record in event["Records"]):
            raise RuntimeError("poison record")

    return fail


def test_changes_reach_the_function_as_lambda_builds_the_event(stream_arn):
    # Given an item written before the mapping started (LATEST: not delivered)
    put("old")
    handler = Handler()
    mapping = trigger(stream_arn, handler)
    before = int(time.time())

    # When an item is inserted, modified and removed, and the mapping polls
    put("a", state="new")
    put("a", state="sent")
    boto3.client("dynamodb").delete_item(TableName="items", Key={"id": {"S": "a"}})
    report = mapping.poll_once()

    # Then one invocation carried the three changes, in order, as Lambda's DynamoDB event
    assert (report.records, report.invocations, report.discarded_batches) == (3, 1, 0)
    [event] = handler.events
    insert, modify, remove = event["Records"]
    assert [r["eventName"] for r in event["Records"]] == ["INSERT", "MODIFY", "REMOVE"]
    for record in event["Records"]:
        assert record["eventVersion"] == "1.1"
        assert record["eventSource"] == "aws:dynamodb"
        assert record["eventSourceARN"] == stream_arn
        assert record["awsRegion"] == "us-east-1"
        assert record["eventID"]
        dynamodb = record["dynamodb"]
        assert dynamodb["Keys"] == {"id": {"S": "a"}}
        assert dynamodb["StreamViewType"] == "NEW_AND_OLD_IMAGES"
        assert isinstance(dynamodb["SizeBytes"], int)
        assert isinstance(dynamodb["ApproximateCreationDateTime"], int)
        assert before <= dynamodb["ApproximateCreationDateTime"] <= time.time()
    assert insert["dynamodb"]["NewImage"] == {"id": {"S": "a"}, "state": {"S": "new"}}
    assert "OldImage" not in insert["dynamodb"]
    assert modify["dynamodb"]["OldImage"] == {"id": {"S": "a"}, "state": {"S": "new"}}
    assert modify["dynamodb"]["NewImage"] == {"id": {"S": "a"}, "state": {"S": "sent"}}
    assert remove["dynamodb"]["OldImage"] == {"id": {"S": "a"}, "state": {"S": "sent"}}
    assert "NewImage" not in remove["dynamodb"]
    sequence = [int(r["dynamodb"]["SequenceNumber"]) for r in event["Records"]]
    assert sequence == sorted(sequence)
    # And the stream has moved on: the next poll brings nothing again
    assert mapping.poll_once().records == 0
    assert (mapping.stats.records, mapping.stats.invocations) == (3, 1)


def test_batches_are_at_most_the_batch_size_and_in_order(stream_arn):
    handler = Handler()
    mapping = trigger(stream_arn, handler, batch_size=2)
    put("a", "b", "c", "d", "e")

    while mapping.poll_once().records:
        pass

    assert handler.batches() == [["a", "b"], ["c", "d"], ["e"]]


def test_a_partial_batch_failure_retries_from_the_failed_record_only(stream_arn):
    # Given a function that reports record c failed, the first time it sees it
    reported: list[str] = []

    def report_c(event: dict[str, Any]) -> dict[str, Any]:
        for record in event["Records"]:
            if record["dynamodb"]["Keys"]["id"]["S"] == "c" and not reported:
                reported.append(record["dynamodb"]["SequenceNumber"])
                return {"batchItemFailures": [{"itemIdentifier": reported[0]}]}
        return {"batchItemFailures": []}

    handler = Handler(report_c)
    mapping = trigger(stream_arn, handler, report_batch_item_failures=True, maximum_retry_attempts=3)
    put("a", "b", "c", "d")

    # When the mapping polls
    report = mapping.poll_once()

    # Then the retry starts at c: a and b are not delivered again
    assert handler.batches() == [["a", "b", "c", "d"], ["c", "d"]]
    assert (report.invocations, report.discarded_batches) == (2, 0)
    assert mapping.poll_once().records == 0


def test_a_record_reported_failed_every_time_goes_to_the_destination_after_the_retries(
    stream_arn, failures_queue
):
    # Given a function that reports b failed, every time
    def report_b(event: dict[str, Any]) -> dict[str, Any]:
        failed = [
            r["dynamodb"]["SequenceNumber"]
            for r in event["Records"]
            if r["dynamodb"]["Keys"]["id"]["S"] == "b"
        ]
        return {"batchItemFailures": [{"itemIdentifier": sequence} for sequence in failed]}

    handler = Handler(report_b)
    mapping = trigger(
        stream_arn, handler, failures_queue, report_batch_item_failures=True, maximum_retry_attempts=2
    )
    put("a", "b", "c")

    # When the mapping polls
    mapping.poll_once()

    # Then b and what follows it were retried twice, then handed to the destination
    assert handler.batches() == [["a", "b", "c"], ["b", "c"], ["b", "c"]]
    [failure] = invocation_records(failures_queue)
    assert failure["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert failure["requestContext"]["approximateInvokeCount"] == 3
    assert failure["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST"}
    assert failure["DDBStreamBatchInfo"]["batchSize"] == 2
    assert (
        failure["DDBStreamBatchInfo"]["startSequenceNumber"]
        == handler.events[1]["Records"][0]["dynamodb"]["SequenceNumber"]
    )


@pytest.mark.parametrize(
    "failure",
    [{"itemIdentifier": "123"}, {"itemIdentifier": ""}, {"itemIdentifier": None}, {"sequenceNumber": "1"}],
    ids=["unknown", "empty", "null", "wrong key"],
)
def test_a_bad_item_identifier_fails_the_whole_batch(stream_arn, failure):
    # Given a function that answers with a bad identifier once, then with an empty list (success)
    answers = iter([{"batchItemFailures": [failure]}, {"batchItemFailures": []}])
    handler = Handler(lambda _event: next(answers))
    mapping = trigger(stream_arn, handler, report_batch_item_failures=True, maximum_retry_attempts=3)
    put("a", "b")

    # When the mapping polls, then the whole batch was retried, once
    assert mapping.poll_once().invocations == 2
    assert handler.batches() == [["a", "b"], ["a", "b"]]


def test_reported_failures_are_ignored_unless_the_mapping_reports_batch_item_failures(stream_arn):
    handler = Handler(lambda event: {"batchItemFailures": [{"itemIdentifier": "x"}]})
    mapping = trigger(stream_arn, handler, maximum_retry_attempts=3)
    put("a")

    assert mapping.poll_once().invocations == 1


def test_a_poison_record_is_isolated_by_bisection_and_sent_to_the_destination(stream_arn, failures_queue):
    # Given a function that fails on any batch holding record p, with bisection and two retries
    handler = Handler(fail_on("p"))
    mapping = trigger(
        stream_arn,
        handler,
        failures_queue,
        bisect_on_function_error=True,
        maximum_retry_attempts=2,
        report_batch_item_failures=True,
    )
    put("a", "p", "b", "c")

    # When the mapping polls
    report = mapping.poll_once()

    # Then the batch was halved until p stood alone, p was retried twice, and the rest delivered once
    assert handler.batches() == [
        ["a", "p", "b", "c"],
        ["a", "p"],
        ["a"],
        ["p"],
        ["p"],
        ["p"],
        ["b", "c"],
    ]
    assert (report.invocations, report.discarded_batches) == (7, 1)
    # And the on-failure queue describes p's place in the stream
    p_sequence = handler.events[3]["Records"][0]["dynamodb"]["SequenceNumber"]
    [failure] = invocation_records(failures_queue)
    assert failure["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert failure["requestContext"]["functionArn"] == "arn:aws:lambda:us-east-1:123456789012:function:fanout"
    assert failure["requestContext"]["approximateInvokeCount"] == 5
    assert failure["requestContext"]["requestId"]
    assert failure["responseContext"] == {
        "statusCode": 200,
        "executedVersion": "$LATEST",
        "functionError": "Unhandled",
    }
    assert failure["version"] == "1.0"
    assert re.fullmatch(MILLISECOND_UTC, failure["timestamp"])
    info = failure["DDBStreamBatchInfo"]
    assert (info["startSequenceNumber"], info["endSequenceNumber"], info["batchSize"]) == (
        p_sequence,
        p_sequence,
        1,
    )
    assert info["streamArn"] == stream_arn
    assert info["shardId"].startswith("shardId-")
    assert re.fullmatch(SECOND_UTC, info["approximateArrivalOfFirstRecord"])
    assert info["approximateArrivalOfLastRecord"] == info["approximateArrivalOfFirstRecord"]
    # And the stream has moved on: later records are delivered
    put("d")
    mapping.poll_once()
    assert handler.batches()[-1] == ["d"]


def test_without_bisection_a_failing_batch_goes_whole_to_the_destination_after_its_retries(
    stream_arn, failures_queue
):
    handler = Handler(fail_on("a", "b", "c"))
    mapping = trigger(stream_arn, handler, failures_queue, maximum_retry_attempts=2)
    put("a", "b", "c")

    report = mapping.poll_once()

    assert handler.batches() == [["a", "b", "c"]] * 3
    [failure] = invocation_records(failures_queue)
    assert failure["DDBStreamBatchInfo"]["batchSize"] == 3
    assert failure["requestContext"]["approximateInvokeCount"] == 3
    assert (report.invocations, report.discarded_batches) == (3, 1)
    put("d")
    mapping.poll_once()
    assert handler.batches()[-1] == ["d"]
    assert mapping.stats.discarded_records == 3


def test_records_older_than_the_maximum_age_are_not_retried(stream_arn, failures_queue):
    # Given a function that fails, and a clock that moves past the maximum age while it runs
    later = [0.0]

    def fail_slowly(_event: dict[str, Any]) -> None:
        later[0] += 120
        raise TimeoutError("Task timed out")

    handler = Handler(fail_slowly)
    mapping = trigger(
        stream_arn, handler, failures_queue, maximum_record_age_seconds=60, maximum_retry_attempts=5
    )
    mapping.clock = lambda: time.time() + later[0]
    put("a", "b")

    # When the mapping polls
    report = mapping.poll_once()

    # Then the batch was invoked once, not retried, and went to the destination as too old
    assert handler.batches() == [["a", "b"]]
    [failure] = invocation_records(failures_queue)
    assert failure["requestContext"]["condition"] == "RecordAgeExceeded"
    assert failure["requestContext"]["approximateInvokeCount"] == 1
    assert failure["DDBStreamBatchInfo"]["batchSize"] == 2
    assert report.discarded_batches == 1


def test_records_already_too_old_when_read_are_never_invoked(stream_arn, failures_queue):
    handler = Handler()
    mapping = trigger(stream_arn, handler, failures_queue, maximum_record_age_seconds=60)
    put("a")
    mapping.clock = lambda: time.time() + 3600

    mapping.poll_once()

    assert handler.events == []
    [failure] = invocation_records(failures_queue)
    assert failure["requestContext"]["condition"] == "RecordAgeExceeded"
    assert failure["requestContext"]["approximateInvokeCount"] == 0


def test_a_cancelled_transaction_reaches_no_function(stream_arn):
    # Given a mapping, and a transaction that is cancelled by its condition
    handler = Handler()
    mapping = trigger(stream_arn, handler)
    with pytest.raises(ClientError, match="TransactionCanceledException"):
        boto3.client("dynamodb").transact_write_items(
            TransactItems=[
                {"Put": {"TableName": "items", "Item": {"id": {"S": "a"}}}},
                {
                    "Put": {
                        "TableName": "items",
                        "Item": {"id": {"S": "b"}},
                        "ConditionExpression": "attribute_exists(id)",
                    }
                },
            ]
        )

    # When the mapping polls, then nothing is read or delivered
    assert mapping.poll_once().records == 0
    assert handler.events == []
    # And the next real change is delivered
    put("c")
    mapping.poll_once()
    assert handler.batches() == [["c"]]


def test_the_template_mapping_reads_the_punches_stream(stack: Resolver, template: dict[str, Any]):
    # Given the fan-out's mapping of the punches table's stream, as the template configures it
    event = template["Resources"]["FeedFanoutFunction"]["Properties"]["Events"]["PunchChanges"]
    properties = stack.resolve(event["Properties"])
    handler = Handler()
    mapping = StreamTrigger.for_event(
        properties,
        handler,
        boto3.client("dynamodbstreams", config=STREAMS_CONFIG),
        boto3.client("sqs"),
        lambda arn: next(stack.refs[q] for (q, a), v in stack.attributes.items() if a == "Arn" and v == arn),
        "FeedFanoutFunction",
    )
    assert mapping.settings == StreamSettings(
        batch_size=100,
        starting_position="LATEST",
        maximum_retry_attempts=2,
        maximum_record_age_seconds=int(stack.parameters()["FeedMaxRecordAgeSeconds"]),
        bisect_on_function_error=True,
        report_batch_item_failures=True,
        on_failure_destination=stack.attributes[("FeedFailureQueue", "Arn")],
    )
    assert mapping.destination_url == stack.refs["FeedFailureQueue"]
    mapping.start()

    # When a punch is stored
    boto3.client("dynamodb").put_item(
        TableName=stack.refs["PunchesTable"], Item={"logId": {"S": "L1"}, "syncStatus": {"S": "pending"}}
    )
    mapping.poll_once()

    # Then the fan-out receives it from the punches table's stream
    [record] = handler.events[0]["Records"]
    assert record["eventSourceARN"] == stack.attributes[("PunchesTable", "StreamArn")]
    assert record["dynamodb"]["NewImage"]["logId"] == {"S": "L1"}


def test_the_mapping_resumes_after_its_iterator_expired(stream_arn, monkeypatch):
    # Given a mapping that delivered a record, then was not polled for 16 minutes
    now = [1000.0]
    monkeypatch.setattr(moto_patches, "_clock", lambda: now[0])
    handler = Handler()
    mapping = trigger(stream_arn, handler)
    put("a")
    mapping.poll_once()
    now[0] += 16 * 60
    put("b")

    # When it polls with its expired iterator
    mapping.poll_once()

    # Then it carries on after the last record it delivered
    assert handler.batches() == [["a"], ["b"]]
