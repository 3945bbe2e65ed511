"""The devices table: each registered device's zone and whether it is enabled."""

from typing import Any

from attendance.data.aws import from_item, to_item, unavailable_on_aws_errors
from attendance.domain.devices import Device


class DeviceStore:
    def __init__(self, client: Any, table: str) -> None:
        self._client = client
        self._table = table

    def get(self, device_id: str) -> Device | None:
        with unavailable_on_aws_errors("reading a device"):
            reply = self._client.get_item(TableName=self._table, Key=to_item({"deviceId": device_id}))
        if "Item" not in reply:
            return None
        values = from_item(reply["Item"])
        return Device(
            device_id=values["deviceId"],
            time_zone=values.get("timeZone"),
            enabled=values.get("enabled", True),
        )

    def put(self, device: Device) -> None:
        item = {"deviceId": device.device_id, "timeZone": device.time_zone, "enabled": device.enabled}
        with unavailable_on_aws_errors("registering a device"):
            self._client.put_item(TableName=self._table, Item=to_item(item))
