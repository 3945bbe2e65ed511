"""What the deliveries API answers: counts by sync status, the dead letters, and what a redrive or an abandon
did."""

from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    StringConstraints,
    Tag,
)

from attendance.domain.punch import Identifier, PunchType, SyncStatus, in_words

# Built when a request first uses one: most requests use a few of these models
_MODEL = ConfigDict(serialize_by_alias=True, validate_by_name=True, frozen=True, defer_build=True)
# Unicode's white space, which JSON Schema's patterns and Python's regular expressions agree on (str.strip
# also takes \x1c-\x1f for it): a text of it alone is blank, and it is stripped from either end.
WHITE_SPACE = (
    "\t\n\x0b\x0c\r \x85\xa0\u1680"
    + "".join(map(chr, range(0x2000, 0x200B)))
    + "\u2028\u2029\u202f\u205f\u3000"
)
NOT_BLANK = r"[^\t\n\x0B\f\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]"
MAX_CHOSEN_IDS = 100


def _exactly_true(value: Any) -> Any:
    """JSON true only: 1 or "true" are not (Literal[True] alone takes 1 as True)."""
    if value is not True:
        raise ValueError("must be true")
    return value


class StatusCounts(BaseModel):
    model_config = _MODEL

    pending: int = Field(description="Stored, not yet delivered (queued or being retried)")
    synced: int = Field(
        description="Delivered to the CRM: the punches table's item count less the others, which DynamoDB "
        "refreshes about every six hours"
    )
    failed: int = Field(description="Given up on: dead-lettered, waiting for a redrive")
    abandoned: int = Field(description="Dead-lettered, then abandoned by an admin (kept in the table)")
    voiding: int = Field(description="Voided by an admin; their records are being removed from the CRM")
    voided: int = Field(description="Voided by an admin: out of the reports and the CRM, kept in the table")


class OldestPending(BaseModel):
    model_config = _MODEL

    log_id: str = Field(alias="logId")
    received_at: str = Field(alias="receivedAt", description="When the API took it (UTC)")


class DeliveryOverview(BaseModel):
    """How delivery stands: punches by sync status, the oldest still pending, the dead-letter queue's size."""

    model_config = _MODEL

    counts: StatusCounts
    oldest_pending: OldestPending | None = Field(
        alias="oldestPending", description="null when nothing is pending"
    )
    dead_letters: int = Field(
        alias="deadLetters", description="Messages in the dead-letter queue (SQS's approximate count)"
    )


class DeadLetterView(BaseModel):
    """One message of the dead-letter queue with its punch; the punch fields are null when the message
    names no stored punch."""

    model_config = _MODEL

    log_id: str = Field(alias="logId")
    user_id: str | None = Field(alias="userId")
    device_id: str | None = Field(alias="deviceId")
    punch_time: str | None = Field(alias="punchTime", description="The punch's instant (UTC)")
    local_time: str | None = Field(alias="localTime", description="As the device's clock showed it")
    time_zone: str | None = Field(alias="timeZone", description="The device's zone")
    type: PunchType | None
    sync_status: SyncStatus | None = Field(alias="syncStatus")
    attempts: int = Field(description="Delivery attempts so far")
    last_error: str | None = Field(
        alias="lastError", description="The CRM's last answer, or why the call failed"
    )
    dead_lettered_at: str | None = Field(
        alias="deadLetteredAt", description="When delivery gave up (UTC); null when unknown"
    )


class DeadLetterList(BaseModel):
    model_config = _MODEL

    count: int
    dead_letters: list[DeadLetterView] = Field(alias="deadLetters")


class ChosenDeadLetters(BaseModel):
    """These dead-lettered punches."""

    model_config = _MODEL | ConfigDict(extra="forbid")

    log_ids: list[Identifier] = Field(
        alias="logIds", min_length=1, max_length=MAX_CHOSEN_IDS, description="Their logIds"
    )


class EveryDeadLetter(BaseModel):
    """Every punch in the dead-letter queue."""

    model_config = _MODEL | ConfigDict(extra="forbid")

    all: Annotated[Literal[True], BeforeValidator(_exactly_true)]


# Each choice's tag, named by the field that makes it; no field name, so a refusal's field path leaves it out.
_CHOICE_TAGS = {"logIds": "chosen logIds", "all": "every one"}


