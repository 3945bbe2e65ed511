"""TransactWriteItems requests and what moto makes of them, identical whether or not moto is patched.

Each scenario sends its transactions to a fresh in-process moto, through PunchIntake where the project
sends them, and observes what came back for each transaction and what the tables hold afterwards.
`python -m tests.integration.local.transaction_scenarios` prints every observation as JSON from a fresh
interpreter, where local_stack.moto_patches was never imported: moto exactly as released.
"""

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.dynamodb.models import DynamoDBBackend

from attendance.data.punch_intake import PunchIntake
from attendance.domain.punch import Punch, PunchSource, PunchType, punch_log_id
from local_stack.provision import provision
from local_stack.template import load_template

PUNCHES_TABLE = "conformance-PunchesTable"
DEDUP_TABLE = "conformance-DedupTable"
_FIRST_ARRIVAL = datetime(2025, 2, 10, 10, 0, tzinfo=UTC)
_RETENTION = timedelta(days=1)
_TRANSACTIONS = "TransactWriteItems"

Scenario = Callable[[Any], list[str]]  # sends its requests with a DynamoDB client; what it saw, in words


@dataclass(frozen=True)
class Arrival:
    """A punch at `at` on 2025-02-10 (UTC), received `days_later` days after the first arrival."""

    at: str
    user: str = "U1"
    device: str = "DEV1"
    days_later: int = 0
    window_seconds: int = 60

    @property
    def now(self) -> datetime:
        return _FIRST_ARRIVAL + timedelta(days=self.days_later)

    def punch(self) -> Punch:
        instant = datetime.fromisoformat(f"2025-02-10T{self.at}+00:00")
        return Punch(
            log_id=punch_log_id(self.device, self.user, instant, PunchType.IN),
            device_id=self.device,
            user_id=self.user,
            instant=instant,
            local_time=f"2025-02-10T{self.at}",
            time_zone="UTC",
            type=PunchType.IN,
            source=PunchSource.API,
            received_at=self.now,
        )


def stored(*arrivals: Arrival) -> Scenario:
    """Each punch through PunchIntake.add, in order, as the ingest service stores one user's batch."""

    def send(dynamodb: Any) -> list[str]:
        store = PunchIntake(dynamodb, PUNCHES_TABLE, DEDUP_TABLE)
        results = [
            store.add(arrival.punch(), arrival.window_seconds, _RETENTION, arrival.now)
            for arrival in arrivals
        ]
        return [f"{result.outcome.value} {result.log_id}" for result in results]

    return send


def raw(*transactions: list[dict[str, Any]], table: dict[str, Any] | None = None) -> Scenario:
    """Transactions as written, after creating `table` (create_table arguments) if one is given."""

    def send(dynamodb: Any) -> list[str]:
        if table:
            dynamodb.create_table(BillingMode="PAY_PER_REQUEST", **table)
        outcomes = []
        for transaction in transactions:
            try:
                dynamodb.transact_write_items(TransactItems=transaction)
                outcomes.append("written")
            except ClientError as error:
                outcomes.append(error.response["Error"]["Code"])
        return outcomes

    return send


def run(scenario: Scenario) -> dict[str, Any]:
    """A fresh moto with the stack's tables; the scenario's outcomes, its transactions' replies, the tables."""
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        provision(
            load_template(),
            dynamodb,
            boto3.client("sqs", region_name="us-east-1"),
            prefix="conformance",
            s3=boto3.client("s3", region_name="us-east-1"),
            sns=boto3.client("sns", region_name="us-east-1"),
        )
        replies = _Replies()
        dynamodb.meta.events.register(f"before-parameter-build.dynamodb.{_TRANSACTIONS}", replies.sending)
        dynamodb.meta.events.register(f"after-call.dynamodb.{_TRANSACTIONS}", replies.received)
        outcomes = scenario(dynamodb)
        observed = {"outcomes": outcomes, "replies": replies.seen, "tables": _contents(dynamodb)}
    return json.loads(json.dumps(observed))  # the same plain form as from a subprocess


