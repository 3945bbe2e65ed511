"""A real WebSocket client of the live feed, for the tests that watch it beside an HTTP client or a browser."""

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote

import httpx
from websockets.sync.client import ClientConnection, connect

from attendance.feed.events import decode
from local_stack.running import RunningStack

WAIT = 30.0  # generous: the machine is shared; nothing here is a timing assertion


def feed_url(stack: RunningStack, rooms: str | None = None, token: str | None = None) -> str:
    reply = httpx.post(
        stack.api_url + "/auth/token", headers={"Authorization": f"Bearer {stack.api_key}"}, timeout=10
    )
    assert reply.status_code == 200, reply.text
    body = reply.json()
    url = f"{body['url']}?token={quote(token or body['token'])}"
    return url + (f"&rooms={quote(rooms)}" if rooms else "")


@contextmanager
def watching(stack: RunningStack, rooms: str | None = None) -> Iterator[ClientConnection]:
    with connect(feed_url(stack, rooms), open_timeout=WAIT) as client:
        yield client


def next_event(client: ClientConnection, *types: str, limit: float = WAIT) -> Any:
    """The next message of one of `types` (each message is checked against the feed's schema)."""
    give_up = time.monotonic() + limit
    while True:
        message = decode(client.recv(timeout=max(0.1, give_up - time.monotonic())))
        if message.type.value in types:
            return message
