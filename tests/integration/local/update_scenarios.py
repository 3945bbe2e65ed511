"""UpdateItem requests and what moto makes of them, identical whether or not moto is patched.

Each scenario sends its UpdateItem requests, one after the other, to a fresh in-process moto holding two
tables with streams, and observes each reply (or error), the items left and the stream records written.
`python -m tests.integration.local.update_scenarios` prints every observation as JSON from a fresh
interpreter, where local_stack was never imported: moto exactly as released.

Stream records are compared as changes (event, keys, old and new image): their IDs, sequence numbers and
times differ from run to run. The patches deliberately write no record for an update that changes
nothing and one INSERT, not two, for an update that creates its item (see local_stack.moto_patches), so
both sides are compared with those records folded as the patches fold them.
"""

import json
import sys
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.dynamodb.parsing.expressions import UpdateExpressionParser

from attendance.data.punches import _APPEND_HISTORY, _NOT_DELIVERED

THINGS, PAIRS = "things", "pairs"
_STREAMS = Config(account_id_endpoint_mode="disabled")  # moto serves streams at the regional endpoint only
_SEED = {
    "id": {"S": "a"},
    "n": {"N": "1"},
    "s": {"S": "text"},
    "m": {"M": {"inner1": {"M": {"deep1": {"N": "1"}}}, "list1": {"L": [{"N": "1"}, {"N": "2"}]}}},
    "tags": {"SS": ["red", "blue"]},
    "nums": {"NS": ["1", "2"]},
    "syncStatus": {"S": "pending"},
    "logId": {"S": "a"},
}
_RETURN_VALUES = ("NONE", "ALL_OLD", "UPDATED_OLD", "ALL_NEW", "UPDATED_NEW")

Request = dict[str, Any]  # update_item's arguments; TableName defaults to THINGS, Key to item "a"


def _values(**values: Any) -> dict[str, Any]:
    """Expression attribute values from plain Python values, as boto3's TypeSerializer writes them."""
    serializer = boto3.dynamodb.types.TypeSerializer()
    return {f":{name}": serializer.serialize(value) for name, value in values.items()}


def _with_values(**values: Any) -> dict[str, Any]:
    return {"ExpressionAttributeValues": _values(**values)}


def _claim(now: int, until: int) -> Request:
    """PunchStore.claim_delivery's request."""
    return {
        "UpdateExpression": "SET leaseUntil = :until, leaseOwner = :owner",
        "ConditionExpression": "syncStatus = :pending AND (attribute_not_exists(leaseUntil) OR leaseUntil < :now)",
        "ExpressionAttributeValues": _values(owner="w1", until=until, now=now, pending="pending"),
        "ReturnValues": "ALL_NEW",
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
    }


def _record(at: str, status: str) -> Request:
    """PunchStore.record_delivery's request for a try that failed or is to be retried."""
    entry = {"at": at, "status": status, "detail": "crm said no"}
    values = _values(
        status=status, now=at, entry=[entry], empty=[], synced="synced", one=1, zero=0, error="crm said no"
    )
    return {
        "UpdateExpression": "SET syncStatus = :status, lastAttemptAt = :now, "
        "attempts = if_not_exists(attempts, :zero) + :one, " + _APPEND_HISTORY + ", lastError = :error "
        "REMOVE leaseUntil, leaseOwner",
        "ConditionExpression": _NOT_DELIVERED,
        "ExpressionAttributeValues": values,
    }


def _set(expression: str, return_values: str = "ALL_NEW", **values: Any) -> Request:
    return {
        "UpdateExpression": expression,
        "ExpressionAttributeValues": _values(**values),
        "ReturnValues": return_values,
    }