class _Replies:
    """Each transaction's size and DynamoDB's reply to it, error and cancellation reasons included."""

    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []

    def sending(self, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["actions"] = len(params["TransactItems"])

    def received(self, parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        error = parsed.get("Error", {})
        self.seen.append(
            {
                "actions": context["actions"],
                "code": error.get("Code"),
                "message": error.get("Message"),
                "reasons": parsed.get("CancellationReasons"),
            }
        )


def _contents(dynamodb: Any) -> dict[str, list[dict[str, Any]]]:
    """Every item of every table, in a fixed order."""
    return {name: _items(dynamodb, name) for name in dynamodb.list_tables()["TableNames"]}


def _items(dynamodb: Any, table: str) -> list[dict[str, Any]]:
    pages = dynamodb.get_paginator("scan").paginate(TableName=table)
    return sorted(
        (item for page in pages for item in page["Items"]), key=lambda item: json.dumps(item, sort_keys=True)
    )


def _after_a_slot_write(*actions: dict[str, Any]) -> list[dict[str, Any]]:
    """A transaction that writes a new slot item, then the given actions."""
    slot = {"pk": {"S": "U9#60#1"}, "logId": {"S": "new"}, "punchEpoch": {"N": "60"}}
    return [{"Put": {"TableName": DEDUP_TABLE, "Item": slot}}, *actions]


_PAIRS = {
    "TableName": "conformance-Pairs",
    "AttributeDefinitions": [
        {"AttributeName": "pk", "AttributeType": "S"},
        {"AttributeName": "sk", "AttributeType": "S"},
    ],
    "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
}
_LATER = 2  # days: past the dedup records' retention

SCENARIOS: dict[str, Scenario] = {
    "fresh punch": stored(Arrival("09:16:30")),
    "exact duplicate": stored(Arrival("09:16:30"), Arrival("09:16:30")),
    "near duplicate in its own slot": stored(Arrival("09:16:30"), Arrival("09:16:45", device="DEV2")),
    "near duplicate in the slot before": stored(Arrival("09:16:30"), Arrival("09:15:50", device="DEV2")),
    "near duplicate in the slot after": stored(Arrival("09:16:30"), Arrival("09:17:10", device="DEV2")),
    "neighbours a window apart": stored(Arrival("09:16:30"), Arrival("09:17:30"), Arrival("09:15:30")),
    "expired own slot": stored(Arrival("09:16:30"), Arrival("09:16:45", device="DEV2", days_later=_LATER)),
    "expired neighbour slot": stored(
        Arrival("09:16:30"), Arrival("09:17:10", device="DEV2", days_later=_LATER)
    ),
    "exact duplicate after its slot expired": stored(
        Arrival("09:16:30"), Arrival("09:16:30", days_later=_LATER)
    ),
    "dedup window off": stored(
        Arrival("09:16:30", window_seconds=0),
        Arrival("09:16:30", window_seconds=0),
        Arrival("09:16:31", window_seconds=0),
    ),
    # In the order the ingest service stores a batch: user by user, each user's punches by time.
    "a batch of two users": stored(
        Arrival("08:00:00", user="A"),
        Arrival("08:00:00", user="A"),
        Arrival("08:00:20", user="A", device="DEV2"),
        Arrival("12:00:00", user="A"),
        Arrival("07:59:55", user="B", device="DEV2"),
        Arrival("08:00:10", user="B"),
        Arrival("08:01:10", user="B"),
    ),
    # Beyond what PunchIntake sends: moto's rules for what a transaction cannot do.
    "a failed check on an absent item returns no item": raw(
        [
            {
                "ConditionCheck": {
                    "TableName": DEDUP_TABLE,
                    "Key": {"pk": {"S": "absent"}},
                    "ConditionExpression": "attribute_exists(pk)",
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                }
            }
        ]
    ),
    "an update moto refuses undoes the writes before it": raw(
        [{"Put": {"TableName": DEDUP_TABLE, "Item": {"pk": {"S": "text"}, "n": {"S": "not a number"}}}}],
        _after_a_slot_write(
            {
                "Update": {
                    "TableName": DEDUP_TABLE,
                    "Key": {"pk": {"S": "text"}},
                    "UpdateExpression": "ADD n :one",
                    "ExpressionAttributeValues": {":one": {"N": "1"}},
                }
            }
        ),
    ),
    "a delete from a missing table cancels the writes before it": raw(
        _after_a_slot_write({"Delete": {"TableName": "conformance-Missing", "Key": {"pk": {"S": "x"}}}})
    ),
    "one item twice, its key attributes in another order": raw(
        [
            {
                "ConditionCheck": {
                    "TableName": _PAIRS["TableName"],
                    "Key": {"sk": {"S": "s"}, "pk": {"S": "p"}},
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
            {"Put": {"TableName": _PAIRS["TableName"], "Item": {"pk": {"S": "p"}, "sk": {"S": "s"}}}},
        ],
        table=_PAIRS,
    ),
}


def moto_transactions() -> str:
    """Whose TransactWriteItems this process runs: moto's own, or a replacement."""
    method = DynamoDBBackend.transact_write_items
    return f"{method.__module__}.{method.__qualname__}"


def main() -> None:
    observed = {name: run(scenario) for name, scenario in SCENARIOS.items()}
    json.dump({"transactions": moto_transactions(), "observed": observed}, sys.stdout)


if __name__ == "__main__":
    main()
