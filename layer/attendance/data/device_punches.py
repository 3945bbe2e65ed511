"""A device's punches, read by the punches table's byDevice index (deviceId + punchTime), never a scan.

The index projects only what never changes, so a punch's delivery updates never rewrite it: the delivery
status of the few latest punches is read from the table itself.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from attendance.data.aws import batch_get, from_item, to_item, unavailable_on_aws_errors
from attendance.data.punches import iso

DEVICE_INDEX = "byDevice"


@dataclass(frozen=True)
class DevicePunchEntry:
    log_id: str
    user_id: str
    punch_time: str
    local_time: str
    type: str
    source: str
    sync_status: str
    attempts: int
    last_error: str | None


class DevicePunches:
    def __init__(self, client: Any, punches_table: str) -> None:
        self._client = client
        self._table = punches_table

    def recent(self, device_id: str, limit: int) -> list[DevicePunchEntry]:
        """The device's latest punches by punch time, newest first."""
        reply = self._query(device_id, "deviceId = :device", {}, Limit=limit, ScanIndexForward=False)
        punches = [from_item(item) for item in reply["Items"]]
        statuses = self._delivery_statuses([punch["logId"] for punch in punches])
        return [_entry(punch | statuses.get(punch["logId"], {})) for punch in punches]

    def _delivery_statuses(self, log_ids: list[str]) -> dict[str, dict[str, Any]]:
        """syncStatus, attempts and lastError of these punches, by logId."""
        items = batch_get(
            self._client,
            self._table,
            [{"logId": log_id} for log_id in log_ids],
            "reading punches' delivery status",
            ProjectionExpression="logId, syncStatus, attempts, lastError",
        )
        return {item["logId"]: item for item in items}

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


def _entry(values: dict[str, Any]) -> DevicePunchEntry:
    return DevicePunchEntry(
        log_id=values["logId"],
        user_id=values["userId"],
        punch_time=values["punchTime"],
        local_time=values["localTime"],
        type=values["type"],
        source=values["source"],
        sync_status=values.get("syncStatus", "pending"),
        attempts=values.get("attempts", 0),
        last_error=values.get("lastError"),
    )
