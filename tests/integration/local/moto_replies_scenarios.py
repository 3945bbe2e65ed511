"""DynamoDB, DynamoDB Streams and SQS requests and moto's answers to them, as the client sees them on the wire.

`python -m tests.integration.local.moto_replies_scenarios released` serves them with moto's own server
and serializer, in a fresh interpreter; `... direct` with the local stack's server, direct replies and
direct dispatch of JSON requests, and also checks every direct reply against what moto's serializer makes
of the same result. Each prints its observations as JSON: status, headers, error type and parsed body of
every reply, including requests no SDK would send.
"""

import http.client
import json
import logging
import sys
import zlib
from collections import Counter
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError
from moto.core.responses import ActionResult, BaseResponse
from moto.moto_server.threaded_moto_server import ThreadedMotoServer

TABLE = "replies-Table"
OTHER = "replies-Other"
# Random or clock values, the same kind on both sides but never the same value (a stream record's
# SizeBytes counts the characters of its creation time).
_VOLATILE = {
    "SizeBytes",
    "eventID",
    "ApproximateCreationDateTime",
    "CreationDateTime",
    "CreationRequestDateTime",
    "ShardIterator",
    "NextShardIterator",
    "StreamLabel",
    "LatestStreamLabel",
    "StreamArn",
    "LatestStreamArn",
    "LastDecreaseDateTime",
    "LastIncreaseDateTime",
    "MessageId",
    "ReceiptHandle",
    "MD5OfMessageAttributes",
    "SentTimestamp",
    "ApproximateFirstReceiveTimestamp",
    "CreatedTimestamp",
    "LastModifiedTimestamp",
}
# Headers whose values differ between any two replies; the server's own framing headers (the local stack's
# server keeps connections open, moto's closes them) are not the application's reply.
_VOLATILE_HEADERS = {"date", "x-amzn-requestid", "x-amz-crc32"}
_FRAMING_HEADERS = {"connection", "content-length"}
ITEM = {
    "pk": {"S": "a"},
    "sk": {"N": "1"},
    "n": {"N": "1.50"},
    "bin": {"B": b"\x00\xffbytes"},
    "flag": {"BOOL": False},
    "none": {"NULL": True},
    "strings": {"SS": ["x", "y"]},
    "numbers": {"NS": ["1", "2.5"]},
    "blobs": {"BS": [b"\x01", b"\x02"]},
    "history": {"L": [{"M": {"at": {"S": "2025-02-10T10:00:00Z"}, "ok": {"BOOL": True}}}, {"S": "é ✓"}]},
    "empty": {"M": {}},
    "gsi": {"S": "g1"},
}


