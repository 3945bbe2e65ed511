"""boto3 clients with explicit timeouts, and the one place AWS errors become our errors.

AWS_ENDPOINT_URL (honoured by boto3 itself) points the clients at a local AWS such as moto.
"""

import itertools
import random
import time
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import boto3
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from attendance import init_phase
from attendance.data.errors import StoreUnavailable

_CONFIG = Config(connect_timeout=2, read_timeout=5, retries={"mode": "standard", "max_attempts": 3})
_SERIALIZER = TypeSerializer()
_BATCH_GET_LIMIT = 100
_BATCH_WRITE_LIMIT = 25
# Unprocessed keys: waits of up to 0.05, 0.1, 0.2, 0.4, 0.8 and 1 s (full jitter), 2.55 s at most in all.
UNPROCESSED_RETRIES = 6
_BACKOFF_BASE_SECONDS = 0.05
_BACKOFF_CAP_SECONDS = 1.0
_DESERIALIZER = TypeDeserializer()
__all__ = [
    "StoreUnavailable",
    "batch_get",
    "batch_put",
    "client",
    "from_item",
    "to_item",
    "unavailable_on_aws_errors",
]


def client(service: str) -> Any:
    init_phase.end()  # an environment's first client ends its init (attendance.init_phase)
    return boto3.client(service, config=_CONFIG)


@contextmanager
def unavailable_on_aws_errors(action: str) -> Iterator[None]:
    try:
        yield
    except (BotoCoreError, ClientError) as error:
        raise StoreUnavailable(f"{action} failed: {error}") from error


def batch_get(
    client: Any, table: str, keys: list[dict[str, Any]], action: str, **extra: Any
) -> list[dict[str, Any]]:
    """Every item of these keys that exists (as plain dicts), a hundred keys a BatchGetItem. Keys DynamoDB
    leaves unprocessed (it was throttled) are asked again after a growing, jittered wait, as AWS asks: at
    once they would most likely be left again. Still unprocessed after UNPROCESSED_RETRIES: StoreUnavailable
    (the caller answers "try again later"). `extra`: ProjectionExpression and the like."""
    found: list[dict[str, Any]] = []
    for start in range(0, len(keys), _BATCH_GET_LIMIT):
        request = {table: {"Keys": [to_item(key) for key in keys[start : start + _BATCH_GET_LIMIT]], **extra}}
        for reply in _until_processed(client.batch_get_item, request, "UnprocessedKeys", action):
            found += [from_item(item) for item in reply["Responses"].get(table, [])]
    return found


def batch_put(client: Any, table: str, items: list[dict[str, Any]], action: str) -> None:
    """Put these items (plain dicts), twenty-five a BatchWriteItem; unprocessed ones as batch_get's keys."""
    _batch_write(client, table, [{"PutRequest": {"Item": to_item(item)}} for item in items], action)


def batch_delete(client: Any, table: str, keys: list[dict[str, Any]], action: str) -> None:
    """Delete the items of these keys (plain dicts), as batch_put writes."""
    _batch_write(client, table, [{"DeleteRequest": {"Key": to_item(key)}} for key in keys], action)


def _batch_write(client: Any, table: str, requests: list[dict[str, Any]], action: str) -> None:
    for start in range(0, len(requests), _BATCH_WRITE_LIMIT):
        batch = {table: requests[start : start + _BATCH_WRITE_LIMIT]}
        for _ in _until_processed(client.batch_write_item, batch, "UnprocessedItems", action):
            pass


def _until_processed(call: Any, request: dict[str, Any], unprocessed: str, action: str) -> Iterator[Any]:
    """Each reply of a batch request, asked again for what DynamoDB left `unprocessed` after a growing,
    jittered wait, until it leaves nothing; StoreUnavailable after UNPROCESSED_RETRIES."""
    for retry in itertools.count():
        with unavailable_on_aws_errors(action):
            reply = call(RequestItems=request)
        yield reply
        request = reply.get(unprocessed) or {}
        if not request:
            return
        if retry == UNPROCESSED_RETRIES:
            raise StoreUnavailable(f"{action} failed: DynamoDB left requests unprocessed {retry + 1} times")
        time.sleep(random.uniform(0, min(_BACKOFF_CAP_SECONDS, _BACKOFF_BASE_SECONDS * 2**retry)))  # noqa: S311


def to_item(values: dict[str, Any]) -> dict[str, Any]:
    """A plain dict to DynamoDB's typed form; None values are left out."""
    return {key: _SERIALIZER.serialize(value) for key, value in values.items() if value is not None}


def from_item(item: dict[str, Any]) -> dict[str, Any]:
    values = {key: _DESERIALIZER.deserialize(value) for key, value in item.items()}
    return {key: int(value) if isinstance(value, Decimal) else value for key, value in values.items()}
