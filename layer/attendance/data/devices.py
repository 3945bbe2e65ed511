"""The devices table: the registry, looked up by ID (API), by serial (ADMS) or by push token (Hikvision)."""

import secrets
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from attendance.data.aws import from_item, to_item, unavailable_on_aws_errors
from attendance.data.punches import iso
from attendance.domain.devices import Device, DeviceKind
from attendance.domain.health import (
    DETAIL_ATTRIBUTES,
    HEARTBEAT_INTERVAL,
    Contact,
    DeviceHealth,
    needs_write,
)
from attendance.domain.keys import hash_key
from attendance.domain.punch import PunchType

SERIAL_INDEX = "bySerial"
PUSH_INDEX = "byPushToken"
SHARED_LIMIT = 10  # devices read for one serial or token: one, unless an old registration shares it


class AlreadyRegistered(Exception):
    """A device with this ID exists already."""


class DeviceStore:
    def __init__(self, client: Any, table: str) -> None:
        self._client = client
        self._table = table
        # The health last read or written per device: a contact within the minute then costs no request.
        self._known_health: dict[str, DeviceHealth] = {}

    def get(self, device_id: str) -> Device | None:
        found = self.get_with_health(device_id)
        return found[0] if found else None

    def get_with_health(self, device_id: str) -> tuple[Device, DeviceHealth] | None:
        with unavailable_on_aws_errors("reading a device"):
            reply = self._client.get_item(TableName=self._table, Key=to_item({"deviceId": device_id}))
        return self._read(reply["Item"]) if "Item" in reply else None

    def by_serial(self, serial: str) -> Device | None:
        return self._query_one(SERIAL_INDEX, "serial", serial)

    def by_push_token(self, raw_token: str) -> Device | None:
        return self._query_one(PUSH_INDEX, "pushTokenHash", hash_key(raw_token))

    def holder_of_serial(self, serial: str) -> str | None:
        """The ID of a device registered with this serial, if any."""
        holders = self._by_index(SERIAL_INDEX, "serial", serial)
        return holders[0].device_id if holders else None

    def put(self, device: Device, only_if_new: bool = False) -> None:
        """Register or update a device. Only its registration is written: what the device itself reports
        (when it was last seen, its model, ...) lives on the same item and is kept. With `only_if_new`,
        an existing ID raises AlreadyRegistered and nothing is written. An update leaves the push token
        alone: only replace_push_token changes it, so a change racing a replacement cannot bring the old
        token back."""
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
        if not only_if_new:
            del registration["pushTokenHash"]
        kept = {name: value for name, value in registration.items() if value is not None}
        cleared = [name for name, value in registration.items() if value is None]
        names = {f"#{name}": name for name in registration}
        update = "SET " + ", ".join(f"#{name} = :{name}" for name in kept)
        update += (" REMOVE " + ", ".join(f"#{name}" for name in cleared)) if cleared else ""
        condition = {"ConditionExpression": "attribute_not_exists(deviceId)"} if only_if_new else {}
        written = self._update_if(
            "registering a device",
            Key=to_item({"deviceId": device.device_id}),
            UpdateExpression=update,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=to_item({f":{name}": value for name, value in kept.items()}),
            **condition,
        )
        if not written:
            raise AlreadyRegistered(device.device_id)

    def record_contact(self, device_id: str, contact: Contact, now: datetime) -> bool:
        """Records a contact if the last one is a minute old or it reports changed details; False when
        it was not written (too soon, or a concurrent contact won). DynamoDB judges the condition, so
        racing contacts write once; the health read with the device spares the request when too soon."""
        known = self._known_health.get(device_id)
        if known is not None and not needs_write(known, contact, now):
            return False
        request = _contact_update(contact, now)
        written = self._update_if(
            "recording a device contact", Key=to_item({"deviceId": device_id}), **request
        )
        if written:
            self._known_health[device_id] = (known or DeviceHealth()).model_copy(
                update={"last_seen_at": now, "via": contact.via, **contact.details}
            )
        return written

    def mark_alerted(self, device_id: str, alerted: bool) -> bool:
        """Flips the device's silence flag; False when it already had that value (another check won)."""
        # the flag is absent until the first alert; `silentAlerted <> :alerted` is false for a missing one
        unchanged = "attribute_not_exists(silentAlerted) OR " if alerted else ""
        return self._update_if(
            "recording a device alert",
            Key=to_item({"deviceId": device_id}),
            UpdateExpression="SET silentAlerted = :alerted",
            ConditionExpression=f"attribute_exists(deviceId) AND ({unchanged}silentAlerted <> :alerted)",
            ExpressionAttributeValues=to_item({":alerted": alerted}),
        )

    def remove_disabled(self, device_id: str) -> bool:
        """Removes a disabled device's registration and health; False when there is no such device or it is
        enabled (DynamoDB judges it, so a device enabled meanwhile is kept)."""
        refused = self._client.exceptions.ConditionalCheckFailedException
        with unavailable_on_aws_errors("removing a device"):
            try:
                self._client.delete_item(
                    TableName=self._table,
                    Key=to_item({"deviceId": device_id}),
                    ConditionExpression="attribute_exists(deviceId) AND enabled = :disabled",
                    ExpressionAttributeValues=to_item({":disabled": False}),
                )
            except refused:
                return False
        self._known_health.pop(device_id, None)
        return True

    def _update_if(self, action: str, **request: Any) -> bool:
        """One UpdateItem; False when its condition failed."""
        with unavailable_on_aws_errors(action):
            try:
                self._client.update_item(TableName=self._table, **request)
            except ClientError as error:
                if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                    return False
                raise
        return True

    def in_site(self, site: str) -> list[Device]:
        """The enabled devices of one site (a small table: read whole)."""
        return [device for device in self.list() if device.site == site and device.enabled]

    def list_with_health(self) -> list[tuple[Device, DeviceHealth]]:
        """Every registered device with what its contacts reported, by ID."""
        with unavailable_on_aws_errors("listing devices"):
            pages = self._client.get_paginator("scan").paginate(TableName=self._table)
            found = [self._read(item) for page in pages for item in page["Items"]]
        return sorted(found, key=lambda pair: pair[0].device_id)

    def list(self) -> list[Device]:
        """Every registered device (a small table)."""
        return [device for device, _ in self.list_with_health()]

    def register_hikvision(self, device: Device) -> tuple[str, Device]:
        """Registers a new Hikvision terminal with a push token; the raw token is returned once."""
        token = secrets.token_urlsafe(24)
        registered = device.model_copy(
            update={"kind": DeviceKind.HIKVISION, "push_token_hash": hash_key(token)}
        )
        self.put(registered, only_if_new=True)
        return token, registered

    def replace_push_token(self, device_id: str) -> str | None:
        """A registered Hikvision terminal's new push token, returned once; the old one stops working at
        once (the token index is keyed by its hash). None when there is no such terminal."""
        token = secrets.token_urlsafe(24)
        replaced = self._update_if(
            "replacing a push token",
            Key=to_item({"deviceId": device_id}),
            UpdateExpression="SET pushTokenHash = :hash",
            ConditionExpression="attribute_exists(deviceId) AND #kind = :hikvision",
            ExpressionAttributeNames={"#kind": "kind"},
            ExpressionAttributeValues=to_item(
                {":hash": hash_key(token), ":hikvision": DeviceKind.HIKVISION.value}
            ),
        )
        return token if replaced else None

    def _query_one(self, index: str, attribute: str, value: str) -> Device | None:
        devices = self._by_index(index, attribute, value)
        # Devices sharing a serial (registered before a serial was kept to one device): trust the one that
        # is enabled, so that disabling the others lets the clock in again; with none or several, trust none.
        if len(devices) > 1:
            devices = tuple(device for device in devices if device.enabled)
        return devices[0] if len(devices) == 1 else None

    def _by_index(self, index: str, attribute: str, value: str) -> tuple[Device, ...]:
        """The devices an index holds under one key: one, unless an old registration shares it."""
        with unavailable_on_aws_errors("looking up a device"):
            reply = self._client.query(
                TableName=self._table,
                IndexName=index,
                KeyConditionExpression=f"{attribute} = :value",
                ExpressionAttributeValues=to_item({":value": value}),
                Limit=SHARED_LIMIT,
            )
        return tuple(self._read(item)[0] for item in reply.get("Items", []))

    def _read(self, item: dict[str, Any]) -> tuple[Device, DeviceHealth]:
        device, health = _device(item), _health(item)
        known = self._known_health.get(device.device_id)
        read_seen = health.last_seen_at
        if known and known.last_seen_at and (read_seen is None or read_seen < known.last_seen_at):
            # an index read can lag behind our own last write: keep what we know is newer
            self._known_health[device.device_id] = health.model_copy(
                update={"last_seen_at": known.last_seen_at}
            )
        else:
            self._known_health[device.device_id] = health
        return device, health


