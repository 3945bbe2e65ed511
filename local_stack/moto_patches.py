"""Make moto behave like AWS where we lean on it, at a speed a local stack can live with.

DynamoDB requests atomic, transactions cheap:

moto's in-memory tables are not thread-safe: two transactions from two threads can interleave inside
moto and corrupt its state. DynamoDB itself applies every request, and every transaction, atomically.
Each request holds the lock of its table, and a transaction those of every table it touches, taken in
one order so two transactions never wait for each other: that restores the model without changing any
request's semantics, so concurrent invocations (batch workers, racing requests) behave as they would on
AWS, and a long Scan of one table never holds up the writes to another. An UpdateItem holds its table's
lock while it reads the item it answers ReturnValues with, so the old values it returns are those it
replaced.

moto also deep-copies every table a transaction touches, to roll back on failure: each punch stored
costs a copy of the whole punches table, so a local stack slows down as it fills. We run a transaction
as moto does, action by action, with the same replies, but keep only the items it writes, as they were,
and put back just those when it is cancelled.

SQS requests atomic too: moto's SQS is no more thread-safe than its DynamoDB (two pollers receiving at
once can both move a message to the dead-letter queue, and one of them fails). Each request holds its
queue's lock, a receive that may move messages to a dead-letter queue that queue's too (in the same order
as transactions take theirs); a long poll holds them only while it looks, never while it waits for
messages to arrive.

SQS requests as cheap with thousands of messages queued as with ten (moto_sqs): moto passed over every
message of a queue, often more than once, for each message sent, received or deleted.

DynamoDB Streams as DynamoDB writes them: a stream record for each change that happened, and only then.
A cancelled transaction leaves no record (moto's would show its writes and their undo); a PutItem or
UpdateItem that leaves an item as it was writes none; an UpdateItem that creates an item writes one
INSERT (moto writes two, the first with the key alone); ApproximateCreationDateTime is rounded down to
the second. Stream reads take their table's lock too, so a reader never sees a transaction half done. A
shard iterator expires 15 minutes after it was handed out, as on AWS: moto keeps every iterator for ever,
and a mapping that polls four times a second would fill the memory with them.

Queries and index Scans by key (moto_indexes): moto reads the whole table for each; they read only the
partition or the index entries that can match, and answer as moto does.

UpdateItem's expressions parsed once per expression string, not twice per request, and the old values
of its reply read without a deep copy of the item (moto_expressions).

The server's routing cheap: for every request moto lists its own package folders on disk to find the
backend; the list never changes while it runs, so we read it once.

Replies written directly (moto_replies): DynamoDB and Streams replies are already in wire format, so
they skip moto's generic serializer wherever the result is one it would write as it is; same JSON.
The local stack's server hands DynamoDB, Streams and SQS JSON requests straight to the handler moto's
app would pick for their signed service (chosen once per service and region), with the same reply.

KMS key pairs made on first use (moto_kms): every key, the DynamoDB default encryption's included, made one.
"""

import functools
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any

from moto import backends
from moto.core.exceptions import JsonRESTError
from moto.core.utils import unix_time
from moto.dynamodb.comparisons import get_filter_expression
from moto.dynamodb.exceptions import (
    MockValidationException,
    MultipleTransactionsException,
    ResourceNotFoundException,
    TooManyTransactionsException,
    TransactionCanceledException,
    TransactWriteSingleOpException,
)
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import Item
from moto.dynamodb.models.table import StreamRecord, StreamShard, Table
from moto.dynamodb.responses import DynamoHandler
from moto.dynamodbstreams.models import DynamoDBStreamsBackend, ShardIterator
from moto.sqs.models import Message, SQSBackend

from local_stack import moto_expressions, moto_indexes, moto_kms, moto_replies, moto_sqs

