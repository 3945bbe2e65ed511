"""Schedules over time as worked examples: each work day keeps the schedule that held on it."""

from datetime import date, datetime, time, timedelta
from functools import partial

import pytest

from attendance.domain.clock import parse_zone
from attendance.domain.period import expected_days
from attendance.domain.schedule_history import (
    MAX_VERSIONS,
    ScheduleHistory,
    ScheduleLookup,
    ScheduleVersion,
    change_day,
)
from attendance.domain.timesheet import DEFAULT_SCHEDULE_ID, Schedule

BERLIN = "Europe/Berlin"
EVERY_DAY = frozenset(range(7))
OFFICE = Schedule(start=time(9, 0), end=time(17, 0), time_zone=BERLIN)  # Mon-Fri
NIGHTS = Schedule(days=EVERY_DAY, start=time(22, 0), end=time(6, 0), grace_minutes=10, time_zone=BERLIN)
DAYS = Schedule(days=EVERY_DAY, start=time(9, 0), end=time(17, 0), time_zone=BERLIN)
DEC_1 = date(2026, 12, 1)


def berlin(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=parse_zone(BERLIN))


def test_a_schedule_saved_before_history_was_kept_holds_on_every_day_until_changed():
    # Given NIGHT1's schedule from before history was kept
    history = ScheduleHistory.always(NIGHTS)
    # When it is changed to days from 1 December
    changed = history.changed(DAYS, DEC_1)
    # Then October and the last of November keep the nights; December on has the days
    assert [changed.on(day) for day in (date(2026, 10, 5), date(2026, 11, 30))] == [NIGHTS, NIGHTS]
    assert [changed.on(day) for day in (DEC_1, date(2027, 3, 1))] == [DAYS, DAYS]
    # And the earlier version says the last day it held
    assert changed.earlier() == [(ScheduleVersion(NIGHTS, None), date(2026, 11, 30))]


def test_a_change_dated_back_replaces_what_held_from_that_day_on():
    # Given nights, then days from 1 December, then offices hours from 1 February
    history = ScheduleHistory.always(NIGHTS).changed(DAYS, DEC_1).changed(OFFICE, date(2027, 2, 1))
    # When a mistake is corrected: the office hours should have applied from 15 November
    corrected = history.changed(OFFICE, date(2026, 11, 15))
    # Then the days version is gone, the nights still hold until the 14th
    assert corrected.versions == (ScheduleVersion(NIGHTS, None), ScheduleVersion(OFFICE, date(2026, 11, 15)))
    assert (corrected.on(date(2026, 11, 14)), corrected.on(date(2026, 12, 24))) == (NIGHTS, OFFICE)


def test_saving_the_schedule_that_holds_already_changes_nothing():
    history = ScheduleHistory.always(NIGHTS).changed(DAYS, DEC_1)
    assert history.changed(DAYS, date(2026, 12, 10)) == history


def test_a_first_schedule_holds_from_its_day_only_and_removing_it_then_leaves_nothing():
    history = ScheduleHistory().changed(OFFICE, DEC_1)
    assert (history.on(date(2026, 11, 30)), history.on(DEC_1)) == (None, OFFICE)
    assert history.changed(None, DEC_1) == ScheduleHistory()


def test_removed_from_a_day_the_default_applies_and_the_days_before_keep_their_own():
    # Given the office hours as the default, and NIGHT1 on nights until removed from 1 December
    own = ScheduleHistory.always(NIGHTS).changed(None, DEC_1)
    lookup = ScheduleLookup({"NIGHT1": own, DEFAULT_SCHEDULE_ID: ScheduleHistory.always(OFFICE)}, BERLIN)
    # Then November is nights, their own; December the default's office hours
    assert (lookup("NIGHT1", date(2026, 11, 30)), lookup.is_own("NIGHT1", date(2026, 11, 30))) == (
        NIGHTS,
        True,
    )
    assert (lookup("NIGHT1", DEC_1), lookup.is_own("NIGHT1", DEC_1)) == (OFFICE, False)


def test_a_change_of_the_default_leaves_the_days_before_it_on_the_old_default():
    # Given the office hours as the default until 1 December, every day from then; ANNA has none of her own
    default = ScheduleHistory.always(OFFICE).changed(DAYS, DEC_1)
    lookup = ScheduleLookup({DEFAULT_SCHEDULE_ID: default}, BERLIN)
    # Then her November is the office's, her December every day's
    assert (lookup("ANNA", date(2026, 11, 30)), lookup("ANNA", DEC_1)) == (OFFICE, DAYS)
    # And someone's own schedule from 15 November comes before either
    lookup = ScheduleLookup(
        {DEFAULT_SCHEDULE_ID: default, "BEN": ScheduleHistory().changed(NIGHTS, date(2026, 11, 15))}
    )
    assert [lookup("BEN", day) for day in (date(2026, 11, 14), date(2026, 11, 15), DEC_1)] == [
        OFFICE,
        NIGHTS,
        NIGHTS,
    ]


