"""The schedules table: one work schedule per employee, plus the default under the id *default*."""

from datetime import time
from itertools import batched
from typing import Any

from attendance.data.aws import from_item, to_item, unavailable_on_aws_errors
from attendance.domain.timesheet import Schedule

BATCH_GET_LIMIT = 100


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

    def get_many(self, user_ids: set[str]) -> dict[str, Schedule]:
        """The schedules of these users that exist, by BatchGetItem (no scan)."""
        found: dict[str, Schedule] = {}
        with unavailable_on_aws_errors("reading schedules"):
            for group in batched(sorted(user_ids), BATCH_GET_LIMIT):
                request = {self._table: {"Keys": [to_item({"userId": user}) for user in group]}}
                while request:
                    reply = self._client.batch_get_item(RequestItems=request)
                    for item in reply["Responses"].get(self._table, []):
                        values = from_item(item)
                        found[values["userId"]] = _schedule(values)
                    request = reply.get("UnprocessedKeys") or {}
        return found

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
