"""The holidays table: one item per holiday, under its year (so a year's list, or a period's, is a query)."""

from datetime import UTC, date, datetime
from typing import Any

from attendance.data.aws import from_item, to_item, unavailable_on_aws_errors
from attendance.data.punches import iso
from attendance.domain.holidays import Holiday, years_of


class HolidayStore:
    def __init__(self, client: Any, table: str) -> None:
        self._client = client
        self._table = table

    def put(self, holiday: Holiday, changed_by: str) -> Holiday | None:
        """Write the holiday (a new one, or a new name for its date); the one it replaced, if any.
        `changed_by` (an API key's ID, or who ran the CLI) is kept with the time."""
        item = {
            **_key(holiday.day),
            "name": holiday.name,
            "changedBy": changed_by,
            "changedAt": iso(datetime.now(UTC)),
        }
        with unavailable_on_aws_errors("saving a holiday"):
            reply = self._client.put_item(TableName=self._table, Item=to_item(item), ReturnValues="ALL_OLD")
        return _holiday(reply["Attributes"]) if "Attributes" in reply else None

    def delete(self, day: date) -> Holiday | None:
        """Removes the holiday on `day`: the one removed, None if there was none."""
        with unavailable_on_aws_errors("removing a holiday"):
            reply = self._client.delete_item(
                TableName=self._table, Key=to_item(_key(day)), ReturnValues="ALL_OLD"
            )
        return _holiday(reply["Attributes"]) if "Attributes" in reply else None

    def in_year(self, year: int) -> list[Holiday]:
        """A calendar year's holidays, in date order."""
        return self.between(date(year, 1, 1), date(year, 12, 31))

    def between(self, start: date, end: date) -> list[Holiday]:
        """The holidays from start to end (inclusive), in date order: a query per calendar year touched."""
        found: list[Holiday] = []
        with unavailable_on_aws_errors("reading holidays"):
            for year in years_of(start, end):
                pages = self._client.get_paginator("query").paginate(
                    TableName=self._table,
                    KeyConditionExpression="#year = :year AND #date BETWEEN :start AND :end",
                    ExpressionAttributeNames={"#year": "year", "#date": "date"},  # reserved words
                    ExpressionAttributeValues=to_item(
                        {":year": str(year), ":start": start.isoformat(), ":end": end.isoformat()}
                    ),
                )
                found += [_holiday(item) for page in pages for item in page["Items"]]
        return found


def _key(day: date) -> dict[str, str]:
    return {"year": str(day.year), "date": day.isoformat()}


def _holiday(item: dict[str, Any]) -> Holiday:
    values = from_item(item)
    return Holiday(day=values["date"], name=values["name"])
