"""Rooms: which events a connection wants. `all` (the default), `device:<id>`, `user:<id>`, `deliveries`."""

import re
from collections.abc import Iterable

from attendance.feed.events import EventType, FeedEvent

ALL = "all"
DELIVERIES = "deliveries"
MAX_ROOMS = 50
# IDs as punches carry them (attendance.domain.punch.Identifier)
_ROOM = re.compile(r"^(all|deliveries|(device|user):[A-Za-z0-9._:@/+\-]{1,64})$")
# What goes wrong in delivery, and an admin's last word on it
_DELIVERY_TROUBLE = {
    EventType.PUNCH_FAILED,
    EventType.PUNCH_DEAD_LETTERED,
    EventType.PUNCH_ABANDONED,
    EventType.PUNCH_VOID_REFUSED,
}


class InvalidRooms(ValueError):
    """Names the rooms that are not rooms."""


def parse_rooms(rooms: Iterable[str]) -> frozenset[str]:
    """The rooms asked for, checked; raises InvalidRooms naming the first bad one."""
    chosen = frozenset(rooms)
    bad = sorted(room for room in chosen if not _ROOM.match(room))
    if bad:
        raise InvalidRooms(
            f"not a room: {bad[0]!r} (rooms are all, deliveries, device:<deviceId>, user:<userId>)"
        )
    if len(chosen) > MAX_ROOMS:
        raise InvalidRooms(f"at most {MAX_ROOMS} rooms per connection")
    return chosen


def rooms_from_query(value: str | None) -> frozenset[str]:
    """`rooms=device:DEV001,user:EMP1` from the connect URL; none asked for means `all`."""
    if value is None or not value.strip():
        return frozenset({ALL})
    return parse_rooms(part.strip() for part in value.split(","))


def rooms_of(event: FeedEvent) -> frozenset[str]:
    """The rooms an event goes to."""
    if event.type is EventType.DEVICE_STATE:
        return frozenset({ALL, f"device:{event.device.device_id}"})
    punch = event.punch  # type: ignore[union-attr]
    rooms = {ALL, f"device:{punch.device_id}", f"user:{punch.user_id}"}
    if event.type in _DELIVERY_TROUBLE:
        rooms.add(DELIVERIES)
    return frozenset(rooms)


def wants(connection_rooms: frozenset[str], event_rooms: frozenset[str]) -> bool:
    return not connection_rooms.isdisjoint(event_rooms)
