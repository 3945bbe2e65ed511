"""Make moto's DynamoDB apply each request atomically, as DynamoDB does.

moto's in-memory tables are not thread-safe: two transactions from two threads can interleave inside
moto and corrupt its state. DynamoDB itself applies every request, and every transaction, atomically.
Holding one lock per request restores that model without changing any request's semantics, so
concurrent invocations (batch workers, racing requests) behave as they would on AWS.
"""

import functools
import threading
from collections.abc import Callable
from typing import Any

from moto.dynamodb.models import DynamoDBBackend

_LOCK = threading.RLock()
_WRITES_AND_READS = (
    "put_item",
    "get_item",
    "update_item",
    "delete_item",
    "query",
    "scan",
    "transact_write_items",
)


def make_dynamodb_requests_atomic() -> None:
    """Idempotent: wraps the backend's request methods once."""
    for name in _WRITES_AND_READS:
        method = getattr(DynamoDBBackend, name)
        if not getattr(method, "_atomic", False):
            setattr(DynamoDBBackend, name, _locked(method))


def _locked(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def locked(*args: Any, **kwargs: Any) -> Any:
        with _LOCK:
            return method(*args, **kwargs)

    locked._atomic = True  # type: ignore[attr-defined]
    return locked
