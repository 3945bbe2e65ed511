"""DynamoDB Query and index Scan by key, as DynamoDB serves them, instead of a walk over the whole table.

moto answers every Query by reading every item of the table, sorted, and keeping those of the partition
asked for: a one-item query on a secondary index costs as much as a Scan, and grows with the table. A
Scan of a sparse index also reads every item. On AWS both cost what they return, and the local stack's
scheduled sweeps and dashboards rely on that.

moto's own Query and Scan still run, with every rule they apply (key conditions, sort order, paging,
Limit, filters, projections, errors); they are only handed the items that can match instead of the
whole table:

- a Query on the table, or on an index keyed by the table's partition key, reads that partition;
- a Query on another index reads the items whose index partition key has the value asked for;
- a Scan of an index reads the items that carry the index's key attributes.

For the last two, each table keeps a map from an attribute's value to the keys of the items that have
it, built the first time an index needs it. An item can change only through PutItem, DeleteItem, or
in place after moto has read it with GetItem (UpdateItem, and every write of a transaction or a batch,
goes through these), so each of them marks the item's key, and a Query first re-files the items marked
since the last one. A write costs one set insertion; a Query, the items written since the last one plus
what it returns.
"""

import functools
import inspect
import threading
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from moto.dynamodb.models.dynamo_type import DynamoType, Item
from moto.dynamodb.models.table import SecondaryIndex, Table

_Key = tuple[DynamoType, DynamoType | None]  # an item's (partition key, sort key)

_QUERY = Table.query
_QUERY_SIGNATURE = inspect.signature(Table.query)
_ALL_ITEMS = Table.all_items
_HAS_INDEX_ITEMS = Table.has_idx_items
_PUT_ITEM = Table.put_item
_GET_ITEM = Table.get_item
_DELETE_ITEM = Table.delete_item


@dataclass
class _ValueMap:
    """The keys of the items holding each value of one attribute."""

    attribute: str
    keys_by_value: dict[DynamoType, dict[_Key, None]] = field(default_factory=dict)
    value_of: dict[_Key, DynamoType] = field(default_factory=dict)
    unhashable: dict[_Key, None] = field(default_factory=dict)  # a set or document value: a candidate always

    def file(self, key: _Key, item: Item | None) -> None:
        """Forget where the item was, and file it under its value now (if it still exists and has one)."""
        old = self.value_of.pop(key, None)
        if old is not None:
            keys = self.keys_by_value[old]
            del keys[key]
            if not keys:
                del self.keys_by_value[old]
        self.unhashable.pop(key, None)
        value = item.attrs.get(self.attribute) if item is not None else None
        if value is None:
            return
        try:
            hash(value)
        except TypeError:
            self.unhashable[key] = None
            return
        value = DynamoType(value)  # our own copy: moto may change the item's value object in place
        self.keys_by_value.setdefault(value, {})[key] = None
        self.value_of[key] = value

    def keys_with(self, value: DynamoType | None) -> list[_Key]:
        """The keys of the items that can hold `value` (every item that has the attribute if None)."""
        if value is None:
            return [*self.value_of, *self.unhashable]
        try:
            return [*self.keys_by_value.get(value, ()), *self.unhashable]
        except TypeError:  # an unhashable value asked for: any item with the attribute may match
            return [*self.value_of, *self.unhashable]


@dataclass
class _TableMaps:
    """One table's value maps, and the keys of the items that may have changed since they were filed."""

    items: dict[Any, Any]
    maps: dict[str, _ValueMap] = field(default_factory=dict)
    changed: set[_Key] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)


# Kept beside the tables, not on them: moto deep-copies tables (backups, its own transactions), and a copy
# must start with maps of its own.
_MAPS: "weakref.WeakKeyDictionary[Table, _TableMaps]" = weakref.WeakKeyDictionary()
_MAPS_LOCK = threading.Lock()
_candidates = threading.local()


def install() -> None:
    """Idempotent: routes moto's Query and index Scan through the maps."""
    if getattr(Table.query, "_by_key", False):
        return
    Table.query = _query  # type: ignore[method-assign]
    Table.all_items = _all_items  # type: ignore[method-assign]
    Table.has_idx_items = _has_index_items  # type: ignore[method-assign]
    Table.put_item = _marking(_PUT_ITEM)  # type: ignore[method-assign]
    Table.get_item = _marking(_GET_ITEM)  # type: ignore[method-assign]
    Table.delete_item = _marking(_DELETE_ITEM)  # type: ignore[method-assign]


def _query(table: Table, *args: Any, **kwargs: Any) -> tuple[list[Item], int, dict[str, Any] | None]:
    """moto's Query, over the items that can match: their partition, or an index's entries for the value."""
    call = _QUERY_SIGNATURE.bind(table, *args, **kwargs)
    items = _query_candidates(
        table,
        call.arguments.get("hash_key"),
        call.arguments.get("index_name"),
        call.arguments.get("hash_key_conditions") or [],
    )
    if items is None:
        return _QUERY(table, *args, **kwargs)
    _candidates.now = (table, items)
    try:
        return _QUERY(table, *args, **kwargs)
    finally:
        _candidates.now = None


