"""Hikvision access-control terminals through ISAPI: AcsEvent searches with HTTP digest auth, paged.

POST /ISAPI/AccessControl/AcsEvent?format=json with
{"AcsEventCond": {"searchID", "searchResultPosition", "maxResults", "major": 5, "minor": 0, "startTime", "endTime"}}
answers {"AcsEvent": {"responseStatusStrg": "OK" | "MORE" | "NO MATCH", "numOfMatches", "InfoList": [...]}}.
"""

import uuid
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable
from datetime import datetime

import httpx

from attendance.domain.clock import parse_zone
from attendance.push.hikvision import MAJOR_EVENT, STATUS_TYPES, SUCCESSFUL_AUTHENTICATION
from edge_poller.config import DeviceConfig
from edge_poller.mapping import STATE_TYPES, DeviceRecord
from edge_poller.zkteco import DeviceError

PAGE_SIZE = 30  # terminals answer at most 30 events a page
_STATE_OF = {punch_type: state for state, punch_type in STATE_TYPES.items()}
NO_STATE = 255


class HikvisionDevice:
    def __init__(self, config: DeviceConfig) -> None:
        self.config = config
        self._base = f"{config.scheme}://{config.host}:{config.effective_port}"
        self._http = httpx.Client(
            auth=httpx.DigestAuth(config.username, config.password.get_secret_value()),
            timeout=config.timeout_seconds,
            verify=False,  # noqa: S501 - terminals ship self-signed certificates; the LAN is the trust boundary
        )
        self.requests = 0

    def serial(self) -> str:
        return self.device_info()[0]

    def device_info(self) -> tuple[str, str | None, str | None]:
        """(serial, model, firmware) from one small GET of deviceInfo."""
        reply = self._get("/ISAPI/System/deviceInfo")
        root = ElementTree.fromstring(reply.text)  # noqa: S314 - a device on our LAN, small document
        fields: dict[str, str] = {}
        for element in root.iter():  # tags carry the ISAPI namespace; the first of a name counts
            fields.setdefault(element.tag.rpartition("}")[2], (element.text or "").strip())
        if not fields.get("serialNumber"):
            raise DeviceError(f"{self.config.name}: deviceInfo has no serialNumber")
        return fields["serialNumber"], fields.get("model") or None, fields.get("firmwareVersion") or None

    def events(self, start: datetime, end: datetime) -> list[DeviceRecord]:
        """Every successful authentication between start and end (aware datetimes), page by page.

        The window is sent in the terminal's own time and offset, as ISAPI's examples send it: a terminal
        that read a UTC window by its wall-clock figures would look hours off from what was asked."""
        zone = parse_zone(self.config.time_zone)
        start, end = start.astimezone(zone), end.astimezone(zone)
        records: list[DeviceRecord] = []
        search_id, position = uuid.uuid4().hex, 0
        while True:
            condition = {
                "searchID": search_id,
                "searchResultPosition": position,
                "maxResults": PAGE_SIZE,
                "major": MAJOR_EVENT,
                "minor": 0,
                "startTime": start.isoformat(timespec="seconds"),
                "endTime": end.isoformat(timespec="seconds"),
            }
            page = self._post("/ISAPI/AccessControl/AcsEvent?format=json", {"AcsEventCond": condition})
            found = page.get("InfoList") or []
            records += [record for record in map(_record, found) if record]
            position += len(found)
            if page.get("responseStatusStrg") != "MORE" or not found:
                return records

    def close(self) -> None:
        self._http.close()

    def _get(self, path: str) -> httpx.Response:
        return self._checked(lambda: self._http.get(self._base + path))

    def _post(self, path: str, body: dict) -> dict:
        reply = self._checked(lambda: self._http.post(self._base + path, json=body))
        try:
            return reply.json()["AcsEvent"]
        except (ValueError, KeyError) as error:
            raise DeviceError(
                f"{self.config.name}: unexpected AcsEvent answer: {reply.text[:200]}"
            ) from error

    def _checked(self, send: Callable[[], httpx.Response]) -> httpx.Response:
        self.requests += 1
        try:
            reply = send()
        except httpx.HTTPError as error:
            raise DeviceError(f"cannot reach {self._base}: {type(error).__name__}: {error}") from error
        if reply.status_code == httpx.codes.UNAUTHORIZED:
            raise DeviceError(f"{self.config.name}: username or password refused (HTTP 401)")
        if not reply.is_success:
            raise DeviceError(f"{self.config.name}: HTTP {reply.status_code}: {reply.text[:200]}")
        return reply


def _record(event: dict) -> DeviceRecord | None:
    """Successful authentications with an employee number; everything else carries no punch."""
    employee = event.get("employeeNoString") or event.get("employeeNo")
    if (
        event.get("major") != MAJOR_EVENT
        or event.get("minor") not in SUCCESSFUL_AUTHENTICATION
        or not employee
    ):
        return None
    try:
        moment = datetime.fromisoformat(event["time"])
    except (KeyError, TypeError, ValueError):
        return None
    punch_type = STATUS_TYPES.get(str(event.get("attendanceStatus")))
    state = _STATE_OF[punch_type] if punch_type else NO_STATE
    return DeviceRecord(str(employee), moment, state, str(event.get("currentVerifyMode") or ""))
