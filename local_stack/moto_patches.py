"""Make moto behave like AWS where we lean on it, at a speed a local stack can live with.

DynamoDB requests atomic, transactions cheap:

moto's in-memory tables are not thread-safe: two transactions from two threads can interleave inside
moto and corrupt its state. DynamoDB itself applies every request, and every transaction, atomically.
Holding one lock per request restores that model without changing any request's semantics, so
concurrent invocations (batch workers, racing requests) behave as they would on AWS.

moto also deep-copies every table a transaction touches, to roll back on failure: each punch stored
costs a copy of the whole punches table, so a local stack slows down as it fills. We run a transaction
as moto does, action by action, with the same replies, but keep only the items it writes, as they were,
and put back just those when it is cancelled.

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
from dataclasses import dataclass, field
from typing import Any

from moto import backends
from moto.core.utils import unix_time, unix_time_millis
from moto.dynamodb.comparisons import get_filter_expression
from moto.dynamodb.exceptions import (
    MockValidationException,
    MultipleTransactionsException,
    TooManyTransactionsException,
    TransactionCanceledException,
    TransactWriteSingleOpException,
)
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import Item
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
    DynamoDBBackend.transact_write_items = _locked(_transact_write_items)  # type: ignore[method-assign]
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


_Reason = tuple[str | None, str | None, dict[str, Any] | None]  # code, message, old item: as moto reports
_WENT_THROUGH: _Reason = (None, None, None)
_OPERATIONS = ("ConditionCheck", "Put", "Delete", "Update")


@dataclass
class _Transaction:
    """The items one transaction has claimed, and each written item as it was before, to undo it."""

    backend: DynamoDBBackend
    claimed: set[tuple[str, str]] = field(default_factory=set)
    before: list[tuple[str, dict[str, Any], dict[str, Any] | None]] = field(default_factory=list)

    def claim(self, table_name: str, key: dict[str, Any]) -> None:
        target = (table_name, str(dict(sorted(key.items()))))  # the same item, whatever its key's order
        if target in self.claimed:
            raise MultipleTransactionsException()
        self.claimed.add(target)

    def write(self, op_type: str, op: dict[str, Any], key: dict[str, Any], current: Item | None) -> None:
        self.before.append((op["TableName"], key, current.to_json()["Attributes"] if current else None))
        _apply(self.backend, op_type, op)

    def undo(self) -> None:
        for table_name, key, attributes in reversed(self.before):
            if attributes is None:
                self.backend.delete_item(table_name, key)
            else:
                self.backend.put_item(table_name, attributes)


def _transact_write_items(backend: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
    """TransactWriteItems: moto's replies and outcome, with an undo of its own writes instead of table copies."""
    if len(transact_items) > 100:
        raise TooManyTransactionsException()
    transaction = _Transaction(backend)
    try:
        reasons = [_write_one(transaction, item) for item in transact_items]
    except MockValidationException:
        transaction.undo()
        raise
    if any(code is not None for code, _, _ in reasons):
        transaction.undo()
        raise TransactionCanceledException(reasons)


def _write_one(transaction: _Transaction, item: dict[str, Any]) -> _Reason:
    """One action as moto runs it: an invalid one refuses the request, any other failure is its reason."""
    if len(item) > 1:
        raise TransactWriteSingleOpException()
    op_type, op = next(iter(item.items()))
    try:
        if op_type not in _OPERATIONS:
            raise ValueError("Unsupported transaction operation")
        key = _key_of(transaction.backend, op_type, op)
        transaction.claim(op["TableName"], key)
        current = transaction.backend.get_item(op["TableName"], key)
        if not _holds(op, current):
            return "ConditionalCheckFailed", "The conditional request failed", _old_item(op, current)
        if op_type != "ConditionCheck":
            transaction.write(op_type, op, key, current)
    except MockValidationException:
        raise
    except Exception as error:  # as moto: a table not found, or a write it cannot make, cancels
        return type(error).__name__, str(error), None
    return _WENT_THROUGH


def _key_of(backend: DynamoDBBackend, op_type: str, op: dict[str, Any]) -> dict[str, Any]:
    if op_type != "Put":
        return op["Key"]
    table = backend.get_table(op["TableName"])
    key = {table.hash_key_attr: op["Item"][table.hash_key_attr]}
    if table.range_key_attr is not None:
        key[table.range_key_attr] = op["Item"][table.range_key_attr]
    return key


def _holds(op: dict[str, Any], current: Item | None) -> bool:
    expression = op.get("ConditionExpression")
    if expression is None:
        return True
    names, values = op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
    return get_filter_expression(expression, names, values).expr(current)


def _old_item(op: dict[str, Any], current: Item | None) -> dict[str, Any] | None:
    wanted = op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD"
    return current.to_json()["Attributes"] if current and wanted else None


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
