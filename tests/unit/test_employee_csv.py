"""Reading the employee directory from CSV as spreadsheets export it."""

import pytest

from attendance.domain.employees import Employee
from attendance.employees.csv_import import ImportRejected, employees_csv, read_employees_csv

ANNA = Employee(user_id="E1", name="Berg, Anna", department="Sales")
JURGEN = Employee(user_id="E2", name="Jürgen Öz", department=None)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            'userId,name,department\nE1,"Berg, Anna",Sales\nE2,Jürgen Öz,\n', [ANNA, JURGEN], id="plain"
        ),
        pytest.param(
            '\ufeffuserId,name,department\r\nE1,"Berg, Anna",Sales\r\nE2,Jürgen Öz,\r\n,,\r\n\r\n',
            [ANNA, JURGEN],
            id="excel csv utf-8: BOM, CRLF, empty trailing rows",
        ),
        pytest.param(
            "\ufeffuserId;name;department;;\r\nE1;Berg, Anna;Sales;;\r\nE2;Jürgen Öz;;;\r\n",
            [ANNA, JURGEN],
            id="semicolons and empty trailing columns",
        ),
        pytest.param(
            'UserID , Name , Department\nE1 , "Berg, Anna" , Sales \nE2,Jürgen Öz\n',
            [ANNA, JURGEN],
            id="header in any case, stray spaces, a short row",
        ),
        pytest.param(
            'name,userId\n"Berg, Anna",E1\n',
            [ANNA.model_copy(update={"department": None})],
            id="columns in any order, department optional",
        ),
    ],
)
def test_spreadsheet_exports_are_read(text, expected):
    read = read_employees_csv(text.encode())
    assert read.employees == expected
    # the directory's are kept for the columns the file does not have
    without_department = set() if "department" in text.lower() else {"department"}
    assert read.kept == {"started_on", "left_on", "vacation_days_per_year"} | without_department


def test_a_left_on_column_gives_last_working_days_and_an_empty_cell_none():
    read = read_employees_csv(b"userId,name,leftOn\nE1,Anna,2026-11-30\nE2,Ben,\n")
    assert read.kept == {"department", "started_on", "vacation_days_per_year"}
    assert [(e.user_id, str(e.left_on)) for e in read.employees] == [("E1", "2026-11-30"), ("E2", "None")]


def test_a_started_on_column_gives_first_working_days_and_one_after_the_last_is_refused():
    read = read_employees_csv(b"userId,name,startedOn\nE1,Anna,2026-12-01\nE2,Ben,\n")
    assert read.kept == {"department", "left_on", "vacation_days_per_year"}
    assert [(e.user_id, str(e.started_on)) for e in read.employees] == [("E1", "2026-12-01"), ("E2", "None")]
    assert problems_of(b"userId,name,startedOn,leftOn\nE1,Anna,2026-12-01,2026-11-30\n") == [
        "line 2: leftOn (2026-11-30) is before startedOn (2026-12-01)"
    ]


def problems_of(data: bytes) -> list[str]:
    with pytest.raises(ImportRejected) as rejected:
        read_employees_csv(data)
    return [str(problem) for problem in rejected.value.problems]


def test_every_bad_row_is_reported_with_its_line_number():
    data = b"userId,name,department\nE1,Anna,Sales\nE 2,Bob,\nE3,,Ops\nE1,Anna Again,\nE4,Dan,Ops,extra\nE/5,Eve,\n"
    assert problems_of(data) == [
        "line 3: userId: should hold only letters, digits and . _ : @ / + - (no spaces)",
        "line 4: name: String should have at least 1 character",
        "line 5: userId E1 is also on line 2",
        "line 6: more cells than columns: extra",
        "line 7: userId E/5 holds a /, which no employee's page can",
    ]


def test_a_quoted_cell_over_two_lines_keeps_the_line_numbers_right():
    data = b'userId,name,department\nE1,"Anna\nBerg",Sales\nE 2,Bob,\n'
    assert problems_of(data) == [
        "line 4: userId: should hold only letters, digits and . _ : @ / + - (no spaces)"
    ]


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"", "line 1: no header row (userId,name,department)"),
        (
            b"id,name\nE1,Anna\n",
            "line 1: unknown column 'id': use userId, name, department, startedOn, leftOn, vacationDaysPerYear",
        ),
        (
            b"userId,name,leftOn\nE1,Anna,30.11.2026\n",
            "line 2: leftOn: must be a date as YYYY-MM-DD",
        ),
        (b"userId,department\nE1,Sales\n", "line 1: missing column name"),
        (b"userId,name,name\n", "line 1: column 'name' appears twice"),
        (b"userId,name\nE1,Anna\nE2,J\xfcrgen\n", "line 3: not UTF-8: save the file as CSV UTF-8"),
    ],
)
def test_a_file_that_is_not_a_directory_is_refused(data, problem):
    assert problems_of(data) == [problem]


def test_an_exported_directory_imports_back_unchanged():
    # Given a directory with a comma, umlauts, a last working day, and cells a spreadsheet would run as
    # formulas (a name, an ID starting with +)
    directory = [
        JURGEN,
        ANNA,
        Employee(
            user_id="+4930123",
            name='=HYPERLINK("http://x")',
            department="-Ops",
            started_on="2024-03-01",
            left_on="2026-11-30",
        ),
    ]
    # When it is exported
    text = employees_csv(directory)
    # Then it is a spreadsheet's CSV, by userId, the formula-like cells written as text
    assert text.startswith("\ufeffuserId,name,department,startedOn,leftOn,vacationDaysPerYear\r\n")
    assert text.splitlines()[1] == '\'+4930123,"\'=HYPERLINK(""http://x"")",\'-Ops,2024-03-01,2026-11-30,'
    # And imported again, it is the same directory
    assert read_employees_csv(text.encode()).employees == sorted(directory, key=lambda e: e.user_id)


def test_a_vacation_allowance_column_gives_whole_numbers_of_days_and_an_empty_cell_none():
    # Given a file with the allowance: 25, none, and 0 (someone with no paid vacation)
    read = read_employees_csv(b"userId,name,vacationDaysPerYear\nE1,Anna,25\nE2,Ben,\nE3,Cleo,0\n")
    # Then each is read as a number, the empty cell as none, and the working days are kept from the directory
    assert [(e.user_id, e.vacation_days_per_year) for e in read.employees] == [
        ("E1", 25),
        ("E2", None),
        ("E3", 0),
    ]
    assert read.kept == {"department", "started_on", "left_on"}
    # And exported, 0 stays 0 (not an empty cell, which would read back as none)
    assert employees_csv(read.employees).splitlines()[3] == "E3,Cleo,,,,0"
    # And a half day, words or more days than a year has are refused, naming the line
    for cell in ("2.5", "many", "367", "-1"):
        (problem,) = problems_of(f"userId,name,vacationDaysPerYear\nE1,Anna,{cell}\n".encode())
        assert problem.startswith("line 2: vacationDaysPerYear"), problem
