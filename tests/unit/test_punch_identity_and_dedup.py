"""A punch's identity and the near-duplicate rule on dedup day records: pure functions, no AWS."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from attendance.domain.dedup import (
    CLAIM_IN_FLIGHT_SECONDS,
    DAY_SECONDS,
    DedupDay,
    Judgement,
    Verdict,
    day_key,
    days_to_judge,
    earlier_matches,
    judge,
    judge_together,
)
from attendance.domain.punch import Punch, PunchSource, PunchType, corrected, punch_log_id


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


def test_a_corrected_punch_is_the_same_punch_of_another_type_added_by_hand():
    instant = datetime(2025, 2, 10, 17, 0, tzinfo=UTC)
    wrong = Punch(
        log_id=punch_log_id("D1", "U1", instant, PunchType.IN),
        device_id="D1",
        user_id="U1",
        instant=instant,
        local_time="2025-02-10T18:00:00",
        time_zone="Europe/Berlin",
        type=PunchType.IN,
        source=PunchSource.ADMS,
        received_at=instant,
        verify_mode="fingerprint",
    )
    now = instant + timedelta(days=1)
    right = corrected(wrong, PunchType.OUT, now)
    assert right.log_id == punch_log_id("D1", "U1", instant, PunchType.OUT) != wrong.log_id
    assert (right.type, right.source, right.received_at, right.verify_mode) == (
        PunchType.OUT,
        PunchSource.MANUAL,
        now,
        None,
    )
    kept = ("device_id", "user_id", "instant", "local_time", "time_zone")
    assert [getattr(right, name) for name in kept] == [getattr(wrong, name) for name in kept]


def test_a_punch_is_judged_on_its_day_and_on_a_neighbour_less_than_a_window_away():
    day = 20_000
    start = day * DAY_SECONDS
    assert days_to_judge("U", start + 3600, 60) == (day_key("U", day), None)
    assert days_to_judge("U", start + 59, 60) == (day_key("U", day), day_key("U", day - 1))
    assert days_to_judge("U", start + 60, 60) == (day_key("U", day), None)
    assert days_to_judge("U", start + DAY_SECONDS - 59, 60) == (day_key("U", day), day_key("U", day + 1))
    assert days_to_judge("U", start + DAY_SECONDS - 60, 60) == (day_key("U", day), None)


def test_any_two_punches_closer_than_the_window_meet_on_a_day_one_of_them_judges():
    # Around a midnight, every pair less than the window apart: the later one's judged days hold the
    # earlier one's day, so whichever is stored second sees the first.
    window = 60
    midnight = 20_000 * DAY_SECONDS
    for first in range(midnight - 2 * window, midnight + 2 * window):
        for gap in range(window):
            first_day = days_to_judge("U", first, window)[0]
            assert first_day in days_to_judge("U", first + gap, window)
            assert days_to_judge("U", first + gap, window)[0] in days_to_judge("U", first, window)


def test_judgement_names_the_exact_or_the_closest_near_duplicate():
    days = [DedupDay("U#day#1", 3, {"a": 1_000, "b": 1_050}), DedupDay("U#day#0", 1, {"c": 900})]
    assert judge("a", 1_000, 60, days) == Judgement(Verdict.EXACT, "a")
    assert judge("new", 1_040, 60, days) == Judgement(Verdict.NEAR, "b")
    assert judge("new", 1_110, 60, days) == Judgement(Verdict.NEW, "new")  # exactly the window after b
    assert judge("new", 959, 60, days) == Judgement(Verdict.NEAR, "a")  # 41 s from a, 59 s from c
    assert judge("new", 2_000, 60, []) == Judgement(Verdict.NEW, "new")


def test_punches_that_do_not_count_are_passed_over_for_near_duplicates_only():
    days = [DedupDay("U#day#0", 3, {"a": 1_000, "b": 1_050})]
    # near the voided b only: new; near a too: a is named
    assert judge("new", 1_100, 60, days, not_counting={"b"}) == Judgement(Verdict.NEW, "new")
    assert judge("new", 1_040, 60, days, not_counting={"b"}) == Judgement(Verdict.NEAR, "a")
    # and b sent again is still b's exact duplicate
    assert judge("b", 1_050, 60, days, not_counting={"b"}) == Judgement(Verdict.EXACT, "b")


def test_a_batch_names_the_accepted_punches_its_duplicates_match_on_the_records_read():
    # Given the records of user U's day 0 (a and b accepted) and V's, unread
    midnight = DAY_SECONDS
    days = {day_key("U", 0): DedupDay(day_key("U", 0), 2, {"a": midnight - 100, "b": midnight - 20})}
    punches = [
        ("a", "U", midnight - 100),  # a sent again
        ("n", "U", midnight - 70),  # near a
        ("m", "U", midnight + 10),  # just past midnight: near b, on the neighbouring day's record
        ("new", "U", midnight - 300),
        ("v", "V", midnight - 100),  # another user, whose records were not read
    ]
    assert earlier_matches(punches, days, 60) == {"a", "b"}


def test_a_user_days_punches_judged_together_get_the_verdicts_of_one_after_another():
    day = DedupDay("U#day#0", 4, {"old": 1_000})
    punches = [("a", 2_000), ("b", 2_030), ("c", 2_080), ("a", 2_000)]  # b near a; c 50 s after b, 80 after a
    one_by_one, seen = [], day
    for log_id, epoch in punches:
        one_by_one.append(judge(log_id, epoch, 60, [seen]))
        if one_by_one[-1].verdict is Verdict.NEW:
            seen = seen.with_punch(log_id, epoch, 0)
    assert judge_together(punches, day, 60) == one_by_one
    assert [j.verdict for j in one_by_one] == [Verdict.NEW, Verdict.NEAR, Verdict.NEW, Verdict.EXACT]
    # a duplicate of a punch claimed before them must be confirmed first: not judged together
    assert judge_together([("d", 1_030)], day, 60) is None
    assert judge_together([("x", 5_000), ("old", 1_000)], day, 60) is None


def test_claims_made_together_take_one_version():
    day = DedupDay("U#day#0", 4, {"old": 1_000}, claimed_at=5)
    assert day.with_punches({"a": 2_000, "b": 3_000}, 99) == DedupDay(
        "U#day#0", 5, {"old": 1_000, "a": 2_000, "b": 3_000}, 99
    )


def test_a_day_record_gains_the_punch_and_a_version():
    day = DedupDay("U#day#1", 3, {"a": 1_000})
    assert day.with_punch("b", 1_100, 5_000) == DedupDay("U#day#1", 4, {"a": 1_000, "b": 1_100}, 5_000)
    assert day.punches == {"a": 1_000}


def test_an_abandoned_claim_is_withdrawn_with_a_new_version_and_its_claim_time_kept():
    day = DedupDay("U#day#1", 4, {"a": 1_000, "b": 1_100}, 5_000)
    assert day.without("a") == DedupDay("U#day#1", 5, {"b": 1_100}, 5_000)


@pytest.mark.parametrize(
    ("seconds_since_claim", "in_flight"),
    [(0, True), (CLAIM_IN_FLIGHT_SECONDS - 1, True), (CLAIM_IN_FLIGHT_SECONDS, False)],
)
def test_a_claim_may_be_in_flight_until_no_invocation_can_still_run(seconds_since_claim, in_flight):
    day = DedupDay("U#day#1", 1, {"a": 1_000}, 5_000)
    assert day.claims_may_be_in_flight(5_000 + seconds_since_claim) is in_flight
    assert (
        DedupDay("U#day#1", 1, {"a": 1_000}).claims_may_be_in_flight(5_000) is False
    )  # written before claims were timed
