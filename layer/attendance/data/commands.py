"""The commands table: each device's command queue, keyed by deviceId and commandId.

Times are ISO 8601 in UTC for people; `expiresAt` is also kept in epoch seconds for the conditions, and
`purgeAt` (the table's TTL) lets DynamoDB delete a command long after it expired, so its history stays
visible meanwhile. `pendingFor` (the deviceId) is present only until a command is sent: it keys the sparse
`pending` index, so a device's poll every few seconds reads its waiting commands, not its history.
"""

from datetime import UTC, datetime, timedelta
from typing import Any

from attendance.data.aws import batch_delete, from_item, to_item, unavailable_on_aws_errors
from attendance.data.punches import iso
from attendance.domain.commands import CommandKind, CommandStatus, DeviceCommand

KEPT_AFTER_EXPIRY = timedelta(days=30)
PENDING_INDEX = "pending"
_STATUS = {"#status": "status"}  # a reserved word in DynamoDB expressions
_SENT_NAMES = _STATUS | {"#line": "line"}


class CommandStore:
    def __init__(self, client: Any, table: str) -> None:
        self._client = client
        self._table = table

    def add(self, command: DeviceCommand) -> bool:
        """Store a new command; False if the device already has one with this ID."""
        item = {
            "deviceId": command.device_id,
            "commandId": command.command_id,
            "kind": command.kind.value,
            "line": command.line,
            "status": command.status.value,
            "queuedBy": command.queued_by,
            "createdAt": _to_the_millisecond(command.created_at),  # orders commands queued in one second
            "expiresAt": iso(command.expires_at),
            "expiresAtEpoch": _epoch(command.expires_at),
            "purgeAt": _epoch(command.expires_at + KEPT_AFTER_EXPIRY),
            "pendingFor": command.device_id,
        }
        taken = self._client.exceptions.ConditionalCheckFailedException
        with unavailable_on_aws_errors("queuing a command"):
            try:
                self._client.put_item(
                    TableName=self._table,
                    Item=to_item(item),
                    ConditionExpression="attribute_not_exists(commandId)",
                )
            except taken:
                return False
        return True

    def for_device(self, device_id: str) -> list[DeviceCommand]:
        """Every command of a device, newest first."""
        items = self._query("deviceId", device_id, ConsistentRead=True)
        return sorted(map(_command, items), key=lambda command: command.created_at, reverse=True)

    def deliverable(self, device_id: str, now: datetime) -> list[DeviceCommand]:
        """The device's pending, unexpired commands, oldest first. The index may lag a write by a moment:
        a command queued just now goes out on the next poll."""
        items = self._query(
            "pendingFor",
            device_id,
            IndexName=PENDING_INDEX,
            FilterExpression="expiresAtEpoch > :now",
            ExpressionAttributeValues=to_item({":now": _epoch(now)}),
        )
        return sorted(map(_command, items), key=lambda command: command.created_at)

    def mark_sent(self, command: DeviceCommand, line: str, now: datetime) -> bool:
        """Hand a pending command to the device as `line`; of two polls racing for it, only one wins."""
        refused = self._client.exceptions.ConditionalCheckFailedException
        values = {":sent": CommandStatus.SENT.value, ":pending": CommandStatus.PENDING.value}
        with unavailable_on_aws_errors("marking a command sent"):
            try:
                self._client.update_item(
                    TableName=self._table,
                    Key=_key(command.device_id, command.command_id),
                    UpdateExpression="SET #status = :sent, sentAt = :at, #line = :line REMOVE pendingFor",
                    ConditionExpression="#status = :pending AND expiresAtEpoch > :now",
                    ExpressionAttributeNames=_SENT_NAMES,
                    ExpressionAttributeValues=to_item(
                        values | {":at": iso(now), ":now": _epoch(now), ":line": line}
                    ),
                )
            except refused:
                return False
        return True

    def record_result(self, device_id: str, command_id: str, return_code: int, now: datetime) -> bool:
        """The device's answer: Return=0 is done, anything else failed. False for an unknown command."""
        status = CommandStatus.DONE if return_code == 0 else CommandStatus.FAILED
        unknown = self._client.exceptions.ConditionalCheckFailedException
        with unavailable_on_aws_errors("recording a command result"):
            try:
                self._client.update_item(
                    TableName=self._table,
                    Key=_key(device_id, command_id),
                    UpdateExpression="SET #status = :status, returnCode = :code, finishedAt = :at",
                    ConditionExpression="attribute_exists(commandId)",
                    ExpressionAttributeNames=_STATUS,
                    ExpressionAttributeValues=to_item(
                        {":status": status.value, ":code": return_code, ":at": iso(now)}
                    ),
                )
            except unknown:
                return False
        return True

    def remove_for_device(self, device_id: str) -> int:
        """Removes every command of a device, its history too (the device is leaving the registry: an ID
        registered again later starts with none): how many there were."""
        items = self._query("deviceId", device_id, ProjectionExpression="deviceId, commandId")
        keys = [from_item(item) for item in items]
        batch_delete(self._client, self._table, keys, "removing a device's commands")
        return len(keys)

    def _query(self, key: str, device_id: str, **conditions: Any) -> list[dict[str, Any]]:
        values = conditions.pop("ExpressionAttributeValues", {})
        with unavailable_on_aws_errors("reading a device's commands"):
            pages = self._client.get_paginator("query").paginate(
                TableName=self._table,
                KeyConditionExpression=f"{key} = :device",
                ExpressionAttributeValues=values | to_item({":device": device_id}),
                **conditions,
            )
            return [item for page in pages for item in page["Items"]]


def _key(device_id: str, command_id: str) -> dict[str, Any]:
    return to_item({"deviceId": device_id, "commandId": command_id})


def _to_the_millisecond(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def _command(item: dict[str, Any]) -> DeviceCommand:
    values = from_item(item)
    return DeviceCommand(
        device_id=values["deviceId"],
        command_id=values["commandId"],
        kind=CommandKind(values["kind"]),
        line=values["line"],
        status=CommandStatus(values["status"]),
        queued_by=values.get("queuedBy", ""),
        created_at=datetime.fromisoformat(values["createdAt"]),
        expires_at=datetime.fromisoformat(values["expiresAt"]),
        sent_at=_moment(values.get("sentAt")),
        finished_at=_moment(values.get("finishedAt")),
        return_code=values.get("returnCode"),
    )


def _moment(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None
