"""`attendance employees ...` in-process against moto: import (dry run, real, bad rows), list, show, set."""

import json
import re
from datetime import date
from typing import Any

import pytest

from attendance.domain.employees import Employee
from attendance.domain.timesheet import DEFAULT_SCHEDULE_ID, Schedule

EXCEL_EXPORT = '\ufeffuserId,name,department\r\nCLI-E1,"Berg, Anna",Sales\r\nCLI-E2,Jürgen Öz,\r\nCLI-E3,Cara Lee,Ops\r\n,,\r\n'


@pytest.fixture
def csv_file(tmp_path):
    def write(text: str, name: str = "staff.csv"):
        path = tmp_path / name
        path.write_bytes(text.encode())
        return str(path)

    return write


def test_a_dry_run_shows_what_would_change_and_changes_nothing(cli, csv_file, directory):
    # Given one of the file's employees is already in the directory, under an old department
    directory.put(Employee(user_id="CLI-E3", name="Cara Lee", department="Sales"))
    # When the spreadsheet export is imported with --dry-run
    output = cli("employees", "import", csv_file(EXCEL_EXPORT), "--dry-run").output
    # Then it says what would be added and changed
    assert "dry run, nothing changed; would be added: 2, changed: 1, unchanged: 0" in output
    assert "+ CLI-E1  Berg, Anna  Sales" in output
    assert "~ CLI-E3  department: Sales -> Ops" in output
    # And the directory is as it was
    assert [employee.user_id for employee in directory.list()] == ["CLI-E3"]
    assert directory.get("CLI-E3").department == "Sales"


def test_the_real_run_prints_the_same_summary_and_writes_the_directory(cli, csv_file, directory):
    # Given Cara, who left in October, in the directory
    directory.put(Employee(user_id="CLI-E3", name="Cara Lee", department="Sales", left_on=date(2026, 10, 30)))
    path = csv_file(EXCEL_EXPORT)
    dry = cli("employees", "import", path, "--dry-run").output
    # When it is imported for real
    real = cli("employees", "import", path).output
    # Then the summary is the dry run's, and the directory holds the file
    assert real.replace("added: 2", "").splitlines()[1:] == dry.replace("added: 2", "").splitlines()[1:]
    assert real.splitlines()[0] == "added: 2, changed: 1, unchanged: 0"
    assert directory.list() == [
        Employee(user_id="CLI-E1", name="Berg, Anna", department="Sales"),
        Employee(user_id="CLI-E2", name="Jürgen Öz", department=None),
        Employee(user_id="CLI-E3", name="Cara Lee", department="Ops", left_on=date(2026, 10, 30)),
    ]  # the file has no leaving dates: Cara's stays as it was
    # And importing the same file again changes nothing
    again = json.loads(cli("--json", "employees", "import", path).output)
    assert (again["added"], again["changed"], again["unchanged"]) == (0, 0, 3)


def test_the_directory_exported_edited_and_imported_changes_what_was_edited(cli, csv_file, directory):
    # Given a directory
    directory.put(Employee(user_id="CLI-X1", name="Berg, Anna", department="Sales"))
    directory.put(
        Employee(user_id="CLI-X2", name="Jürgen Öz", started_on=date(2024, 3, 1), left_on=date(2026, 11, 30))
    )
    # When it is exported, Anna moved to Ops in the file, and the file imported
    exported = cli("employees", "export").output
    # (UTF-8 with a byte-order mark, as the API's file: a spreadsheet reads Jürgen's name right)
    assert exported.splitlines()[0] == "\ufeffuserId,name,department,startedOn,leftOn,vacationDaysPerYear"
    edited = exported.replace('"Berg, Anna",Sales', '"Berg, Anna",Ops')
    summary = json.loads(cli("--json", "employees", "import", csv_file(edited)).output)
    # Then only her department changed
    assert (summary["added"], summary["changedIds"], summary["unchanged"]) == (0, ["CLI-X1"], 1)
    assert directory.get("CLI-X1").department == "Ops"
    assert (directory.get("CLI-X2").started_on, directory.get("CLI-X2").left_on) == (
        date(2024, 3, 1),
        date(2026, 11, 30),
    )


