"""The leave table: one item per leave, under the year it starts in, keyed by employee and first day.

A leave lasts at most MAX_LEAVE_DAYS, so one that touches a span of days started in that span's years or
the year before: a period's leave, or an employee's, is a query per year of those.
"""

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
        `changed_by` (an API key's ID, or who ran the CLI) is kept with the time."""
        for other in self.of_user(leave.user_id, leave.start, leave.end):
            if other.start != leave.start:
                raise LeaveOverlaps(other)
        item = {
            **_key(leave.user_id, leave.start),
            **leave.model_dump(mode="json", exclude_none=True),
            "changedBy": changed_by,
            "changedAt": iso(datetime.now(UTC)),
        }
        with unavailable_on_aws_errors("saving a leave"):
            reply = self._client.put_item(TableName=self._table, Item=to_item(item), ReturnValues="ALL_OLD")
        return _leave(reply["Attributes"]) if "Attributes" in reply else None

    def delete(self, user_id: str, start: date) -> Leave | None:
        """Removes the employee's leave that starts on `start`: the one removed, None if there was none."""
        with unavailable_on_aws_errors("removing a leave"):
            reply = self._client.delete_item(
                TableName=self._table, Key=to_item(_key(user_id, start)), ReturnValues="ALL_OLD"
            )
        return _leave(reply["Attributes"]) if "Attributes" in reply else None

    def of_user(self, user_id: str, start: date, end: date) -> list[Leave]:
        """The employee's leaves with a day from start to end (inclusive), by first day."""
        return self._touching(start, end, f"{user_id}#")

    def between(self, start: date, end: date) -> list[Leave]:
        """Everyone's leaves with a day from start to end (inclusive), by first day within each employee."""
        return self._touching(start, end)

    def _touching(self, start: date, end: date, prefix: str | None = None) -> list[Leave]:
        found: list[Leave] = []
        condition = "#year = :year" + (" AND begins_with(#entry, :prefix)" if prefix else "")
        with unavailable_on_aws_errors("reading leave"):
            for year in range(start.year - 1, end.year + 1):  # a leave lasts at most a year
                pages = self._client.get_paginator("query").paginate(
                    TableName=self._table,
                    KeyConditionExpression=condition,
                    FilterExpression="#to >= :start AND #from <= :end",
                    ExpressionAttributeNames={"#year": "year", "#from": "from", "#to": "to"}  # reserved words
                    | ({"#entry": "entry"} if prefix else {}),
                    ExpressionAttributeValues=to_item(
                        {
                            ":year": str(year),
                            ":prefix": prefix,
                            ":start": start.isoformat(),
                            ":end": end.isoformat(),
                        }
                    ),
                )
                found += [_leave(item) for page in pages for item in page["Items"]]
        return sorted(found, key=lambda leave: (leave.user_id, leave.start))


def _key(user_id: str, start: date) -> dict[str, str]:
    return {"year": str(start.year), "entry": f"{user_id}#{start.isoformat()}"}


def _leave(item: dict[str, Any]) -> Leave:
    values = from_item(item)
    return Leave(
        user_id=values["userId"],
        start=values["from"],
        end=values["to"],
        kind=values["kind"],
        note=values.get("note"),
    )
