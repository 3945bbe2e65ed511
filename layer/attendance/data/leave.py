"""The leave table: a leave is kept under each calendar month it touches (a copy an item), keyed by employee
and first day, so that the leave of a day or a pay period is read from its month or two, whatever the year
holds: a daily report reads one month's leave, not the year's.

A leave lasts at most MAX_LEAVE_DAYS, so it has at most 13 copies; they are written and removed together,
in one transaction.
"""

from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

from attendance.data.aws import from_item, to_item, unavailable_on_aws_errors
from attendance.data.punches import iso
from attendance.domain.leave import Leave


class LeaveOverlaps(ValueError):
    """The employee already has a leave on some of these days; `existing` is it."""

    def __init__(self, existing: Leave) -> None:
        super().__init__(
            f"{existing.user_id} is already on {existing.kind} leave from {existing.start.isoformat()} "
            f"to {existing.end.isoformat()}"
        )
        self.existing = existing


class LeaveStore:
    def __init__(self, client: Any, table: str) -> None:
        self._client = client
        self._table = table

    def put(self, leave: Leave, changed_by: str) -> Leave | None:
        """Write the leave (a new one, or new days, kind or note for the one starting on its first day); the
        one it replaced, if any. LeaveOverlaps if another of the employee's leaves shares a day with it.
        `changed_by` (an API key's ID, or who ran the CLI) is kept with the time. Two writes racing for one
        employee are not told apart: the check reads, then writes."""
        replaced = None
        for other in self.of_user(leave.user_id, leave.start, leave.end):
            if other.start != leave.start:
                raise LeaveOverlaps(other)
            replaced = other
        values = leave.model_dump(mode="json", exclude_none=True) | {
            "changedBy": changed_by,
            "changedAt": iso(datetime.now(UTC)),
        }
        months = set(_months(leave.start, leave.end))
        gone = set(_months(replaced.start, replaced.end)) - months if replaced else set()
        actions = [
            {"Put": {"TableName": self._table, "Item": to_item(_key(leave, month) | values)}}
            for month in months
        ]
        actions += [
            {"Delete": {"TableName": self._table, "Key": to_item(_key(leave, month))}} for month in gone
        ]
        with unavailable_on_aws_errors("saving a leave"):
            self._client.transact_write_items(TransactItems=actions)
        return replaced

    def delete(self, user_id: str, start: date) -> Leave | None:
        """Removes the employee's leave that starts on `start`: the one removed, None if there was none."""
        with unavailable_on_aws_errors("removing a leave"):
            reply = self._client.get_item(
                TableName=self._table, Key=to_item({"month": _month(start), "entry": _entry(user_id, start)})
            )
            if "Item" not in reply:
                return None
            leave = _leave(reply["Item"])
            self._client.transact_write_items(
                TransactItems=[
                    {"Delete": {"TableName": self._table, "Key": to_item(_key(leave, month))}}
                    for month in _months(leave.start, leave.end)
                ]
            )
        return leave

    def of_user(self, user_id: str, start: date, end: date) -> list[Leave]:
        """The employee's leaves with a day from start to end (inclusive), by first day: a query a month."""
        return self._touching(start, end, f"{user_id}#")

    def between(self, start: date, end: date) -> list[Leave]:
        """Everyone's leaves with a day from start to end (inclusive), by employee and first day."""
        return self._touching(start, end)

    def _touching(self, start: date, end: date, prefix: str | None = None) -> list[Leave]:
        found: dict[tuple[str, date], Leave] = {}  # a leave of several months is read once a month
        condition = "#month = :month" + (" AND begins_with(#entry, :prefix)" if prefix else "")
        with unavailable_on_aws_errors("reading leave"):
            for month in _months(start, end):
                pages = self._client.get_paginator("query").paginate(
                    TableName=self._table,
                    KeyConditionExpression=condition,
                    FilterExpression="#to >= :start AND #from <= :end",
                    ExpressionAttributeNames={
                        "#month": "month",
                        "#from": "from",
                        "#to": "to",
                    }  # reserved words
                    | ({"#entry": "entry"} if prefix else {}),
                    ExpressionAttributeValues=to_item(
                        {
                            ":month": month,
                            ":prefix": prefix,
                            ":start": start.isoformat(),
                            ":end": end.isoformat(),
                        }
                    ),
                )
                for leave in (_leave(item) for page in pages for item in page["Items"]):
                    found[leave.user_id, leave.start] = leave
        return [found[key] for key in sorted(found)]


def _months(start: date, end: date) -> Iterator[str]:
    """The calendar months from start's to end's, as YYYY-MM."""
    year, month = start.year, start.month
    while (year, month) <= (end.year, end.month):
        yield f"{year:04d}-{month:02d}"
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)


def _month(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def _entry(user_id: str, start: date) -> str:
    return f"{user_id}#{start.isoformat()}"


def _key(leave: Leave, month: str) -> dict[str, str]:
    return {"month": month, "entry": _entry(leave.user_id, leave.start)}


def _leave(item: dict[str, Any]) -> Leave:
    values = from_item(item)
    return Leave(
        user_id=values["userId"],
        start=values["from"],
        end=values["to"],
        kind=values["kind"],
        note=values.get("note"),
    )
