"""Timesheet rules as worked examples a payroll clerk can check by hand."""

from datetime import UTC, date, datetime, time

import pytest

from attendance.domain.clock import parse_zone
from attendance.domain.punch import PunchType
from attendance.domain.schedule_history import ScheduleLookup, group_by_work_day
from attendance.domain.timesheet import DayReport, Schedule, TimedPunch, compute_day

BERLIN = "Europe/Berlin"
OFFICE = Schedule(start=time(9, 0), end=time(17, 0), grace_minutes=5, time_zone=BERLIN)  # Mon-Fri
NIGHTS = Schedule(
    days=frozenset(range(7)), start=time(22, 0), end=time(6, 0), grace_minutes=10, time_zone=BERLIN
)
INDIA = Schedule(start=time(9, 0), end=time(17, 0), grace_minutes=5, time_zone="+05:30")  # a fixed offset


def day(schedule: Schedule | None, on: str, *punches: tuple[str, str], day_off: bool = False) -> dict:
    """Punches as ("YYYY-MM-DD HH:MM" local, type); returns the report in minutes. `day_off`: a holiday or
    a day of leave, as the calendar says."""
    zone = parse_zone(schedule.time_zone if schedule else BERLIN)
    timed = [
        TimedPunch(datetime.fromisoformat(at).replace(tzinfo=zone), PunchType(kind)) for at, kind in punches
    ]
    report = compute_day("E1", date.fromisoformat(on), timed, schedule, BERLIN, day_off=day_off)
    minutes = lambda span: int(span.total_seconds() // 60)  # noqa: E731
    return {
        "worked": minutes(report.worked),
        "breaks": minutes(report.breaks),
        "overtime": minutes(report.overtime),
        "late": minutes(report.late),
        "early": minutes(report.early_leave),
        "punches": report.punches,
        "anomalies": [str(a) for a in report.anomalies],
    }


WORKED_EXAMPLES = [
    pytest.param(
        OFFICE,
        "2025-02-10",
        [("2025-02-10 08:58", "in"), ("2025-02-10 17:02", "out")],
        {"worked": 484, "breaks": 0, "overtime": 2, "late": 0, "early": 0, "punches": 2, "anomalies": []},
        id="normal day: 08:58-17:02 is 8 h 4 min, 2 min past the shift end",
    ),
    pytest.param(
        OFFICE,
        "2025-02-10",
        [
            ("2025-02-10 09:00", "in"),
            ("2025-02-10 10:30", "break_out"),
            ("2025-02-10 10:45", "break_in"),
            ("2025-02-10 12:30", "break_out"),
            ("2025-02-10 13:00", "break_in"),
            ("2025-02-10 17:00", "out"),
        ],
        {"worked": 435, "breaks": 45, "overtime": 0, "late": 0, "early": 0, "punches": 6, "anomalies": []},
        id="two breaks: 8 h at work minus 15 + 30 min of breaks",
    ),
    pytest.param(
        OFFICE,
        "2025-02-10",
        [("2025-02-10 09:20", "in"), ("2025-02-10 12:00", "break_out"), ("2025-02-10 12:30", "break_in")],
        {
            "worked": 160,
            "breaks": 30,
            "overtime": 0,
            "late": 20,
            "early": 0,
            "punches": 3,
            "anomalies": ["missing out"],
        },
        id="forgotten check-out: the afternoon is flagged, not counted; 20 min late",
    ),
    pytest.param(
        NIGHTS,
        "2025-02-10",
        [("2025-02-10 21:55", "in"), ("2025-02-11 06:05", "out")],
        {"worked": 490, "breaks": 0, "overtime": 5, "late": 0, "early": 0, "punches": 2, "anomalies": []},
        id="night shift across midnight belongs to the day it starts",
    ),
    pytest.param(
        NIGHTS,
        "2025-03-29",
        [("2025-03-29 22:00", "in"), ("2025-03-30 06:00", "out")],
        {"worked": 420, "breaks": 0, "overtime": 0, "late": 0, "early": 0, "punches": 2, "anomalies": []},
        id="DST spring forward: 22:00-06:00 on the night clocks jump from 02:00 to 03:00 is 7 h",
    ),
    pytest.param(
        NIGHTS,
        "2025-10-25",
        [("2025-10-25 22:00", "in"), ("2025-10-26 06:00", "out")],
        {"worked": 540, "breaks": 0, "overtime": 0, "late": 0, "early": 0, "punches": 2, "anomalies": []},
        id="DST fall back: the same night is 9 h, none of it past the 06:00 shift end",
    ),
    pytest.param(
        OFFICE,
        "2025-02-10",
        [
            ("2025-02-10 09:00", "in"),
            ("2025-02-10 17:00", "out"),
            ("2025-02-10 18:00", "overtime_in"),
            ("2025-02-10 20:30", "overtime_out"),
        ],
        {"worked": 630, "breaks": 0, "overtime": 150, "late": 0, "early": 0, "punches": 4, "anomalies": []},
        id="overtime: 8 h regular plus 2 h 30 min booked as overtime",
    ),
    pytest.param(
        OFFICE,
        "2025-02-10",
        [("2025-02-10 09:04", "in"), ("2025-02-10 16:56", "out")],
        {"worked": 472, "breaks": 0, "overtime": 0, "late": 0, "early": 0, "punches": 2, "anomalies": []},
        id="within the 5 min grace: neither late nor early",
    ),
    pytest.param(
        OFFICE,
        "2025-02-10",
        [("2025-02-10 09:00", "in"), ("2025-02-10 16:30", "out")],
        {"worked": 450, "breaks": 0, "overtime": 0, "late": 0, "early": 30, "punches": 2, "anomalies": []},
        id="early leave: out at 16:30 is 30 min early",
    ),
    pytest.param(
        OFFICE,
        "2025-02-10",
        [("2025-02-10 09:00", "in"), ("2025-02-10 09:00", "in"), ("2025-02-10 17:00", "out")],
        {
            "worked": 480,
            "breaks": 0,
            "overtime": 0,
            "late": 0,
            "early": 0,
            "punches": 3,
            "anomalies": ["duplicate-looking sequence"],
        },
        id="two ins: flagged, counted from the first",
    ),
    pytest.param(
        OFFICE,
        "2025-02-10",
        [("2025-02-10 17:00", "out")],
        {
            "worked": 0,
            "breaks": 0,
            "overtime": 0,
            "late": 0,
            "early": 0,
            "punches": 1,
            "anomalies": ["missing in"],
        },
        id="an out with no in",
    ),
    pytest.param(
        OFFICE,
        "2025-02-10",
        [("2025-02-10 09:00", "in"), ("2025-02-10 12:00", "break_out"), ("2025-02-10 17:00", "out")],
        {
            "worked": 180,
            "breaks": 0,
            "overtime": 0,
            "late": 0,
            "early": 0,
            "punches": 3,
            "anomalies": ["break not closed"],
        },
        id="left during the break: the break is flagged, not counted",
    ),
    pytest.param(
        OFFICE,
        "2025-02-15",
        [("2025-02-15 10:00", "in"), ("2025-02-15 14:00", "out")],
        {
            "worked": 240,
            "breaks": 0,
            "overtime": 240,
            "late": 0,
            "early": 0,
            "punches": 2,
            "anomalies": ["punch outside any shift"],
        },
        id="a Saturday: outside any shift, all of it overtime",
    ),
    pytest.param(
        None,
        "2025-02-10",
        [("2025-02-10 08:00", "in"), ("2025-02-10 16:00", "out")],
        {"worked": 480, "breaks": 0, "overtime": 0, "late": 0, "early": 0, "punches": 2, "anomalies": []},
        id="no schedule: just the times",
    ),
    pytest.param(
        INDIA,
        "2025-02-10",
        [("2025-02-10 09:20", "in"), ("2025-02-10 17:00", "out")],
        {"worked": 460, "breaks": 0, "overtime": 0, "late": 20, "early": 0, "punches": 2, "anomalies": []},
        id="a fixed-offset zone: 09:20 in +05:30 is 20 min late for a 09:00 shift there",
    ),
]


@pytest.mark.parametrize(("schedule", "on", "punches", "expected"), WORKED_EXAMPLES)
def test_worked_examples(schedule, on, punches, expected):
    assert day(schedule, on, *punches) == expected


@pytest.mark.parametrize(
    ("schedule", "local", "work_day"),
    [
        (OFFICE, "2025-02-10 08:00", "2025-02-10"),
        (OFFICE, "2025-02-11 00:30", "2025-02-10"),  # late work after midnight
        (OFFICE, "2025-02-11 01:30", "2025-02-11"),
        (NIGHTS, "2025-02-11 06:05", "2025-02-10"),
        (NIGHTS, "2025-02-10 21:50", "2025-02-10"),
        (NIGHTS, "2025-02-10 13:00", "2025-02-09"),
        (INDIA, "2025-02-11 00:30", "2025-02-10"),
        (INDIA, "2025-02-11 01:30", "2025-02-11"),
    ],
)
def test_each_punch_belongs_to_the_work_day_whose_window_holds_it(schedule, local, work_day):
    instant = datetime.fromisoformat(local).replace(tzinfo=parse_zone(schedule.time_zone))
    assert schedule.work_day_of(instant) == date.fromisoformat(work_day)


def test_without_a_schedule_the_work_day_is_the_calendar_day_in_a_fixed_offset_default_zone():
    # Given no schedules and a default zone of +05:30
    no_schedules = ScheduleLookup({}, "+05:30")
    # When a punch at 20:00 UTC on the 10th (01:30 on the 11th in India) is grouped
    punch = TimedPunch(datetime(2025, 2, 10, 20, 0, tzinfo=UTC), PunchType.IN)
    days = group_by_work_day([("E1", punch)], no_schedules)
    # Then it belongs to the 11th, India's calendar day
    assert days == {("E1", date(2025, 2, 11)): [punch]}


def test_an_interval_open_on_a_day_still_going_is_flagged_only_once_the_day_is_over():
    # Given someone in at 08:55 and on a break since 12:30, on an office day in Berlin
    berlin = parse_zone(OFFICE.time_zone)
    punches = [
        TimedPunch(datetime(2025, 2, 10, 8, 55, tzinfo=berlin), PunchType.IN),
        TimedPunch(datetime(2025, 2, 10, 12, 30, tzinfo=berlin), PunchType.BREAK_OUT),
    ]
    # When the day is computed at 14:00 that day, and again the next morning
    during = compute_day(
        "E1", date(2025, 2, 10), punches, OFFICE, BERLIN, datetime(2025, 2, 10, 14, tzinfo=berlin)
    )
    after = compute_day(
        "E1", date(2025, 2, 10), punches, OFFICE, BERLIN, datetime(2025, 2, 11, 9, tzinfo=berlin)
    )
    # Then while it goes on the break is no anomaly; once it is over, the break left open is
    assert (during.anomalies, during.worked.total_seconds() // 60) == ([], 215)
    assert [str(anomaly) for anomaly in after.anomalies] == ["break not closed"]


def test_an_early_leave_counts_only_once_the_shift_has_ended():
    # Given someone in at 08:55 and out at 10:40, on an office day (09:00-17:00) in Berlin
    berlin = parse_zone(OFFICE.time_zone)
    punches = [
        TimedPunch(datetime(2025, 2, 10, 8, 55, tzinfo=berlin), PunchType.IN),
        TimedPunch(datetime(2025, 2, 10, 10, 40, tzinfo=berlin), PunchType.OUT),
    ]

    # When the day is computed at 11:00, when they may still come back, and at 18:00
    def at(hour: int) -> DayReport:
        now = datetime(2025, 2, 10, hour, tzinfo=berlin)
        return compute_day("E1", date(2025, 2, 10), punches, OFFICE, BERLIN, now)

    # Then the early leave is 0 before the shift's end, and 6 h 20 min after it
    assert at(11).early_leave.total_seconds() == 0
    assert at(18).early_leave.total_seconds() // 60 == 380


def test_a_day_counts_the_punches_added_by_hand_and_computes_them_as_any_other():
    # Given an in from the clock and an out an admin added by hand (the clock missed it)
    berlin = parse_zone(OFFICE.time_zone)
    punches = [
        TimedPunch(datetime(2025, 2, 10, 8, 55, tzinfo=berlin), PunchType.IN),
        TimedPunch(datetime(2025, 2, 10, 17, 5, tzinfo=berlin), PunchType.OUT, by_hand=True),
    ]
    # When the day is computed
    day = compute_day("E1", date(2025, 2, 10), punches, OFFICE, BERLIN)
    # Then the out counts as any punch, and the day says one of its two punches was added by hand
    assert (day.punches, day.added_by_hand, day.worked.total_seconds() // 60) == (2, 1, 490)
    assert day.last_out == datetime(2025, 2, 10, 16, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    ("punches", "first_in", "last_out", "early"),
    [
        # a day ended on overtime: its last out is the overtime out, and it left no earlier than that
        ([(9, 0, PunchType.IN), (16, 0, PunchType.OVERTIME_OUT)], (8, 0), (15, 0), 60),
        # a day begun on overtime and ended as usual
        ([(7, 0, PunchType.OVERTIME_IN), (17, 0, PunchType.OUT)], (6, 0), (16, 0), 0),
        # a regular in and out are the day's first in and last out even beside overtime after hours
        (
            [
                (9, 0, PunchType.IN),
                (17, 0, PunchType.OUT),
                (18, 0, PunchType.OVERTIME_IN),
                (20, 0, PunchType.OVERTIME_OUT),
            ],
            (8, 0),
            (16, 0),
            0,
        ),
    ],
)
def test_a_day_begun_or_ended_on_overtime_has_its_first_in_and_last_out(punches, first_in, last_out, early):
    # Given an office day (Berlin, 09:00-17:00) whose first or last punch is an overtime one
    berlin = parse_zone(OFFICE.time_zone)
    timed = [
        TimedPunch(datetime(2025, 2, 10, hour, minute, tzinfo=berlin), kind) for hour, minute, kind in punches
    ]
    # When the day is computed
    day = compute_day("E1", date(2025, 2, 10), timed, OFFICE, BERLIN)
    # Then it has a first in and a last out (in UTC), and an early leave judged on that last out
    assert (day.first_in, day.last_out) == (
        datetime(2025, 2, 10, *first_in, tzinfo=UTC),
        datetime(2025, 2, 10, *last_out, tzinfo=UTC),
    )
    assert day.early_leave.total_seconds() // 60 == early


@pytest.mark.parametrize(
    ("back", "overtime"),
    [
        ("break_in", 60 + 105),  # the break's end returns to the overtime it interrupted
        ("overtime_in", 60 + 105),  # as does an overtime in
        ("in", 60),  # a regular in says the rest was regular time (none of it past the shift end)
    ],
)
def test_a_break_taken_during_overtime_returns_to_overtime(back, overtime):
    # Given an office day (09:00-17:00) begun on overtime at 06:00, with a break from 07:00 to 07:15 ended
    # by `back`, overtime out at 09:00 and the regular day from 09:01 to 17:00
    punches = [
        ("2025-02-10 06:00", "overtime_in"),
        ("2025-02-10 07:00", "break_out"),
        ("2025-02-10 07:15", back),
        ("2025-02-10 09:00", "overtime_out"),
        ("2025-02-10 09:01", "in"),
        ("2025-02-10 17:00", "out"),
    ]
    # When the day is computed
    report = day(OFFICE, "2025-02-10", *punches)
    # Then the 15 min break is no work, and the time after it is what its end says
    assert (report["worked"], report["breaks"], report["overtime"]) == (60 + 105 + 479, 15, overtime)
    assert (report["late"], report["early"], report["anomalies"]) == (0, 0, [])


def test_a_break_taken_during_overtime_left_open_is_flagged():
    # Given overtime from 18:00 after a regular day, and a break from 19:00 never ended
    punches = [
        ("2025-02-10 09:00", "in"),
        ("2025-02-10 17:00", "out"),
        ("2025-02-10 18:00", "overtime_in"),
        ("2025-02-10 19:00", "break_out"),
    ]
    # When the day is computed
    report = day(OFFICE, "2025-02-10", *punches)
    # Then the hour of overtime before the break counts, and the break left open is flagged
    assert (report["worked"], report["overtime"], report["anomalies"]) == (480 + 60, 60, ["break not closed"])


@pytest.mark.parametrize(
    ("on", "punches", "anomalies"),
    [
        # back from lunch at 13:00, and no out after: they left at a time nobody knows, not at 12:00
        (
            "2025-02-10",
            [("2025-02-10 09:00", "in"), ("2025-02-10 12:00", "out"), ("2025-02-10 13:00", "in")],
            ["missing out"],
        ),
        # likewise when the day ends on a break never ended
        (
            "2025-02-10",
            [
                ("2025-02-10 09:00", "in"),
                ("2025-02-10 12:00", "out"),
                ("2025-02-10 13:00", "in"),
                ("2025-02-10 15:00", "break_out"),
            ],
            ["break not closed"],
        ),
        # an out at 01:30 alone (a late finish of the day before, past its window) ended no work of this day
        ("2025-02-11", [("2025-02-11 01:30", "out")], ["missing in"]),
    ],
)
def test_an_early_leave_is_unknown_when_nobody_knows_when_they_left(on, punches, anomalies):
    # Given an office day (09:00-17:00) whose last out is followed by an interval left open, or had no in
    # When the day is computed, once it is over
    report = day(OFFICE, on, *punches)
    # Then it is flagged, and no early leave is guessed from that out
    assert (report["early"], report["anomalies"]) == (0, anomalies)


@pytest.mark.parametrize(
    ("punches", "late"),
    [
        # an out at 10:00 with no in: they were at work during the shift before 12:00, since nobody knows when
        ([("2025-02-10 10:00", "out"), ("2025-02-10 12:00", "in"), ("2025-02-10 17:00", "out")], 0),
        # an out at 01:30 with no in is the end of the day before's late work: 09:30 is when they came
        ([("2025-02-10 01:30", "out"), ("2025-02-10 09:30", "in"), ("2025-02-10 17:00", "out")], 30),
    ],
)
def test_a_lateness_is_unknown_when_an_out_with_no_in_shows_them_at_work_before_their_first_in(punches, late):
    # Given an office day (09:00-17:00) that starts with an out with no in, then an in and an out
    # When the day is computed
    report = day(OFFICE, "2025-02-10", *punches)
    # Then it is flagged, and the lateness counts only when that out came before the shift started
    assert (report["late"], report["early"], report["anomalies"]) == (late, 0, ["missing in"])


def test_work_on_a_holiday_or_a_day_of_leave_is_judged_as_on_a_day_off():
    # Given Monday 9 November 2026, an office day (09:00-17:00 Berlin) that the calendar gives them off (a
    # company holiday, or their leave), and two hours of work on it
    punches = [("2026-11-09 10:00", "in"), ("2026-11-09 12:00", "out")]
    # When the day is computed as a day off, and as the weekday it would otherwise be
    off = day(OFFICE, "2026-11-09", *punches, day_off=True)
    scheduled = day(OFFICE, "2026-11-09", *punches)
    # Then, as on a Saturday, nothing was expected of them: no lateness, no early leave, all of it overtime,
    # and the day is flagged as work outside any shift
    assert off == {
        "worked": 120,
        "breaks": 0,
        "overtime": 120,
        "late": 0,
        "early": 0,
        "punches": 2,
        "anomalies": ["punch outside any shift"],
    }
    assert (scheduled["late"], scheduled["early"], scheduled["overtime"]) == (60, 300, 0)


def test_without_a_schedule_a_day_off_is_just_the_times():
    # Given no schedule at all, and work on a holiday
    # When the day is computed as a day off
    report = day(None, "2026-11-09", ("2026-11-09 10:00", "in"), ("2026-11-09 12:00", "out"), day_off=True)
    # Then nothing is judged against a shift nobody has: no overtime, no lateness, no anomaly
    assert (report["worked"], report["overtime"], report["late"], report["anomalies"]) == (120, 0, 0, [])
