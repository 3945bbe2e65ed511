"""botocore event handlers on the default boto3 session for the length of a block: the clients made inside
it carry them (a client copies the session's handlers when it is made)."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import boto3


@contextmanager
def hooked(handlers: dict[str, Callable[..., Any]]) -> Iterator[None]:
    """Registers each handler for its event name ("after-call.sqs.GetQueueAttributes", ...), then removes it."""
    session = boto3._get_default_session()._session
    ids = {event: f"test-hook-{event}-{id(handler)}" for event, handler in handlers.items()}
    for event, handler in handlers.items():
        session.register(event, handler, unique_id=ids[event])
    try:
        yield
    finally:
        for event, unique_id in ids.items():
            session.unregister(event, unique_id=unique_id)
