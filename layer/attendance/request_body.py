"""A request's body as API Gateway hands it over: text, or base64 for a body it took for binary.

One reading of it for every route that takes bytes (punches, device pushes, imported files); each route
answers a refusal in its own way (JSON, or the plain text a clock reads)."""

import base64
import binascii


class BodyTooLarge(ValueError):
    def __init__(self, limit: int) -> None:
        super().__init__(f"body is larger than {limit:,} bytes")
        self.limit = limit


class NotBase64(ValueError):
    def __init__(self) -> None:
        super().__init__("body is not valid base64")


def body_bytes(body: str | None, is_base64: bool, limit: int) -> bytes:
    """The body's bytes, at most `limit` of them. A base64 body whose length alone shows it too large is
    refused before it is decoded, so an oversized body costs no memory."""
    text = body or ""
    if not is_base64:
        data = text.encode()
    elif len(text) > _base64_length(limit):
        raise BodyTooLarge(limit)
    else:
        try:
            data = base64.b64decode(text, validate=True)
        except binascii.Error:
            raise NotBase64 from None
    if len(data) > limit:
        raise BodyTooLarge(limit)
    return data


def _base64_length(size: int) -> int:
    """The length of `size` bytes in padded base64."""
    return (size + 2) // 3 * 4
