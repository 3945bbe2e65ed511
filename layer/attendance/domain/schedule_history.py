"""Schedules over time: each change takes effect from a day, and every work day keeps the schedule that held on
it, so a month already paid keeps its figures when someone's schedule (or the default) changes later.

Rules:
- A version holds from its first day (`since`) to the day before the next version's. A version with no first
  day holds since always: a schedule saved before history was kept applies to every day until changed.
- A change from a day replaces what held from that day on (a later version, or a correction dated back);
  the days before keep theirs. Before someone's first version, nothing of their own held.
- A version of no schedule is a removal: from its day on, the default applies to them again.
- Each work day: their own version holding on it, else the default's holding on it, else none.
- Work days near a change: each version draws its work days' windows as the timesheet does
  (domain/timesheet.py). Between the last day of one version and the first of the next, the line is drawn
  halfway between where the old version's window of its last day ends and where the new one's window of its
  first day begins (without a schedule, a window is the calendar day in the default zone). So the line falls
  in the middle of the off-time between the two shifts, as between any two work days, and a night shift
  ending the morning a day schedule starts keeps its check-out.
"""

from bisect import bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property
from itertools import pairwise

from attendance.domain.clock import parse_zone
from attendance.domain.timesheet import DEFAULT_SCHEDULE_ID, Schedule, TimedPunch, work_day_of

# An item of the schedules table holds every version, ~200 bytes each: 200 stay far below DynamoDB's 400 KB
# item limit (a change a month for sixteen years). A change past it drops the oldest version: its days then
# have none of their own (the default's).
MAX_VERSIONS = 200


@dataclass(frozen=True)
class ScheduleVersion:
    schedule: Schedule | None  # None: none of their own from `since` on (removed; the default applies)
    since: date | None  # None: since always


@dataclass(frozen=True)
class ScheduleHistory:
    """One schedule's versions (an employee's own, or the default), by first day; never two alike in a row."""

    versions: tuple[ScheduleVersion, ...] = ()

    @classmethod
    def always(cls, schedule: Schedule) -> "ScheduleHistory":
        """One schedule for every day, as a schedule saved before history was kept."""
        return cls((ScheduleVersion(schedule, None),))

    def on(self, day: date) -> Schedule | None:
        """The schedule holding on `day`; None before the first version, or in a removal."""
        version = self.version_on(day)
        return version.schedule if version else None

    def version_on(self, day: date) -> ScheduleVersion | None:
        """The version holding on `day`; None before the first."""
        index = bisect_right(self._firsts, day) - 1
        return self.versions[index] if index >= 0 else None

    def next_after(self, day: date) -> ScheduleVersion | None:
        """The first version to take over after `day`: a change already saved for a later day; None: none."""
        index = bisect_right(self._firsts, day)
        return self.versions[index] if index < len(self.versions) else None

    def changed(self, schedule: Schedule | None, since: date) -> "ScheduleHistory":
        """With `schedule` from `since` on: what held from that day on is replaced, the days before keep theirs."""
        kept = [version for version in self.versions if version.since is None or version.since < since]
        return _normalised([*kept, ScheduleVersion(schedule, since)])

    @property
    def ever_scheduled(self) -> bool:
        return any(version.schedule for version in self.versions)

    @property
    def latest(self) -> ScheduleVersion | None:
        return self.versions[-1] if self.versions else None

    def earlier(self) -> list[tuple[ScheduleVersion, date]]:
        """The versions before the latest, each with the last day it held, latest first."""
        return [
            (version, _day_before(after.since)) for version, after in reversed(list(pairwise(self.versions)))
        ]

    def around(self, day: date) -> set[Schedule]:
        """The schedules holding on the day before `day`, on it and on the day after."""
        held = (self.on(day + timedelta(days=offset)) for offset in (-1, 0, 1))
        return {schedule for schedule in held if schedule is not None}

    @cached_property
    def _firsts(self) -> tuple[date, ...]:
        """Each version's first day, once per history: `on` is asked for every (user, day) of a report."""
        return tuple(version.since or date.min for version in self.versions)


def _normalised(versions: list[ScheduleVersion]) -> ScheduleHistory:
    """At most MAX_VERSIONS, no two alike in a row, no removal first (nothing of theirs held before it)."""
    kept = _merged(versions)[-MAX_VERSIONS:]
    while kept and kept[0].schedule is None:
        kept.pop(0)
    return ScheduleHistory(tuple(kept))