def _choice_made(body: Any) -> str | None:
    """The tag of the choice a body makes, so that a refusal names the fields of that choice alone, not
    every member's; None for neither or both."""
    made = [tag for field, tag in _CHOICE_TAGS.items() if isinstance(body, dict) and field in body]
    return made[0] if len(made) == 1 else None


DeadLetterChoice = Annotated[
    Annotated[ChosenDeadLetters, Tag(_CHOICE_TAGS["logIds"])]
    | Annotated[EveryDeadLetter, Tag(_CHOICE_TAGS["all"])],
    Discriminator(
        _choice_made,
        custom_error_type="no_choice",
        custom_error_message='give either "logIds" (a list of the punches\' logIds) or "all": true, not both',
    ),
]


class RedriveResult(BaseModel):
    """Each redriven punch is pending again and queued: the worker tries it again, as a new punch."""

    model_config = _MODEL

    redriven: list[str] = Field(description="The logIds redriven")
    not_in_dlq: list[str] = Field(
        alias="notInDlq",
        description="logIds asked for but not redriven: not in the dead-letter queue, or delivered meanwhile",
    )


class AbandonResult(BaseModel):
    """Each abandoned punch left the dead-letter queue and is marked abandoned: kept in the table, counted in
    the reports, never sent to the CRM."""

    model_config = _MODEL

    abandoned: list[str] = Field(description="The logIds abandoned")
    not_in_dlq: list[str] = Field(
        alias="notInDlq",
        description="logIds asked for but not abandoned: not in the dead-letter queue, or delivered meanwhile",
    )


class VoidPunch(BaseModel):
    """Why the punch is void, for its history and the log."""

    model_config = _MODEL | ConfigDict(extra="forbid")

    reason: Annotated[
        str,
        StringConstraints(min_length=1, max_length=200, pattern=NOT_BLANK),
        in_words("should not be blank"),
        AfterValidator(lambda text: text.strip(WHITE_SPACE)),
    ] = Field(description='Why, in a few words: e.g. "a test punch", "punched twice by mistake"')
    corrected_type: PunchType | None = Field(
        default=None,
        alias="correctedType",
        description="The type the punch should have had (a check-out the clock recorded as a check-in): once "
        "it is out of the CRM, the same punch (clock, employee, time) is added again by hand with this type",
    )


class VoidAccepted(BaseModel):
    """The punch is being voided: the worker removes its record from the CRM (if the CRM has one), then marks
    it voided, which takes it out of every report. Follow it on the live feed (punch.voided)."""

    model_config = _MODEL

    log_id: str = Field(alias="logId")
    sync_status: Literal[SyncStatus.VOIDING] = Field(alias="syncStatus")
    previous_status: SyncStatus = Field(alias="previousStatus", description="Its status before the void")
    corrected_type: PunchType | None = Field(
        default=None,
        alias="correctedType",
        description="The type it is added again with, once it is voided",
        exclude_if=lambda value: value is None,
    )


MAX_VOIDS_LISTED = 200


class VoidView(BaseModel):
    """A punch voided (or being voided) by an admin: what it was, who voided it and why, and how it went."""

    model_config = _MODEL

    log_id: str = Field(alias="logId")
    user_id: str = Field(alias="userId")
    device_id: str = Field(alias="deviceId")
    punch_time: str = Field(alias="punchTime", description="The punch's instant (UTC)")
    local_time: str = Field(alias="localTime", description="As the device's clock showed it")
    time_zone: str = Field(alias="timeZone", description="The device's zone")
    type: PunchType
    sync_status: Literal[SyncStatus.VOIDING, SyncStatus.VOIDED] = Field(alias="syncStatus")
    voided_by: str | None = Field(
        alias="voidedBy", description="Who asked for it; null for a void of before 2026-12"
    )
    reason: str | None = Field(description="Why, as they said it; null for a void of before 2026-12")
    corrected_type: PunchType | None = Field(
        alias="correctedType",
        description="Voided to be added again with this type (a punch of the wrong type)",
    )
    voided_at: str | None = Field(
        alias="voidedAt", description="When it was done (UTC); null while being voided"
    )
    outcome: str = Field(
        description="The latest entry of its history: how the void went, or what it waits for"
    )


class VoidList(BaseModel):
    model_config = _MODEL

    voids: list[VoidView] = Field(description="The latest voids first (by when each was asked for)")
