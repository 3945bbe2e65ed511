"""The fan-out function as the DynamoDB Streams mapping calls it: a record it cannot read is reported by its
sequence number (the mapping retries from there); the others still go out."""

import importlib
from datetime import UTC, datetime
from urllib.parse import quote

import boto3

from attendance.data.aws import to_item
from attendance.data.punches import punch_item
from attendance.feed.events import decode
from functions.feed import fanout as fanout_app
from local_stack.events import LambdaContext
from tests.unit.test_feed_events import PUNCH

NOW = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


def stream_record(sequence: str, new_image: dict, keys: dict) -> dict:
    return {
        "eventID": sequence,
        "eventName": "INSERT",
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": {
            "ApproximateCreationDateTime": NOW.timestamp(),
            "Keys": keys,
            "NewImage": new_image,
            "SequenceNumber": sequence,
            "SizeBytes": 100,
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        },
        "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/Punches/stream/2026-11-30T00:00:00.000",
    }


def test_an_unreadable_record_is_a_batch_item_failure_and_the_rest_go_on(use_function_env, stack) -> None:
    environment = use_function_env("FeedFanoutFunction")
    importlib.reload(fanout_app)
    punch = PUNCH.model_copy(update={"log_id": "L1"})
    good = stream_record("100", to_item(punch_item(punch, NOW)), to_item({"logId": "L1"}))
    broken = stream_record("101", to_item({"logId": "L2", "syncStatus": "pending"}), to_item({"logId": "L2"}))
    # Given one watching connection
    table = boto3.resource("dynamodb").Table(environment["FEED_CONNECTIONS_TABLE"])
    table.put_item(
        Item={
            "connectionId": "Watcher000001=",
            "keyId": "k",
            "rooms": {"all"},
            "connectedAt": NOW.isoformat(),
            "expiresAt": int(datetime.now(UTC).timestamp()) + 3600,
        }
    )
    # When a batch with a good and a broken record arrives
    reply = fanout_app.lambda_handler({"Records": [good, broken]}, LambdaContext("feed_fanout", 30))
    # Then only the broken one is reported, by its sequence number
    assert reply == {"batchItemFailures": [{"itemIdentifier": "101"}]}
    # and the good one's event went to the connection (moto's @connections keeps what was posted)
    posted = apigateway_posts("Watcher000001=")
    assert decode(posted).punch.log_id == "L1"


def apigateway_posts(connection_id: str) -> bytes:
    from moto.apigatewaymanagementapi.models import apigatewaymanagementapi_backends

    backend = apigatewaymanagementapi_backends["123456789012"]["us-east-1"]
    return backend.connections[quote(connection_id, safe="")].data  # moto keys it as the URL path has it
