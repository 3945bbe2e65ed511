"""Who is in now, end to end: punches posted to the running local stack, then GET /presence."""

import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from typer.testing import CliRunner

from admin_cli.main import app
from tests.e2e.today import past_the_first_minutes_of_today

pytestmark = pytest.mark.e2e


def send(stack, method: str, path: str, body: dict | None = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {stack.api_key}"}
    return httpx.request(method, stack.api_url + path, json=body, headers=headers, timeout=10)


def minutes_ago(minutes: int) -> str:
    return (datetime.now(UTC) - timedelta(minutes=minutes)).replace(microsecond=0).isoformat()


def test_presence_after_posting_punches(stack):
    # Given it is not the first minutes of a day in the stack's zone (UTC), so that all punches are today's
    past_the_first_minutes_of_today(6)
    # And three employees in the directory, two of them on a schedule of every day, all day
    always = {"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "start": "00:00", "end": "23:59"}
    assert send(stack, "PUT", "/employees/PRES-E1", {"name": "Ida In", "department": "Ops"}).status_code in (
        200,
        201,
    )
    put = send(
        stack, "PUT", "/employees/PRES-E2", {"name": "Bo Break", "schedule": always | {"timeZone": "UTC"}}
    )
    assert put.status_code in (200, 201)
    al = {"name": "Al Absent", "schedule": always | {"timeZone": "UTC"}}
    assert send(stack, "PUT", "/employees/PRES-E4", al).status_code in (200, 201)
    # When punches are posted: in, on a break, in and out again, and someone not in the directory
    log_ids = []
    for user, kind, ago in [
        ("PRES-E1", "in", 5),
        ("PRES-E2", "in", 4),
        ("PRES-E2", "break_out", 2),
        ("PRES-E3", "in", 5),
        ("PRES-E3", "out", 1),
        ("PRES-X9", "in", 3),
    ]:
        reply = send(
            stack,
            "POST",
            "/punches",
            {"deviceId": "DEV-PRES", "userId": user, "timestamp": minutes_ago(ago), "type": kind},
        )
        assert reply.status_code == 202, reply.text
        log_ids.append(reply.json()["logId"])
    # Then GET /presence lists each where they are
    reply = send(stack, "GET", "/presence")
    assert reply.status_code == 200
    body = reply.json()
    where = {
        entry["userId"]: (status, entry["name"])
        for status in ("in", "onBreak", "out")
        for entry in body[status]
    }
    assert where["PRES-E1"] == ("in", "Ida In")
    assert where["PRES-E2"] == ("onBreak", "Bo Break")
    assert where["PRES-E3"] == ("out", None)
    assert where["PRES-X9"] == ("in", None)
    assert "PRES-E4" not in where
    # And the counts agree with the lists; the absent (PRES-E4, expected today, among them) are only counted
    assert {status: len(body[status]) for status in ("in", "onBreak", "out")} == {
        status: body["counts"][status] for status in ("in", "onBreak", "out")
    }
    assert body["counts"]["absent"] >= 1
    # And the directory shows the same statuses
    listed = {row["userId"]: row["status"] for row in send(stack, "GET", "/employees").json()["employees"]}
    assert (listed["PRES-E1"], listed["PRES-E2"], listed["PRES-E4"]) == ("in", "on_break", "absent")
    # Finally, wait for the punches to reach the mock CRM, so that no delivery spills into the next test
    give_up = time.monotonic() + 60
    while not set(log_ids) <= {
        p["logId"] for p in httpx.get(stack.crm_url + "/crm/attendance", timeout=5).json()["punches"]
    }:
        assert time.monotonic() < give_up, "the punches did not reach the CRM"
        time.sleep(0.5)


def test_employees_imported_by_the_cli_are_served_by_the_api(stack, tmp_path):
    # Given a spreadsheet export (CSV UTF-8 with a byte-order mark, CRLF)
    path = tmp_path / "staff.csv"
    path.write_bytes("\ufeffuserId,name,department\r\nPRES-C1,Cleo Csv,Finance\r\n".encode())
    environment = {
        "AWS_PORT": stack.aws_url.rsplit(":", 1)[1],
        "API_PORT": stack.api_url.rsplit(":", 1)[1],
    }
    # When the CLI imports it into the local stack
    result = CliRunner().invoke(app, ["--local", "employees", "import", str(path)], env=environment)
    assert result.exit_code == 0, result.output
    # Then the API serves the employee
    reply = send(stack, "GET", "/employees/PRES-C1")
    assert (reply.status_code, reply.json()["name"], reply.json()["department"]) == (
        200,
        "Cleo Csv",
        "Finance",
    )
