"""POST /employee-imports: the directory from a spreadsheet's CSV file, through the handler against moto."""

from datetime import date
from typing import Any

import pytest

from attendance.domain.employees import Employee
from functions.employees import app as employees_app
from local_stack.events import LambdaContext, http_api_event
from tests.integration.employees.conftest import ADMIN_KEY, READ_KEY
from tests.integration.http_calls import Reply, call_route
from tests.integration.permissions import calls_made, refused

PATH = "/employee-imports"
# As Excel saves "CSV UTF-8": a byte-order mark, CRLF, a quoted cell with a comma, an empty trailing row.
EXCEL_EXPORT = (
    '\ufeffuserId,name,department,leftOn\r\nIMP-1,"Berg, Anna",Sales,\r\nIMP-2,Jürgen Öz,Ops,2026-11-30\r\n'
    "IMP-3,Cara Lee,,\r\n,,,\r\n"
)


def send(
    data: str | bytes, key: str | None = ADMIN_KEY, content_type: str = "text/csv", **query: str
) -> Reply:
    return call_route(
        employees_app.lambda_handler,
        "POST",
        PATH,
        key,
        body=data,
        query=query or None,
        content_type=content_type,
    )


@pytest.fixture
def sent(employees_env) -> Any:
    return send


def test_a_dry_run_answers_what_would_change_and_writes_nothing(sent, directory):
    # Given a directory with IMP-1 in another department and IMP-3 as the file has her
    directory.put(Employee(user_id="IMP-1", name="Berg, Anna", department="Support"))
    directory.put(Employee(user_id="IMP-3", name="Cara Lee"))
    # When an admin checks the spreadsheet's file first
    reply = sent(EXCEL_EXPORT, dryRun="true")
    # Then the answer is what the import would do, field by field, and the directory is as it was
    assert reply.status == 200, reply.body
    assert reply.body == {
        "dryRun": True,
        "added": 1,
        "changed": 1,
        "unchanged": 1,
        "addedEmployees": [
            {
                "userId": "IMP-2",
                "name": "Jürgen Öz",
                "department": "Ops",
                "startedOn": None,
                "leftOn": "2026-11-30",
                "vacationDaysPerYear": None,
            }
        ],
        "changes": [{"userId": "IMP-1", "fields": {"department": {"before": "Support", "after": "Sales"}}}],
    }
    assert directory.get("IMP-2") is None
    assert directory.get("IMP-1").department == "Support"


def test_the_import_writes_every_row_and_names_who_did_it(sent, directory, employees_env, caplog):
    directory.put(Employee(user_id="IMP-1", name="Berg, Anna", department="Support"))
    # When the admin imports the file
    reply = sent(EXCEL_EXPORT)
    # Then the directory is the file's, and the change was made by the admin's key
    assert (reply.status, reply.body["dryRun"], reply.body["added"], reply.body["changed"]) == (
        200,
        False,
        2,
        1,
    )
    assert directory.get("IMP-1").department == "Sales"
    assert directory.get("IMP-2") == Employee(
        user_id="IMP-2", name="Jürgen Öz", department="Ops", left_on=date(2026, 11, 30)
    )
    assert directory.get("IMP-3").department is None
    assert {"employee added", "employee changed"} <= {record.message for record in caplog.records}


def test_a_directory_larger_than_one_write_is_imported_whole(sent, directory):
    rows = "".join(f"BULK-{n:03},Person {n},Dept {n % 7}\n" for n in range(60))
    reply = sent("userId,name,department\n" + rows)
    assert (reply.status, reply.body["added"]) == (200, 60)
    assert len(directory.list()) == 60


def test_a_file_with_bad_rows_is_a_422_naming_each_line_and_nothing_is_written(sent, directory):
    # Given a file whose third and fourth lines cannot be taken (no name, and the first ID again)
    data = "userId,name\nBAD-1,Anna Berg\nBAD-2,\nBAD-1,Anna Again\nBAD-4,Dora Diaz\n"
    # When it is imported
    reply = sent(data)
    # Then nothing is, and each bad line is named
    assert (reply.status, reply.body["error"]) == (422, "invalid_file")
    assert reply.body["message"].startswith("nothing was imported: 2 problems, the first line 3: ")
    assert [detail["field"] for detail in reply.body["details"]] == ["line 3", "line 4"]
    assert directory.list() == []


@pytest.mark.parametrize(
    ("data", "content_type", "status", "error"),
    [
        ("userId,name\nA,Anna\n", "application/json", 415, "unsupported_media_type"),
        ("userId,name\nA,Anna\n", "text/plain", 415, "unsupported_media_type"),
        ("", "text/csv", 422, "invalid_file"),
        (b"userId,name\n\xff\xfe,\x00\n", "text/csv", 422, "invalid_file"),
        ("userId,name\n" + "X" * 600_000, "text/csv", 413, "body_too_large"),
        (b"userId,name\n\xff" + b"X" * 600_000, "text/csv", 413, "body_too_large"),  # sent as base64
    ],
)
def test_what_is_no_csv_file_is_refused_plainly(sent, directory, data, content_type, status, error):
    reply = sent(data, content_type=content_type)
    assert (reply.status, reply.body["error"]) == (status, error), reply.body
    assert directory.list() == []


def test_only_an_admin_imports(sent, directory):
    assert sent("userId,name\nA,Anna\n", key=None).status == 401
    assert sent("userId,name\nA,Anna\n", key=READ_KEY).body["error"] == "forbidden"
    assert directory.list() == []


def test_it_writes_as_the_role_allows(sent, stack, template):
    with calls_made() as calls:
        employees_app.dependencies.cache_clear()
        assert sent(EXCEL_EXPORT).status == 200
    assert {operation for _, operation, _ in calls} >= {"Scan", "BatchWriteItem"}
    assert refused(template, "EmployeesFunction", stack, calls) == []


