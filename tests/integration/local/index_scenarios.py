"""Writes of every kind interleaved with Queries and Scans, and what moto answers, patched or not.

The tables have the punches table's real indexes (read from the template), and a table with a sort key,
a local secondary index and indexes of every projection. A seeded random workload writes through
PutItem, UpdateItem (index keys set, changed and removed in place), DeleteItem, BatchWriteItem and
TransactWriteItems (some cancelled), deletes and recreates a table, and after every few writes asks
Queries (every key condition operator, both directions, paged by Limit and ExclusiveStartKey, filters,
COUNT, projections, consumed capacity) and Scans of every index, and a few requests moto refuses.
`python -m tests.integration.local.index_scenarios` prints every answer as JSON from a fresh interpreter,
where local_stack was never imported: moto exactly as released.
"""

import json
import random
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.exceptions import ClientError
from moto import mock_aws

from local_stack.template import load_template, resources_of_type

PUNCHES = "conformance-PunchesTable"
SCORES = "conformance-Scores"
_MAX_PAGES = 40

_SCORES_TABLE: dict[str, Any] = {
    "TableName": SCORES,
    "BillingMode": "PAY_PER_REQUEST",
    "AttributeDefinitions": [
        {"AttributeName": name, "AttributeType": kind}
        for name, kind in (("pk", "S"), ("sk", "S"), ("score", "N"), ("team", "S"), ("rank", "N"))
    ],
    "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
    "LocalSecondaryIndexes": [
        {
            "IndexName": "byScore",
            "KeySchema": [
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "score", "KeyType": "RANGE"},
            ],
            "Projection": {"ProjectionType": "KEYS_ONLY"},
        }
    ],
    "GlobalSecondaryIndexes": [
        {  # no sort key: the table's orders it
            "IndexName": "byTeam",
            "KeySchema": [{"AttributeName": "team", "KeyType": "HASH"}],
            "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["score"]},
        },
        {
            "IndexName": "byRank",
            "KeySchema": [
                {"AttributeName": "rank", "KeyType": "HASH"},
                {"AttributeName": "score", "KeyType": "RANGE"},
            ],
            "Projection": {"ProjectionType": "ALL"},
        },
        {  # partitioned like the table, sorted by another attribute
            "IndexName": "byPkTeam",
            "KeySchema": [
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "team", "KeyType": "RANGE"},
            ],
            "Projection": {"ProjectionType": "KEYS_ONLY"},
        },
    ],
}


@dataclass(frozen=True)
class Shape:
    """A table as the workload sees it: its keys, its indexes' keys, and how to make its attributes."""

    name: str
    keys: tuple[str, ...]
    indexes: dict[str, tuple[str, str | None]]  # index name: (partition key, sort key)
    make: Callable[[random.Random], dict[str, dict[str, str]]]  # the attributes of an item, keys included
    changes: dict[str, Callable[[random.Random], dict[str, str]]]  # attributes an update may set or remove
    filtered: str  # an attribute outside the keys, for filters


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _punch(rng: random.Random) -> dict[str, dict[str, str]]:
    user, device = rng.choice("ABCD"), rng.choice(["DEV1", "DEV2", "DEV3"])
    time = f"2025-02-1{rng.randint(0, 2)}T0{rng.randint(7, 9)}:{rng.choice(['00', '15', '30'])}"
    item = {
        "logId": _s(f"L{rng.randint(0, 39):02d}"),
        "dayShard": _s(f"{time[:10]}#{rng.randint(0, 1)}"),
        "punchTime": _s(time),  # times repeat: index sort keys tie, and the table key orders them
        "userId": _s(user),
        "deviceId": _s(device),
        "receivedAt": _s(f"2025-02-12T10:{rng.randint(0, 59):02d}"),
        "localDate": _s(time[:10]),
        "localTime": _s(time[11:]),
        "timeZone": _s("UTC"),
        "type": _s(rng.choice(["IN", "OUT"])),
        "source": _s("API"),
        "history": {"L": [_s("stored")]},
    }
    if rng.random() < 0.5:
        item["undelivered"] = _s(f"pending#{rng.randint(0, 2)}")
        item["queuedAt"] = _s("2025-02-12T10:00")
    return item


