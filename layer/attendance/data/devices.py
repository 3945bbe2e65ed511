"""The devices table: the registry, looked up by ID (API), by serial (ADMS) or by push token (Hikvision)."""

import secrets
from typing import Any

from attendance.data.aws import from_item, to_item, unavailable_on_aws_errors
from attendance.domain.devices import Device, DeviceKind
from attendance.domain.keys import hash_key
from attendance.domain.punch import PunchType

SERIAL_INDEX = "bySerial"
PUSH_INDEX = "byPushToken"


class DeviceStore:
    def __init__(self, client: Any, table: str) -> None:
        self._client = client
        self._table = table

    def get(self, device_id: str) -> Device | None:
        with unavailable_on_aws_errors("reading a device"):
            reply = self._client.get_item(TableName=self._table, Key=to_item({"deviceId": device_id}))
        return _device(reply["Item"]) if "Item" in reply else None

    def by_serial(self, serial: str) -> Device | None:
        return self._query_one(SERIAL_INDEX, "serial", serial)

    def by_push_token(self, raw_token: str) -> Device | None:
        return self._query_one(PUSH_INDEX, "pushTokenHash", hash_key(raw_token))

    def put(self, device: Device) -> None:
        """Register or update a device. Only its registration is written: what the device itself reports
        (when it was last seen, its model, ...) lives on the same item and is kept."""
        registration = {
            "kind": device.kind.value,
            "serial": device.serial,
            "timeZone": device.time_zone,
            "enabled": device.enabled,
            "pushTokenHash": device.push_token_hash,
            "defaultType": device.default_type.value,
            "name": device.name,
            "site": device.site,
            "silentAfterMinutes": device.silent_after_minutes,
        }
        kept = {name: value for name, value in registration.items() if value is not None}
        cleared = [name for name, value in registration.items() if value is None]
        names = {f"#{name}": name for name in registration}
        update = "SET " + ", ".join(f"#{name} = :{name}" for name in kept)
        update += (" REMOVE " + ", ".join(f"#{name}" for name in cleared)) if cleared else ""
        with unavailable_on_aws_errors("registering a device"):
            self._client.update_item(
                TableName=self._table,
                Key=to_item({"deviceId": device.device_id}),
                UpdateExpression=update,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=to_item({f":{name}": value for name, value in kept.items()}),
            )

    def in_site(self, site: str) -> list[Device]:
        """The enabled devices of one site (a small table: read whole)."""
        return [device for device in self.list() if device.site == site and device.enabled]

    def list(self) -> list[Device]:
        """Every registered device (a small table)."""
        with unavailable_on_aws_errors("listing devices"):
            pages = self._client.get_paginator("scan").paginate(TableName=self._table)
            return sorted(
                (_device(item) for page in pages for item in page["Items"]), key=lambda d: d.device_id
            )

    def register_hikvision(self, device: Device) -> tuple[str, Device]:
        """Registers a Hikvision terminal with a new push token; the raw token is returned once."""
        token = secrets.token_urlsafe(24)
        registered = device.model_copy(
            update={"kind": DeviceKind.HIKVISION, "push_token_hash": hash_key(token)}
        )
        self.put(registered)
        return token, registered

    def _query_one(self, index: str, attribute: str, value: str) -> Device | None:
        with unavailable_on_aws_errors("looking up a device"):
            reply = self._client.query(
                TableName=self._table,
                IndexName=index,
                KeyConditionExpression=f"{attribute} = :value",
                ExpressionAttributeValues=to_item({":value": value}),
                Limit=2,
            )
        items = reply.get("Items", [])
        return _device(items[0]) if len(items) == 1 else None  # two devices sharing a serial: trust neither


def _device(item: dict[str, Any]) -> Device:
    values = from_item(item)
    return Device(
        device_id=values["deviceId"],
        kind=DeviceKind(values.get("kind", DeviceKind.ZKTECO)),
        serial=values.get("serial"),
        time_zone=values.get("timeZone"),
        enabled=values.get("enabled", True),
        push_token_hash=values.get("pushTokenHash"),
        default_type=PunchType(values.get("defaultType", PunchType.IN)),
        name=values.get("name"),
        site=values.get("site"),
        silent_after_minutes=int(values.get("silentAfterMinutes", 15)),
    )
