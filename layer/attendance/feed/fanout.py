"""Fan-out: a batch of table changes becomes events, and each connection gets the events it wants.

Each connection is served on its own worker, its messages in order: a slow or dead connection holds up
only itself, and never fails the batch. A gone connection (410) is removed from the table at once.
"""

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from aws_lambda_powertools import Logger

from attendance.feed.connections import FeedConnection
from attendance.feed.events import DeviceStateChanged, FeedEvent, encode
from attendance.feed.rooms import rooms_of, wants

logger = Logger(child=True)
MAX_WORKERS = 16


class Posted(StrEnum):
    SENT = "sent"
    GONE = "gone"  # the client went away: its connection no longer exists
    FAILED = "failed"  # anything else (a throttle, a timeout): this message is lost for this client


class ConnectionDirectory(Protocol):
    def all(self) -> list[FeedConnection]: ...
    def delete(self, connection_id: str) -> None: ...


class Poster(Protocol):
    def post(self, connection_id: str, message: str) -> Posted: ...


@dataclass
class FanoutReport:
    events: int = 0
    connections: int = 0
    sent: int = 0
    gone: int = 0
    failed: int = 0
    by_connection: dict[str, Posted] = field(default_factory=dict)


class FanoutService:
    def __init__(self, directory: ConnectionDirectory, poster: Poster) -> None:
        self._directory = directory
        self._poster = poster

    def send(self, events: Sequence[FeedEvent]) -> FanoutReport:
        report = FanoutReport(events=len(events))
        if not events:
            return report
        connections = self._directory.all()  # one read per batch, whatever its size
        addressed = [_Addressed.of(event) for event in events]  # encoded and routed once, not per connection
        outbox = {c.connection_id: [a.text for a in addressed if a.wanted_by(c)] for c in connections}
        outbox = {connection_id: messages for connection_id, messages in outbox.items() if messages}
        report.connections = len(outbox)
        if not outbox:
            return report
        with ThreadPoolExecutor(max_workers=min(MAX_WORKERS, len(outbox))) as pool:
            results = pool.map(lambda item: (item[0], self._deliver(*item)), outbox.items())
            for connection_id, (outcome, sent) in results:
                report.by_connection[connection_id] = outcome
                report.sent += sent
                report.gone += outcome is Posted.GONE
                report.failed += outcome is Posted.FAILED
        return report

    def _deliver(self, connection_id: str, messages: list[str]) -> tuple[Posted, int]:
        """The connection's messages in order; stops at the first that does not go through."""
        for sent, message in enumerate(messages):
            outcome = self._poster.post(connection_id, message)
            if outcome is Posted.GONE:
                self._forget(connection_id)
                return outcome, sent
            if outcome is Posted.FAILED:
                return outcome, sent
        return Posted.SENT, len(messages)

    def _forget(self, connection_id: str) -> None:
        try:
            self._directory.delete(connection_id)
        except Exception:  # the TTL removes it anyway; the other connections matter more
            logger.exception("could not remove a gone connection", extra={"connectionId": connection_id})


@dataclass(frozen=True)
class _Addressed:
    """An event as every connection is offered it: its text, its rooms and its device."""

    text: str
    rooms: frozenset[str]
    device_id: str

    @classmethod
    def of(cls, event: FeedEvent) -> "_Addressed":
        device_id = event.device.device_id if isinstance(event, DeviceStateChanged) else event.punch.device_id
        return cls(encode(event), rooms_of(event), device_id)

    def wanted_by(self, connection: FeedConnection) -> bool:
        return connection.may_see(self.device_id) and wants(connection.rooms, self.rooms)
