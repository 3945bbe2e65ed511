"""API keys: who may write punches, for which devices, with which scopes."""

import hashlib
import secrets
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class Scope(StrEnum):
    INGEST = "ingest"  # send punches
    REPORTS = "reports"  # daily reports and timesheets
    READ = "read"  # see devices, employees and presence
    ADMIN = "admin"  # everything read sees, and change devices and employees, queue commands


class ApiKey(BaseModel):
    model_config = ConfigDict(frozen=True)

    key_id: str
    name: str
    scopes: frozenset[Scope]
    devices: frozenset[str] | None = None  # None: any device
    revoked: bool = False
    created_at: datetime
    # Requests a second it may send to the ingest routes; None: the stack's default; 0: no limit.
    rate_limit: int | None = Field(default=None, ge=0)

    def requests_per_second(self, default: int) -> int:
        """Its own limit, else the stack's `default`; 0: no limit."""
        return default if self.rate_limit is None else self.rate_limit

    def allows_device(self, device_id: str) -> bool:
        return self.devices is None or device_id in self.devices


def hash_key(raw_key: str) -> str:
    """Keys are random and long, so a plain SHA-256 is enough; only the hash is ever stored."""
    return hashlib.sha256(raw_key.encode()).hexdigest()


def new_raw_key() -> str:
    return "ak_" + secrets.token_urlsafe(32)


def new_key_id() -> str:
    return "key_" + secrets.token_hex(6)
