"""Pushing punches to the ingest endpoint: gzip batches of up to 500, explicit timeouts, the key never logged."""

import gzip
import json
from dataclasses import dataclass
from typing import Any

import httpx


class PushFailed(Exception):
    """The batch was not answered for; everything stays in the outbox."""


@dataclass(frozen=True)
class ItemOutcome:
    status: str  # accepted | duplicate | rejected
    log_id: str | None
    reason: str | None

    @property
    def delivered(self) -> bool:
        """Accepted and duplicate both mean the cloud has the punch."""
        return self.status in ("accepted", "duplicate")


class CloudClient:
    def __init__(self, base_url: str, api_key: str, timeout_seconds: float) -> None:
        self._url = base_url.rstrip("/") + "/punches"
        self._http = httpx.Client(
            timeout=httpx.Timeout(timeout_seconds, connect=min(10.0, timeout_seconds)),
            headers={
                "Authorization": f"Bearer {api_key}",
                "Content-Type": "application/json",
                "Content-Encoding": "gzip",
                "User-Agent": "attendance-sync-edge-poller",
            },
        )
        self.requests = 0

    def push(self, punches: list[dict[str, Any]]) -> list[ItemOutcome]:
        body = gzip.compress(json.dumps({"punches": punches}).encode())
        self.requests += 1
        try:
            response = self._http.post(self._url, content=body)
        except httpx.HTTPError as error:
            raise PushFailed(f"cloud unreachable: {type(error).__name__}: {error}") from error
        if response.status_code != httpx.codes.OK:
            raise PushFailed(f"cloud answered HTTP {response.status_code}: {response.text[:200]}")
        results = response.json().get("results", [])
        if len(results) != len(punches):
            raise PushFailed("cloud answered with a different number of results")
        return [
            ItemOutcome(r["status"], r.get("logId"), r.get("reason") or r.get("error"))
            for r in sorted(results, key=lambda r: r["index"])
        ]

    def check(self) -> str:
        """Does the endpoint answer and take our key? An empty batch is refused only after auth."""
        try:
            response = self._http.post(self._url, content=gzip.compress(b'{"punches": []}'))
        except httpx.HTTPError as error:
            return f"unreachable: {error}"
        if response.status_code in (httpx.codes.UNAUTHORIZED, httpx.codes.FORBIDDEN):
            return f"reachable, but the API key is refused (HTTP {response.status_code})"
        return "reachable, API key accepted"

    def close(self) -> None:
        self._http.close()
