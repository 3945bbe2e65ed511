"""Turning a device's wall-clock time into an instant, deliberately, around DST changes.

A naive timestamp is what the device's clock showed. We read it in the device's zone:
- in a DST gap (02:30 on a spring-forward night does not exist) it is read with the offset in force
  before the change, which lands it after the gap (02:30 -> 03:30 local): a clock not yet adjusted;
- in a DST overlap (01:30 happens twice on a fall-back night) it is the first occurrence.
Clients that know better send an offset, which is always taken as is.

Every zone in the system (devices, schedules, settings, punches) goes through `parse_zone`, so a fixed
offset such as +05:30 works wherever an IANA name does.
"""

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from functools import lru_cache
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BeforeValidator, WithJsonSchema

_ISO_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_OFFSET = re.compile(r"^(?P<sign>[+-])(?P<hours>\d{2}):(?P<minutes>\d{2})$")
MAX_OFFSET = timedelta(hours=14)


class InvalidTime(ValueError):
    """A timestamp or zone that cannot be used; the message names the problem for the client."""


@lru_cache(maxsize=256)  # every punch and report row asks; a deployment has a handful of zones
def parse_zone(name: str) -> tzinfo:
    """An IANA zone name (Europe/Berlin) or a fixed offset (+05:30, UTC)."""
    match = _OFFSET.match(name)
    if match:
        delta = timedelta(hours=int(match["hours"]), minutes=int(match["minutes"]))
        if int(match["minutes"]) > 59 or delta > MAX_OFFSET:  # the world's offsets run from -12:00 to +14:00
            raise InvalidTime(f"time zone offset {name!r} is not one from -14:00 to +14:00")
        return timezone(delta if match["sign"] == "+" else -delta)
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise InvalidTime(f"unknown time zone {name!r}") from error


def _known_zone(name: str) -> str:
    parse_zone(name)
    return name


def _iso_date_text(value: object) -> object:
    if isinstance(value, date) or (isinstance(value, str) and _ISO_DATE.match(value)):
        return value
    raise ValueError("must be a date as YYYY-MM-DD")


# A calendar date written exactly as YYYY-MM-DD (pydantic alone would take a midnight datetime, or a number
# in a JSON body as a Unix time, too).
IsoDate = Annotated[
    date,
    BeforeValidator(_iso_date_text),
    WithJsonSchema({"type": "string", "format": "date", "pattern": _ISO_DATE.pattern}),
]

# The years the calendar keeps holidays and leave for: what a list by year can show (a year outside them
# is a typo, stored where no list would find it).
FIRST_YEAR, LAST_YEAR = 2000, 2100


def _in_calendar_years(day: date) -> date:
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise ValueError(f"must be a date in the years {FIRST_YEAR} to {LAST_YEAR}")
    return day


# A holiday's or a leave's day: YYYY-MM-DD in the years above.
CalendarDate = Annotated[
    date,
    BeforeValidator(_iso_date_text),
    AfterValidator(_in_calendar_years),
    WithJsonSchema({"type": "string", "format": "date", "pattern": r"^(20[0-9]{2}|2100)-[0-9]{2}-[0-9]{2}$"}),
]


# A time zone setting or field: an IANA name or a fixed offset, checked when the model is built.
ZoneName = Annotated[str, AfterValidator(_known_zone)]


def wall_clock_now(zone_name: str) -> datetime:
    """What a clock set to this zone shows now, without a zone: device clocks keep time that way."""
    return datetime.now(parse_zone(zone_name)).replace(tzinfo=None)


def offset_name(moment: datetime) -> str:
    """+05:30 for a datetime whose offset is five and a half hours."""
    offset = moment.utcoffset() or timedelta(0)
    sign = "-" if offset < timedelta(0) else "+"
    minutes = abs(int(offset.total_seconds())) // 60
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"


@dataclass(frozen=True)
class ResolvedTime:
    instant: datetime  # UTC, whole seconds
    local_time: str  # wall-clock time in `time_zone`, ISO 8601 without offset
    time_zone: str


def resolve_timestamp(raw: str, device_zone: str | None, default_zone: str) -> ResolvedTime:
    """Read a submitted timestamp; naive ones in the device's zone, else in the stack's default zone."""
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError as error:
        raise InvalidTime(f"timestamp {raw!r} is not ISO 8601 (e.g. 2025-02-10T09:16:00)") from error
    parsed = parsed.replace(microsecond=0)
    if parsed.tzinfo is None:
        zone_name = device_zone or default_zone
        local = parsed.replace(tzinfo=parse_zone(zone_name), fold=0)
    else:
        zone_name = device_zone or offset_name(parsed)
        local = parsed
    try:
        instant = local.astimezone(UTC)
        # Normalise through UTC so a time in a DST gap is reported as the wall-clock time it really was.
        wall_clock = instant.astimezone(parse_zone(zone_name)).replace(tzinfo=None)
    except OverflowError:  # 0001-01-01 east of UTC, 9999-12-31 west of it: before or after all time
        raise InvalidTime(f"timestamp {raw!r} is outside the calendar in UTC") from None
    return ResolvedTime(instant=instant, local_time=wall_clock.isoformat(), time_zone=zone_name)


def check_plausible(instant: datetime, now: datetime, max_future: timedelta, max_past: timedelta) -> None:
    """Reject timestamps no real punch can have: a clock set decades off, or a typo in the year."""
    if instant > now + max_future:
        raise InvalidTime(f"timestamp is more than {_human(max_future)} in the future")
    if instant < now - max_past:
        raise InvalidTime(f"timestamp is more than {_human(max_past)} in the past")


def _human(span: timedelta) -> str:
    if span >= timedelta(days=2):
        return f"{span.days} days"
    return f"{int(span.total_seconds() // 3600)} hours"
