"""moto's requests atomic per table, as on DynamoDB: a request on one table never waits for another's."""

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from unittest import mock

import boto3
import pytest
from botocore.exceptions import ClientError
from moto.dynamodb.models.table import Table

SAFETY_NET = 60  # seconds: only so that a deadlock fails the test instead of hanging it


def create(dynamodb: Any, name: str) -> None:
    dynamodb.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
    )


@pytest.fixture
def slow_scan_of_a() -> Iterator[tuple[threading.Event, threading.Event]]:
    """A Scan of table "A" that, once inside moto, waits until released: (started, release)."""
    started, release = threading.Event(), threading.Event()
    scan = Table.scan

    def waiting_scan(table: Table, *args: Any, **kwargs: Any) -> Any:
        if table.name == "A":
            started.set()
            release.wait(SAFETY_NET)
        return scan(table, *args, **kwargs)

    with mock.patch.object(Table, "scan", waiting_scan):
        yield started, release
    release.set()


def test_a_long_request_on_one_table_does_not_hold_up_another(aws, slow_scan_of_a):
    # Given two tables, and a Scan of table A that is inside moto and stays there
    started, release = slow_scan_of_a
    dynamodb = boto3.client("dynamodb")
    create(dynamodb, "A")
    create(dynamodb, "B")
    with ThreadPoolExecutor(3) as threads:
        scanning = threads.submit(dynamodb.scan, TableName="A")
        assert started.wait(SAFETY_NET)

        # When requests on table B and table A are sent meanwhile
        on_b = threads.submit(dynamodb.put_item, TableName="B", Item={"id": {"S": "b"}})
        on_b.result(timeout=SAFETY_NET)
        read_b = dynamodb.get_item(TableName="B", Key={"id": {"S": "b"}})
        on_a = threads.submit(dynamodb.put_item, TableName="A", Item={"id": {"S": "a"}})

        # Then table B's were answered while A's Scan went on
        assert read_b["Item"] == {"id": {"S": "b"}}
        assert not scanning.done()
        # And table A's write waited for the Scan: the Scan saw the table without it
        release.set()
        assert scanning.result(timeout=SAFETY_NET)["Items"] == []
        on_a.result(timeout=SAFETY_NET)
    assert dynamodb.get_item(TableName="A", Key={"id": {"S": "a"}})["Item"] == {"id": {"S": "a"}}


def test_transactions_across_two_tables_in_opposite_orders_stay_atomic(aws):
    # Given an item in each of two tables, both at version 0
    dynamodb = boto3.client("dynamodb")
    for name in ("A", "B"):
        create(dynamodb, name)
        dynamodb.put_item(TableName=name, Item={"id": {"S": "x"}, "v": {"N": "0"}})

    def bump(table: str, version: int) -> dict[str, Any]:
        return {
            "Update": {
                "TableName": table,
                "Key": {"id": {"S": "x"}},
                "UpdateExpression": "SET v = :next",
                "ConditionExpression": "v = :seen",
                "ExpressionAttributeValues": {":seen": {"N": str(version)}, ":next": {"N": str(version + 1)}},
            }
        }

    # When eight threads at once, half naming A first and half B first, each move both items from the
    # version they read in A to the next, a transaction that fails its check on either writing neither
    threads, rounds = 8, 25
    start = threading.Barrier(threads)
    written: list[int] = []
    refused: list[str] = []

    def race(thread: int) -> None:
        tables = ("A", "B") if thread % 2 else ("B", "A")
        start.wait(SAFETY_NET)
        for _ in range(rounds):
            seen = int(dynamodb.get_item(TableName="A", Key={"id": {"S": "x"}})["Item"]["v"]["N"])
            try:
                dynamodb.transact_write_items(TransactItems=[bump(table, seen) for table in tables])
                written.append(thread)
            except ClientError as error:
                refused.append(error.response["Error"]["Code"])

    # (daemon threads: were two of them to deadlock, the test fails instead of hanging)
    racers = [threading.Thread(target=race, args=(n,), daemon=True) for n in range(threads)]
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join(SAFETY_NET)
    assert not any(racer.is_alive() for racer in racers)

    # Then every transaction finished, and both items moved together, once per transaction written
    versions = [
        int(dynamodb.get_item(TableName=name, Key={"id": {"S": "x"}})["Item"]["v"]["N"])
        for name in ("A", "B")
    ]
    assert written
    assert len(written) + len(refused) == threads * rounds
    assert set(refused) <= {"TransactionCanceledException"}
    assert versions == [len(written), len(written)]
