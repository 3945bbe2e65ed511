"""DynamoDB's capacity rules, applied to requests as they were sent and items as they were stored.

Item size: the attribute names' UTF-8 bytes plus each value's size (strings in UTF-8 bytes, numbers about
one byte per two significant digits plus one, binary in bytes, booleans and nulls one byte, lists and
maps three bytes plus one per element plus their contents). A write costs one write unit per KB of the
larger of the item before and after it (at least one, charged for a failed condition too), twice that
inside a transaction. A read costs one read unit per 4 KB strongly consistent, half that eventually
consistent. Each global secondary index a write touches costs write units for its own entry: one write
per KB of the projected entry when an entry appears, disappears or its projected attributes change, two
(a delete and a put) when its key changes, none when nothing it projects changed.
"""

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

WRITE_UNIT_BYTES = 1024
READ_UNIT_BYTES = 4096
TRANSACTION_FACTOR = 2

Item = Mapping[str, Any]  # DynamoDB JSON: {"name": {"S": "value"}, ...}


def value_size(value: Mapping[str, Any]) -> int:
    ((kind, content),) = value.items()
    if kind == "S":
        return len(content.encode())
    if kind == "N":
        return _number_size(content)
    if kind == "B":
        return len(content)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(member.encode()) for member in content)
    if kind == "NS":
        return sum(_number_size(member) for member in content)
    if kind == "BS":
        return sum(len(member) for member in content)
    if kind == "L":
        return 3 + sum(1 + value_size(member) for member in content)
    if kind == "M":
        return 3 + sum(1 + len(name.encode()) + value_size(member) for name, member in content.items())
    raise ValueError(f"unknown DynamoDB type {kind}")


def _number_size(text: str) -> int:
    digits = str(Decimal(text).normalize()).lstrip("-").replace(".", "").split("E")[0].strip("0") or "0"
    return math.ceil(len(digits) / 2) + 1


def item_size(item: Item | None) -> int:
    if not item:
        return 0
    return sum(len(name.encode()) + value_size(value) for name, value in item.items())


def write_units(before: Item | None, after: Item | None) -> int:
    """A single-item write, applied or refused by its condition."""
    return max(1, math.ceil(max(item_size(before), item_size(after)) / WRITE_UNIT_BYTES))


def read_units(items: Iterable[Item | None], consistent: bool) -> float:
    """One GetItem per item (a missing item still costs the minimum)."""
    per_item = [max(1, math.ceil(item_size(item) / READ_UNIT_BYTES)) for item in items]
    return sum(per_item) * (1 if consistent else 0.5)


def query_units(items: Iterable[Item], consistent: bool = False) -> float:
    """A query or scan page: the items it read, summed, then rounded up to 4 KB."""
    return max(1, math.ceil(sum(item_size(item) for item in items) / READ_UNIT_BYTES)) * (
        1 if consistent else 0.5
    )


@dataclass(frozen=True)
class Index:
    """A global secondary index as the template defines it."""

    name: str
    keys: tuple[str, ...]
    projection: str  # ALL, KEYS_ONLY or INCLUDE
    included: frozenset[str] = frozenset()

    def entry(self, item: Item | None, table_keys: Iterable[str]) -> dict[str, Any] | None:
        """The index's entry for this item, or None when the item lacks one of the index's keys."""
        if not item or any(key not in item for key in self.keys):
            return None
        if self.projection == "ALL":
            return dict(item)
        kept = {*self.keys, *table_keys} | (self.included if self.projection == "INCLUDE" else set())
        return {name: value for name, value in item.items() if name in kept}

    def keys_written(self, before: Item | None, after: Item | None, table_keys: Iterable[str]) -> list[str]:
        """The partition keys this change writes an entry under: the old one when an entry goes or moves,
        the new one when an entry comes, moves or changes."""
        table_keys = tuple(table_keys)
        old, new = self.entry(before, table_keys), self.entry(after, table_keys)
        if old == new:
            return []
        partition = self.keys[0]
        written = (
            [_key_text(old[partition])] if old and (new is None or old[partition] != new[partition]) else []
        )
        return written + ([_key_text(new[partition])] if new else [])

    def write_units(self, before: Item | None, after: Item | None, table_keys: Iterable[str]) -> int:
        table_keys = tuple(table_keys)
        old, new = self.entry(before, table_keys), self.entry(after, table_keys)
        if old == new:
            return 0
        units = lambda entry: max(1, math.ceil(item_size(entry) / WRITE_UNIT_BYTES))  # noqa: E731
        if old is None:
            return units(new)
        if new is None:
            return units(old)
        if any(old[key] != new[key] for key in self.keys):
            return units(old) + units(new)
        return units(new)


@dataclass(frozen=True)
class Table:
    """A table's key and indexes, read from the template."""

    keys: tuple[str, ...]
    indexes: tuple[Index, ...]

    @classmethod
    def from_template(cls, properties: Mapping[str, Any]) -> "Table":
        indexes = tuple(
            Index(
                name=index["IndexName"],
                keys=tuple(key["AttributeName"] for key in index["KeySchema"]),
                projection=index["Projection"]["ProjectionType"],
                included=frozenset(index["Projection"].get("NonKeyAttributes", [])),
            )
            for index in properties.get("GlobalSecondaryIndexes", [])
        )
        return cls(tuple(key["AttributeName"] for key in properties["KeySchema"]), indexes)

    def index_write_units(self, before: Item | None, after: Item | None) -> dict[str, int]:
        """Write units each index spends on this change of one item (indexes it leaves alone omitted)."""
        spent = {index.name: index.write_units(before, after, self.keys) for index in self.indexes}
        return {name: units for name, units in spent.items() if units}

    def index_keys_written(self, before: Item | None, after: Item | None) -> list[tuple[str, str]]:
        """(index, partition key) of each index entry this change of one item writes."""
        return [
            (index.name, key)
            for index in self.indexes
            for key in index.keys_written(before, after, self.keys)
        ]

    def partition_key(self, item: Item) -> str:
        return _key_text(item.get(self.keys[0], {"S": "?"}))


def _key_text(value: Mapping[str, Any]) -> str:
    ((_, content),) = value.items()
    return str(content)
