"""The request counts table: one counter a key and window, deleted by TTL soon after its window."""

from typing import Any

from attendance.data.aws import to_item, unavailable_on_aws_errors

# Long enough that no clock skew between functions meets a deleted window (TTL deletes within days).
_KEPT_SECONDS = 300


class RequestCounts:
    def __init__(self, client: Any, table: str) -> None:
        self._client = client
        self._table = table

    def add(self, key_id: str, window: int) -> int:
        """Count one request of `key_id` in `window`; the window's count, this request included. One
        unconditional write: concurrent requests each get a count of their own."""
        with unavailable_on_aws_errors("counting a key's requests"):
            reply = self._client.update_item(
                TableName=self._table,
                Key=to_item({"counter": f"{key_id}#{window}"}),
                UpdateExpression="ADD requests :one SET expiresAt = :expires",
                ExpressionAttributeValues=to_item({":one": 1, ":expires": window + _KEPT_SECONDS}),
                ReturnValues="UPDATED_NEW",
            )
        return int(reply["Attributes"]["requests"]["N"])
