"""Reading device wall-clock times: table-driven, no AWS."""

from datetime import UTC, datetime, timedelta

import pytest

from attendance.domain.clock import (
    InvalidTime,
    check_plausible,
    parse_zone,
    resolve_timestamp,
    wall_clock_now,
)


@pytest.mark.parametrize(
    ("raw", "device_zone", "default_zone", "expected"),
    [
        ("2025-02-10T09:16:00", None, "UTC", ("2025-02-10T09:16:00+00:00", "2025-02-10T09:16:00", "UTC")),
        ("2025-02-10 09:16", None, "UTC", ("2025-02-10T09:16:00+00:00", "2025-02-10T09:16:00", "UTC")),
        ("2025-02-10T09:16:00.750", None, "UTC", ("2025-02-10T09:16:00+00:00", "2025-02-10T09:16:00", "UTC")),
        (
            "2025-02-10T09:16:00Z",
            "Asia/Tokyo",
            "UTC",
            ("2025-02-10T09:16:00+00:00", "2025-02-10T18:16:00", "Asia/Tokyo"),
        ),
        (
            "2025-02-10T09:16:00",
            None,
            "Europe/Paris",
            ("2025-02-10T08:16:00+00:00", "2025-02-10T09:16:00", "Europe/Paris"),
        ),
        (
            "2025-02-10T09:16:00-03:00",
            None,
            "UTC",
            ("2025-02-10T12:16:00+00:00", "2025-02-10T09:16:00", "-03:00"),
        ),
        (
            "2025-03-30T02:30:00",
            "Europe/Berlin",
            "UTC",
            ("2025-03-30T01:30:00+00:00", "2025-03-30T03:30:00", "Europe/Berlin"),
        ),
        (
            "2025-10-26T02:30:00",
            "Europe/Berlin",
            "UTC",
            ("2025-10-26T00:30:00+00:00", "2025-10-26T02:30:00", "Europe/Berlin"),
        ),
    ],
)
def test_resolve_timestamp(raw, device_zone, default_zone, expected):
    resolved = resolve_timestamp(raw, device_zone, default_zone)
    assert (resolved.instant.isoformat(), resolved.local_time, resolved.time_zone) == expected
    assert resolved.instant.tzinfo == UTC


@pytest.mark.parametrize("raw", ["yesterday", "2025-13-01T00:00:00", "09:16 10/02/2025"])
def test_unreadable_timestamps_are_named(raw):
    with pytest.raises(InvalidTime, match="not ISO 8601"):
        resolve_timestamp(raw, None, "UTC")


def test_unknown_zone_is_named():
    with pytest.raises(InvalidTime, match="unknown time zone 'Mars/Olympus'"):
        parse_zone("Mars/Olympus")


def test_fixed_offsets_are_zones():
    assert parse_zone("+05:30").utcoffset(None) == timedelta(hours=5, minutes=30)
    assert parse_zone("-03:00").utcoffset(None) == timedelta(hours=-3)


def test_a_zone_is_resolved_once_per_name():
    # Given a zone already resolved for an earlier punch
    first = parse_zone("+05:30")
    # When the next punch asks for it again
    again = parse_zone("+05:30")
    # Then the same zone answers, without parsing the name again
    assert again is first


@pytest.mark.parametrize("zone", ["+05:30", "Asia/Kolkata"])
def test_wall_clock_now_is_what_a_clock_in_the_zone_shows(zone):
    # Given a clock set to India's time, by offset or by name (no DST there)
    # When we ask what it shows now
    before = datetime.now(UTC).replace(tzinfo=None)
    shown = wall_clock_now(zone)
    after = datetime.now(UTC).replace(tzinfo=None)
    # Then it is UTC plus five and a half hours, with no zone attached, as device clocks keep time
    assert shown.tzinfo is None
    assert before + timedelta(hours=5, minutes=30) <= shown <= after + timedelta(hours=5, minutes=30)


def test_plausibility_window():
    now = datetime(2026, 1, 1, tzinfo=UTC)
    check_plausible(now + timedelta(hours=23), now, timedelta(days=1), timedelta(days=400))
    check_plausible(now - timedelta(days=399), now, timedelta(days=1), timedelta(days=400))
    with pytest.raises(InvalidTime, match="in the future"):
        check_plausible(now + timedelta(hours=25), now, timedelta(days=1), timedelta(days=400))
    with pytest.raises(InvalidTime, match="in the past"):
        check_plausible(now - timedelta(days=401), now, timedelta(days=1), timedelta(days=400))


@pytest.mark.parametrize(
    ("raw", "zone"),
    [
        ("0001-01-01T00:00+01:00", None),
        ("0001-01-01T00:00", "Europe/Berlin"),
        ("9999-12-31T23:59:59", "-12:00"),
    ],
)
def test_a_time_at_the_edge_of_the_calendar_is_invalid_not_an_overflow(raw, zone):
    # Found by the contract fuzz: these were a 500
    with pytest.raises(InvalidTime, match="outside the calendar"):
        resolve_timestamp(raw, zone, "Europe/Berlin")
