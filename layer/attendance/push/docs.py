"""The device push routes' contract: what OpenAPI cannot learn from pydantic models (plain text bodies and
answers, the Hikvision event as JSON or multipart, the device credentials)."""

from typing import Any

from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse

from attendance.api import COMMON_ERRORS

PUSH_TOKEN_PATTERN = r"^[A-Za-z0-9_\-]+$"  # noqa: S105 (the shape of a token, not one)
ADMS_SCHEME = "admsSerial"
ADMS_SECURITY = [{ADMS_SCHEME: []}]

SECURITY_SCHEMES: dict[str, dict[str, str]] = {
    ADMS_SCHEME: {
        "type": "apiKey",
        "in": "query",
        "name": "SN",
        "description": "A ZKTeco device is known by the serial number it was registered with "
        "(`attendance devices add --serial`); an unknown or disabled one gets `ERROR: unknown device`.",
    },
}

_TEXT = {"text/plain": {"schema": {"type": "string"}}}
_ADMS_ERRORS = {
    400: "A query parameter is missing or malformed, or the body is unreadable: `ERROR: <reason>`",
    403: "`ERROR: unknown device` or `ERROR: disabled device`: the serial is not registered or is disabled",
    **COMMON_ERRORS,
}


def adms_responses(success: str) -> dict[int, OpenAPIResponse]:
    """ADMS devices read plain text only: every answer, errors too, is text/plain."""
    responses: dict[int, OpenAPIResponse] = {200: {"description": success, "content": dict(_TEXT)}}
    for status, text in _ADMS_ERRORS.items():
        responses[status] = {"description": f"`ERROR: ...` {text}", "content": dict(_TEXT)}
    return responses


ATTLOG_EXAMPLE = "1001\t2025-02-10 08:59:12\t0\t1\t\t0\t0\r\n1002\t2025-02-10 09:03:40\t0\t15\t\t0\t0\r\n"
HIKVISION_EXAMPLE = {
    "eventType": "AccessControllerEvent",
    "dateTime": "2025-02-10T09:16:00+01:00",
    "AccessControllerEvent": {
        "majorEventType": 5,
        "subEventType": 75,
        "employeeNoString": "EMP789",
        "attendanceStatus": "checkIn",
        "currentVerifyMode": "face",
    },
}


def request_bodies() -> dict[tuple[str, str], dict[str, Any]]:
    """Request bodies the handlers read as bytes (device protocols), keyed by (path, method)."""
    attlog = {
        "description": "ATTLOG records, one a line, tab-separated: PIN, YYYY-MM-DD HH:MM:SS (the device's "
        "clock), state 0-5, verify mode, work code, reserved fields; other tables: ignored",
        "required": False,
        "content": {"text/plain": {"schema": {"type": "string"}, "example": ATTLOG_EXAMPLE}},
    }
    event = {
        "type": "object",
        "description": "A Hikvision event: a successful authentication (major 5) is a punch; heartbeats, "
        "failures and door events are acknowledged and ignored",
        "example": HIKVISION_EXAMPLE,
    }
    hikvision = {
        "required": True,
        "content": {"application/json": {"schema": event, "example": HIKVISION_EXAMPLE}},
        "description": "The event as JSON, or as multipart/form-data whose `AccessControllerEvent` (or "
        "`event_log`) part holds the same JSON, beside a picture part",
    }
    command_results = {
        "required": False,
        "content": {"text/plain": {"schema": {"type": "string"}}},
        "description": "The device's command results, `ID=<id>&Return=<code>&CMD=<command>` a line "
        "(Return=0: done); each is recorded against its command, unknown IDs are logged",
    }
    return {
        ("/iclock/cdata", "post"): attlog,
        ("/iclock/devicecmd", "post"): command_results,
        ("/hikvision/events/{token}", "post"): hikvision,
    }