def test_a_left_on_column_sets_and_clears_last_working_days(cli, csv_file, directory):
    # Given Cara, recorded as having left, and Dan, who works here
    directory.put(Employee(user_id="CLI-E3", name="Cara Lee", left_on=date(2026, 10, 30)))
    directory.put(Employee(user_id="CLI-E4", name="Dan Ode"))
    # When a file with a leftOn column says Cara is back (an empty cell) and Dan's last day
    path = csv_file("userId,name,leftOn\nCLI-E3,Cara Lee,\nCLI-E4,Dan Ode,2026-11-30\n")
    output = cli("employees", "import", path).output
    # Then both changes are listed in the file's column names, and made
    assert "~ CLI-E3  leftOn: 2026-10-30 -> -" in output
    assert "~ CLI-E4  leftOn: - -> 2026-11-30" in output
    assert (directory.get("CLI-E3").left_on, directory.get("CLI-E4").left_on) == (None, date(2026, 11, 30))


def test_a_bad_row_is_reported_by_line_and_nothing_is_imported(cli, csv_file, directory):
    directory.put(Employee(user_id="CLI-E3", name="Cara Lee", department="Sales"))
    # Given a file whose fourth line has a userId with a space
    text = "userId,name,department\nCLI-E1,Anna,Sales\nCLI-E3,Cara Lee,Ops\nCLI E4,Dan,Ops\n"
    # When it is imported
    result = cli("employees", "import", csv_file(text), expect=2)
    # Then the line is named, and not even the good rows were written
    assert "line 4: userId: should hold only letters, digits" in result.output
    assert "nothing was imported" in result.output
    assert [employee.user_id for employee in directory.list()] == ["CLI-E3"]
    assert directory.get("CLI-E3").department == "Sales"


def test_a_semicolon_separated_export_imports(cli, csv_file, directory):
    cli("employees", "import", csv_file("\ufeffuserId;name;department\r\nCLI-S1;Ola Nordmann;Lager\r\n"))
    assert directory.get("CLI-S1") == Employee(user_id="CLI-S1", name="Ola Nordmann", department="Lager")


def test_set_show_and_list(cli, directory, schedules, punch):
    # When an employee is set with a night schedule, since January (from today, the default, it would hold
    # only from today's first night in Berlin, which around midnight UTC has not begun)
    added = cli(
        "employees",
        "set",
        "CLI-N1",
        "--name",
        "Nina Night",
        "--department",
        "Security",
        "--days",
        "mon-sun",
        "--start",
        "22:00",
        "--end",
        "06:00",
        "--zone",
        "Europe/Berlin",
        "--schedule-from",
        "2026-01-01",
    ).output
    # Then the directory and the schedule are written
    assert " ".join(added.split()) == (
        "added CLI-N1: Nina Night (Security); schedule mon,tue,wed,thu,fri,sat,sun 22:00-06:00 Europe/Berlin "
        "from 2026-01-01"
    )
    assert directory.get("CLI-N1").department == "Security"
    assert schedules.history("CLI-N1").latest.schedule.label() == "22:00-06:00 Europe/Berlin"
    # And show and list give her schedule and status
    shown = json.loads(cli("--json", "employees", "show", "CLI-N1").output)
    assert (shown["schedule"]["label"], shown["status"]) == ("22:00-06:00 Europe/Berlin", "absent")
    listed = json.loads(cli("--json", "employees", "list").output)
    assert [row["userId"] for row in listed] == ["CLI-N1"]
    # And a change without schedule options keeps the schedule
    assert "changed CLI-N1: Nina Night" in cli("employees", "set", "CLI-N1", "--name", "Nina Night").output
    assert schedules.history("CLI-N1").latest.schedule.label() == "22:00-06:00 Europe/Berlin"
    assert directory.get("CLI-N1").department == "Security"
    # And an empty value clears a field
    cli("employees", "set", "CLI-N1", "--department", "")
    assert directory.get("CLI-N1").department is None
    # And her last working day is set like the rest, and shown
    left = cli("employees", "set", "CLI-N1", "--name", "Nina Night", "--left-on", "2026-11-30").output
    assert "changed CLI-N1: Nina Night, left on 2026-11-30" in " ".join(left.split())
    assert json.loads(cli("--json", "employees", "show", "CLI-N1").output)["leftOn"] == "2026-11-30"
    assert "left" in cli("employees", "show", "CLI-N1").output.split()  # past it, absent reads "left"
    refused = cli("employees", "set", "CLI-N1", "--name", "Nina Night", "--left-on", "30.11.2026", expect=2)
    assert "Invalid value for '--left-on'" in refused.output
    assert "'30.11.2026' does not match" in refused.output
    # And an unknown employee is exit 1
    assert "no employee CLI-NOBODY" in cli("employees", "show", "CLI-NOBODY", expect=1).output


