"""Hikvision access-control terminals pushing events ("HTTP listening"): JSON, or multipart with a JSON part."""

import json
from dataclasses import dataclass
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

from attendance.domain.devices import Device
from attendance.domain.punch import PunchSource, PunchType

EVENT_PART_NAMES = ("AccessControllerEvent", "event_log")  # the JSON part's name differs by firmware
MAJOR_EVENT = 5
# Minor codes of a successful authentication (card, fingerprint, face, PIN and their combinations).
# Failures (e.g. 9, 39, 76) and door events (21, 22) carry no punch.
SUCCESSFUL_AUTHENTICATION = frozenset(
    {1, 2, 16, 38, 40, 43, 46, 54, 57, 60, 63, 66, 69, 72, 75, 77, 101, 105}
)
STATUS_TYPES = {
    "checkIn": PunchType.IN,
    "checkOut": PunchType.OUT,
    "breakOut": PunchType.BREAK_OUT,
    "breakIn": PunchType.BREAK_IN,
    "overtimeIn": PunchType.OVERTIME_IN,
    "overtimeOut": PunchType.OVERTIME_OUT,
}


class MalformedEvent(ValueError):
    """Not an event we can read; the message says why."""


@dataclass(frozen=True)
class EventOutcome:
    punch: dict[str, str] | None  # a punch submission, or None for events that carry no punch
    note: str  # what the event was, for the log and the reply


def event_document(body: bytes, content_type: str) -> dict[str, Any]:
    """The event's JSON document from a JSON body or a multipart body (picture parts are ignored)."""
    media_type = content_type.split(";")[0].strip().lower()
    if media_type.startswith("multipart/"):
        message = BytesParser(policy=HTTP).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + body)
        if not message.is_multipart():
            raise MalformedEvent("multipart body without parts")
        for part in message.iter_parts():
            if part.get_param("name", header="content-disposition") in EVENT_PART_NAMES:
                return _json(part.get_payload(decode=True) or b"")
        raise MalformedEvent(f"no {' or '.join(EVENT_PART_NAMES)} part in the multipart body")
    return _json(body)


def _json(raw: bytes) -> dict[str, Any]:
    try:
        document = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
        raise MalformedEvent(f"event is not valid JSON: {error}") from None
    if not isinstance(document, dict):
        raise MalformedEvent("event must be a JSON object")
    return document


def read_event(document: dict[str, Any], device: Device) -> EventOutcome:
    """A punch for a successful authentication; a note for heartbeats, failures and door events."""
    event_type = document.get("eventType")
    if event_type == "heartBeat":
        return EventOutcome(None, "heartbeat")
    detail = document.get("AccessControllerEvent")
    if event_type != "AccessControllerEvent" or not isinstance(detail, dict):
        return EventOutcome(None, f"ignored event type {event_type!r}")
    major, minor = detail.get("majorEventType"), detail.get("subEventType")
    if major != MAJOR_EVENT or minor not in SUCCESSFUL_AUTHENTICATION:
        return EventOutcome(None, f"ignored event {major}/{minor} (not a successful authentication)")
    employee = detail.get("employeeNoString") or detail.get("employeeNo")
    if employee in (None, ""):
        return EventOutcome(None, "ignored authentication without an employee number")
    if not isinstance(document.get("dateTime"), str):
        raise MalformedEvent("event has no dateTime")
    punch = {
        "deviceId": device.device_id,
        "userId": str(employee),
        "timestamp": document["dateTime"],
        "type": STATUS_TYPES.get(str(detail.get("attendanceStatus")), device.default_type).value,
        "source": PunchSource.HIKVISION.value,
    }
    if detail.get("currentVerifyMode"):
        punch["verifyMode"] = str(detail["currentVerifyMode"])
    return EventOutcome(punch, f"authentication {minor}")
