"""Decoding a punch request body with hard limits, before anything is stored."""

import base64
import binascii
import json
import zlib
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from attendance.api import ApiError

MAX_BODY_BYTES = 1024 * 1024  # decompressed; 500 punches need about 100 KiB
MAX_BATCH = 500


def decode_json_body(body: str | None, is_base64: bool, headers: Mapping[str, str]) -> Any:
    """The JSON document of a request, checking content type, size and gzip on the way."""
    headers = {key.lower(): value for key, value in headers.items()}
    media_type = headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/json" and not media_type.endswith("+json"):
        raise ApiError(
            HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            f"Content-Type must be application/json, not {media_type or 'missing'!r}",
        )
    raw = _raw_bytes(body, is_base64)
    if len(raw) > MAX_BODY_BYTES:
        raise _too_large()
    encoding = headers.get("content-encoding", "identity").strip().lower()
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
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
        raise ApiError(HTTPStatus.BAD_REQUEST, "invalid_json", f"body is not valid JSON: {error}") from None


def split_punches(document: Any) -> tuple[list[Any], bool]:
    """The punch items of a document and whether it was a batch ({"punches": [...]})."""
    if not isinstance(document, dict):
        raise ApiError(
            HTTPStatus.BAD_REQUEST, "invalid_body", 'body must be a punch object or {"punches": [...]}'
        )
    if "punches" not in document:
        return [document], False
    items = document["punches"]
    if not isinstance(items, list) or not items:
        raise ApiError(HTTPStatus.BAD_REQUEST, "invalid_body", "'punches' must be a non-empty list")
    if len(items) > MAX_BATCH:
        raise ApiError(
            HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
            "batch_too_large",
            f"a batch holds at most {MAX_BATCH} punches, this one has {len(items)}",
        )
    return items, True


def _raw_bytes(body: str | None, is_base64: bool) -> bytes:
    if body is None:
        return b""
    if not is_base64:
        return body.encode()
    if len(body) > MAX_BODY_BYTES * 4 // 3 + 4:
        raise _too_large()
    try:
        return base64.b64decode(body, validate=True)
    except binascii.Error as error:
        raise ApiError(HTTPStatus.BAD_REQUEST, "invalid_body", "body is not valid base64") from error


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
        f"body is larger than {MAX_BODY_BYTES} bytes (after decompression)",
    )
