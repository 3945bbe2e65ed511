"""Direct DynamoDB and Streams replies and direct dispatch of JSON requests, on a keep-alive server, against
moto as released: the same answers, headers included."""

from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from local_stack.moto_replies import KeepAliveMotoServer
from tests.integration.local.released_moto import observed_in_fresh_interpreter

HOT_ACTIONS = {
    "GetItem",
    "PutItem",
    "UpdateItem",
    "DeleteItem",
    "BatchGetItem",
    "Query",
    "Scan",
    "TransactWriteItems",
    "GetRecords",
}
# The requests the stack lives on, which skip moto's Flask app.
HOT_TARGETS = {f"DynamoDB_20120810.{action}" for action in HOT_ACTIONS - {"GetRecords"}} | {
    "DynamoDBStreams_20120810.GetRecords",
    "DynamoDBStreams_20120810.GetShardIterator",
    "AmazonSQS.SendMessageBatch",
    "AmazonSQS.ReceiveMessage",
    "AmazonSQS.DeleteMessageBatch",
    "AmazonSQS.GetQueueUrl",
}


def _observed(side: str) -> dict[str, Any]:
    """The scenario in a fresh interpreter: moto as released, or the direct replies on the local stack's server."""
    return observed_in_fresh_interpreter("tests.integration.local.moto_replies_scenarios", side, timeout=120)


@pytest.fixture(scope="module")
def released() -> dict[str, Any]:
    return _observed("released")


@pytest.fixture(scope="module")
def direct() -> dict[str, Any]:
    return _observed("direct")


def test_every_reply_is_the_one_moto_gives(released, direct):
    # Given the same requests to moto as released and to the local stack's moto
    # Then every status, header, error type and parsed body is the same, errors and malformed requests included
    assert [reply["operation"] for reply in direct["replies"]] == [
        reply["operation"] for reply in released["replies"]
    ]
    for expected, observed in zip(released["replies"], direct["replies"], strict=True):
        assert observed == expected


def test_the_scenario_covers_errors_and_stream_records(released):
    errors = {reply["error_type"] for reply in released["replies"] if reply["status"] != 200}
    assert {
        "ConditionalCheckFailedException",
        "TransactionCanceledException",
        "ValidationException",
    } <= errors
    cancelled = next(
        reply for reply in released["replies"] if reply["error_type"] == "TransactionCanceledException"
    )
    assert [reason["Code"] for reason in cancelled["body"]["CancellationReasons"]] == [
        "None",
        "ConditionalCheckFailed",
    ]
    records = [
        record
        for reply in released["replies"]
        if reply["operation"] == "GetRecords"
        for record in reply["body"]["Records"]
    ]
    assert {"NewImage", "OldImage"} <= {key for record in records for key in record["dynamodb"]}


def test_the_scenario_covers_sqs_failures_and_requests_no_sdk_sends(released):
    errors = {reply["error_type"] for reply in released["replies"] if reply["status"] != 200}
    assert {
        "com.amazonaws.sqs#QueueDoesNotExist",
        "com.amazonaws.sqs#BatchEntryIdsNotDistinct",
        "com.amazonaws.sqs#InvalidParameterValue",
    } <= errors
    raw = [reply for reply in released["replies"] if reply["operation"].startswith(("POST", "GET"))]
    assert {reply["status"] for reply in raw} >= {200, 400, 500}
    # moto's app adds CORS headers to every reply it makes (a failure's 500 comes from the server)
    assert all(
        any(name == "access-control-allow-origin" for name, _ in reply["headers"])
        for reply in released["replies"]
        if reply["status"] != 500
    )


def test_json_requests_skip_moto_app_and_the_rest_does_not(direct):
    # Then the stack's DynamoDB, Streams and SQS requests were dispatched directly
    assert set(direct["dispatched"]) >= HOT_TARGETS
    # And of the ListTables requests, only the SDK's went direct: not those signed for another service,
    # unsigned, with a query string, a GET or a browser's Origin
    assert direct["dispatched"]["DynamoDB_20120810.ListTables"] == 1


def test_hot_replies_take_the_direct_path_and_match_moto_serializer(direct):
    # Then the replies the stack lives on were written directly
    assert set(direct["direct"]) >= HOT_ACTIONS
    # And each equals, parsed, what moto's serializer made of the very same result
    assert direct["mismatches"] == []


def test_the_server_keeps_connections_alive_through_every_kind_of_reply():
    # Given the local stack's moto server, counting the connections it accepts
    server = KeepAliveMotoServer("127.0.0.1", 0, verbose=False)
    server.start()
    accepted = []
    process_request = server._server.process_request
    server._server.process_request = lambda request, address: (
        accepted.append(address),
        process_request(request, address),
    )
    host, port = server.get_host_and_port()
    options = {
        "endpoint_url": f"http://{host}:{port}",
        "region_name": "us-east-1",
        "aws_access_key_id": "testing",
        "aws_secret_access_key": "testing",
    }
    try:
        s3 = boto3.client("s3", **options)
        sqs = boto3.client("sqs", **options)
        # When one client sends many requests: bodies in and out, a HEAD, an empty reply, an error
        s3.create_bucket(Bucket="replies")
        body = bytes(range(256)) * 4096
        s3.put_object(Bucket="replies", Key="k", Body=body)
        assert s3.head_object(Bucket="replies", Key="k")["ContentLength"] == len(body)
        assert s3.get_object(Bucket="replies", Key="k")["Body"].read() == body
        assert s3.get_object(Bucket="replies", Key="k", Range="bytes=1-3")["Body"].read() == body[1:4]
        with pytest.raises(ClientError, match="NoSuchKey"):
            s3.get_object(Bucket="replies", Key="missing")
        s3.delete_object(Bucket="replies", Key="k")
        queue = sqs.create_queue(QueueName="replies")["QueueUrl"]
        for number in range(5):
            sqs.send_message(QueueUrl=queue, MessageBody=f"m{number}")
        received = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
        # Then every reply arrived whole, and each client used one connection for all of them
        assert sorted(message["Body"] for message in received) == [f"m{number}" for number in range(5)]
        assert len(accepted) == 2
    finally:
        server.stop()
