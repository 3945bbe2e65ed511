"""A punch request's body: its transport (media type, size, gzip) and its shape (one punch or a batch)."""

import zlib
from http import HTTPStatus
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag

from attendance.api import JSON_CONTENT, ApiError, read_body, require_json_media_type
from attendance.domain.punch import (
    EXAMPLE_PUNCH,
    Identifier,
    PunchSubmission,
    PunchType,
    Timestamp,
)
from attendance.request_body import BodyTooLarge

MAX_BODY_BYTES = 1024 * 1024  # decompressed; 500 punches need about 100 KiB
MAX_BATCH = 500


def _not_a_batch(schema: dict[str, Any]) -> None:
    schema["not"] = {"required": ["punches"]}  # a document with `punches` is read as a batch
    schema["examples"] = [EXAMPLE_PUNCH]


class SinglePunch(PunchSubmission):
    """One punch. A document with a `punches` field is a batch instead."""

    model_config = ConfigDict(title="Punch", json_schema_extra=_not_a_batch)


class PunchBatch(BaseModel):
    """Up to 500 punches. Each item is checked on its own, as a Punch: an invalid item is rejected in
    its result and the others still go through."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"punches": [EXAMPLE_PUNCH]}]})

    punches: Annotated[
        list[dict[str, Any]],
        Field(min_length=1, max_length=MAX_BATCH, description="Punch objects, validated one by one"),
    ]


class MissedPunch(BaseModel):
    """A punch the clock missed, added by hand for the employee in the path: when, of which type, and at
    which clock (whose time zone reads a timestamp without an offset, as it reads the clock's own)."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        json_schema_extra={
            "examples": [{"deviceId": "DEV001", "timestamp": "2025-02-10T17:05:00", "type": "out"}]
        },
    )

    device_id: Identifier = Field(alias="deviceId", description="The clock it should have been recorded at")
    timestamp: Timestamp = Field(
        description="ISO 8601. With an offset it is taken as is; without, it is the clock's wall-clock time."
    )
    type: PunchType

    def submission(self, user_id: str) -> dict[str, str]:
        """The punch as a client would submit it; its route marks it added by hand."""
        return {
            "deviceId": self.device_id,
            "userId": user_id,
            "timestamp": self.timestamp,
            "type": self.type.value,
        }


def _body_kind(document: Any) -> str:
    return "batch" if isinstance(document, dict) and "punches" in document else "punch"


PunchBody = Annotated[
    Annotated[PunchBatch, Tag("batch")] | Annotated[SinglePunch, Tag("punch")], Discriminator(_body_kind)
]


def punch_items(body: PunchBatch | SinglePunch) -> tuple[list[Any], bool]:
    """The items to ingest and whether the request was a batch."""
    if isinstance(body, PunchBatch):
        return list(body.punches), True
    return [body], False


def decoded_json_event(event: dict[str, Any]) -> dict[str, Any]:
    """The event with its body as JSON text: media type and size checked, base64 and gzip undone.

    Runs before routing, since the resolver validates the JSON body before any route code runs."""
    headers = {key.lower(): value for key, value in (event.get("headers") or {}).items()}
    require_json_media_type(headers)
    raw = read_body(event.get("body"), bool(event.get("isBase64Encoded")), MAX_BODY_BYTES)
    encoding = headers.pop("content-encoding", "identity").strip().lower()
    if encoding == "gzip":
        raw = _gunzip(raw)
    elif encoding not in ("identity", ""):
        raise ApiError(
            HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
            "unsupported_encoding",
            f"Content-Encoding {encoding!r} is not supported; use gzip or none",
        )
    if not raw.strip():
        raise ApiError(HTTPStatus.BAD_REQUEST, "invalid_json", "request body is empty")
    try:
        text = raw.decode()
    except UnicodeDecodeError:
        raise ApiError(HTTPStatus.BAD_REQUEST, "invalid_json", "body is not UTF-8 JSON") from None
    return event | {"headers": headers | JSON_CONTENT, "body": text, "isBase64Encoded": False}


def _gunzip(raw: bytes) -> bytes:
    """Decompress at most MAX_BODY_BYTES, so a gzip bomb costs us nothing."""
    decompressor = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        data = decompressor.decompress(raw, MAX_BODY_BYTES + 1)
    except zlib.error as error:
        raise ApiError(HTTPStatus.BAD_REQUEST, "invalid_gzip", f"body does not gunzip: {error}") from None
    if len(data) > MAX_BODY_BYTES or decompressor.unconsumed_tail:
        raise _too_large()
    if not decompressor.eof:
        raise ApiError(HTTPStatus.BAD_REQUEST, "invalid_gzip", "gzip body is truncated")
    return data


def _too_large() -> ApiError:
    return ApiError(
        HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
        "body_too_large",
        f"{BodyTooLarge(MAX_BODY_BYTES)} (after decompression)",  # a plain body's words, as it is told
    )
