"""A feed connection's life: admitted on $connect by its token, its rooms changed by the client, gone on
$disconnect (or by its TTL, since API Gateway does not always report a disconnect)."""

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from http import HTTPStatus
from typing import Protocol

from pydantic import BaseModel, ConfigDict

from attendance.feed.rooms import InvalidRooms, parse_rooms, rooms_from_query
from attendance.feed.tokens import InvalidToken, MissingScope, TokenSigner

# API Gateway closes a connection after 2 hours at most; its record outlives it a little.
CONNECTION_LIFETIME = timedelta(hours=2, minutes=5)


class FeedConnection(BaseModel):
    model_config = ConfigDict(frozen=True)

    connection_id: str
    key_id: str
    rooms: frozenset[str]
    devices: frozenset[str] | None = None  # a key for some devices sees only their events
    connected_at: datetime
    expires_at: datetime

    def may_see(self, device_id: str) -> bool:
        return self.devices is None or device_id in self.devices


class Refused(Exception):
    """A connection or a request on it that the feed refuses, with the status and a code for programs."""

    def __init__(self, status: HTTPStatus, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


class ConnectionRegistry(Protocol):
    """What the connections function needs of the connections table."""

    def put(self, connection: FeedConnection) -> None: ...
    def add_rooms(self, connection_id: str, rooms: frozenset[str]) -> frozenset[str] | None: ...
    def remove_rooms(self, connection_id: str, rooms: frozenset[str]) -> frozenset[str] | None: ...
    def delete(self, connection_id: str) -> None: ...


RoomChange = Callable[[str, frozenset[str]], frozenset[str] | None]


class ConnectionService:
    def __init__(self, registry: ConnectionRegistry, signer: TokenSigner) -> None:
        self._registry = registry
        self._signer = signer

    def connect(
        self, connection_id: str, token: str | None, rooms_query: str | None, now: datetime
    ) -> FeedConnection:
        try:
            admitted = self._signer.verify(token)
            rooms = rooms_from_query(rooms_query)
        except InvalidToken as error:
            raise Refused(HTTPStatus.UNAUTHORIZED, "unauthorized", str(error)) from error
        except MissingScope as error:
            raise Refused(HTTPStatus.FORBIDDEN, "forbidden", str(error)) from error
        except InvalidRooms as error:
            raise Refused(HTTPStatus.BAD_REQUEST, "invalid_rooms", str(error)) from error
        connection = FeedConnection(
            connection_id=connection_id,
            key_id=admitted.key_id,
            rooms=rooms,
            devices=admitted.devices,
            connected_at=now,
            expires_at=now + CONNECTION_LIFETIME,
        )
        self._registry.put(connection)
        return connection

    def subscribe(self, connection_id: str, rooms: Iterable[str]) -> frozenset[str]:
        return self._change(connection_id, rooms, self._registry.add_rooms)

    def unsubscribe(self, connection_id: str, rooms: Iterable[str]) -> frozenset[str]:
        return self._change(connection_id, rooms, self._registry.remove_rooms)

    def disconnect(self, connection_id: str) -> None:
        self._registry.delete(connection_id)

    def _change(self, connection_id: str, rooms: Iterable[str], change: RoomChange) -> frozenset[str]:
        try:
            chosen = parse_rooms(rooms)
        except InvalidRooms as error:
            raise Refused(HTTPStatus.BAD_REQUEST, "invalid_rooms", str(error)) from error
        now_in = change(connection_id, chosen)
        if now_in is None:
            raise Refused(HTTPStatus.GONE, "unknown_connection", "this connection is not known: reconnect")
        return now_in
