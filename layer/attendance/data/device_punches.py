"""A device's punches, read by the punches table's byDevice index (deviceId + punchTime), never a scan."""

from datetime import datetime, timedelta
from typing import Any

from attendance.data.aws import from_item, to_item, unavailable_on_aws_errors
from attendance.data.punch_lists import with_delivery_status
from attendance.data.punches import iso
from attendance.domain.records import ListedPunch

DEVICE_INDEX = "byDevice"


class DevicePunches:
    def __init__(self, client: Any, punches_table: str) -> None:
        self._client = client
        self._table = punches_table

    def recent(self, device_id: str, limit: int) -> list[ListedPunch]:
        """The device's latest punches by punch time, newest first."""
        reply = self._query(device_id, "deviceId = :device", {}, Limit=limit, ScanIndexForward=False)
        entries = [from_item(item) for item in reply["Items"]]
        return with_delivery_status(self._client, self._table, entries, ListedPunch)

    def last_punch_at(self, device_id: str) -> datetime | None:
        reply = self._query(
            device_id,
            "deviceId = :device",
            {},
            Limit=1,
            ScanIndexForward=False,
            ProjectionExpression="punchTime",
        )
        items = reply["Items"]
        return datetime.fromisoformat(items[0]["punchTime"]["S"]) if items else None

    def count_between(self, device_id: str, start: datetime, end: datetime) -> int:
        """Punches with start <= punch time < end (instants)."""
        condition = "deviceId = :device AND punchTime BETWEEN :start AND :end"
        # punch times are whole seconds and BETWEEN includes its end: stop a second before `end`
        values = {":start": iso(start), ":end": iso(end - timedelta(seconds=1))}
        total, extra = 0, {}
        while True:
            reply = self._query(device_id, condition, values, Select="COUNT", **extra)
            total += reply["Count"]
            if "LastEvaluatedKey" not in reply:
                return total
            extra = {"ExclusiveStartKey": reply["LastEvaluatedKey"]}

    def _query(self, device_id: str, condition: str, values: dict[str, Any], **extra: Any) -> dict[str, Any]:
        with unavailable_on_aws_errors("querying a device's punches"):
            return self._client.query(
                TableName=self._table,
                IndexName=DEVICE_INDEX,
                KeyConditionExpression=condition,
                ExpressionAttributeValues=to_item({":device": device_id} | values),
                **extra,
            )
