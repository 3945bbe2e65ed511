"""Devices that push: who they are (registration), what they sent, and what we answer them.

Both ZKTeco ADMS and Hikvision end in the same validation, dedup and storage as POST /punches. An ADMS
device authenticates by its registered serial number, a Hikvision terminal by the token in its push URL.
"""

from datetime import UTC, datetime
from http import HTTPStatus
from itertools import batched
from typing import Literal

from aws_lambda_powertools import Logger
from pydantic import BaseModel, ConfigDict, Field

from attendance.api import ApiError
from attendance.commands.delivery import CommandDelivery
from attendance.data.aws import StoreUnavailable
from attendance.data.devices import DeviceStore
from attendance.domain.devices import Device, DeviceKind
from attendance.domain.health import Contact
from attendance.domain.keys import ApiKey, Scope
from attendance.domain.punch import PunchSource
from attendance.ingest.body import MAX_BATCH
from attendance.ingest.service import IngestService, ItemResult, ItemStatus
from attendance.push.adms import options_reply, parse_attlog
from attendance.push.hikvision import MalformedEvent, event_document, read_event
from attendance.request_body import body_bytes

logger = Logger(child=True)
MAX_PUSH_BYTES = 2 * 1024 * 1024  # an ADMS backlog or a Hikvision event with its picture
ATTENDANCE_TABLE = "ATTLOG"


class DeviceRefused(ApiError):
    """Unknown or disabled device: refused and logged."""

    def __init__(self, state: str) -> None:
        super().__init__(HTTPStatus.FORBIDDEN, "device_refused", f"{state} device")


def malformed(reason: str) -> ApiError:
    return ApiError(HTTPStatus.BAD_REQUEST, "malformed_event", reason)


class HikvisionReply(BaseModel):
    """What a terminal gets back: 200 for every event we read, so it does not resend it."""

    model_config = ConfigDict(serialize_by_alias=True, validate_by_name=True)

    status: Literal["ok"] = "ok"
    result: Literal["accepted", "duplicate", "rejected", "ignored"]
    log_id: str | None = Field(default=None, alias="logId", exclude_if=lambda value: value is None)
    note: str | None = Field(default=None, exclude_if=lambda value: value is None)


def push_body(body: str | None, is_base64: bool) -> bytes:
    """The bytes a device sent (pictures included), within MAX_PUSH_BYTES."""
    try:
        return body_bytes(body, is_base64, MAX_PUSH_BYTES)
    except ValueError as refused:
        raise malformed(str(refused)) from None


class PushService:
    def __init__(
        self,
        devices: DeviceStore,
        ingest: IngestService,
        default_zone: str,
        commands: CommandDelivery | None = None,
    ) -> None:
        """`default_zone`: the company's (DefaultTimeZone), for a clock registered without a zone of its own."""
        self._devices = devices
        self._ingest = ingest
        self._default_zone = default_zone
        self._commands = commands

    # ZKTeco ADMS

    def adms_device(self, serial: str) -> Device:
        device = self._devices.by_serial(serial) if serial else None
        return self._heard_from(_registered(device, DeviceKind.ZKTECO, f"SN={serial}"), "adms")

    def adms_options(self, serial: str) -> str:
        return options_reply(serial, self.adms_device(serial), datetime.now(UTC), self._default_zone)

    def adms_poll(self, serial: str) -> str:
        """getrequest: the device's pending commands, each handed out once."""
        device = self.adms_device(serial)
        if self._commands is None:
            return "OK"
        return self._commands.poll(device, datetime.now(UTC))

    def adms_command_results(self, serial: str, body: bytes) -> str:
        """devicecmd: each result recorded against its command; always `OK`, so it is not sent again."""
        device = self.adms_device(serial)
        if self._commands is not None:
            self._commands.record_results(device, body.decode("utf-8", errors="replace"), datetime.now(UTC))
        return "OK"

    def adms_upload(self, serial: str, table: str | None, body: bytes) -> tuple[str, list[ItemResult]]:
        """The device's acknowledgement (`OK: <records read>`) once every record is stored."""
        device = self.adms_device(serial)
        if (table or "").upper() != ATTENDANCE_TABLE:
            return "OK", []  # OPERLOG, USERINFO, photos: acknowledged so the device does not resend them
        punches, malformed = parse_attlog(body.decode("utf-8", errors="replace"), device)
        for line in malformed:
            logger.warning(
                "malformed ATTLOG line skipped",
                extra={"device": device.device_id, "line": line.number, "reason": line.reason},
            )
        results = self._store(device, punches, PunchSource.ADMS)
        # Only now, with every record stored, may the device forget them.
        return f"OK: {len(punches) + len(malformed)}", results

    # Hikvision

    def hikvision_event(
        self, token: str, body: bytes, content_type: str
    ) -> tuple[HikvisionReply, list[ItemResult]]:
        device = _registered(self._devices.by_push_token(token), DeviceKind.HIKVISION, "hikvision push token")
        self._heard_from(device, "hikvision")
        try:
            outcome = read_event(event_document(body, content_type), device)
        except MalformedEvent as error:
            logger.warning("malformed push", extra={"device": device.device_id, "reason": str(error)})
            raise malformed(str(error)) from None
        if outcome.punch is None:
            logger.info("event acknowledged", extra={"device": device.device_id, "note": outcome.note})
            return HikvisionReply(result="ignored", note=outcome.note), []
        [result] = self._store(device, [outcome.punch], PunchSource.HIKVISION)
        reply = HikvisionReply(result=result.status.value, log_id=result.log_id, note=result.reason)
        return reply, [result]

    def _heard_from(self, device: Device, via: str) -> Device:
        """Every contact is a heartbeat (written at most once a minute); a failure to record it is logged,
        never a reason to refuse the device."""
        try:
            self._devices.record_contact(device.device_id, Contact(via=via), datetime.now(UTC))
        except StoreUnavailable:
            logger.warning("device contact not recorded", extra={"device": device.device_id}, exc_info=True)
        return device

    def _store(self, device: Device, punches: list[dict[str, str]], source: PunchSource) -> list[ItemResult]:
        results: list[ItemResult] = []
        for chunk in batched(punches, MAX_BATCH):
            results += self._ingest.ingest(list(chunk), _as_caller(device), source)
        if any(result.status is ItemStatus.RETRY for result in results):
            # A device resends a push that is not acknowledged; what this one stored is a duplicate then.
            raise StoreUnavailable("a punch must wait for another of its user still being stored")
        for result in results:
            if result.status is ItemStatus.REJECTED:
                logger.warning(
                    "pushed punch rejected", extra={"device": device.device_id, "reason": result.reason}
                )
        return results


def _as_caller(device: Device) -> ApiKey:
    """A registered device may write for itself only."""
    return ApiKey(
        key_id=f"device:{device.device_id}",
        name=device.device_id,
        scopes=frozenset({Scope.INGEST}),
        devices=frozenset({device.device_id}),
        created_at=datetime.now(UTC),
    )


def _registered(device: Device | None, kind: DeviceKind, described_as: str) -> Device:
    if device is None or device.kind is not kind or not device.enabled:
        state = "disabled" if device and not device.enabled else "unknown"
        logger.warning("push refused", extra={"device": described_as, "reason": state})
        raise DeviceRefused(state)
    return device
