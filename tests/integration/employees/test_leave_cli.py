"""`attendance leave` on the moto tables the employees handler reads: what the CLI records, the API lists,
and the daily report names who is on leave."""

import json
from datetime import UTC, datetime

from tests.integration.employees.conftest import ADMIN_KEY

SUMMER = ("--from", "2025-07-28", "--to", "2025-08-08")


def test_the_cli_records_lists_and_removes_leave(cli, call):
    # Given ANNA on a Monday-to-Friday schedule since 2025, and a company holiday on Wednesday 30 July
    cli("employees", "set", "ANNA", "--name", "Anna Berg")
    office = ("--days", "mon-fri", "--start", "09:00", "--end", "17:00", "--zone", "UTC")
    cli("schedules", "set", "ANNA", *office, "--from", "2025-01-01")
    cli("holidays", "add", "2025-07-30", "Summer Day")
    # When office IT records ANNA's summer vacation from the command line
    recorded = cli("leave", "add", "ANNA", *SUMMER, "--kind", "vacation", "--note", " booked ")
    assert "recorded vacation leave for ANNA from 2025-07-28 to 2025-08-08" in recorded.output
    # And a sick day, --to left out: a single day
    assert (
        "recorded sick leave for ANNA on 2025-12-03"
        in cli("leave", "add", "ANNA", "--from", "2025-12-03", "--kind", "sick").output
    )
    # And the same first day again changes the vacation, rather than adding a second leave
    shorter = ("--from", "2025-07-28", "--to", "2025-08-01")
    changed = cli("leave", "add", "ANNA", *shorter, "--kind", "vacation", "--note", " one week ")
    assert "changed to vacation leave for ANNA from 2025-07-28 to 2025-08-01" in changed.output
    # Then the API lists what the CLI recorded, as the dashboard will
    listed = call("GET", "/employees/ANNA/leave", query={"year": "2025"})
    assert (listed.status, listed.body["count"]) == (200, 2)
    assert [(leave["from"], leave["to"], leave["kind"]) for leave in listed.body["leave"]] == [
        ("2025-07-28", "2025-08-01", "vacation"),
        ("2025-12-03", "2025-12-03", "sick"),
    ]
    # And the CLI lists them too: a table, and as JSON for a script the API's items
    table = cli("leave", "list", "ANNA", "--year", "2025").output
    assert "Leave of ANNA 2025" in table
    rows = [[cell.strip() for cell in line.split("│")[1:-1]] for line in table.splitlines() if "│" in line]
    assert rows == [  # the week's vacation takes four scheduled days: the holiday is none of them
        ["2025-07-28", "2025-08-01", "5", "4", "vacation", "one week"],
        ["2025-12-03", "2025-12-03", "1", "1", "sick", ""],
    ]
    assert "Scheduled days on leave in 2025: 4 vacation, 1 sick" in table
    assert "No leave of ANNA in 2024." in cli("leave", "list", "ANNA", "--year", "2024").output
    as_json = json.loads(cli("--json", "leave", "list", "ANNA", "--year", "2025").output)
    assert as_json == listed.body["leave"]
    # And removing one names it; removing it again is a not-found exit
    assert "removed sick leave for ANNA on 2025-12-03" in cli("leave", "remove", "ANNA", "2025-12-03").output
    missing = cli("leave", "remove", "ANNA", "2025-12-03", expect=1)
    assert "no leave of ANNA from 2025-12-03" in missing.output
    assert json.loads(cli("--json", "leave", "remove", "ANNA", "2025-12-03", expect=1).output) == {
        "error": "not_found",
        "message": "no leave of ANNA from 2025-12-03",
    }
    assert call("GET", "/employees/ANNA/leave", query={"year": "2025"}).body["count"] == 1


def test_the_cli_refuses_leave_for_a_stranger_and_leave_that_overlaps(cli, call):
    cli("employees", "set", "ANNA", "--name", "Anna Berg")
    cli("leave", "add", "ANNA", *SUMMER, "--kind", "vacation")
    # When a sick leave is recorded on a day of the vacation, it is refused naming the leave in the way
    overlap = ("leave", "add", "ANNA", "--from", "2025-08-08", "--to", "2025-08-12", "--kind", "sick")
    refused = cli(*overlap, expect=2)
    assert "ANNA is already on vacation leave from 2025-07-28 to 2025-08-08" in refused.output
    assert json.loads(cli("--json", *overlap, expect=2).output)["error"] == "overlaps"
    # And leave for someone not in the directory is not found
    stranger = cli("leave", "add", "NOBODY", "--from", "2025-08-01", "--kind", "sick", expect=1)
    assert "no employee NOBODY" in stranger.output
    # And nothing of it was stored
    assert call("GET", "/employees/ANNA/leave", query={"year": "2025"}).body["count"] == 1
    assert call("GET", "/employees/NOBODY/leave", query={"year": "2025"}).status == 404
    # And listing a stranger's leave says so, rather than that they have none
    assert "no employee NOBODY" in cli("leave", "list", "NOBODY", "--year", "2025", expect=1).output