def _score(rng: random.Random) -> dict[str, dict[str, str]]:
    item = {
        "pk": _s(f"P{rng.randint(0, 4)}"),
        "sk": _s(f"S{rng.randint(0, 7)}"),
        "note": _s(rng.choice("xyz")),
    }
    if rng.random() < 0.8:
        item["score"] = {"N": str(rng.choice([1, 2, 2.5, 10, -3]))}
    if rng.random() < 0.7:
        item["team"] = _s(rng.choice(["red", "blue", "green"]))
    if rng.random() < 0.6:
        item["rank"] = {"N": str(rng.randint(1, 3))}
    return item


def _shapes() -> tuple[Shape, Shape]:
    properties = resources_of_type(load_template(), "AWS::DynamoDB::Table")["PunchesTable"]["Properties"]
    punch_indexes = {index["IndexName"]: _index_keys(index) for index in properties["GlobalSecondaryIndexes"]}
    score_indexes = {
        index["IndexName"]: _index_keys(index)
        for index in _SCORES_TABLE["LocalSecondaryIndexes"] + _SCORES_TABLE["GlobalSecondaryIndexes"]
    }
    punches = Shape(
        PUNCHES,
        ("logId",),
        punch_indexes,
        _punch,
        {
            "undelivered": lambda rng: _s(f"pending#{rng.randint(0, 2)}"),
            "userId": lambda rng: _s(rng.choice("ABCDE")),
            "punchTime": lambda rng: _s(f"2025-02-11T0{rng.randint(7, 9)}:00"),
            "receivedAt": lambda rng: _s(f"2025-02-12T11:{rng.randint(0, 59):02d}"),
        },
        "type",
    )
    scores = Shape(
        SCORES,
        ("pk", "sk"),
        score_indexes,
        _score,
        {
            "score": lambda rng: {"N": str(rng.choice([0, 2, 7]))},
            "team": lambda rng: _s(rng.choice(["red", "blue", "gold"])),
            "rank": lambda rng: {"N": str(rng.randint(1, 3))},
        },
        "note",
    )
    return punches, scores


def _index_keys(index: dict[str, Any]) -> tuple[str, str | None]:
    keys = {key["KeyType"]: key["AttributeName"] for key in index["KeySchema"]}
    return keys["HASH"], keys.get("RANGE")


