"""moto's DynamoDB Streams as DynamoDB writes them: a record for each change that happened, and only then."""

import json
import time
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from moto.dynamodbstreams.models import dynamodbstreams_backends

from local_stack import moto_patches

# moto serves streams at the regional endpoint only, not at the account's that botocore picks for a stream.
STREAMS_CONFIG = Config(account_id_endpoint_mode="disabled")


def stream_records(stream_arn: str) -> list[dict[str, Any]]:
    streams = boto3.client("dynamodbstreams", config=STREAMS_CONFIG)
    shard = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(
        StreamArn=stream_arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    return streams.get_records(ShardIterator=iterator)["Records"]


def changes(stream_arn: str) -> list[tuple[str, dict[str, Any] | None, dict[str, Any] | None]]:
    return [
        (r["eventName"], r["dynamodb"].get("OldImage"), r["dynamodb"].get("NewImage"))
        for r in stream_records(stream_arn)
    ]


def item(item_id: str, **attributes: str) -> dict[str, Any]:
    return {"id": {"S": item_id}} | {name: {"S": value} for name, value in attributes.items()}


def test_a_cancelled_transaction_leaves_no_stream_record(table):
    # Given an item, and a transaction that writes it and another item, then fails its condition check
    dynamodb = boto3.client("dynamodb")
    dynamodb.put_item(TableName="items", Item=item("a", state="new"))
    transaction = [
        {"Put": {"TableName": "items", "Item": item("b", state="new")}},
        {
            "Update": {
                "TableName": "items",
                "Key": {"id": {"S": "a"}},
                "UpdateExpression": "SET #s = :s",
                "ExpressionAttributeNames": {"#s": "state"},
                "ExpressionAttributeValues": {":s": {"S": "sent"}},
            }
        },
        {
            "ConditionCheck": {
                "TableName": "items",
                "Key": {"id": {"S": "c"}},
                "ConditionExpression": "attribute_exists(id)",
            }
        },
    ]

    # When it is cancelled
    with pytest.raises(ClientError, match="TransactionCanceledException"):
        dynamodb.transact_write_items(TransactItems=transaction)

    # Then the stream holds the first put alone
    assert changes(table) == [("INSERT", None, item("a", state="new"))]
    # And a transaction that goes through is streamed right after it, with the next sequence number
    dynamodb.transact_write_items(TransactItems=transaction[:2])
    records = stream_records(table)
    assert [(r["eventName"], r["dynamodb"]["Keys"]["id"]["S"]) for r in records] == [
        ("INSERT", "a"),
        ("INSERT", "b"),
        ("MODIFY", "a"),
    ]
    numbers = [int(r["dynamodb"]["SequenceNumber"]) for r in records]
    assert numbers == list(range(numbers[0], numbers[0] + 3))


def test_a_write_that_changes_nothing_writes_no_record(table):
    # Given an item
    dynamodb = boto3.client("dynamodb")
    dynamodb.put_item(TableName="items", Item=item("a", state="new"))

    # When it is put again as it is, and updated to the value it has
    dynamodb.put_item(TableName="items", Item=item("a", state="new"))
    dynamodb.update_item(
        TableName="items",
        Key={"id": {"S": "a"}},
        UpdateExpression="SET #s = :s",
        ExpressionAttributeNames={"#s": "state"},
        ExpressionAttributeValues={":s": {"S": "new"}},
    )
    # And then changed for real
    dynamodb.put_item(TableName="items", Item=item("a", state="sent"))

    # Then the stream holds the insert and the one real change
    assert changes(table) == [
        ("INSERT", None, item("a", state="new")),
        ("MODIFY", item("a", state="new"), item("a", state="sent")),
    ]


def test_an_update_that_creates_an_item_writes_one_insert(table):
    # When an update creates an item
    boto3.client("dynamodb").update_item(
        TableName="items",
        Key={"id": {"S": "a"}},
        UpdateExpression="SET #s = :s",
        ExpressionAttributeNames={"#s": "state"},
        ExpressionAttributeValues={":s": {"S": "new"}},
    )

    # Then the stream holds one INSERT, with the item as the update left it
    assert changes(table) == [("INSERT", None, item("a", state="new"))]


def test_creation_time_is_sent_as_whole_epoch_seconds(table):
    # Given a client that keeps GetRecords' reply as sent
    streams = boto3.client("dynamodbstreams", config=STREAMS_CONFIG)
    bodies: list[bytes] = []
    streams.meta.events.register(
        "before-parse.dynamodbstreams.GetRecords",
        lambda response_dict, **_: bodies.append(response_dict["body"]),
    )
    before = time.time()
    boto3.client("dynamodb").put_item(TableName="items", Item=item("a"))

    # When the stream is read
    shard = streams.describe_stream(StreamArn=table)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=table, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    streams.get_records(ShardIterator=iterator["ShardIterator"])

    # Then the record's creation time is a JSON number: epoch seconds, rounded down to the second
    created = json.loads(bodies[0])["Records"][0]["dynamodb"]["ApproximateCreationDateTime"]
    assert isinstance(created, int | float)
    assert created == int(created)
    assert int(before) <= created <= time.time()


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The clock shard iterators expire by; move it forward by adding to its one value."""
    now = [1000.0]
    monkeypatch.setattr(moto_patches, "_clock", lambda: now[0])
    return now


def test_a_shard_iterator_expires_fifteen_minutes_after_it_was_handed_out(table, clock):
    # Given an iterator at the start of the stream, which holds one record
    boto3.client("dynamodb").put_item(TableName="items", Item=item("a"))
    streams = boto3.client("dynamodbstreams", config=STREAMS_CONFIG)
    shard = streams.describe_stream(StreamArn=table)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=table, ShardId=shard, ShardIteratorType="TRIM_HORIZON")[
        "ShardIterator"
    ]

    # When it is used within 15 minutes, then it reads the stream, as often as it is used
    clock[0] += 14 * 60
    assert len(streams.get_records(ShardIterator=iterator)["Records"]) == 1
    assert len(streams.get_records(ShardIterator=iterator)["Records"]) == 1
    # When it is used later, then it has expired
    clock[0] += 2 * 60
    with pytest.raises(ClientError, match="ExpiredIteratorException"):
        streams.get_records(ShardIterator=iterator)


def test_iterators_do_not_pile_up_while_a_reader_polls(table, clock):
    # Given a reader that polls every 10 seconds, for 50 minutes
    streams = boto3.client("dynamodbstreams", config=STREAMS_CONFIG)
    shard = streams.describe_stream(StreamArn=table)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=table, ShardId=shard, ShardIteratorType="LATEST")[
        "ShardIterator"
    ]
    for _ in range(300):
        clock[0] += 10
        iterator = streams.get_records(ShardIterator=iterator)["NextShardIterator"]

    # Then moto holds the iterators of the last 15 minutes only
    held = dynamodbstreams_backends["123456789012"]["us-east-1"].shard_iterators
    assert 80 <= len(held) <= 92
    assert iterator in held