SCENARIOS: dict[str, list[Request]] = {
    "arithmetic, each kind of ReturnValues": [
        _set("SET n = n + :one", return_values, one=1) for return_values in _RETURN_VALUES
    ]
    + [_set("SET n = n - :two", return_values, two=2) for return_values in _RETURN_VALUES],
    "nested paths": [
        _set("SET m.inner1.deep1 = :v", "UPDATED_NEW", v=5),
        _set("SET m.list1[1] = :v, m.list1[5] = :w", "ALL_OLD", v="x", w="y"),
        _set("SET m.inner1.added1 = :v", "UPDATED_OLD", v={"k": [1, "two"]}),
        _set("REMOVE m.list1[0], s", "ALL_NEW") | {"ExpressionAttributeValues": None},
        _set("SET m.missing1.deeper1 = :v", v=1),
    ],
    "sets: ADD and DELETE": [
        _set("ADD nums :ns, counter1 :one", "UPDATED_NEW", ns={2, 3}, one=1),
        _set("ADD counter1 :one", "UPDATED_OLD", one=1),
        _set("DELETE tags :ss", "ALL_OLD", ss={"red", "green"}),
        _set("DELETE tags :ss", "ALL_NEW", ss={"blue"}),
        _set("ADD s :one", one=1),
        _set("ADD tags :ns", ns={1}),
        _set("DELETE nums :ss", ss={"x"}),
    ],
    "list_append and if_not_exists, the same expression with other values": [
        _set("SET history = list_append(if_not_exists(history, :empty), :entry)", rv, empty=[], entry=[n])
        for n, rv in enumerate(_RETURN_VALUES)
    ]
    + [_set("SET first1 = if_not_exists(first1, :v)", "UPDATED_NEW", v=n) for n in range(3)]
    + [_set("SET s = list_append(s, :l)", l=[1])],
    "names: the same expression naming other attributes": [
        {
            "UpdateExpression": "SET #f = if_not_exists(#f, :zero) + :one",
            "ExpressionAttributeNames": {"#f": name},
            "ExpressionAttributeValues": _values(zero=0, one=1),
            "ReturnValues": "UPDATED_NEW",
        }
        for name in ("x", "y", "x", "n")
    ]
    + [
        {"UpdateExpression": "SET #f = :one", "ExpressionAttributeNames": {"#f": "id"}, **_with_values(one=1)}
        for _ in range(2)
    ],
    "conditions that hold and fail, with the same expression": [
        _set("SET s = :s", "ALL_NEW", s="first")
        | {"ConditionExpression": "n = :n", **_with_values(n=1, s="first")},
        _set("SET s = :s", "ALL_NEW", s="second")
        | {"ConditionExpression": "n = :n", **_with_values(n=1, s="second")},
        _set("SET s = :s", "ALL_OLD", s="third")
        | {
            "ConditionExpression": "n = :n",
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            **_with_values(n=7, s="x"),
        },
        _set("SET s = :s", "ALL_OLD", s="third")
        | {
            "ConditionExpression": "n = :n",
            "ReturnValuesOnConditionCheckFailure": "NONE",
            **_with_values(n=7, s="x"),
        },
        _set("SET s = :s", s="x")
        | {"ConditionExpression": "attribute_exists(id)", "Key": {"id": {"S": "absent"}}}
        | {"ReturnValuesOnConditionCheckFailure": "ALL_OLD"},
        _set("SET s = :s", s="y")
        | {"ConditionExpression": "size(tags) > :two AND contains(tags, :red)"}
        | _with_values(s="y", two=2, red="red"),
        _set("SET s = :s", s="y")
        | {"ConditionExpression": "size(tags) > :two AND contains(tags, :red)"}
        | _with_values(s="z", two=1, red="red"),
        _set("SET s = :s", s="w")
        | {
            "ConditionExpression": "#k BETWEEN :lo AND :hi OR s IN (:a, :b)",
            "ExpressionAttributeNames": {"#k": "n"},
        }
        | _with_values(s="w", lo=0, hi=5, a="q", b="r"),
        _set("SET s = :s", s="w")
        | {
            "ConditionExpression": "#k BETWEEN :lo AND :hi OR s IN (:a, :b)",
            "ExpressionAttributeNames": {"#k": "s"},
        }
        | _with_values(s="v", lo="a", hi="c", a="q", b="w"),
    ],
    "the CRM worker's claim and record": [
        _claim(100, 130),
        _claim(110, 140),
        _record("2025-02-10T10:00:00Z", "pending"),
        _claim(120, 150),
        _record("2025-02-10T10:01:00Z", "failed"),
        _claim(130, 160),
        _record("2025-02-10T10:02:00Z", "pending"),
        _claim(140, 170) | {"Key": {"id": {"S": "absent"}}},
        _record("2025-02-10T10:03:00Z", "failed") | {"Key": {"id": {"S": "absent"}}},
    ],
    "an update that creates its item": [
        _set("SET x = :x", rv, x=n) | {"Key": {"id": {"S": f"new{n}"}}} for n, rv in enumerate(_RETURN_VALUES)
    ]
    + [_set("SET x = :x", "ALL_NEW", x="same") | {"Key": {"id": {"S": "new0"}}} for _ in range(2)],
    "the same expression on tables of other keys": [
        _set("SET sk = :v", v="x"),
        _set("SET sk = :v", v="y") | {"TableName": PAIRS, "Key": {"pk": {"S": "p"}, "sk": {"S": "s"}}},
        _set("SET pk2 = :v", v="y") | {"TableName": PAIRS, "Key": {"pk": {"S": "p"}, "sk": {"S": "s"}}},
        _set("SET sk = :v", v="z"),
    ],
    "invalid expressions, each sent twice": [
        request
        for request in (
            _set("SET n = ", v=1),
            _set("SET a = :v, a = :v", v=1),
            _set("SET m.inner1 = :v, m.inner1.deep1 = :v", v=1),
            _set("SET id = :v", v="b"),
            _set("SET a = :v SET b = :v", v=1),
            _set("SET a = :missing", v=1),
            _set("SET #missing = :v", v=1),
            _set("SET a = :v", v=1, unused=2),
            _set("SET a = :v REMOVE a", v=1),
            _set("SET size = :v", v=1),
            _set("SET a = :v", "EVERYTHING", v=1),
            _set("   ", v=1),
            _set("SET s = :v", v=1) | {"ConditionExpression": "n = = :v"},
            _set("SET s = :v", v=1) | {"ConditionExpression": "n = :nothing"},
            _set("SET s = :v", v=1) | {"ConditionExpression": "#nothing = :v"},
            _set("SET s = :v", v=1) | {"ConditionExpression": "(n = :v)"},
            _set("SET s = :v", v=1) | {"ConditionExpression": "size = :v"},
        )
        for _ in range(2)
    ],
    "a valid expression after its invalid uses": [
        _set("SET a = :v", v=1) | {"ExpressionAttributeValues": {}},
        _set("SET #f = :v", v=1),
        _set("SET #f = :v", v=1) | {"ExpressionAttributeNames": {"#f": "f"}},
        _set("SET s = :v", v=2) | {"ConditionExpression": "n = :n"},
        _set("SET s = :v", v=2) | {"ConditionExpression": "n = :n"} | _with_values(v=2, n=1),
    ],
}


