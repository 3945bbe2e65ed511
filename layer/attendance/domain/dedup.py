"""Near-duplicate rule: no two accepted punches of one user lie less than the window apart.

The dedup table keeps one record per user and UTC day: the punches accepted that day (logId -> epoch
second), a version and when a punch was last claimed in it. A punch is judged against its own day, and
against the neighbouring day when it is less than a window from midnight. Its day is written back (the
version one higher) on condition that it is still the version read, so requests racing for one user
serialise on those records, and the outcome depends on the punches' own timestamps, never on when they
arrived.

The claim in the day record is written before the punch itself (a transaction of the two would cost each
item twice). A claim can therefore outlive an invocation that died between the two writes: a duplicate
stands only if the punch it matches is stored, and an abandoned claim is withdrawn once no invocation
that wrote it can still be running.

A voided punch keeps its claim: sent again, by its clock or the edge poller, it is a duplicate, and so is a
tap its clock recorded near it. Only a punch an admin adds by hand may lie near it (the correction of a
punch voided for its wrong type, say), so the rule holds among the punches that count.
"""

from collections.abc import Iterable, Mapping, Sequence, Set
from dataclasses import dataclass, field, replace
from enum import StrEnum

DAY_SECONDS = 86_400
# A claim's writer is a Lambda invocation, which its timeout ends within 15 minutes at most: a claim older
# than this whose punch is not stored never will be.
CLAIM_IN_FLIGHT_SECONDS = 900


@dataclass(frozen=True)
class DedupDay:
    """One user's accepted punches on one UTC day, as read at `version` (0: no record yet)."""

    key: str
    version: int = 0
    punches: Mapping[str, int] = field(default_factory=dict)  # logId -> epoch second
    claimed_at: int = 0  # epoch second of the latest claim (0: unknown, from before claims were timed)

    def with_punch(self, log_id: str, epoch: int, now: int) -> "DedupDay":
        """The record as it is once this punch is claimed at `now`."""
        return self.with_punches({log_id: epoch}, now)

    def with_punches(self, claims: Mapping[str, int], now: int) -> "DedupDay":
        """The record as it is once these punches (logId -> epoch second) are claimed at `now`, in one write."""
        return DedupDay(self.key, self.version + 1, {**self.punches, **claims}, now)

    def without(self, log_id: str) -> "DedupDay":
        """The record with an abandoned claim withdrawn."""
        punches = {other: at for other, at in self.punches.items() if other != log_id}
        return DedupDay(self.key, self.version + 1, punches, self.claimed_at)

    def claims_may_be_in_flight(self, now: int) -> bool:
        """Whether the invocation of its latest claim may still be about to store that punch."""
        return now - self.claimed_at < CLAIM_IN_FLIGHT_SECONDS


class Verdict(StrEnum):
    NEW = "new"
    EXACT = "exact"  # this very punch was accepted before
    NEAR = "near"  # another punch of the user lies less than the window away


@dataclass(frozen=True)
class Judgement:
    verdict: Verdict
    log_id: str  # the punch's own logId, or the earlier punch's for a near duplicate


def day_key(user_id: str, day: int) -> str:
    return f"{user_id}#day#{day}"


def days_to_judge(user_id: str, epoch: int, window_seconds: int) -> tuple[str, str | None]:
    """The day record a punch is written into, and the neighbouring one it must also be judged against
    when it lies less than a window from that day's start or end (None otherwise)."""
    day, into_day = divmod(epoch, DAY_SECONDS)
    neighbour = None
    if into_day < window_seconds:
        neighbour = day - 1
    elif DAY_SECONDS - into_day < window_seconds:
        neighbour = day + 1
    return day_key(user_id, day), day_key(user_id, neighbour) if neighbour is not None else None


def earlier_matches(
    punches: Iterable[tuple[str, str, int]], days: Mapping[str, DedupDay], window_seconds: int
) -> set[str]:
    """The accepted punches that these punches (logId, userId, epoch second) are duplicates of, judged on
    these records alone: the ones to confirm as stored before any duplicate can stand."""
    matches = set()
    for log_id, user_id, epoch in punches:
        keys = [key for key in days_to_judge(user_id, epoch, window_seconds) if key in days]
        judgement = judge(log_id, epoch, window_seconds, [days[key] for key in keys])
        if judgement.verdict is not Verdict.NEW:
            matches.add(judgement.log_id)
    return matches


def judge_together(
    punches: Sequence[tuple[str, int]], day: DedupDay, window_seconds: int
) -> list[Judgement] | None:
    """One user's punches (logId, epoch second) of one day, none near its midnights, in timestamp order,
    judged as one by one would: on the day and on the new ones before them. None when one is a
    duplicate of a punch claimed before them, which must be confirmed stored before it can stand."""
    seen = day
    judgements = []
    for log_id, epoch in punches:
        judgement = judge(log_id, epoch, window_seconds, [seen])
        if judgement.verdict is Verdict.NEW:
            seen = replace(seen, punches={**seen.punches, log_id: epoch})
        elif judgement.log_id in day.punches:
            return None
        judgements.append(judgement)
    return judgements


def judge(
    log_id: str,
    epoch: int,
    window_seconds: int,
    days: Iterable[DedupDay],
    not_counting: Set[str] = frozenset(),
) -> Judgement:
    """Whether a punch is new, already accepted, or too close to an accepted one (the closest is named).
    `not_counting`: accepted punches it may lie near (voided ones, for a punch an admin adds by hand); it is
    still the exact duplicate of any of them."""
    accepted = {other: at for day in days for other, at in day.punches.items()}
    if log_id in accepted:
        return Judgement(Verdict.EXACT, log_id)
    near = [
        (abs(at - epoch), at, other)
        for other, at in accepted.items()
        if abs(at - epoch) < window_seconds and other not in not_counting
    ]
    if near:
        return Judgement(Verdict.NEAR, min(near)[2])
    return Judgement(Verdict.NEW, log_id)
