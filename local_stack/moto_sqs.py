"""SQS requests that cost the same whatever the backlog of the queue, with moto's answers.

moto keeps a queue's messages in a list and, for each message received, sent or deleted, passes over all of
them, often more than once: it lists every visible message to receive the first few, rebuilds every queue
attribute (counts included) to read the retention period of each message it hands out, and looks a receipt
handle up message by message. A local stack's queue holds thousands of messages while a batch is sent, so
each request slowed down as the backlog grew.

Here a queue's messages live in a store kept in the order moto keeps them, which knows each message by
every receipt handle it was ever given, and keeps the messages in flight and those delayed by the time each
comes back (the only ones that can be hidden). Receiving walks the messages in order only until it has
enough, counting lets go of the ones whose time has come, and deleting or changing the visibility of a
message finds it by its handle. moto's own code still decides everything else (receive counts, redrive to
the dead-letter queue, FIFO groups, deduplication, retention, purge), and the clock is read once per walk
or count.
"""

import functools
import heapq
import itertools
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from moto.sqs import models
from moto.sqs.exceptions import InvalidParameterValue, ReceiptHandleIsInvalid
from moto.sqs.models import Message, Queue, SQSBackend

_TWELVE_HOURS_MS = 43200 * 1000  # the longest a message may stay in flight since it was sent


class _Until:
    """The messages hidden until the time one of their attributes says (in flight until `visible_at`,
    delayed until `delayed_until`), with a heap by that time to let each go when it comes."""

    def __init__(self, attribute: str, inclusive: bool) -> None:
        self.members: set[Message] = set()
        self._heap: list[tuple[float, int, Message]] = []
        self._attribute = attribute
        self._inclusive = inclusive  # over at that very time (delays), or only just after it (visibility)

    def add(self, message: Message) -> None:
        self.members.add(message)
        heapq.heappush(self._heap, (getattr(message, self._attribute), next(_PUSHED), message))

    def discard(self, message: Message) -> None:
        self.members.discard(message)

    def clear(self) -> None:
        self.members.clear()
        self._heap.clear()

    def at(self, now: float) -> set[Message]:
        """The members still hidden at `now` (time only moves on: the others never will be again by
        themselves, only through `add`)."""
        heap = self._heap
        while heap and (heap[0][0] <= now if self._inclusive else heap[0][0] < now):
            until, _, message = heapq.heappop(heap)
            if getattr(message, self._attribute) == until:  # else a later (or earlier) time was pushed since
                self.members.discard(message)
        return self.members


_PUSHED = itertools.count()  # ties in a heap never compare messages


class _Store:
    """A queue's messages in moto's order, found by every receipt handle they were given, with those that
    may be in flight or delayed (the only ones that can be hidden)."""

    def __init__(self, messages: Iterable[Message] = ()) -> None:
        self._order: dict[Message, None] = {}
        self._by_handle: dict[str, Message] = {}
        self._in_flight = _Until("visible_at", inclusive=False)  # moto: visible once visible_at < now
        self._delayed = _Until("delayed_until", inclusive=True)  # moto: delayed while now < delayed_until
        for message in messages:
            self.append(message)

    def append(self, message: Message) -> None:
        self._order[message] = None
        _STORE_OF[id(message)] = self
        self._index_handles(message)  # a message moved to a dead-letter queue keeps its handles
        if message.visible_at:  # else visible at any time since 1970
            self._in_flight.add(message)
        if message.delayed_until:
            self._delayed.add(message)

    def remove(self, message: Message) -> None:
        del self._order[message]
        self._forget(message)

    def clear(self) -> None:
        for message in self._order:
            self._forget(message)
        self._order.clear()
        self._in_flight.clear()
        self._delayed.clear()

    def handed_out(self, message: Message) -> None:
        """The message was received or its visibility changed: a new handle, maybe in flight."""
        self._index_handles(message)
        self._in_flight.add(message)

    def with_handle(self, receipt_handle: str) -> Message | None:
        return self._by_handle.get(receipt_handle)

    def visible(self, now: float) -> Iterator[Message]:
        """The messages to deliver, in order, as moto's Queue.messages lists them at time `now` (read-only:
        a long poll asks for them without the queue's lock)."""
        in_flight, delayed = self._in_flight.members, self._delayed.members
        for message in self._order:
            if (message not in in_flight and message not in delayed) or (
                message.visible_at < now and message.delayed_until <= now
            ):
                yield message

    def count_in_flight(self, now: float) -> int:
        return len(self._in_flight.at(now))

    def count_delayed(self, now: float) -> int:
        return len(self._delayed.at(now))

    def count_visible(self, now: float) -> int:
        """Neither in flight nor delayed."""
        in_flight, delayed = self._in_flight.at(now), self._delayed.at(now)
        smaller, larger = sorted((in_flight, delayed), key=len)
        both = sum(1 for message in smaller if message in larger)
        return len(self._order) - len(in_flight) - len(delayed) + both

    def _index_handles(self, message: Message) -> None:
        for handle in message.all_receipt_handles:
            if handle is not None:
                self._by_handle[handle] = message

    def _forget(self, message: Message) -> None:
        _STORE_OF.pop(id(message), None)
        self._in_flight.discard(message)
        self._delayed.discard(message)
        for handle in message.all_receipt_handles:
            if handle is not None and self._by_handle.get(handle) is message:
                del self._by_handle[handle]

    def __iter__(self) -> Iterator[Message]:
        return iter(list(self._order))

    def __len__(self) -> int:
        return len(self._order)

    def __bool__(self) -> bool:
        return bool(self._order)