def scenario(dynamodb: Any, streams: Any) -> None:
    key = {"pk": {"S": "a"}, "sk": {"N": "1"}}
    dynamodb.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": name, "AttributeType": kind}
            for name, kind in (("pk", "S"), ("sk", "N"), ("gsi", "S"))
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "byGsi",
                "KeySchema": [{"AttributeName": "gsi", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    dynamodb.create_table(
        TableName=OTHER,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    dynamodb.describe_table(TableName=TABLE)
    dynamodb.put_item(TableName=TABLE, Item=ITEM, ReturnConsumedCapacity="TOTAL")
    dynamodb.put_item(
        TableName=TABLE,
        Item=ITEM | {"n": {"N": "2"}},
        ReturnValues="ALL_OLD",
        ReturnConsumedCapacity="INDEXES",
    )
    dynamodb.put_item(TableName=TABLE, Item={"pk": {"S": "b"}, "sk": {"N": "2"}, "gsi": {"S": "g1"}})
    dynamodb.put_item(TableName=OTHER, Item={"id": {"S": "o"}, "v": {"N": "7"}})
    dynamodb.get_item(TableName=TABLE, Key=key)
    dynamodb.get_item(
        TableName=TABLE, Key={"pk": {"S": "zz"}, "sk": {"N": "9"}}, ReturnConsumedCapacity="TOTAL"
    )
    dynamodb.get_item(
        TableName=TABLE,
        Key=key,
        ProjectionExpression="history[0].#at, n",
        ExpressionAttributeNames={"#at": "at"},
    )
    for returned in ("NONE", "ALL_NEW", "ALL_OLD", "UPDATED_NEW", "UPDATED_OLD"):
        dynamodb.update_item(
            TableName=TABLE,
            Key=key,
            UpdateExpression="SET n = n + :one, history = list_append(history, :more) REMOVE flag",
            ExpressionAttributeValues={":one": {"N": "1"}, ":more": {"L": [{"S": returned}]}},
            ReturnValues=returned,
        )
    for failure in ("NONE", "ALL_OLD"):
        dynamodb.update_item(
            TableName=TABLE,
            Key=key,
            UpdateExpression="SET n = :zero",
            ConditionExpression="attribute_not_exists(pk)",
            ExpressionAttributeValues={":zero": {"N": "0"}},
            ReturnValuesOnConditionCheckFailure=failure,
        )
    dynamodb.put_item(TableName=TABLE, Item={"pk": {"S": ""}, "sk": {"N": "1"}})
    dynamodb.get_item(TableName="missing", Key=key)
    dynamodb.transact_write_items(
        TransactItems=[
            {"Put": {"TableName": OTHER, "Item": {"id": {"S": "t1"}}}},
            {
                "Update": {
                    "TableName": TABLE,
                    "Key": key,
                    "UpdateExpression": "SET flag = :t",
                    "ExpressionAttributeValues": {":t": {"BOOL": True}},
                }
            },
        ],
        ReturnConsumedCapacity="TOTAL",
    )
    dynamodb.transact_write_items(
        TransactItems=[
            {"Put": {"TableName": OTHER, "Item": {"id": {"S": "t2"}}}},
            {
                "ConditionCheck": {
                    "TableName": OTHER,
                    "Key": {"id": {"S": "o"}},
                    "ConditionExpression": "attribute_not_exists(id)",
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                }
            },
        ]
    )
    dynamodb.batch_get_item(
        RequestItems={
            TABLE: {
                "Keys": [key, {"pk": {"S": "b"}, "sk": {"N": "2"}}, {"pk": {"S": "q"}, "sk": {"N": "3"}}]
            },
            OTHER: {"Keys": [{"id": {"S": "o"}}], "ProjectionExpression": "v"},
        },
        ReturnConsumedCapacity="TOTAL",
    )
    dynamodb.query(
        TableName=TABLE, KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": {"S": "a"}}
    )
    dynamodb.query(
        TableName=TABLE,
        IndexName="byGsi",
        KeyConditionExpression="gsi = :g",
        ExpressionAttributeValues={":g": {"S": "g1"}},
        Limit=1,
    )
    dynamodb.query(
        TableName=TABLE,
        IndexName="byGsi",
        KeyConditionExpression="gsi = :g",
        ExpressionAttributeValues={":g": {"S": "g1"}},
        Select="COUNT",
    )
    dynamodb.scan(TableName=TABLE, Limit=1, ReturnConsumedCapacity="TOTAL")
    dynamodb.scan(TableName=TABLE, FilterExpression="n > :n", ExpressionAttributeValues={":n": {"N": "1"}})
    dynamodb.delete_item(TableName=OTHER, Key={"id": {"S": "o"}}, ReturnValues="ALL_OLD")
    dynamodb.delete_item(TableName=OTHER, Key={"id": {"S": "t1"}})
    dynamodb.list_tables()
    arn = dynamodb.describe_table(TableName=TABLE)["Table"]["LatestStreamArn"]
    streams.list_streams(TableName=TABLE)
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")[
        "ShardIterator"
    ]
    while iterator:
        page = streams.get_records(ShardIterator=iterator, Limit=3)
        iterator = page["NextShardIterator"] if page["Records"] else None


def sqs_scenario(sqs: Any) -> None:
    """The SQS requests of the stack's queues, in botocore's JSON protocol, and their failures."""
    url = sqs.create_queue(QueueName="replies-queue", Attributes={"VisibilityTimeout": "30"})["QueueUrl"]
    sqs.get_queue_url(QueueName="replies-queue")
    sqs.get_queue_url(QueueName="missing-queue")
    sqs.send_message(
        QueueUrl=url, MessageBody="one", MessageAttributes={"k": {"DataType": "String", "StringValue": "v"}}
    )
    sqs.send_message_batch(
        QueueUrl=url, Entries=[{"Id": str(number), "MessageBody": f"m{number}"} for number in range(3)]
    )
    sqs.send_message_batch(
        QueueUrl=url, Entries=[{"Id": "a", "MessageBody": "x"}, {"Id": "a", "MessageBody": "y"}]
    )
    sqs.send_message(QueueUrl=url.replace("replies-queue", "missing-queue"), MessageBody="lost")
    sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "VisibilityTimeout"]
    )
    received = sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"], AttributeNames=["All"]
    ).get("Messages", [])
    sqs.delete_message(QueueUrl=url, ReceiptHandle=received[0]["ReceiptHandle"])
    sqs.delete_message_batch(
        QueueUrl=url,
        Entries=[{"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(received[1:])]
        + [{"Id": "bad", "ReceiptHandle": "not-a-handle"}],
    )
    sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
    sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=11)
    sqs.list_queues(QueueNamePrefix="replies")
    sqs.purge_queue(QueueUrl=url)
    sqs.delete_queue(QueueUrl=url)


# Requests no SDK sends: a body that is not JSON, an action moto does not know, a service name nobody
# signs for, a query string and another path, an unsigned request, a browser's Origin.
_SIGNED = (
    "AWS4-HMAC-SHA256 Credential=testing/20250101/us-east-1/{}/aws4_request, SignedHeaders=host, Signature=0"
)


def _signed(target: str, service: str) -> dict[str, str]:
    """The headers of a JSON-protocol request for `target`, signed (in form) for `service`."""
    return {"X-Amz-Target": target, "Authorization": _SIGNED.format(service)}


_RAW_REQUESTS: list[tuple[str, str, dict[str, str], str]] = [
    ("POST", "/", _signed("DynamoDB_20120810.GetItem", "dynamodb"), "{not json"),
    ("POST", "/", _signed("DynamoDB_20120810.GetItem", "dynamodb"), ""),
    ("POST", "/", _signed("DynamoDB_20120810.GetItem", "dynamodb"), "[]"),
    ("POST", "/", _signed("AmazonSQS.GetQueueUrl", "sqs"), "{}"),
    ("POST", "/", _signed("AmazonSQS.NoSuchAction", "sqs"), "{}"),
    ("POST", "/", _signed("DynamoDB_20120810.ListTables", "s3"), "{}"),
    ("POST", "/", {"X-Amz-Target": "DynamoDB_20120810.ListTables", "Authorization": "Bearer x"}, "{}"),
    ("POST", "/", {"X-Amz-Target": "DynamoDB_20120810.ListTables"}, "{}"),
    ("POST", "/?x=1", _signed("DynamoDB_20120810.ListTables", "dynamodb"), "{}"),
    ("GET", "/", _signed("DynamoDB_20120810.ListTables", "dynamodb"), ""),
    (
        "POST",
        "/",
        _signed("DynamoDB_20120810.ListTables", "dynamodb") | {"Origin": "http://example.com"},
        "{}",
    ),
    ("POST", "/", _signed("DynamoDBStreams_20120810.ListStreams", "dynamodb"), "{}"),
]


def observe_raw(endpoint: str) -> list[dict[str, Any]]:
    """The raw requests, each on its own connection: status, headers and body as sent back."""
    replies = []
    host, port = endpoint.removeprefix("http://").split(":")
    for method, path, headers, body in _RAW_REQUESTS:
        connection = http.client.HTTPConnection(host, int(port), timeout=30)
        headers = headers | {"Content-Type": "application/x-amz-json-1.0"}
        connection.request(method, path, body=body.encode(), headers=headers)
        response = connection.getresponse()
        content = response.read()
        connection.close()
        replies.append(
            {
                "operation": f"{method} {path} {headers}",
                "status": response.status,
                "content_type": response.getheader("Content-Type"),
                "error_type": response.getheader("X-Amzn-Errortype"),
            }
            | _headers(response.getheaders(), content)
            | {"body": _json_or_text(content)}
        )
    return replies


def _json_or_text(content: bytes) -> Any:
    try:
        return _steady(json.loads(content))
    except ValueError:
        return content.decode()


def _headers(headers: list[tuple[str, str]], content: bytes) -> dict[str, Any]:
    """Every header of a reply, volatile values replaced by what they must be; a CRC32 must be the body's."""
    steady = []
    for name, value in headers:
        name = name.lower()
        if name == "x-amz-crc32":
            value = "matches the body" if int(value) == zlib.crc32(content) else f"wrong: {value}"
        elif name in _VOLATILE_HEADERS:
            value = "present"
        if name not in _FRAMING_HEADERS:
            steady.append([name, value])
    return {"headers": sorted(steady)}


def observe(endpoint: str) -> list[dict[str, Any]]:
    """Run the scenario against a server; every reply as the wire carried it."""
    replies: list[dict[str, Any]] = []

    def record(http_response: Any, model: Any, **_: Any) -> None:
        body = _steady(json.loads(http_response.content)) if http_response.content else None
        replies.append(
            {
                "operation": model.name,
                "status": http_response.status_code,
                "content_type": http_response.headers.get("Content-Type"),
                "error_type": http_response.headers.get("X-Amzn-Errortype"),
                "body": body,
            }
            | _headers(list(http_response.raw.headers.items()), http_response.content)
        )

    options = {
        "endpoint_url": endpoint,
        "region_name": "us-east-1",
        "aws_access_key_id": "testing",
        "aws_secret_access_key": "testing",
    }
    config = Config(account_id_endpoint_mode="disabled", retries={"max_attempts": 1})
    dynamodb = boto3.client("dynamodb", config=config, **options)
    streams = boto3.client("dynamodbstreams", config=config, **options)
    sqs = boto3.client("sqs", config=config, **options)
    for client in (dynamodb, streams, sqs):
        client.meta.events.register("after-call", record)
        client.meta.events.register("after-call-error", lambda **_: None)
        _tolerating_errors(client)
    scenario(dynamodb, streams)
    sqs_scenario(sqs)
    # Queue URLs name the server's port, which differs from run to run.
    return json.loads(json.dumps(replies + observe_raw(endpoint)).replace(endpoint, "http://moto"))


def _tolerating_errors(client: Any) -> None:
    """Failing requests are part of the scenario: their replies are observed, the scenario goes on."""
    for name in client.meta.method_to_api_mapping:
        method = getattr(client, name)

        def tolerant(*args: Any, _method: Any = method, **kwargs: Any) -> Any:
            try:
                return _method(*args, **kwargs)
            except ClientError as error:
                return error.response

        setattr(client, name, tolerant)


def _steady(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            key: (type(item).__name__ if key in _VOLATILE else _steady(item)) for key, item in value.items()
        }
    if isinstance(value, list):
        return [_steady(item) for item in value]
    return value


def _checking_direct_replies(mismatches: list[dict[str, Any]], direct: list[str]) -> None:
    """Every direct reply is also serialised by moto; any difference is a mismatch."""
    from moto.dynamodb.responses import DynamoHandler
    from moto.dynamodbstreams.responses import DynamoDBStreamsHandler

    from local_stack import moto_replies

    for handler_class in (DynamoHandler, DynamoDBStreamsHandler):
        generic = handler_class.serialized.generic  # type: ignore[attr-defined]

        def serialized(handler: BaseResponse, result: ActionResult, _generic: Any = generic) -> Any:
            reply = moto_replies.direct_reply(handler, result)
            if reply is None:
                return _generic(handler, result)
            direct.append(handler._get_action())
            status, headers, body = _generic(handler, result)
            if (status, headers, json.loads(body)) != (reply[0], reply[1], json.loads(reply[2])):
                mismatches.append({"action": handler._get_action(), "moto": body, "direct": reply[2]})
            return reply

        handler_class.serialized = serialized  # type: ignore[method-assign]


def _counting_direct_dispatch(dispatched: Counter[str]) -> None:
    """Every request answered without moto's Flask app leaves its X-Amz-Target."""
    from local_stack import moto_replies

    call = moto_replies._JsonRoute.__call__

    def counted(route: Any, environ: dict[str, Any], start_response: Any) -> Any:
        dispatched[environ["HTTP_X_AMZ_TARGET"]] += 1
        return call(route, environ, start_response)

    moto_replies._JsonRoute.__call__ = counted  # type: ignore[method-assign]


def main(side: str) -> dict[str, Any]:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's per-request access log
    mismatches: list[dict[str, Any]] = []
    direct: list[str] = []
    dispatched: Counter[str] = Counter()
    if side == "direct":
        from local_stack import moto_replies

        moto_replies.install()
        _checking_direct_replies(mismatches, direct)
        _counting_direct_dispatch(dispatched)
        server: ThreadedMotoServer = moto_replies.KeepAliveMotoServer("127.0.0.1", 0, verbose=False)
    else:
        server = ThreadedMotoServer("127.0.0.1", 0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        replies = observe(f"http://{host}:{port}")
    finally:
        server.stop()
    return {
        "replies": replies,
        "mismatches": mismatches,
        "direct": sorted(set(direct)),
        "dispatched": dict(sorted(dispatched.items())),
    }


if __name__ == "__main__":
    json.dump(main(sys.argv[1]), sys.stdout)
