"""The API keys table: keyed by the key's SHA-256, so a stolen table reveals no usable key."""

from datetime import UTC, datetime
from typing import Any

from attendance.data.aws import from_item, to_item, unavailable_on_aws_errors
from attendance.domain.keys import ApiKey, Scope, hash_key, new_key_id, new_raw_key


class KeyRevoked(Exception):
    """The key is revoked: it sends nothing, so a change to what it may send would change nothing."""


class ApiKeyStore:
    def __init__(self, client: Any, table: str) -> None:
        self._client = client
        self._table = table

    def find(self, raw_key: str) -> ApiKey | None:
        """The key's record; strongly consistent so a revocation takes effect at once."""
        with unavailable_on_aws_errors("reading an API key"):
            reply = self._client.get_item(
                TableName=self._table, Key=to_item({"keyHash": hash_key(raw_key)}), ConsistentRead=True
            )
        return _key_from_item(reply["Item"]) if "Item" in reply else None

    def create(
        self,
        name: str,
        scopes: frozenset[Scope] = frozenset({Scope.INGEST}),
        devices: frozenset[str] | None = None,
        raw_key: str | None = None,
        rate_limit: int | None = None,
    ) -> tuple[str, ApiKey]:
        """A new key; the raw key is returned once and never stored. `rate_limit`: requests a second on
        the ingest routes (0: none; None: the stack's default)."""
        raw_key = raw_key or new_raw_key()
        key = ApiKey(
            key_id=new_key_id(),
            name=name,
            scopes=scopes,
            devices=devices,
            created_at=datetime.now(UTC),
            rate_limit=rate_limit,
        )
        item = {
            "keyHash": hash_key(raw_key),
            "keyId": key.key_id,
            "name": key.name,
            "scopes": sorted(key.scopes),
            "devices": sorted(key.devices) if key.devices is not None else None,
            "revoked": False,
            "createdAt": key.created_at.isoformat(),
            "rateLimit": key.rate_limit,
        }
        with unavailable_on_aws_errors("creating an API key"):
            self._client.put_item(TableName=self._table, Item=to_item(item))
        return raw_key, key

    def list(self) -> list[ApiKey]:
        """Every key (a small table: one item per key)."""
        with unavailable_on_aws_errors("listing API keys"):
            pages = self._client.get_paginator("scan").paginate(TableName=self._table)
            keys = [_key_from_item(item) for page in pages for item in page["Items"]]
        return sorted(keys, key=lambda key: key.created_at)

    def revoke(self, key_id: str) -> bool:
        """Revoke by public key id; False when no such key exists."""
        return self._update(key_id, "revoking an API key", "SET revoked = :yes", {":yes": True})

    def set_rate_limit(self, key_id: str, rate_limit: int | None) -> bool:
        """Requests a second the key may send to the ingest routes (0: none; None: back to the stack's
        default), from its next request on; False when no such key exists, KeyRevoked for a revoked key
        (whose limit would change nothing)."""
        expression, values = (
            ("REMOVE rateLimit", {})
            if rate_limit is None
            else ("SET rateLimit = :limit", {":limit": rate_limit})
        )
        return self._update(key_id, "changing an API key's limit", expression, values, unless_revoked=True)

    def _update(
        self, key_id: str, action: str, expression: str, values: dict[str, Any], unless_revoked: bool = False
    ) -> bool:
        """Apply `expression` to the key with this public id (found by a scan: the table is keyed by the
        key's hash); False when there is none. `unless_revoked`: KeyRevoked for a revoked key, unchanged."""
        condition = (
            {"ConditionExpression": "attribute_not_exists(revoked) OR revoked <> :yes"}
            if unless_revoked
            else {}
        )
        values = values | ({":yes": True} if unless_revoked else {})
        with unavailable_on_aws_errors(action):
            pages = self._client.get_paginator("scan").paginate(
                TableName=self._table,
                FilterExpression="keyId = :id",
                ExpressionAttributeValues=to_item({":id": key_id}),
            )
            hashes = [item["keyHash"] for page in pages for item in page["Items"]]
            for key_hash in hashes:
                try:
                    self._client.update_item(
                        TableName=self._table,
                        Key={"keyHash": key_hash},
                        UpdateExpression=expression,
                        **condition,
                        **({"ExpressionAttributeValues": to_item(values)} if values else {}),
                    )
                except self._client.exceptions.ConditionalCheckFailedException as refused:
                    raise KeyRevoked(key_id) from refused
        return bool(hashes)


def _key_from_item(item: dict[str, Any]) -> ApiKey:
    values = from_item(item)
    devices = values.get("devices")
    return ApiKey(
        key_id=values["keyId"],
        name=values["name"],
        scopes=frozenset(Scope(scope) for scope in values["scopes"]),
        devices=frozenset(devices) if devices is not None else None,
        revoked=values.get("revoked", False),
        created_at=datetime.fromisoformat(values["createdAt"]),
        rate_limit=values.get("rateLimit"),
    )