def test_the_directory_exported_imports_back_as_it_is(sent, directory):
    # Given a directory, one of them gone since November
    for employee in (
        Employee(user_id="EXP-1", name="Berg, Anna", department="Sales"),
        Employee(user_id="EXP-2", name="Jürgen Öz", left_on=date(2026, 11, 30)),
    ):
        directory.put(employee)
    # When a read key downloads it as CSV
    headers = {"authorization": f"Bearer {READ_KEY}"}
    event = http_api_event("GET", "/employees", None, headers, {"format": "csv"})
    exported = employees_app.lambda_handler(event, LambdaContext("employees"))
    # Then it is a spreadsheet's file, named for saving
    assert exported["statusCode"] == 200
    assert exported["headers"]["Content-Type"] == "text/csv; charset=utf-8"
    assert exported["headers"]["Content-Disposition"] == 'attachment; filename="employees.csv"'
    # And imported again (as HR would after editing it), it changes nothing
    reply = sent(exported["body"])
    assert (reply.status, reply.body["added"], reply.body["changed"], reply.body["unchanged"]) == (
        200,
        0,
        0,
        2,
    )


def test_a_last_day_before_the_first_the_directory_keeps_is_refused_naming_the_line(sent, directory):
    # Given Ida, whose first working day (in the directory) is 10 December
    directory.put(Employee(user_id="IMP-IDA", name="Ida Start", started_on=date(2026, 12, 10)))
    # When a file without a startedOn column gives her a last working day before it
    reply = sent("userId,name,leftOn\r\nIMP-OK,Ok Person,\r\nIMP-IDA,Ida Start,2026-12-01\r\n")
    # Then the import is refused, naming her line and why, and nothing is written (not even the good row)
    assert (reply.status, reply.body["error"]) == (422, "invalid_file")
    assert reply.body["details"] == [
        {
            "location": "body",
            "field": "line 3",
            "problem": "leftOn (2026-12-01) is before startedOn (2026-12-10), the directory's kept: the file "
            "has no column for it",
        }
    ]
    assert directory.get("IMP-OK") is None
    assert directory.get("IMP-IDA").left_on is None


def test_an_import_sets_vacation_allowances_and_a_file_without_the_column_keeps_them(sent, directory):
    # Given IMP-1 with 25 vacation days a year
    directory.put(Employee(user_id="IMP-1", name="Anna Berg", vacation_days_per_year=25))
    # When a file gives her 28, and IMP-2 none, the dry run names the change as numbers
    file = "userId,name,vacationDaysPerYear\r\nIMP-1,Anna Berg,28\r\nIMP-2,Ben Ode,\r\n"
    checked = sent(file, dryRun="true").body
    assert checked["changes"] == [
        {"userId": "IMP-1", "fields": {"vacationDaysPerYear": {"before": 25, "after": 28}}}
    ]
    # And imported, the directory has them
    assert sent(file).status == 200
    assert (directory.get("IMP-1").vacation_days_per_year, directory.get("IMP-2").vacation_days_per_year) == (
        28,
        None,
    )
    # And a later file without the column renames her and keeps her allowance
    assert sent("userId,name\r\nIMP-1,Anna Lind\r\n").status == 200
    assert (directory.get("IMP-1").name, directory.get("IMP-1").vacation_days_per_year) == ("Anna Lind", 28)


def test_a_name_is_kept_without_spaces_around_it_so_an_export_imports_back_unchanged(sent, directory):
    # Given an employee saved through the API with spaces around their name and department (pasted)
    saved = call_route(
        employees_app.lambda_handler,
        "PUT",
        "/employees/{userId}",
        ADMIN_KEY,
        body={"name": " Spacey Name ", "department": "Ops "},
        userId="EXP-SP1",
    )
    blank = call_route(
        employees_app.lambda_handler,
        "PUT",
        "/employees/{userId}",
        ADMIN_KEY,
        body={"name": "  "},
        userId="EXP-SP2",
    )
    # Then they are kept without them, and a name of spaces alone is no name
    assert (saved.body["name"], saved.body["department"]) == ("Spacey Name", "Ops")
    assert (blank.status, blank.body["error"]) == (422, "invalid_name")
    # And the directory's file, imported again unedited, changes nothing
    event = http_api_event(
        "GET", "/employees", None, {"authorization": f"Bearer {READ_KEY}"}, {"format": "csv"}
    )
    exported = employees_app.lambda_handler(event, LambdaContext("employees"))["body"]
    reply = sent(exported, dryRun="true")
    assert (reply.body["added"], reply.body["changed"], reply.body["unchanged"]) == (0, 0, 1)


def test_a_file_without_a_department_column_keeps_each_department(sent, directory):
    # Given IMP-1 in Sales
    directory.put(Employee(user_id="IMP-1", name="Anna Berg", department="Sales"))
    # When a payroll system's file with IDs and names alone renames her
    file = "userId,name\r\nIMP-1,Anna Lind\r\n"
    checked = sent(file, dryRun="true").body
    # Then the dry run names the new name only, and the import keeps her department
    assert checked["changes"] == [
        {"userId": "IMP-1", "fields": {"name": {"before": "Anna Berg", "after": "Anna Lind"}}}
    ]
    assert sent(file).status == 200
    assert (directory.get("IMP-1").name, directory.get("IMP-1").department) == ("Anna Lind", "Sales")
    # And a file with the column and an empty cell says none
    assert sent("userId,name,department\r\nIMP-1,Anna Lind,\r\n").status == 200
    assert directory.get("IMP-1").department is None