def _merged(versions: Iterable[ScheduleVersion]) -> list[ScheduleVersion]:
    """Versions in a row with the same schedule as one, from the first's day."""
    kept: list[ScheduleVersion] = []
    for version in versions:
        if not kept or kept[-1].schedule != version.schedule:
            kept.append(version)
    return kept


def _day_before(day: date | None) -> date:
    return day - timedelta(days=1) if day and day > date.min else date.min


def change_day(schedule: Schedule | None, now: datetime, fallback_zone: str) -> date:
    """The day a change made now takes effect from when none is given: today in the schedule's zone (for a
    removal, the zone of the latest schedule removed)."""
    return now.astimezone(schedule.zone if schedule else parse_zone(fallback_zone)).date()


def removal_day(history: ScheduleHistory, now: datetime, fallback_zone: str) -> date:
    """The day a removal made now takes effect from when none is given: today in the latest schedule's zone."""
    latest = history.latest
    return change_day(latest.schedule if latest else None, now, fallback_zone)


class ScheduleLookup:
    """Each user's schedule on each work day (see the module's rules), from the histories read: theirs and
    the default's (DEFAULT_SCHEDULE_ID)."""

    def __init__(self, histories: Mapping[str, ScheduleHistory], default_zone: str = "UTC") -> None:
        self._histories = histories
        self._default_zone = default_zone
        self._timelines: dict[str, ScheduleHistory] = {}
        self._lines: dict[str, list[datetime]] = {}

    def __call__(self, user_id: str, day: date) -> Schedule | None:
        return self.timeline(user_id).on(day)

    def is_own(self, user_id: str, day: date) -> bool:
        """Whether their own schedule holds on `day` (not the default's, nor none)."""
        own = self._histories.get(user_id)
        return own is not None and own.on(day) is not None

    def any_on(self, user_id: str, days: Iterable[date]) -> bool:
        return any(self(user_id, day) for day in days)

    def timeline(self, user_id: str) -> ScheduleHistory:
        """What held for them over time, since always: their own version, else the default's."""
        if user_id not in self._timelines:
            own = self._histories.get(user_id, ScheduleHistory())
            default = self._histories.get(DEFAULT_SCHEDULE_ID, ScheduleHistory())
            firsts = sorted(
                {date.min} | {version.since or date.min for version in (*own.versions, *default.versions)}
            )
            merged = [
                ScheduleVersion(own.on(day) or default.on(day), day if day > date.min else None)
                for day in firsts
            ]
            self._timelines[user_id] = ScheduleHistory(tuple(_merged(merged)))
        return self._timelines[user_id]

    def work_day_of(self, user_id: str, instant: datetime) -> date:
        """The work day an instant belongs to, by the version whose part of time holds it (module rules)."""
        versions = self.timeline(user_id).versions
        index = bisect_right(self._change_lines(user_id), instant.astimezone(UTC))
        version = versions[index]
        day = work_day_of(instant, version.schedule, self._default_zone)
        if version.since is not None:
            day = max(day, version.since)
        if index + 1 < len(versions):
            day = min(day, _day_before(versions[index + 1].since))
        return day

    def _change_lines(self, user_id: str) -> list[datetime]:
        """Where each version after the first takes over (UTC), in order."""
        if user_id not in self._lines:
            versions = self.timeline(user_id).versions
            self._lines[user_id] = [self._change_line(old, new) for old, new in pairwise(versions)]
        return self._lines[user_id]

    def _change_line(self, old: ScheduleVersion, new: ScheduleVersion) -> datetime:
        """Halfway between where the old version's window of its last day ends and the new one's of its first
        begins."""
        first = new.since or date.min
        old_end, new_start = self._window_start(old.schedule, first), self._window_start(new.schedule, first)
        return old_end + (new_start - old_end) / 2

    def _window_start(self, schedule: Schedule | None, day: date) -> datetime:
        """Where a work day's window begins (a window's end is the next one's beginning)."""
        if schedule is None:
            return datetime.combine(day, time(), parse_zone(self._default_zone)).astimezone(UTC)
        return schedule.window_start(day).astimezone(UTC)


def group_by_work_day(
    punches: Iterable[tuple[str, TimedPunch]], schedule_of: ScheduleLookup
) -> dict[tuple[str, date], list[TimedPunch]]:
    """(user, work day) -> that day's punches."""
    days: dict[tuple[str, date], list[TimedPunch]] = {}
    for user_id, punch in punches:
        days.setdefault((user_id, schedule_of.work_day_of(user_id, punch.instant)), []).append(punch)
    return days