def _contact_update(contact: Contact, now: datetime) -> dict[str, Any]:
    """The conditional UpdateItem of one contact: written only if the last contact is a minute old or a
    reported detail differs from the stored one (the same rule as `needs_write`, judged by DynamoDB)."""
    reported = {DETAIL_ATTRIBUTES[name]: value for name, value in contact.details.items()}
    kept = {"lastSeenAt": iso(now), "via": contact.via} | {k: v for k, v in reported.items() if v is not None}
    cleared = [name for name, value in reported.items() if value is None]
    changed = ["attribute_not_exists(lastSeenAt)", "lastSeenAt <= :cutoff"]
    changed += [f"attribute_exists(#{name})" for name in cleared]
    changed += [
        f"attribute_not_exists(#{name}) OR #{name} <> :{name}" for name in reported if name not in cleared
    ]
    update = "SET " + ", ".join(f"#{name} = :{name}" for name in kept)
    update += (" REMOVE " + ", ".join(f"#{name}" for name in cleared)) if cleared else ""
    return {
        "UpdateExpression": update,
        "ConditionExpression": f"attribute_exists(deviceId) AND ({' OR '.join(changed)})",
        "ExpressionAttributeNames": {f"#{name}": name for name in [*kept, *cleared]},
        "ExpressionAttributeValues": to_item(
            {f":{name}": value for name, value in kept.items()} | {":cutoff": iso(now - HEARTBEAT_INTERVAL)}
        ),
    }


def contact_request(table: str, device_id: str, contact: Contact, now: datetime) -> dict[str, Any]:
    """The whole UpdateItem request a contact sends (for sizing its cost)."""
    return {"TableName": table, "Key": to_item({"deviceId": device_id}), **_contact_update(contact, now)}


def device_from_item(item: dict[str, Any]) -> tuple[Device, DeviceHealth]:
    """A device item (as a read or a stream image has it) as the registration and its health."""
    return _device(item), _health(item)


def _health(item: dict[str, Any]) -> DeviceHealth:
    values = from_item(item)
    seen = values.get("lastSeenAt")
    reported = {name: values.get(attribute) for name, attribute in DETAIL_ATTRIBUTES.items()}
    return DeviceHealth(
        last_seen_at=datetime.fromisoformat(seen) if seen else None,
        via=values.get("via"),
        silent_alerted=values.get("silentAlerted", False),
        **reported,
    )


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
