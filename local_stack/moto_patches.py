"""Make moto behave like AWS where we lean on it, at a speed a local stack can live with.

DynamoDB requests atomic, transactions cheap:

moto's in-memory tables are not thread-safe: two transactions from two threads can interleave inside
moto and corrupt its state. DynamoDB itself applies every request, and every transaction, atomically.
Holding one lock per request restores that model without changing any request's semantics, so
concurrent invocations (batch workers, racing requests) behave as they would on AWS.

moto also deep-copies every table a transaction touches, to roll back on failure: each punch stored
costs a copy of the whole punches table, so a local stack slows down as it fills. Under the lock we can
check every condition first and apply only when all hold, which needs no rollback.

SQS requests atomic too: moto's SQS is no more thread-safe than its DynamoDB (two pollers receiving at
once can both move a message to the dead-letter queue, and one of them fails). Each request holds the
lock; a long poll holds it only while it looks, never while it waits for messages to arrive.

SQS visibility checks cheap: moto asks every message of a queue for the time, twice, whenever it counts
the visible ones, which it does on every SendMessage; we read the clock once per count instead.

The server's routing cheap: for every request moto lists its own package folders on disk to find the
backend; the list never changes while it runs, so we read it once.
"""

import functools
import threading
from collections.abc import Callable
from typing import Any

from moto import backends
from moto.core.utils import unix_time, unix_time_millis
from moto.dynamodb.comparisons import get_filter_expression
from moto.dynamodb.exceptions import (
    MultipleTransactionsException,
    TooManyTransactionsException,
    TransactionCanceledException,
)
from moto.dynamodb.models import DynamoDBBackend
from moto.sqs.models import Message, Queue, SQSBackend

_LOCK = threading.RLock()
_WRITES_AND_READS = ("put_item", "get_item", "update_item", "delete_item", "query", "scan")
_MOTO_MODULES = backends.list_of_moto_modules
_QUEUE_REQUESTS = (
    "send_message",
    "send_message_batch",
    "delete_message",
    "delete_message_batch",
    "change_message_visibility",
    "change_message_visibility_batch",
    "purge_queue",
    "get_queue_attributes",
)


def apply_moto_patches() -> None:
    """Idempotent: patches moto's classes once, for every backend in this process."""
    if getattr(DynamoDBBackend.transact_write_items, "_atomic", False):
        return
    Queue.messages = property(_visible_messages)  # type: ignore[method-assign,assignment]
    Queue.approximate_number_of_messages_not_visible = property(_count_not_visible)  # type: ignore[method-assign,assignment]
    Queue.approximate_number_of_messages_delayed = property(_count_delayed)  # type: ignore[method-assign,assignment]
    for name in _WRITES_AND_READS:
        setattr(DynamoDBBackend, name, _locked(getattr(DynamoDBBackend, name)))
    DynamoDBBackend.transact_write_items = _locked(_check_then_apply)  # type: ignore[method-assign]
    for name in _QUEUE_REQUESTS:
        setattr(SQSBackend, name, _locked(getattr(SQSBackend, name)))
    SQSBackend.receive_message = _long_poll_outside_the_lock(SQSBackend.receive_message)  # type: ignore[method-assign]
    backends.list_of_moto_modules = functools.cache(lambda: tuple(_MOTO_MODULES()))  # type: ignore[assignment]


def _long_poll_outside_the_lock(receive: Callable[..., list[Message]]) -> Callable[..., list[Message]]:
    @functools.wraps(receive)
    def receive_message(
        backend: SQSBackend,
        queue_name: str,
        count: int,
        wait_seconds_timeout: int,
        visibility_timeout: int,
        message_attribute_names: list[str] | None = None,
    ) -> list[Message]:
        polling_end = unix_time() + wait_seconds_timeout
        while True:
            with _LOCK:
                received = receive(backend, queue_name, count, 0, visibility_timeout, message_attribute_names)
            remaining = polling_end - unix_time()
            if received or remaining <= 0:
                return received
            backend.get_queue(queue_name).wait_for_messages(min(1, remaining))  # type: ignore[arg-type]

    return receive_message


def _visible_messages(queue: Queue) -> list[Message]:
    """moto's Queue.messages (visible, not delayed) with one clock reading."""
    now = unix_time_millis()
    return [
        message for message in queue._messages if message.visible_at < now and message.delayed_until <= now
    ]


def _count_not_visible(queue: Queue) -> int:
    now = unix_time_millis()
    return sum(1 for message in queue._messages if not message.visible_at < now)


def _count_delayed(queue: Queue) -> int:
    now = unix_time_millis()
    return sum(1 for message in queue._messages if now < message.delayed_until)


def _check_then_apply(backend: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
    """TransactWriteItems: every condition against the state before it, then every write, or none."""
    if len(transact_items) > 100:
        raise TooManyTransactionsException()
    targets = [
        (op["TableName"], str(_key_of(backend, kind, op)))
        for kind, op in (next(iter(i.items())) for i in transact_items)
    ]
    if len(set(targets)) != len(targets):
        raise MultipleTransactionsException()
    reasons = [_failed_condition(backend, item) for item in transact_items]
    if any(reason[0] for reason in reasons):
        raise TransactionCanceledException(reasons)
    for item in transact_items:
        _apply(backend, *next(iter(item.items())))


def _key_of(backend: DynamoDBBackend, op_type: str, op: dict[str, Any]) -> dict[str, Any]:
    if op_type != "Put":
        return op["Key"]
    table = backend.get_table(op["TableName"])
    key = {table.hash_key_attr: op["Item"][table.hash_key_attr]}
    if table.range_key_attr is not None:
        key[table.range_key_attr] = op["Item"][table.range_key_attr]
    return key


def _failed_condition(backend: DynamoDBBackend, item: dict[str, Any]) -> tuple[Any, Any, Any]:
    """(code, message, old item) as moto reports a cancellation reason; (None, None, None) when it holds."""
    op_type, op = next(iter(item.items()))
    expression = op.get("ConditionExpression")
    if expression is None:
        return None, None, None
    current = backend.get_item(op["TableName"], _key_of(backend, op_type, op))
    condition = get_filter_expression(
        expression, op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
    )
    if condition.expr(current):
        return None, None, None
    old = (
        current.to_json()["Attributes"]
        if current and op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD"
        else None
    )
    return "ConditionalCheckFailed", "The conditional request failed", old


def _apply(backend: DynamoDBBackend, op_type: str, op: dict[str, Any]) -> None:
    names, values = op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
    if op_type == "Put":
        backend.put_item(op["TableName"], op["Item"])
    elif op_type == "Delete":
        backend.delete_item(op["TableName"], op["Key"])
    elif op_type == "Update":
        backend.update_item(
            op["TableName"],
            op["Key"],
            update_expression=op["UpdateExpression"],
            expression_attribute_names=names,
            expression_attribute_values=values,
        )


def _locked(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def locked(*args: Any, **kwargs: Any) -> Any:
        with _LOCK:
            return method(*args, **kwargs)

    locked._atomic = True  # type: ignore[attr-defined]
    return locked