_LOCKS: dict[str, threading.RLock] = {}  # by the ARN of the table or queue each one guards
_NEW_LOCK = threading.Lock()
_ITERATORS = threading.Lock()  # the streams' iterator bookkeeping, shared by every table
_WRITES_AND_READS = ("put_item", "get_item", "update_item", "delete_item", "query", "scan")
ITERATOR_LIFETIME = 15 * 60.0  # seconds
_clock = time.monotonic
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
    moto_sqs.install()
    StreamShard.add = _only_changes(StreamShard.add)  # type: ignore[method-assign]
    StreamRecord.__init__ = _created_to_the_second(StreamRecord.__init__)  # type: ignore[method-assign]
    DynamoDBBackend.update_item = _one_record_per_update(DynamoDBBackend.update_item)  # type: ignore[method-assign]
    for name in _WRITES_AND_READS:
        setattr(DynamoDBBackend, name, _per_table(getattr(DynamoDBBackend, name)))
    DynamoHandler.update_item = _reading_the_old_item_in_the_lock(DynamoHandler.update_item)  # type: ignore[method-assign]
    DynamoDBStreamsBackend.get_shard_iterator = _issuing(DynamoDBStreamsBackend.get_shard_iterator)  # type: ignore[method-assign]
    DynamoDBStreamsBackend.get_records = _expiring(_per_stream_table(DynamoDBStreamsBackend.get_records))  # type: ignore[method-assign]
    for name in ("describe_stream", "get_shard_iterator"):
        setattr(DynamoDBStreamsBackend, name, _per_stream_table(getattr(DynamoDBStreamsBackend, name)))
    DynamoDBBackend.transact_write_items = _per_table(_transact_write_items, _tables_of_transaction)  # type: ignore[method-assign]
    for name in _QUEUE_REQUESTS:
        setattr(SQSBackend, name, _per_queue(getattr(SQSBackend, name)))
    SQSBackend.receive_message = _long_poll_outside_the_lock(SQSBackend.receive_message)  # type: ignore[method-assign]
    backends.list_of_moto_modules = functools.cache(lambda: tuple(_MOTO_MODULES()))  # type: ignore[assignment]
    moto_expressions.install()
    moto_indexes.install()
    moto_replies.install()
    moto_kms.install()


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
            with _holding(_queue_arns(backend, queue_name, with_dead_letters=True)):
                received = receive(backend, queue_name, count, 0, visibility_timeout, message_attribute_names)
            remaining = polling_end - unix_time()
            if received or remaining <= 0:
                return received
            backend.get_queue(queue_name).wait_for_messages(min(1, remaining))  # type: ignore[arg-type]

    return receive_message


def _only_changes(add: Callable[[StreamShard, Item | None, Item | None], None]) -> Callable[..., None]:
    """No stream record for a write that leaves the item as it was."""

    @functools.wraps(add)
    def add_change(shard: StreamShard, old: Item | None, new: Item | None) -> None:
        if old is not None and new is not None and old == new:
            return
        add(shard, old, new)

    return add_change


def _created_to_the_second(init: Callable[..., None]) -> Callable[..., None]:
    @functools.wraps(init)
    def init_record(record: StreamRecord, *args: Any, **kwargs: Any) -> None:
        init(record, *args, **kwargs)
        created = record.record["dynamodb"]["ApproximateCreationDateTime"]
        record.record["dynamodb"]["ApproximateCreationDateTime"] = created.replace(microsecond=0)

    return init_record


def _one_record_per_update(update: Callable[..., Item]) -> Callable[..., Item]:
    """moto creates a missing item with its key first (one INSERT), then updates it (a second INSERT):
    keep the second, under the first one's sequence number, so the sequence stays without gaps."""

    @functools.wraps(update)
    def update_item(backend: DynamoDBBackend, table_name: str, *args: Any, **kwargs: Any) -> Item:
        shard = _stream_of(backend.tables.get(table_name))
        if shard is None:
            return update(backend, table_name, *args, **kwargs)
        before = len(shard.items)
        item = update(backend, table_name, *args, **kwargs)
        if len(shard.items) - before > 1:
            creation, update_record = shard.items[before].record["dynamodb"], shard.items[-1]
            update_record.record["dynamodb"]["SequenceNumber"] = creation["SequenceNumber"]
            shard.items[before:] = [update_record]
        return item

    return update_item


