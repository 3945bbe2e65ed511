"""DynamoDB and DynamoDB Streams requests and moto's answers to them, as the client sees them on the wire.

`python -m tests.integration.local.moto_replies_scenarios released` serves them with moto's own server
and serializer, in a fresh interpreter; `... direct` with the local stack's server and direct replies,
and also checks every direct reply against what moto's serializer makes of the same result. Each prints
its observations as JSON: status, content type, error type and parsed body of every reply.
"""

import json
import logging
import sys
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
}
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


def observe(endpoint: str) -> list[dict[str, Any]]:
    """Run the scenario against a server; every reply as the wire carried it."""
    replies: list[dict[str, Any]] = []

    def record(http_response: Any, model: Any, **_: Any) -> None:
        replies.append(
            {
                "operation": model.name,
                "status": http_response.status_code,
                "content_type": http_response.headers.get("Content-Type"),
                "error_type": http_response.headers.get("X-Amzn-Errortype"),
                "body": _steady(json.loads(http_response.content)),
            }
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
    for client in (dynamodb, streams):
        client.meta.events.register("after-call", record)
        client.meta.events.register("after-call-error", lambda **_: None)
    _tolerating_errors(dynamodb)
    scenario(dynamodb, streams)
    return replies


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


def main(side: str) -> dict[str, Any]:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's per-request access log
    mismatches: list[dict[str, Any]] = []
    direct: list[str] = []
    if side == "direct":
        from local_stack import moto_replies

        moto_replies.install()
        _checking_direct_replies(mismatches, direct)
        server: ThreadedMotoServer = moto_replies.KeepAliveMotoServer("127.0.0.1", 0, verbose=False)
    else:
        server = ThreadedMotoServer("127.0.0.1", 0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        replies = observe(f"http://{host}:{port}")
    finally:
        server.stop()
    return {"replies": replies, "mismatches": mismatches, "direct": sorted(set(direct))}


if __name__ == "__main__":
    json.dump(main(sys.argv[1]), sys.stdout)