def test_a_change_names_only_what_changes_and_keeps_the_rest(cli, directory, schedules):
    # Given an employee with a department, a first day, an allowance and a night schedule in Berlin
    cli(
        "employees",
        "set",
        "CLI-K1",
        "--name",
        "Kai Keep",
        "--department",
        "Ops",
        "--started-on",
        "2026-01-05",
    )
    cli("employees", "set", "CLI-K1", "--vacation-days", "25", "--start", "22:00", "--end", "06:00")
    cli("employees", "set", "CLI-K1", "--zone", "Europe/Berlin")
    # When only his last working day is set
    cli("employees", "set", "CLI-K1", "--left-on", "2026-12-31")
    # Then every other field, and every part of his schedule, is as it was
    kept = directory.get("CLI-K1")
    assert (kept.name, kept.department, str(kept.started_on), kept.vacation_days_per_year) == (
        "Kai Keep",
        "Ops",
        "2026-01-05",
        25,
    )
    assert str(kept.left_on) == "2026-12-31"
    own = schedules.history("CLI-K1").latest.schedule
    assert (own.label(), own.days, own.grace_minutes) == ("22:00-06:00 Europe/Berlin", frozenset(range(5)), 5)
    # And "" clears the dates and the allowance
    cli("employees", "set", "CLI-K1", "--left-on", "", "--started-on", "", "--vacation-days", "")
    cleared = directory.get("CLI-K1")
    assert (cleared.started_on, cleared.left_on, cleared.vacation_days_per_year) == (None, None, None)
    # And someone new needs a name, and nothing is written without one
    refused = cli("employees", "set", "CLI-K2", "--department", "Ops", expect=2)
    assert "--name is needed to add them" in said(refused)
    assert directory.get("CLI-K2") is None
    # And an allowance that is no number is named as such
    assert "'many' is not a whole number" in said(
        cli("employees", "set", "CLI-K1", "--vacation-days", "many", expect=2)
    )


def test_the_status_in_the_cli_follows_todays_punches(cli, punch, company_zone):
    cli("employees", "set", "CLI-P1", "--name", "Pia In")
    punch("CLI-P1", "in", 60)
    shown = json.loads(cli("--json", "employees", "show", "CLI-P1", "--zone", company_zone).output)
    assert (shown["status"], shown["lastPunch"]["type"]) == ("in", "in")
    assert "Pia In" in cli("employees", "list", "--zone", company_zone).output


def test_a_file_without_a_started_on_column_keeps_first_working_days(cli, csv_file, directory):
    # Given Eva, whose first working day is known
    directory.put(Employee(user_id="CLI-E5", name="Eva Start", started_on=date(2026, 12, 1)))
    # When a file without a startedOn column renames her, and one with it adds Finn's first day
    cli("employees", "import", csv_file("userId,name\nCLI-E5,Eva Stark\n"))
    cli("employees", "import", csv_file("userId,name,startedOn\nCLI-E6,Finn New,2027-01-04\n"))
    # Then Eva keeps her first day, and Finn has his
    assert (directory.get("CLI-E5").name, directory.get("CLI-E5").started_on) == (
        "Eva Stark",
        date(2026, 12, 1),
    )
    assert directory.get("CLI-E6").started_on == date(2027, 1, 4)
    shown = cli("employees", "show", "CLI-E6").output
    assert "starting" in shown  # not absent before the first day (the JSON keeps the API's "absent")
    assert "absent" not in shown
    # And `employees set` takes a first day too, refusing one after the last as a usage error
    cli("employees", "set", "CLI-E7", "--name", "Gus Go", "--started-on", "2026-12-07")
    assert directory.get("CLI-E7").started_on == date(2026, 12, 7)
    refused = cli(
        "employees",
        "set",
        "CLI-E8",
        "--name",
        "Hal",
        "--started-on",
        "2026-12-07",
        "--left-on",
        "2026-12-01",
        expect=2,
    )
    assert "leftOn (2026-12-01) is before startedOn (2026-12-07)" in refused.output


def test_a_work_week_round_the_weekend_is_a_range_and_a_half_range_is_refused(cli, schedules):
    # When an admin in a country whose work week starts on Sunday sets the default schedule
    cli("schedules", "set", "--default", "--days", "sun-thu", "--start", "08:00", "--end", "16:00")
    # Then the range runs on round the week's end: Sunday to Thursday
    assert schedules.history(DEFAULT_SCHEDULE_ID).latest.schedule.days == frozenset({6, 0, 1, 2, 3})
    # And a range without its end is a usage error that names the form, and writes nothing
    refused = cli("schedules", "set", "CLI-H1", "--days", "mon-", expect=2)
    assert "ranges such as mon-fri or sun-thu" in said(refused)
    assert schedules.get_many({"CLI-H1"}) == {}


