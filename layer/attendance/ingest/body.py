"""A punch request's body: its transport (media type, size, gzip) and its shape (one punch or a batch)."""

from http import HTTPStatus
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag

from attendance.api import ApiError, json_text_event
from attendance.domain.punch import (
    EXAMPLE_PUNCH,
    Identifier,
    PunchSubmission,
    PunchType,
    Timestamp,
)

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
    """The event with its body as JSON text (json_text_event: media type, encoding and size checked,
    base64 and gzip undone), refused when empty.

    Runs before routing, since the resolver validates the JSON body before any route code runs."""
    decoded = json_text_event(event)
    if not decoded["body"].strip():
        raise ApiError(HTTPStatus.BAD_REQUEST, "invalid_json", "request body is empty")
    return decoded