_STORE_OF: dict[int, _Store] = {}  # by id() of each message a store holds (it holds the message alive)


class _Visible:
    """Queue.messages as moto's callers use it: walked in order (lazily), tested for emptiness, counted."""

    def __init__(self, store: _Store) -> None:
        self._store = store

    def __iter__(self) -> Iterator[Message]:
        return self._store.visible(models.unix_time_millis())

    def __bool__(self) -> bool:
        # A long poll waits on this without the queue's lock: a delete may change the store meanwhile.
        while True:
            try:
                return next(iter(self), None) is not None
            except RuntimeError:
                continue

    def __len__(self) -> int:
        return self._store.count_visible(models.unix_time_millis())


def install() -> None:
    Queue._messages = property(_store_of, _replace_messages)  # type: ignore[assignment]
    Queue.messages = property(lambda queue: _Visible(_store_of(queue)))  # type: ignore[method-assign,assignment]
    Queue.approximate_number_of_messages_not_visible = property(_count_not_visible)  # type: ignore[method-assign,assignment]
    Queue.approximate_number_of_messages_delayed = property(_count_delayed)  # type: ignore[method-assign,assignment]
    Queue.delete_message = _delete_message  # type: ignore[method-assign]
    Message.mark_received = _handing_out(Message.mark_received)  # type: ignore[method-assign]
    Message.change_visibility = _handing_out(Message.change_visibility)  # type: ignore[method-assign]
    SQSBackend.is_message_valid_based_on_retention_period = _within_retention  # type: ignore[method-assign]
    SQSBackend.change_message_visibility = _change_message_visibility  # type: ignore[method-assign]


def _store_of(queue: Queue) -> _Store:
    store = queue.__dict__.get("_message_store")
    if store is None:  # a queue made before the patches: its list becomes a store
        store = queue.__dict__["_message_store"] = _Store(queue.__dict__.pop("_messages", []))
    return store


def _replace_messages(queue: Queue, messages: Iterable[Message]) -> None:
    """moto's `queue._messages = [...]` (on creation and purge)."""
    old = queue.__dict__.get("_message_store")
    if old is not None:
        old.clear()
    queue.__dict__["_message_store"] = _Store(messages)


def _count_not_visible(queue: Queue) -> int:
    return _store_of(queue).count_in_flight(models.unix_time_millis())


def _count_delayed(queue: Queue) -> int:
    return _store_of(queue).count_delayed(models.unix_time_millis())


def _handing_out(method: Callable[..., None]) -> Callable[..., None]:
    @functools.wraps(method)
    def handing_out(message: Message, *args: Any, **kwargs: Any) -> None:
        method(message, *args, **kwargs)
        store = _STORE_OF.get(id(message))
        if store is not None:
            store.handed_out(message)

    return handing_out


def _delete_message(queue: Queue, receipt_handle: str) -> None:
    """moto's Queue.delete_message, the message found by its handle."""
    if receipt_handle in queue.deleted_messages:
        return  # already deleted: deleting again succeeds, as in moto
    store = _store_of(queue)
    message = store.with_handle(receipt_handle)
    if message is None:
        raise ReceiptHandleIsInvalid()
    queue.pending_messages.discard(message)
    queue.deleted_messages.update(message.all_receipt_handles)  # type: ignore[arg-type]
    store.remove(message)


def _change_message_visibility(
    backend: SQSBackend, queue_name: str, receipt_handle: str, visibility_timeout: int
) -> None:
    """moto's SQSBackend.change_message_visibility, the message found by its handle."""
    queue = backend.get_queue(queue_name)
    message = _store_of(queue).with_handle(receipt_handle)
    if message is None:
        raise ReceiptHandleIsInvalid
    given_visibility_timeout = models.unix_time_millis() + int(visibility_timeout) * 1000
    if given_visibility_timeout - message.sent_timestamp > _TWELVE_HOURS_MS:  # type: ignore[operator]
        raise InvalidParameterValue(
            f"Value {visibility_timeout} for parameter VisibilityTimeout is invalid. Reason: Total "
            "VisibilityTimeout for the message is beyond the limit [43200 seconds]"
        )
    message.change_visibility(visibility_timeout)
    if message.visible and message in queue.pending_messages:
        queue.pending_messages.remove(message)  # visible again: no longer in flight


def _within_retention(backend: SQSBackend, queue_name: str, message: Message) -> bool:
    """moto's retention check, reading the queue's period instead of rebuilding all its attributes."""
    retention_period = backend.get_queue(queue_name).message_retention_period  # type: ignore[attr-defined]
    return bool(retention_period + message.sent_timestamp / 1000 > models.unix_time())  # type: ignore[operator]