@pytest.mark.parametrize(
    ("punch", "work_day"),
    [
        ("2026-11-30 21:55", "2026-11-30"),  # the last night shift's check-in
        (
            "2026-12-01 06:02",
            "2026-11-30",
        ),  # and its check-out, the morning the days start: still the night's
        ("2026-12-01 07:29", "2026-11-30"),  # the line: halfway between 06:00 and 09:00 (whose windows are
        ("2026-12-01 07:31", "2026-12-01"),  # 14:00 and 01:00 by themselves: they overlap)
        ("2026-12-01 08:55", "2026-12-01"),  # the first day shift's check-in
        ("2026-12-02 00:30", "2026-12-01"),  # late work after it, as any 09:00-17:00 day's
    ],
)
def test_at_a_change_the_line_between_work_days_falls_in_the_middle_of_the_off_time(punch, work_day):
    # Given NIGHT1 on nights, on days from 1 December
    lookup = ScheduleLookup({"NIGHT1": ScheduleHistory.always(NIGHTS).changed(DAYS, DEC_1)}, BERLIN)
    assert lookup.work_day_of("NIGHT1", berlin(punch)) == date.fromisoformat(work_day)


@pytest.mark.parametrize(
    ("punch", "work_day"),
    [
        ("2026-11-30 23:30", "2026-11-30"),  # the last office day's late work
        (
            "2026-12-01 07:29",
            "2026-11-30",
        ),  # the line: halfway between 01:00 and 14:00, where the two windows
        ("2026-12-01 07:31", "2026-12-01"),  # end and begin, leaving a gap between them
        ("2026-12-01 21:58", "2026-12-01"),  # the first night shift
        ("2026-12-02 06:01", "2026-12-01"),
    ],
)
def test_a_change_the_other_way_draws_its_line_in_the_gap_between_the_windows(punch, work_day):
    lookup = ScheduleLookup({"N": ScheduleHistory.always(DAYS).changed(NIGHTS, DEC_1)}, BERLIN)
    assert lookup.work_day_of("N", berlin(punch)) == date.fromisoformat(work_day)


def test_before_a_first_schedule_without_a_default_the_work_day_is_the_calendar_day():
    lookup = ScheduleLookup({"N": ScheduleHistory().changed(NIGHTS, DEC_1)}, BERLIN)
    # Before 1 December nothing held: calendar days in the default zone; the first night begins at 22:00
    assert lookup.work_day_of("N", berlin("2026-11-29 23:30")) == date(2026, 11, 29)
    assert lookup.work_day_of("N", berlin("2026-11-30 23:30")) == date(2026, 11, 30)
    assert lookup.work_day_of("N", berlin("2026-12-02 05:00")) == date(2026, 12, 1)


def test_the_scheduled_days_of_a_period_follow_the_schedule_of_each_day():
    # Given ANNA on the office's Monday to Friday until Friday 4 December, every day from Saturday the 5th
    lookup = ScheduleLookup({"ANNA": ScheduleHistory.always(OFFICE).changed(DAYS, date(2026, 12, 5))}, BERLIN)
    week = [date(2026, 11, 30) + timedelta(days=offset) for offset in range(7)]
    # When the week is counted
    expected = expected_days(partial(lookup, "ANNA"), week, set(), berlin("2026-12-10 00:00"))
    # Then Monday to Friday by the office, Saturday and Sunday by the new schedule: seven days
    assert len(expected.scheduled) == 7


def test_an_item_keeps_the_latest_versions_only():
    history = ScheduleHistory()
    for offset in range(MAX_VERSIONS + 5):
        history = history.changed(OFFICE if offset % 2 else NIGHTS, date(2001, 1, 1) + timedelta(days=offset))
    assert len(history.versions) == MAX_VERSIONS
    assert history.versions[0].since == date(2001, 1, 6)


def test_a_change_made_now_takes_effect_today_in_the_schedules_zone():
    # 23:30 UTC on 30 November is already 1 December in Berlin
    now = datetime.fromisoformat("2026-11-30T23:30:00+00:00")
    assert change_day(OFFICE, now, "UTC") == DEC_1
    assert change_day(None, now, "UTC") == date(2026, 11, 30)


def test_the_version_holding_on_a_day_and_the_next_change_saved_after_it():
    # Given nights since always, days from 1 December, and none of their own from 1 March
    history = ScheduleHistory.always(NIGHTS).changed(DAYS, DEC_1).changed(None, date(2027, 3, 1))
    # Then on the last of November the nights hold, and the days come next
    assert history.version_on(date(2026, 11, 30)) == ScheduleVersion(NIGHTS, None)
    assert history.next_after(date(2026, 11, 30)) == ScheduleVersion(DAYS, DEC_1)
    # And on 1 December the days hold, and the removal comes next; after it, nothing more
    assert history.version_on(DEC_1) == ScheduleVersion(DAYS, DEC_1)
    assert history.next_after(DEC_1) == ScheduleVersion(None, date(2027, 3, 1))
    assert history.next_after(date(2027, 3, 1)) is None
    # And before someone's first version, none holds
    assert ScheduleHistory().changed(DAYS, DEC_1).version_on(date(2026, 11, 30)) is None
