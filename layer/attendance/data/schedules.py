"""The schedules table: each employee's schedule over time, plus the default's under the id *default*.

One item a schedule, keyed by userId as ever: the latest version in the item's own attributes (days, start,
end, graceMinutes, timeZone; none of them for a removal) with the day it takes effect from (effectiveFrom;
absent: since always, as items written before history was kept), and the earlier versions in `history`, oldest
first, each with its effectiveFrom (if any) and `until`, the last day it held. domain/schedule_history.py has
the rules and the bound on versions that keeps an item small. A change reads the item and writes it back
only if nobody changed it meanwhile (`revision`), so two changes at once do not lose one.
"""

from datetime import date, time
from typing import Any

from attendance.data.aws import batch_get, from_item, to_item, unavailable_on_aws_errors
from attendance.data.errors import StoreUnavailable
from attendance.domain.schedule_history import ScheduleHistory, ScheduleVersion
from attendance.domain.timesheet import Schedule

_CHANGE_ATTEMPTS = 3  # a change that loses the race to another is read and made again


class ScheduleStore:
    def __init__(self, client: Any, table: str) -> None:
        self._client = client
        self._table = table

    def put(self, user_id: str, schedule: Schedule) -> None:
        """One schedule for every day, any history replaced: how a stack is seeded, not how it is changed."""
        self._write(user_id, ScheduleHistory.always(schedule), None, checked=False)

    def change(
        self, user_id: str, schedule: Schedule | None, since: date
    ) -> tuple[ScheduleHistory, ScheduleHistory]:
        """`schedule` (None: removed, so the default applies) from `since` on, the days before kept as they
        were: the history before and after (empty: nothing of theirs left, and the item is gone)."""
        for _ in range(_CHANGE_ATTEMPTS):
            before, revision = self._read(user_id)
            after = before.changed(schedule, since)
            if after == before or self._write(user_id, after, revision):
                return before, after
        raise StoreUnavailable("changing a schedule failed: it kept changing meanwhile; try again")

    def history(self, user_id: str) -> ScheduleHistory:
        return self._read(user_id)[0]

    def get_many(self, user_ids: set[str]) -> dict[str, ScheduleHistory]:
        """The histories of these users that exist, by BatchGetItem (no scan)."""
        keys = [{"userId": user} for user in sorted(user_ids)]
        found = batch_get(self._client, self._table, keys, "reading schedules")
        return {values["userId"]: _history(values) for values in found}

    def all(self) -> dict[str, ScheduleHistory]:
        """Every schedule's history (for listing; small: one item per employee)."""
        with unavailable_on_aws_errors("listing schedules"):
            pages = self._client.get_paginator("scan").paginate(TableName=self._table)
            return {
                values["userId"]: _history(values)
                for page in pages
                for values in map(from_item, page["Items"])
            }

    def _read(self, user_id: str) -> tuple[ScheduleHistory, int | None]:
        """The history and its item's revision (None: no item; 0: one written before revisions)."""
        with unavailable_on_aws_errors("reading a schedule"):
            reply = self._client.get_item(
                TableName=self._table, Key=to_item({"userId": user_id}), ConsistentRead=True
            )
        if "Item" not in reply:
            return ScheduleHistory(), None
        values = from_item(reply["Item"])
        return _history(values), values.get("revision", 0)

    def _write(
        self, user_id: str, history: ScheduleHistory, revision: int | None, checked: bool = True
    ) -> bool:
        """Write the history (none left: delete the item) if the item is still at `revision` (None: absent),
        unless not `checked` (seeding). False when someone changed it meanwhile."""
        condition = _unchanged_since(revision) if checked else {}
        key = to_item({"userId": user_id})
        lost_race = self._client.exceptions.ConditionalCheckFailedException
        with unavailable_on_aws_errors("saving a schedule"):
            try:
                if history.latest is None:
                    self._client.delete_item(TableName=self._table, Key=key, **condition)
                else:
                    item = _item(user_id, history, (revision or 0) + 1)
                    self._client.put_item(TableName=self._table, Item=to_item(item), **condition)
            except lost_race:
                return False
        return True


def _unchanged_since(revision: int | None) -> dict[str, Any]:
    """The condition that the item is as read: absent, from before revisions, or at `revision`."""
    if revision is None:
        return {"ConditionExpression": "attribute_not_exists(userId)"}
    if revision == 0:
        return {"ConditionExpression": "attribute_exists(userId) AND attribute_not_exists(revision)"}
    return {
        "ConditionExpression": "revision = :revision",
        "ExpressionAttributeValues": to_item({":revision": revision}),
    }


def _item(user_id: str, history: ScheduleHistory, revision: int) -> dict[str, Any]:
    latest = history.latest
    assert latest is not None  # an empty history is no item
    earlier = [
        _version(version) | {"until": until.isoformat()} for version, until in reversed(history.earlier())
    ]
    return {"userId": user_id, **_version(latest), "history": earlier or None, "revision": revision}


def _version(version: ScheduleVersion) -> dict[str, Any]:
    fields = _schedule_fields(version.schedule) if version.schedule else {}
    return fields | ({"effectiveFrom": version.since.isoformat()} if version.since else {})


def _schedule_fields(schedule: Schedule) -> dict[str, Any]:
    return {
        "days": sorted(schedule.days),
        "start": schedule.start.strftime("%H:%M"),
        "end": schedule.end.strftime("%H:%M"),
        "graceMinutes": schedule.grace_minutes,
        "timeZone": schedule.time_zone,
    }


def _history(values: dict[str, Any]) -> ScheduleHistory:
    """An item's versions, oldest first; `until` is implied by the next version's first day."""
    return ScheduleHistory(tuple(map(_read_version, [*values.get("history", []), values])))


def _read_version(values: dict[str, Any]) -> ScheduleVersion:
    since = date.fromisoformat(values["effectiveFrom"]) if "effectiveFrom" in values else None
    return ScheduleVersion(_schedule(values) if "start" in values else None, since)


def _schedule(values: dict[str, Any]) -> Schedule:
    return Schedule(
        days=frozenset(int(day) for day in values["days"]),
        start=time.fromisoformat(values["start"]),
        end=time.fromisoformat(values["end"]),
        grace_minutes=int(values["graceMinutes"]),
        time_zone=values["timeZone"],
    )