def _stream_of(table: Table | None) -> StreamShard | None:
    return table.stream_shard if table is not None else None


class ExpiredIteratorException(JsonRESTError):
    def __init__(self) -> None:
        super().__init__("ExpiredIteratorException", "Iterator expired")


def _issuing(get_shard_iterator: Callable[..., ShardIterator]) -> Callable[..., ShardIterator]:
    @functools.wraps(get_shard_iterator)
    def issue(backend: DynamoDBStreamsBackend, *args: Any, **kwargs: Any) -> ShardIterator:
        iterator = get_shard_iterator(backend, *args, **kwargs)
        _issued(backend, iterator.arn)
        return iterator

    return issue


def _expiring(get_records: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
    """GetRecords with an iterator handed out in the last 15 minutes; the one it returns is new."""

    @functools.wraps(get_records)
    def get_records_in_time(backend: DynamoDBStreamsBackend, iterator_arn: str, limit: int) -> dict[str, Any]:
        _forget_expired(backend)
        if iterator_arn not in backend.shard_iterators:
            raise ExpiredIteratorException()
        try:
            result = get_records(backend, iterator_arn, limit)
        except KeyError:  # it expired meanwhile, forgotten by a reader of another table
            raise ExpiredIteratorException() from None
        _issued(backend, result["NextShardIterator"])
        return result

    return get_records_in_time


def _issued(backend: DynamoDBStreamsBackend, iterator_arn: str) -> None:
    issued_at: dict[str, float] = backend.__dict__.setdefault("iterators_issued_at", {})
    with _ITERATORS:
        issued_at[iterator_arn] = _clock()


def _forget_expired(backend: DynamoDBStreamsBackend) -> None:
    """Drops the iterators older than their lifetime: the oldest come first, in the order handed out."""
    issued_at: dict[str, float] = backend.__dict__.setdefault("iterators_issued_at", {})
    oldest_kept = _clock() - ITERATOR_LIFETIME
    with _ITERATORS:
        while issued_at:
            iterator_arn, at = next(iter(issued_at.items()))
            if at >= oldest_kept:
                return
            del issued_at[iterator_arn]
            backend.shard_iterators.pop(iterator_arn, None)


_Reason = tuple[str | None, str | None, dict[str, Any] | None]  # code, message, old item: as moto reports
_WENT_THROUGH: _Reason = (None, None, None)
_OPERATIONS = ("ConditionCheck", "Put", "Delete", "Update")


@dataclass
class _Transaction:
    """The items one transaction has claimed, each written item as it was before, and where each table's
    stream ended before it, to undo it."""

    backend: DynamoDBBackend
    claimed: set[tuple[str, str]] = field(default_factory=set)
    before: list[tuple[str, dict[str, Any], dict[str, Any] | None]] = field(default_factory=list)
    stream_ends: dict[str, tuple[StreamShard, int]] = field(default_factory=dict)

    def claim(self, table_name: str, key: dict[str, Any]) -> None:
        target = (table_name, str(dict(sorted(key.items()))))  # the same item, whatever its key's order
        if target in self.claimed:
            raise MultipleTransactionsException()
        self.claimed.add(target)

    def write(self, op_type: str, op: dict[str, Any], key: dict[str, Any], current: Item | None) -> None:
        self.before.append((op["TableName"], key, current.to_json()["Attributes"] if current else None))
        shard = _stream_of(self.backend.get_table(op["TableName"]))
        if shard is not None and op["TableName"] not in self.stream_ends:
            self.stream_ends[op["TableName"]] = (shard, len(shard.items))
        _apply(self.backend, op_type, op)

    def undo(self) -> None:
        for table_name, key, attributes in reversed(self.before):
            if attributes is None:
                self.backend.delete_item(table_name, key)
            else:
                self.backend.put_item(table_name, attributes)
        # The transaction never happened: neither its writes nor their undoing are changes to stream.
        for shard, end in self.stream_ends.values():
            del shard.items[end:]


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


def _lock_for(arn: str) -> threading.RLock:
    lock = _LOCKS.get(arn)
    if lock is None:
        with _NEW_LOCK:
            lock = _LOCKS.setdefault(arn, threading.RLock())
    return lock


@contextmanager
def _holding(arns: Iterable[str]) -> Iterator[None]:
    """The locks of these tables or queues, always in the same order: two requests that need the same
    two never each hold one while waiting for the other."""
    with ExitStack() as held:
        for arn in sorted(set(arns)):
            held.enter_context(_lock_for(arn))
        yield


def _table_arns(backend: DynamoDBBackend, table_names: Iterable[Any]) -> list[str]:
    """The tables found: a request naming one that is not there fails in moto, holding nothing."""
    arns = []
    for name in table_names:
        try:
            arns.append(backend.get_table(name).table_arn)
        except (ResourceNotFoundException, TypeError):
            continue
    return arns


def _tables_of_transaction(transact_items: Any, *_: Any, **__: Any) -> list[Any]:
    actions = transact_items if isinstance(transact_items, list) else []
    return [
        op.get("TableName")
        for action in actions
        if isinstance(action, dict)
        for op in action.values()
        if isinstance(op, dict)
    ]


def _named_table(table_name: Any, *_: Any, **__: Any) -> list[Any]:
    return [table_name]


def _per_table(
    method: Callable[..., Any], tables: Callable[..., list[Any]] = _named_table
) -> Callable[..., Any]:
    """A backend request holding the locks of the tables it names (`tables` of its arguments)."""

    @functools.wraps(method)
    def locked(backend: DynamoDBBackend, *args: Any, **kwargs: Any) -> Any:
        with _holding(_table_arns(backend, tables(*args, **kwargs))):
            return method(backend, *args, **kwargs)

    locked._atomic = True  # type: ignore[attr-defined]
    return locked


def _reading_the_old_item_in_the_lock(
    handle: Callable[[DynamoHandler], Any],
) -> Callable[[DynamoHandler], Any]:
    """moto reads the item it answers ReturnValues with before the update, in a request of its own."""

    @functools.wraps(handle)
    def update_item(handler: DynamoHandler) -> Any:
        with _holding(_table_arns(handler.dynamodb_backend, [handler.body.get("TableName")])):
            return handle(handler)

    return update_item


def _per_stream_table(method: Callable[..., Any]) -> Callable[..., Any]:
    """A stream read holding its table's lock: by the stream's ARN, or by the shard iterator's."""

    @functools.wraps(method)
    def locked(backend: DynamoDBStreamsBackend, arn: str, *args: Any, **kwargs: Any) -> Any:
        iterator = backend.shard_iterators.get(arn)
        try:
            table = iterator.stream_shard.table if iterator else backend._get_table_from_arn(arn)
        except (ResourceNotFoundException, IndexError):
            return method(backend, arn, *args, **kwargs)
        with _holding([table.table_arn]):
            return method(backend, arn, *args, **kwargs)

    return locked


def _queue_arns(backend: SQSBackend, queue_name: str, with_dead_letters: bool = False) -> list[str]:
    queue = backend.queues.get(queue_name)
    if queue is None:  # moto answers QueueDoesNotExist
        return []
    dead_letters = queue.dead_letter_queue if with_dead_letters else None
    return [queue.queue_arn] + ([dead_letters.queue_arn] if dead_letters is not None else [])


def _per_queue(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def locked(backend: SQSBackend, queue_name: str, *args: Any, **kwargs: Any) -> Any:
        with _holding(_queue_arns(backend, queue_name)):
            return method(backend, queue_name, *args, **kwargs)

    return locked
