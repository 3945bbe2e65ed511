"""The live feed's AWS side: the connections table, the @connections management API, stream records."""

from datetime import UTC, datetime
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from attendance.data.aws import from_item, to_item, unavailable_on_aws_errors
from attendance.data.devices import device_from_item
from attendance.data.punches import record_from_item
from attendance.feed.changes import DeviceChange, PunchChange
from attendance.feed.connections import FeedConnection
from attendance.feed.fanout import Posted

# One post waits briefly and is not retried: a slow client must not hold up the batch.
_POST_CONFIG = Config(connect_timeout=1, read_timeout=2, retries={"mode": "standard", "max_attempts": 1})


class ConnectionStore:
    def __init__(self, client: Any, table: str) -> None:
        self._client = client
        self._table = table

    def put(self, connection: FeedConnection) -> None:
        item = {
            "connectionId": connection.connection_id,
            "keyId": connection.key_id,
            "rooms": set(connection.rooms) or None,
            "devices": sorted(connection.devices) if connection.devices is not None else None,
            "connectedAt": connection.connected_at.astimezone(UTC).isoformat(),
            "expiresAt": int(connection.expires_at.timestamp()),
        }
        with unavailable_on_aws_errors("recording a feed connection"):
            self._client.put_item(TableName=self._table, Item=to_item(item))

    def add_rooms(self, connection_id: str, rooms: frozenset[str]) -> frozenset[str] | None:
        return self._update_rooms(connection_id, "ADD", rooms)

    def remove_rooms(self, connection_id: str, rooms: frozenset[str]) -> frozenset[str] | None:
        return self._update_rooms(connection_id, "DELETE", rooms)

    def _update_rooms(self, connection_id: str, verb: str, rooms: frozenset[str]) -> frozenset[str] | None:
        """ADD and DELETE on a string set: two changes at once both land. None: no such connection."""
        if not rooms:
            return self._rooms_now(connection_id)
        unknown = self._client.exceptions.ConditionalCheckFailedException
        with unavailable_on_aws_errors("changing a feed connection's rooms"):
            try:
                reply = self._client.update_item(
                    TableName=self._table,
                    Key=to_item({"connectionId": connection_id}),
                    UpdateExpression=f"{verb} rooms :rooms",
                    ConditionExpression="attribute_exists(connectionId)",
                    ExpressionAttributeValues=to_item({":rooms": set(rooms)}),
                    ReturnValues="ALL_NEW",
                )
            except unknown:
                return None
        return frozenset(from_item(reply["Attributes"]).get("rooms", set()))

    def _rooms_now(self, connection_id: str) -> frozenset[str] | None:
        with unavailable_on_aws_errors("reading a feed connection"):
            reply = self._client.get_item(TableName=self._table, Key=to_item({"connectionId": connection_id}))
        return frozenset(from_item(reply["Item"]).get("rooms", set())) if "Item" in reply else None

    def delete(self, connection_id: str) -> None:
        with unavailable_on_aws_errors("removing a feed connection"):
            self._client.delete_item(TableName=self._table, Key=to_item({"connectionId": connection_id}))

    def all(self) -> list[FeedConnection]:
        """Every live connection: a small table (one item per open browser or terminal), read whole."""
        now = int(datetime.now(UTC).timestamp())
        with unavailable_on_aws_errors("listing feed connections"):
            pages = self._client.get_paginator("scan").paginate(TableName=self._table, ConsistentRead=True)
            items = [from_item(item) for page in pages for item in page["Items"]]
        # the TTL deletes within days, not at once: an expired record is no connection
        return [_connection(values) for values in items if values.get("expiresAt", 0) >= now]


def _connection(values: dict[str, Any]) -> FeedConnection:
    devices = values.get("devices")
    return FeedConnection(
        connection_id=values["connectionId"],
        key_id=values.get("keyId", ""),
        rooms=frozenset(values.get("rooms", set())),
        devices=frozenset(devices) if devices is not None else None,
        connected_at=datetime.fromisoformat(values["connectedAt"]),
        expires_at=datetime.fromtimestamp(values["expiresAt"], UTC),
    )


class ConnectionPoster:
    """Posts to connections through API Gateway's @connections API (the stage's https URL)."""

    def __init__(self, endpoint_url: str) -> None:
        self._client = boto3.client("apigatewaymanagementapi", endpoint_url=endpoint_url, config=_POST_CONFIG)

    def post(self, connection_id: str, message: str) -> Posted:
        try:
            self._client.post_to_connection(ConnectionId=connection_id, Data=message.encode())
        except self._client.exceptions.GoneException:
            return Posted.GONE
        except (BotoCoreError, ClientError):
            return Posted.FAILED
        return Posted.SENT


def change_from_record(record: dict[str, Any]) -> PunchChange | DeviceChange:
    """A DynamoDB stream record (as Lambda passes it) of the punches or the devices table."""
    stream = record["dynamodb"]
    at = datetime.fromtimestamp(float(stream["ApproximateCreationDateTime"]), UTC)
    old, new = stream.get("OldImage"), stream.get("NewImage")
    if "logId" in stream["Keys"]:
        reference = from_item(new).get("crmReference") if new else None
        return PunchChange(
            at,
            record_from_item(old) if old else None,
            record_from_item(new) if new else None,
            crm_reference=reference,
        )
    return DeviceChange(at, device_from_item(old) if old else None, device_from_item(new) if new else None)