_query._by_key = True  # type: ignore[attr-defined]


def _all_items(table: Table) -> list[Item]:
    """The candidates of the Query running on this table in this thread, once; otherwise moto's list."""
    candidates = getattr(_candidates, "now", None)
    if candidates is not None and candidates[0] is table:
        _candidates.now = None
        return candidates[1]
    return _ALL_ITEMS(table)


def _query_candidates(
    table: Table,
    hash_key: DynamoType | None,
    index_name: str | None,
    hash_conditions: list[tuple[str, DynamoType]],
) -> list[Item] | None:
    """The items a Query can return, in moto's order; None when moto should read the whole table itself."""
    if not index_name:
        return _in_partition(table, hash_key)
    index = _index(table, index_name)
    if index is None:
        return None  # moto refuses the request
    attribute = _partition_attribute(index)
    value = next((value for name, value in hash_conditions if name == attribute), None)
    if attribute is None or value is None:
        return None
    if attribute == table.hash_key_attr:
        return _in_partition(table, value)
    with _Maps(table) as maps:
        return _ordered(_items_at(table, maps.map_of(table, attribute).keys_with(value)))


def _has_index_items(table: Table, index_name: str) -> list[Item]:
    """moto's items of an index for a Scan, read from the map of a key attribute the table does not share."""
    index = table.get_index(index_name)
    own = [key["AttributeName"] for key in index.schema if key["AttributeName"] not in table.table_key_attrs]
    if not own:
        return _HAS_INDEX_ITEMS(table, index_name)
    names = {key["AttributeName"] for key in index.schema}
    with _Maps(table) as maps:
        items = _items_at(table, maps.map_of(table, own[0]).keys_with(None))
    return [item for item in items if names.issubset(item.attrs)]  # moto's Scan sorts them


def _in_partition(table: Table, hash_key: DynamoType | None) -> list[Item] | None:
    try:
        partition = table.items.get(hash_key) if hash_key is not None else None
    except TypeError:  # an unhashable value: let moto compare it with every item
        return None
    if isinstance(partition, Item):
        return [partition]
    return _ordered(partition.values()) if partition else []


def _index(table: Table, index_name: str) -> SecondaryIndex | None:
    return next((index for index in table.all_indexes() if index.name == index_name), None)


def _partition_attribute(index: SecondaryIndex) -> str | None:
    return next((key["AttributeName"] for key in index.schema if key["KeyType"] == "HASH"), None)


def _ordered(items: Iterable[Item]) -> list[Item]:
    """In the order of moto's all_items, which its Query sees before it sorts."""
    return sorted(items, key=lambda x: (x.hash_key, x.range_key) if x.range_key else x.hash_key)


def _item_at(table: Table, key: _Key) -> Item | None:
    partition = table.items.get(key[0])  # get: moto's items are a defaultdict, a lookup must not add
    if isinstance(partition, Item):
        return partition
    return partition.get(key[1]) if partition else None


def _items_at(table: Table, keys: list[_Key]) -> list[Item]:
    return [item for item in (_item_at(table, key) for key in keys) if item is not None]


class _Maps:
    """A table's maps, brought up to date and held under its lock for the length of a `with`."""

    def __init__(self, table: Table) -> None:
        with _MAPS_LOCK:
            state = _MAPS.get(table)
            if state is None or state.items is not table.items:  # new, or moto replaced the items
                state = _MAPS[table] = _TableMaps(table.items)
        self.state = state

    def __enter__(self) -> "_Maps":
        self.state.lock.acquire()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.state.lock.release()

    def map_of(self, table: Table, attribute: str) -> _ValueMap:
        state = self.state
        if state.changed:
            for key in state.changed if state.maps else ():
                item = _item_at(table, key)
                for value_map in state.maps.values():
                    value_map.file(key, item)
            state.changed.clear()
        value_map = state.maps.get(attribute)
        if value_map is None:
            value_map = state.maps[attribute] = _ValueMap(attribute)
            for partition in table.items.values():
                for item in [partition] if isinstance(partition, Item) else partition.values():
                    value_map.file(_key_of(table, item), item)
        return value_map


def _key_of(table: Table, item: Item) -> _Key:
    return item.hash_key, item.range_key if table.range_key_attr else None


def _marking(method: Callable[..., Item | None]) -> Callable[..., Item | None]:
    """Marks the key of the item written, deleted, or read (moto changes an item in place after reading it).

    Needs what the local stack's locks give: no Query on a table while a request writes to it."""

    @functools.wraps(method)
    def marked(table: Table, *args: Any, **kwargs: Any) -> Item | None:
        item = method(table, *args, **kwargs)
        state = _MAPS.get(table)
        if state is not None and item is not None:
            with state.lock:
                state.changed.add(_key_of(table, item))
        return item

    return marked
