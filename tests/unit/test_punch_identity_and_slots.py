"""A punch's identity and the dedup slot geometry: pure functions, no AWS."""

from datetime import UTC, datetime, timedelta, timezone

from attendance.domain.dedup import SlotClaim
from attendance.domain.punch import PunchType, punch_log_id


def test_log_id_is_stable_and_depends_on_every_part_of_the_identity():
    instant = datetime(2025, 2, 10, 9, 16, tzinfo=UTC)
    base = punch_log_id("DEV001", "EMP789", instant, PunchType.IN)
    assert base == punch_log_id(
        "DEV001", "EMP789", instant.astimezone(timezone(timedelta(hours=2))), PunchType.IN
    )
    assert len(base) == 32
    variants = {
        punch_log_id("DEV002", "EMP789", instant, PunchType.IN),
        punch_log_id("DEV001", "EMP790", instant, PunchType.IN),
        punch_log_id("DEV001", "EMP789", instant + timedelta(seconds=1), PunchType.IN),
        punch_log_id("DEV001", "EMP789", instant, PunchType.OUT),
    }
    assert base not in variants
    assert len(variants) == 4


def test_slots_are_window_wide_and_neighbours_are_adjacent():
    claim = SlotClaim("EMP1", epoch=1_000_010, window_seconds=60)
    assert claim.slot == 16_666
    assert claim.own_key == "EMP1#60#16666"
    assert (claim.before_key, claim.after_key) == ("EMP1#60#16665", "EMP1#60#16667")
    assert (claim.earliest_allowed_before, claim.latest_allowed_after) == (999_950, 1_000_070)


def test_any_two_punches_closer_than_the_window_share_or_neighbour_a_slot():
    window = 60
    for first in range(0, 200):
        for gap in range(0, window):
            a = SlotClaim("U", first, window)
            b = SlotClaim("U", first + gap, window)
            assert b.slot - a.slot in (0, 1)