def test_a_schedule_stored_without_work_days_is_listed_as_having_none(cli, schedules):
    # Given an employee whose schedule has no work day, as an older version of this tool could save it
    cli("employees", "set", "CLI-E0", "--name", "Eve Empty")
    schedules.put("CLI-E0", Schedule(days=frozenset(), time_zone="UTC"))
    # Then the list says so in words, and the employee's page can be shown
    [row] = [row for row in json.loads(cli("--json", "schedules", "list").output) if row["user"] == "CLI-E0"]
    assert row["days"] == "no work days"
    shown = cli("employees", "show", "CLI-E0").output
    assert "no work days, 09:00-17:00 UTC" in shown
    # And without a punch she is not expected today rather than absent
    assert re.search(r"status\s+not expected", shown)


@pytest.mark.parametrize(
    "command",
    [
        ["employees", "list", "--zone", "Mars/Base"],
        ["report", "daily", "--date", "2026-12-01", "--zone", "Mars/Base"],
        ["schedules", "set", "CLI-Z1", "--zone", "Mars/Base"],
        ["schedules", "set", "CLI-Z1", "--zone", "+24:00"],
    ],
)
def test_an_unknown_zone_is_a_usage_error_naming_it_not_a_traceback(cli, command):
    refused = cli(*command, expect=2)
    assert "time zone" in said(refused)
    assert "Traceback" not in refused.output
    assert refused.exception is None or isinstance(refused.exception, SystemExit)


def test_a_value_out_of_range_is_named_in_words(cli):
    refused = cli("schedules", "set", "CLI-G1", "--grace", "-5", expect=2)
    assert "grace minutes: Input should be greater than or equal to 0" in said(refused)
    assert "errors.pydantic.dev" not in said(refused)


def said(result: Any) -> str:
    """What a command said, as words: without the frame typer draws round an error, on one line."""
    return " ".join(re.sub("[│╭╮╰╯─]", " ", result.output).split())


def test_a_table_into_a_pipe_keeps_every_cell_whole_on_its_line(cli, directory):
    # Given employees whose rows are far wider than a terminal's 80 columns
    name, department = "Maximiliane Alexandra von Hohenberg-Lichtenstein", "International Payroll Operations"
    directory.put(Employee(user_id="CLI-WIDE-EMPLOYEE-0001", name=name, department=department))
    # When the directory is listed into a pipe (as `attendance employees list | grep ...` does)
    listed = cli("employees", "list").output
    # Then the row holds the ID, the name and the department whole, on one line, and the last column too
    [row] = [line for line in listed.splitlines() if "CLI-WIDE-EMPLOYEE-0001" in line]
    assert name in row
    assert department in row
    assert row.rstrip().endswith("│")


def test_a_refusal_goes_to_stderr_for_people_and_to_stdout_as_json_for_scripts(cli, directory):
    # When an admin saves an employee whose name is nothing but spaces, as a person and as a script would
    person = cli("employees", "set", "CLI-BLANK", "--name", "   ", expect=2)
    script = cli("--json", "employees", "set", "CLI-BLANK", "--name", "   ", expect=2)
    # Then the person reads the refusal on stderr (a redirect of stdout keeps no error), the script reads
    # it as JSON on stdout, and nothing is saved
    assert (person.stdout, person.stderr.strip()) == ("", "name: holds nothing but spaces")
    assert json.loads(script.stdout) == {"error": "invalid_name", "message": "name: holds nothing but spaces"}
    assert directory.get("CLI-BLANK") is None