def test_bad_dates_ranges_kinds_and_notes_are_usage_errors(cli, call):
    cli("employees", "set", "ANNA", "--name", "Anna Berg")
    assert (
        "not a date" in cli("leave", "add", "ANNA", "--from", "28.07.2025", "--kind", "sick", expect=2).output
    )
    backwards = ("--from", "2025-08-08", "--to", "2025-07-28")
    assert (
        "'to' must not be before 'from'"
        in cli("leave", "add", "ANNA", *backwards, "--kind", "sick", expect=2).output
    )
    too_long = ("--from", "2025-01-01", "--to", "2026-01-02")
    assert "at most 366 days" in cli("leave", "add", "ANNA", *too_long, "--kind", "unpaid", expect=2).output
    cli("leave", "add", "ANNA", "--from", "2025-01-01", "--to", "2025-12-31", "--kind", "unpaid")  # a year
    cli("leave", "add", "ANNA", "--from", "2026-07-28", "--kind", "holiday", expect=2)
    cli("leave", "add", "ANNA", "--from", "2026-07-28", "--kind", "sick", "--note", "  ", expect=2)
    cli("leave", "add", "ANNA", "--from", "2026-07-28", "--kind", "sick", "--note", "x" * 201, expect=2)
    cli("leave", "remove", "ANNA", "28.07.2025", expect=2)
    cli("leave", "list", "ANNA", "--year", "1999", expect=2)
    # a leave, or a holiday, in a year no list shows is refused in words
    early = cli("leave", "add", "ANNA", "--from", "1999-12-30", "--kind", "sick", expect=2)
    assert "in the years 2000 to 2100" in " ".join(early.output.split())
    assert "in the years 2000 to 2100" in " ".join(
        cli("holidays", "add", "1999-12-25", "X", expect=2).output.split()
    )
    assert call("GET", "/employees/ANNA/leave", query={"year": "2025"}).body["count"] == 1  # the year's
    assert call("GET", "/employees/ANNA/leave", query={"year": "2026"}).body["count"] == 0


def test_the_daily_report_names_who_is_on_leave_apart_from_the_absent(cli, call):
    every_day = ("--days", "mon-sun", "--start", "09:00", "--end", "17:00", "--zone", "UTC")
    every_day += ("--schedule-from", "2025-01-01")
    cli("employees", "set", "ANNA", "--name", "Anna Berg", *every_day)
    cli("employees", "set", "BEN", "--name", "Ben Ode", *every_day)
    # When ANNA is on vacation and BEN just does not come
    assert (
        call(
            "PUT", "/employees/ANNA/leave/2025-07-28", {"to": "2025-08-08", "kind": "vacation"}, key=ADMIN_KEY
        ).status
        == 201
    )
    shown = cli("report", "daily", "--date", "2025-07-30").output
    # Then the report names ANNA on leave, with its kind, and only BEN absent
    assert "On leave: Anna Berg (ANNA, vacation)" in shown
    assert "Absent: Ben Ode (BEN)" in shown
    # And once the CLI removes the leave, she is absent too
    cli("leave", "remove", "ANNA", "2025-07-28")
    shown = cli("report", "daily", "--date", "2025-07-30").output
    assert "On leave" not in shown
    assert "Absent: Anna Berg (ANNA), Ben Ode (BEN)" in shown


def test_the_directory_shows_who_is_on_leave_today(cli, call):
    # Given ANNA on sick leave today, without a punch
    today = datetime.now(UTC).date()  # the CLI's company zone is UTC unless told
    call("PUT", "/employees/ANNA", {"name": "Anna Berg"}, key=ADMIN_KEY)
    cli("leave", "add", "ANNA", "--from", today.isoformat(), "--kind", "sick")
    # When office IT looks her up
    shown = cli("employees", "show", "ANNA").output
    # Then she is on sick leave, not absent
    assert "on leave (sick)" in shown
    assert "absent" not in shown


def test_the_cli_sets_an_allowance_and_says_what_is_left(cli):
    # Given ANNA with 25 vacation days a year, on the default-free Monday-to-Friday schedule of her own since 2025
    week = ("--days", "mon-fri", "--schedule-from", "2025-01-01")
    added = cli("employees", "set", "ANNA", "--name", "Anna Berg", "--vacation-days", "25", *week)
    assert "25 vacation days a year" in added.output
    # When she takes Monday to Wednesday off
    cli("leave", "add", "ANNA", "--from", "2025-08-04", "--to", "2025-08-06", "--kind", "vacation")
    # Then her year's leave says what is left, and her entry shows the allowance
    assert (
        "Vacation allowance 25 days a year: 22 left in 2025"
        in cli("leave", "list", "ANNA", "--year", "2025").output
    )
    assert "25 days a year" in cli("employees", "show", "ANNA").output
    # And an allowance over a year's days is a usage error
    cli("employees", "set", "ANNA", "--name", "Anna Berg", "--vacation-days", "400", expect=2)


def test_changing_a_leave_keeps_what_is_not_given(cli, call):
    # Given ANNA's two weeks of sick leave, with a note
    cli("employees", "set", "ANNA", "--name", "Anna Berg")
    cli(
        "leave",
        "add",
        "ANNA",
        "--from",
        "2025-03-03",
        "--to",
        "2025-03-14",
        "--kind",
        "sick",
        "--note",
        "surgery",
    )
    # When it is changed to unpaid, the last day and the note left out
    changed = cli("leave", "add", "ANNA", "--from", "2025-03-03", "--kind", "unpaid").output
    # Then its days and note stay as they were
    assert "changed to unpaid leave for ANNA from 2025-03-03 to 2025-03-14" in changed
    [leave] = call("GET", "/employees/ANNA/leave", query={"year": "2025"}).body["leave"]
    assert (leave["to"], leave["kind"], leave["note"]) == ("2025-03-14", "unpaid", "surgery")
    # And "" clears the note
    cli("leave", "add", "ANNA", "--from", "2025-03-03", "--kind", "unpaid", "--note", "")
    [leave] = call("GET", "/employees/ANNA/leave", query={"year": "2025"}).body["leave"]
    assert (leave["to"], leave["note"]) == ("2025-03-14", None)
