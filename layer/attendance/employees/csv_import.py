"""The employee directory as CSV: columns userId, name, department, startedOn and leftOn (the first and
last working days, YYYY-MM-DD) and vacationDaysPerYear (a whole number; the last four optional), with a
header row. Read for an import; written
for an export that an import reads back unchanged (edit it in a spreadsheet, import it again).

Spreadsheets export CSV with a byte-order mark (Excel's "CSV UTF-8"), CRLF line ends, quoted cells,
stray spaces around cells, empty trailing rows and columns, and, in locales with a decimal comma,
semicolons between cells: all of that is read. Every row is validated before anything is written; every
bad row is reported with its line number.
"""

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass

from pydantic import ValidationError

from attendance.domain.employees import Employee
from attendance.domain.punch import describe_validation_error
from attendance.domain.spreadsheet import FORMULA_STARTS, UTF8_BOM, as_text_cell

COLUMNS = {
    "userid": "userId",
    "name": "name",
    "department": "department",
    "startedon": "startedOn",
    "lefton": "leftOn",
    "vacationdaysperyear": "vacationDaysPerYear",
}
# The optional columns of what the directory keeps beside the name, and the fields they fill: a file
# without one keeps what the directory has.
KEPT_COLUMNS = {
    "department": "department",
    "startedon": "started_on",
    "lefton": "left_on",
    "vacationdaysperyear": "vacation_days_per_year",
}

# POST /employee-imports reads the file as its body: what OpenAPI cannot learn from a pydantic model.
IMPORT_REQUEST_BODY = {
    "description": "CSV with a header row: userId,name[,department][,startedOn][,leftOn][,vacationDaysPerYear] "
    "(a spreadsheet's CSV export: any order of columns, a byte-order mark, semicolons, quoted cells). A file "
    "without a department, startedOn, leftOn or vacationDaysPerYear column keeps each employee's department, "
    "first or last working day or vacation allowance.",
    "required": True,
    "content": {
        "text/csv": {
            "schema": {"type": "string"},
            "example": "userId,name,department,startedOn,leftOn,vacationDaysPerYear\r\n"
            "EMP001,Anna Berg,Sales,2024-03-01,,25\r\nEMP002,Ben Okafor,Ops,,2026-11-30,\r\n",
        }
    },
}
REQUIRED = ("userid", "name")


@dataclass(frozen=True)
class RowProblem:
    line: int
    problem: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.problem}"


class ImportRejected(Exception):
    """The file cannot be imported; nothing was written."""

    def __init__(self, problems: list[RowProblem]) -> None:
        super().__init__("; ".join(map(str, problems)))
        self.problems = problems


@dataclass(frozen=True)
class EmployeeFile:
    employees: list[Employee]
    # The fields without a column (working days, allowance), kept as the directory has them (an empty cell
    # says none: an empty leftOn, that they work here).
    kept: frozenset[str]
    lines: dict[str, int]  # each employee's line, by userId


def read_employees_csv(data: bytes) -> EmployeeFile:
    """The employees of a CSV file, or ImportRejected naming every bad row."""
    rows = _rows(_text(data))
    if not rows:
        raise ImportRejected([RowProblem(1, "no header row (userId,name,department)")])
    (header_line, header), *records = rows
    columns = _columns(header_line, header)
    employees, problems, first_seen = [], [], {}
    for line, cells in records:
        try:
            employee = _employee(cells, columns)
        except ValueError as error:
            problems.append(RowProblem(line, str(error)))
            continue
        if "/" in employee.user_id:  # the directory gives each an address of its own: /employees/{userId}
            problems.append(
                RowProblem(line, f"userId {employee.user_id} holds a /, which no employee's page can")
            )
            continue
        if employee.user_id in first_seen:
            earlier = first_seen[employee.user_id]
            problems.append(RowProblem(line, f"userId {employee.user_id} is also on line {earlier}"))
            continue
        first_seen[employee.user_id] = line
        employees.append(employee)
    if problems:
        raise ImportRejected(problems)
    kept = frozenset(field for key, field in KEPT_COLUMNS.items() if key not in columns)
    return EmployeeFile(employees, kept, first_seen)


def employees_csv(employees: Iterable[Employee]) -> str:
    """The employees as a file an import reads back unchanged, by userId: UTF-8 with a byte-order mark and
    CRLF line ends, as spreadsheets open it cleanly."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS.values())
    for employee in sorted(employees, key=lambda employee: employee.user_id):
        cells = [
            employee.user_id,
            employee.name,
            employee.department,
            employee.started_on,
            employee.left_on,
            employee.vacation_days_per_year,
        ]
        writer.writerow(["" if cell is None else as_text_cell(str(cell)) for cell in cells])
    return UTF8_BOM + buffer.getvalue()


def _from_text(cell: str) -> str:
    """A cell as exported (as_text_cell): the apostrophe before what would start a formula taken away."""
    return cell[1:] if cell.startswith("'") and cell[1:].startswith(FORMULA_STARTS) else cell


def _text(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")  # with or without the byte-order mark
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise ImportRejected([RowProblem(line, "not UTF-8: save the file as CSV UTF-8")]) from None


def _rows(text: str) -> list[tuple[int, list[str]]]:
    """(line number, stripped cells) of every row that is not blank; a quoted cell may span lines."""
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if ";" in first_line and "," not in first_line else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, skipinitialspace=True)
    rows, line = [], 1
    for cells in reader:
        stripped = [_from_text(cell.strip()) for cell in cells]
        if any(stripped):
            rows.append((line, stripped))
        line = reader.line_num + 1
    return rows


def _columns(line: int, header: list[str]) -> dict[str, int]:
    """Column name -> position; empty header cells (trailing spreadsheet columns) are ignored."""
    positions: dict[str, int] = {}
    for position, name in enumerate(header):
        key = name.casefold()
        if not key:
            continue
        if key not in COLUMNS:
            known = ", ".join(COLUMNS.values())
            raise ImportRejected([RowProblem(line, f"unknown column {name!r}: use {known}")])
        if key in positions:
            raise ImportRejected([RowProblem(line, f"column {name!r} appears twice")])
        positions[key] = position
    missing = [COLUMNS[key] for key in REQUIRED if key not in positions]
    if missing:
        raise ImportRejected([RowProblem(line, f"missing column {', '.join(missing)}")])
    return positions


def _employee(cells: list[str], columns: dict[str, int]) -> Employee:
    used = set(columns.values())
    extra = [cell for position, cell in enumerate(cells) if position not in used and cell]
    if extra:
        raise ValueError(f"more cells than columns: {', '.join(extra)}")
    values = {
        COLUMNS[key]: cells[position] if position < len(cells) else "" for key, position in columns.items()
    }
    for optional in ("department", "startedOn", "leftOn", "vacationDaysPerYear"):
        values[optional] = values.get(optional) or None
    allowance = values["vacationDaysPerYear"]
    if allowance is not None and allowance.isdecimal():  # a spreadsheet's cell is text: 25 is a whole number
        values["vacationDaysPerYear"] = int(allowance)
    try:
        return Employee.model_validate(values)
    except ValidationError as error:
        raise ValueError(describe_validation_error(error)) from None