class Workload:
    """Sends a seeded random mix of writes and reads; records every answer."""

    def __init__(self, dynamodb: Any, seed: int) -> None:
        self.dynamodb = dynamodb
        self.rng = random.Random(seed)
        self.seen: list[Any] = []

    def call(self, operation: str, **request: Any) -> dict[str, Any] | None:
        try:
            reply = getattr(self.dynamodb, operation)(**request)
        except ClientError as error:
            self.seen.append([operation, error.response["Error"]["Code"], error.response["Error"]["Message"]])
            return None
        reply.pop("ResponseMetadata", None)
        self.seen.append([operation, reply])
        return reply

    # Writes

    def write(self, shape: Shape) -> None:
        rng = self.rng
        kind = rng.choice(["put", "put", "update", "update", "remove", "delete", "batch", "transact"])
        item = shape.make(rng)
        key = {name: item[name] for name in shape.keys}
        if kind == "put":
            self.call("put_item", TableName=shape.name, Item=item)
        elif kind in ("update", "remove"):
            self.call("update_item", **self._update(shape, key, kind == "remove"))
        elif kind == "delete":
            self.call("delete_item", TableName=shape.name, Key=key, ReturnValues="ALL_OLD")
        elif kind == "batch":
            puts = {json.dumps(k, sort_keys=True): k for k in (shape.make(rng) for _ in range(3))}
            requests = [{"PutRequest": {"Item": one}} for one in puts.values()]
            if json.dumps(item, sort_keys=True) not in puts:
                requests.append({"DeleteRequest": {"Key": key}})
            self.call("batch_write_item", RequestItems={shape.name: _unique(requests, shape)})
        else:
            self.call("transact_write_items", TransactItems=self._transaction(shape))

    def _update(self, shape: Shape, key: dict[str, Any], remove: bool) -> dict[str, Any]:
        name = self.rng.choice(sorted(shape.changes))
        request: dict[str, Any] = {
            "TableName": shape.name,
            "Key": key,
            "ExpressionAttributeNames": {"#a": name},
        }
        if remove:
            request["UpdateExpression"] = "REMOVE #a"
        else:
            request["UpdateExpression"] = "SET #a = :v"
            request["ExpressionAttributeValues"] = {":v": shape.changes[name](self.rng)}
        if self.rng.random() < 0.3:  # on an item that may not exist: a refusal, or a new item
            request["ConditionExpression"] = f"attribute_exists({shape.keys[0]})"
        request["ReturnValues"] = "ALL_NEW"
        return request

    def _transaction(self, shape: Shape) -> list[dict[str, Any]]:
        rng = self.rng
        put = shape.make(rng)
        actions: list[dict[str, Any]] = [{"Put": {"TableName": shape.name, "Item": put}}]
        other = {name: shape.make(rng)[name] for name in shape.keys}
        update = {
            k: v for k, v in self._update(shape, other, rng.random() < 0.3).items() if k != "ReturnValues"
        }
        actions.append({"Update": update})
        if rng.random() < 0.3:  # a check that fails cancels the transaction: its writes are undone
            missing = {name: _s("nothing") for name in shape.keys}
            expression = f"attribute_exists({shape.keys[0]})"
            actions.append(
                {
                    "ConditionCheck": {
                        "TableName": shape.name,
                        "Key": missing,
                        "ConditionExpression": expression,
                    }
                }
            )
        if _same_key(actions, shape):
            return actions[:1]
        return actions

    # Reads

    def read(self, shape: Shape) -> None:
        for index_name, (partition, sort) in shape.indexes.items():
            for _ in range(2):
                self.query(shape, index_name, partition, sort)
            self.scan(shape, index_name)
        self.query(shape, None, shape.keys[0], shape.keys[1] if len(shape.keys) > 1 else None)

    def query(self, shape: Shape, index_name: str | None, partition: str, sort: str | None) -> None:
        rng = self.rng
        sample = shape.make(rng)
        if partition not in sample:
            return
        names = {"#p": partition}
        values = {":p": sample[partition]}
        condition = "#p = :p"
        if sort and sort in sample and rng.random() < 0.7:
            names["#s"] = sort
            operator = rng.choice(["=", "<", "<=", ">", ">=", "BETWEEN", "begins_with"])
            low, high = sorted((sample[sort], shape.make(rng).get(sort, sample[sort])), key=_sort_value)
            if operator == "BETWEEN":
                condition += " AND #s BETWEEN :low AND :high"
                values.update({":low": low, ":high": high})
            elif operator == "begins_with":
                if "S" not in low:
                    return
                condition += " AND begins_with(#s, :prefix)"
                values[":prefix"] = _s(low["S"][:7])
            else:
                condition += f" AND #s {operator} :low"
                values[":low"] = low
        request: dict[str, Any] = {
            "TableName": shape.name,
            "KeyConditionExpression": condition,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
            "ScanIndexForward": rng.random() < 0.5,
        }
        if index_name:
            request["IndexName"] = index_name
        self._options(request, shape, index_name, limits=(1, 2, 3))
        self.pages("query", request)

    def scan(self, shape: Shape, index_name: str) -> None:
        request: dict[str, Any] = {"TableName": shape.name, "IndexName": index_name}
        self._options(request, shape, index_name, limits=(4, 7))
        self.pages("scan", request)

    def _options(
        self, request: dict[str, Any], shape: Shape, index_name: str | None, limits: tuple[int, ...]
    ) -> None:
        rng = self.rng
        if rng.random() < 0.6:
            request["Limit"] = rng.choice(limits)
        choice = rng.random()
        if choice < 0.25:
            request["Select"] = "COUNT"
        elif choice < 0.45:
            request["ProjectionExpression"] = ", ".join(shape.keys)
        elif choice < 0.55 and index_name:
            request["Select"] = "ALL_PROJECTED_ATTRIBUTES"
        if rng.random() < 0.3:  # applied after Limit, as DynamoDB does
            names = request.setdefault("ExpressionAttributeNames", {})
            names["#f"] = shape.filtered
            request.setdefault("ExpressionAttributeValues", {})[":f"] = shape.make(rng)[shape.filtered]
            request["FilterExpression"] = rng.choice(["#f < :f", "#f <> :f", "attribute_exists(#f)"])
        if rng.random() < 0.2:
            request["ReturnConsumedCapacity"] = rng.choice(["TOTAL", "INDEXES"])

    def pages(self, operation: str, request: dict[str, Any]) -> None:
        """Every page, each from the LastEvaluatedKey of the one before."""
        for _ in range(_MAX_PAGES):
            reply = self.call(operation, **request)
            if reply is None or "LastEvaluatedKey" not in reply:
                return
            request["ExclusiveStartKey"] = reply["LastEvaluatedKey"]

    def refusals(self, shape: Shape) -> None:
        """Requests moto refuses (and consistent reads of every index), patched or not the same way."""
        sample = shape.make(self.rng)
        for table, index_name, partition in [
            (shape.name, "missing", shape.keys[0]),
            ("conformance-Missing", None, shape.keys[0]),
            *((shape.name, name, keys[0]) for name, keys in shape.indexes.items()),
        ]:
            request: dict[str, Any] = {"TableName": table, "ConsistentRead": True}
            if index_name:
                request["IndexName"] = index_name
            self.call("scan", Select="COUNT", **request)
            if partition in sample:  # allowed on a local index only
                names, values = {"#p": partition}, {":p": sample[partition]}
                key = {"ExpressionAttributeNames": names, "ExpressionAttributeValues": values}
                self.call("query", KeyConditionExpression="#p = :p", **key, **request)