def test_a_schedule_set_from_a_day_keeps_the_one_before_and_show_lists_them(cli, schedules):
    # Given CLI-S1 on nights since 2025, then on days from 1 December 2026
    nights = ("--days", "mon-sun", "--start", "22:00", "--end", "06:00", "--zone", "Europe/Berlin")
    days = ("--days", "mon-sun", "--start", "09:00", "--end", "17:00", "--zone", "Europe/Berlin")
    assert "from 2025-01-01" in said(cli("schedules", "set", "CLI-S1", *nights, "--from", "2025-01-01"))
    cli("schedules", "set", "CLI-S1", *days, "--from", "2026-12-01")
    # Then the nights still hold in November, the days from December
    history = schedules.history("CLI-S1")
    assert history.on(date(2026, 11, 30)).label() == "22:00-06:00 Europe/Berlin"
    assert history.on(date(2026, 12, 1)).label() == "09:00-17:00 Europe/Berlin"
    # And the list says since when each applies; show lists the versions, the latest first, with their last day
    [row] = [row for row in json.loads(cli("--json", "schedules", "list").output) if row["user"] == "CLI-S1"]
    assert (row["shift"], row["from"]) == ("09:00-17:00", "2026-12-01")
    shown = json.loads(cli("--json", "schedules", "show", "CLI-S1").output)
    assert [(version["shift"], version["from"], version["until"]) for version in shown] == [
        ("09:00-17:00", "2026-12-01", None),
        ("22:00-06:00", "2025-01-01", "2026-11-30"),
    ]
    # And removed from 2027 the days hold until then, and show says so
    assert (
        "removed the schedule of CLI-S1 from 2027-01-01"
        in cli("schedules", "remove", "CLI-S1", "--from", "2027-01-01").output
    )
    assert schedules.history("CLI-S1").on(date(2026, 12, 31)).label() == "09:00-17:00 Europe/Berlin"
    assert "removed" in cli("schedules", "show", "CLI-S1").output
    # And a day outside the calendar's years is a usage error; someone without a schedule is not found
    early = cli("schedules", "set", "CLI-S1", *days, "--from", "1999-12-31", expect=2)
    assert "in the years 2000 to 2100" in said(early)
    assert "no schedule of CLI-NONE" in cli("schedules", "show", "CLI-NONE", expect=1).output


def test_employees_set_takes_the_day_a_schedule_applies_from(cli, schedules):
    cli(
        "employees",
        "set",
        "CLI-S2",
        "--name",
        "Sam Shift",
        "--days",
        "mon-fri",
        "--schedule-from",
        "2025-03-01",
    )
    history = schedules.history("CLI-S2")
    assert (history.on(date(2025, 2, 28)), history.latest.since) == (None, date(2025, 3, 1))
    # And the day alone, without a schedule's option, is a usage error
    refused = cli("employees", "set", "CLI-S2", "--schedule-from", "2025-03-01", expect=2)
    assert "--schedule-from goes with the schedule's options" in said(refused)


def test_show_and_list_name_a_schedule_change_saved_for_later(cli):
    # Given an employee on a week schedule, and a change to nights saved for 2099
    cli("employees", "set", "CLI-N1", "--name", "Nora Next")
    cli("schedules", "set", "CLI-N1", "--days", "mon-fri", "--zone", "UTC", "--from", "2025-01-01")
    cli(
        "schedules", "set", "CLI-N1", "--days", "mon-fri", "--start", "22:00", "--end", "06:00", "--zone", "UTC",
        "--from", "2099-01-05",
    )  # fmt: skip
    # Then both name the schedule now and the change, from its day
    expected = "09:00-17:00 UTC; from 2099-01-05: 22:00-06:00 UTC"
    assert expected in cli("employees", "show", "CLI-N1").output
    [row] = json.loads(cli("--json", "employees", "list").output)
    assert row["nextSchedule"]["effectiveFrom"] == "2099-01-05"


@pytest.mark.parametrize("command", [["schedules", "set"], ["employees", "set"]])
def test_an_option_changed_keeps_the_rest_of_the_schedule_that_holds_not_a_later_one(cli, schedules, command):
    # Given an employee on nights in Berlin since 2025, and (their latest version) a week in UTC from 2099
    cli("employees", "set", "CLI-G1", "--name", "Gus Grace")
    nights = ["--days", "mon-sun", "--start", "22:00", "--end", "06:00", "--grace", "10", "--zone", "Europe/Berlin"]  # fmt: skip
    cli("schedules", "set", "CLI-G1", *nights, "--from", "2025-01-01")
    cli("schedules", "set", "CLI-G1", "--days", "mon-fri", "--zone", "UTC", "--from", "2099-01-05")
    # When the grace alone is changed from 1 December 2026
    since = ["--from" if command[0] == "schedules" else "--schedule-from", "2026-12-01"]
    cli(*command, "CLI-G1", "--grace", "15", *since)
    # Then from that day the nights hold with the new grace: the rest is the nights', which held on that day,
    # not the later week's (which the change replaces, as any change from a day replaces what held from it on)
    changed = schedules.history("CLI-G1").on(date(2026, 12, 1))
    assert (changed.label(), changed.grace_minutes, len(changed.days)) == ("22:00-06:00 Europe/Berlin", 15, 7)