def run(requests: list[Request]) -> dict[str, Any]:
    """A fresh moto with the two tables and the seed item; each request's reply, the items, the streams."""
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        streams = {THINGS: _create(dynamodb, THINGS, ["id"]), PAIRS: _create(dynamodb, PAIRS, ["pk", "sk"])}
        dynamodb.put_item(TableName=THINGS, Item=_SEED)
        dynamodb.put_item(TableName=PAIRS, Item={"pk": {"S": "p"}, "sk": {"S": "s"}})
        replies = [_send(dynamodb, request) for request in requests]
        stream_client = boto3.client("dynamodbstreams", region_name="us-east-1", config=_STREAMS)
        observed = {
            "replies": replies,
            "tables": {name: _items(dynamodb, name) for name in streams},
            "streams": {name: _changes(stream_client, arn) for name, arn in streams.items()},
        }
    return json.loads(json.dumps(observed))  # the same plain form as from a subprocess


def _create(dynamodb: Any, name: str, key: list[str]) -> str:
    return dynamodb.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": attribute, "AttributeType": "S"} for attribute in key],
        KeySchema=[
            {"AttributeName": a, "KeyType": kind} for a, kind in zip(key, ("HASH", "RANGE"), strict=False)
        ],
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )["TableDescription"]["LatestStreamArn"]


def _send(dynamodb: Any, request: Request) -> dict[str, Any]:
    arguments = {"TableName": THINGS, "Key": {"id": {"S": "a"}}} | request
    arguments = {name: value for name, value in arguments.items() if value is not None}
    try:
        reply = dynamodb.update_item(**arguments)
    except ClientError as error:
        return {"error": error.response["Error"], "item": error.response.get("Item")}
    except Exception as error:  # moto fails on some requests, where a server would answer 500
        return {"failure": type(error).__name__, "message": str(error)}
    return {"attributes": reply.get("Attributes")}


def _items(dynamodb: Any, table: str) -> list[dict[str, Any]]:
    items = dynamodb.scan(TableName=table)["Items"]
    return sorted(items, key=lambda item: json.dumps(item, sort_keys=True))


def _changes(streams: Any, stream_arn: str) -> list[dict[str, Any]]:
    """The stream's records as changes, folded as the patches write them (see the module's docstring)."""
    shard = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(
        StreamArn=stream_arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON"
    )
    records = streams.get_records(ShardIterator=iterator["ShardIterator"], Limit=1000)["Records"]
    changes: list[dict[str, Any]] = []
    for record in records:
        change = {
            "event": record["eventName"],
            "keys": record["dynamodb"]["Keys"],
            "old": record["dynamodb"].get("OldImage"),
            "new": record["dynamodb"].get("NewImage"),
        }
        if change["event"] == "MODIFY" and change["old"] == change["new"]:
            continue  # an update that changed nothing
        if (
            changes
            and change["event"] == changes[-1]["event"] == "INSERT"
            and change["keys"] == changes[-1]["keys"]
        ):
            changes[-1] = change  # an update that created its item: the key alone, then the item
            continue
        changes.append(change)
    return changes


def parser() -> str:
    """Whose UpdateExpression parser this process runs: moto's own, or a replacement."""
    make = UpdateExpressionParser.make
    return f"{make.__module__}.{make.__qualname__}"


def main() -> None:
    observed = {name: run(requests) for name, requests in SCENARIOS.items()}
    json.dump({"parser": parser(), "observed": observed}, sys.stdout)


if __name__ == "__main__":
    main()