def _sort_value(value: dict[str, str]) -> Any:
    return float(value["N"]) if "N" in value else value.get("S", "")


def _key_of(request: dict[str, Any], shape: Shape) -> str:
    body = next(iter(request.values()))
    item = body.get("Item") or body.get("Key")
    return json.dumps({name: item[name] for name in shape.keys}, sort_keys=True)


def _unique(requests: list[dict[str, Any]], shape: Shape) -> list[dict[str, Any]]:
    """A batch may not write one item twice."""
    by_key = {_key_of(request, shape): request for request in requests}
    return list(by_key.values())


def _same_key(actions: list[dict[str, Any]], shape: Shape) -> bool:
    keys = [_key_of(action, shape) for action in actions]
    return len(set(keys)) < len(keys)


def _create(dynamodb: Any) -> None:
    properties = resources_of_type(load_template(), "AWS::DynamoDB::Table")["PunchesTable"]["Properties"]
    dynamodb.create_table(
        TableName=PUNCHES,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=properties["AttributeDefinitions"],
        KeySchema=properties["KeySchema"],
        GlobalSecondaryIndexes=properties["GlobalSecondaryIndexes"],
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    dynamodb.create_table(**_SCORES_TABLE)


def run(seed: int, rounds: int = 9, writes_per_round: int = 8) -> list[Any]:
    """A fresh moto and the two tables; every answer to a seeded workload, in order."""
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        _create(dynamodb)
        workload = Workload(dynamodb, seed)
        shapes = _shapes()
        for number in range(rounds):
            for shape in shapes:
                for _ in range(writes_per_round):
                    workload.write(shape)
                workload.read(shape)
            if number == rounds // 2:  # the same table again, empty: nothing of the old one may show
                dynamodb.delete_table(TableName=SCORES)
                dynamodb.create_table(**_SCORES_TABLE)
        for shape in shapes:
            workload.refusals(shape)
        seen = workload.seen
    return json.loads(json.dumps(seen))  # the same plain form as from a subprocess


SEEDS = (1, 2, 3)


def main() -> None:
    json.dump({str(seed): run(seed) for seed in SEEDS}, sys.stdout)


if __name__ == "__main__":
    main()
