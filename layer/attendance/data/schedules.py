"""The schedules table: one work schedule per employee, plus the default under the id *default*."""

from datetime import time
from typing import Any

from attendance.data.aws import batch_get, from_item, to_item, unavailable_on_aws_errors
from attendance.domain.timesheet import Schedule


class ScheduleStore:
    def __init__(self, client: Any, table: str) -> None:
        self._client = client
        self._table = table

    def put(self, user_id: str, schedule: Schedule) -> None:
        item = {
            "userId": user_id,
            "days": sorted(schedule.days),
            "start": schedule.start.strftime("%H:%M"),
            "end": schedule.end.strftime("%H:%M"),
            "graceMinutes": schedule.grace_minutes,
            "timeZone": schedule.time_zone,
        }
        with unavailable_on_aws_errors("saving a schedule"):
            self._client.put_item(TableName=self._table, Item=to_item(item))

    def delete(self, user_id: str) -> Schedule | None:
        """Removes a user's schedule (or the default): the schedule removed, None if there was none."""
        with unavailable_on_aws_errors("removing a schedule"):
            reply = self._client.delete_item(
                TableName=self._table, Key=to_item({"userId": user_id}), ReturnValues="ALL_OLD"
            )
        return _schedule(from_item(reply["Attributes"])) if "Attributes" in reply else None

    def get_many(self, user_ids: set[str]) -> dict[str, Schedule]:
        """The schedules of these users that exist, by BatchGetItem (no scan)."""
        keys = [{"userId": user} for user in sorted(user_ids)]
        found = batch_get(self._client, self._table, keys, "reading schedules")
        return {values["userId"]: _schedule(values) for values in found}

    def all(self) -> dict[str, Schedule]:
        """Every schedule (for listing; small: one item per employee)."""
        with unavailable_on_aws_errors("listing schedules"):
            pages = self._client.get_paginator("scan").paginate(TableName=self._table)
            return {
                values["userId"]: _schedule(values)
                for page in pages
                for values in map(from_item, page["Items"])
            }


def _schedule(values: dict[str, Any]) -> Schedule:
    return Schedule(
        days=frozenset(int(day) for day in values["days"]),
        start=time.fromisoformat(values["start"]),
        end=time.fromisoformat(values["end"]),
        grace_minutes=values["graceMinutes"],
        time_zone=values["timeZone"],
    )
