"""The `attendance` CLI against the running local stack, through Typer's runner."""

import json
from datetime import datetime, timedelta

import httpx
import pytest

from local_stack.running import wait_for as wait_until

pytestmark = pytest.mark.e2e


def wait_for(condition, limit: float = 90) -> None:
    """Three delivery attempts, 10 s apart, then the DLQ: longer than most waits."""
    wait_until(condition, limit)


def post(stack, body: dict, key: str | None = None) -> httpx.Response:
    return httpx.post(
        stack.api_url + "/punches",
        json=body,
        headers={"Authorization": f"Bearer {key or stack.api_key}"},
        timeout=10,
    )


def test_a_dead_lettered_punch_is_listed_redriven_and_delivered_once(stack, cli):
    # Given the CRM refuses a punch for good (the three-attempt path is tested in test_local_stack)
    refuse = {"failUsers": ["CLI-1"], "status": 422}
    httpx.post(stack.crm_url + "/crm/_behaviour", json=refuse, timeout=5)
    # (an employee of the directory, whom the CRM does not know yet)
    named = httpx.put(
        f"{stack.api_url}/employees/CLI-1",
        json={"name": "Cleo Line"},
        headers={"Authorization": f"Bearer {stack.api_key}"},
        timeout=15,
    )
    assert named.status_code in (200, 201), named.text
    at = (datetime.now() - timedelta(minutes=30)).replace(microsecond=0).isoformat()
    log_id = post(stack, {"deviceId": "DEV001", "userId": "CLI-1", "timestamp": at, "type": "in"}).json()[
        "logId"
    ]
    wait_for(lambda: log_id in cli("--json", "dlq", "list").output)
    # Then `dlq list` shows it with its error, and `dlq show` its history
    [row] = [r for r in json.loads(cli("--json", "dlq", "list").output) if r["logId"] == log_id]
    assert (row["user"], row["name"], row["status"]) == ("CLI-1", "Cleo Line", "failed")
    assert "HTTP 422" in row["lastError"]
    assert row["died"]
    # and the refusal was not retried: the CRM saw it once, as the last attempt. (On a starved machine a
    # first call can time out, a transient failure, so the count of attempts itself may be above one.)
    attempts = json.loads(cli("--json", "logs", "show", log_id).output)["history"]
    assert [entry for entry in attempts if "HTTP 422" in entry["detail"]] == attempts[-1:]
    assert row["attempts"] == len(attempts)
    # and the table, on an 80-column terminal, keeps its logId on one line, to be copied whole
    assert log_id in cli("dlq", "list").output
    shown = cli("dlq", "show", log_id).output
    assert "HTTP 422" in shown
    assert "failed" in shown
    # When the CRM recovers and the punch is redriven
    httpx.post(stack.crm_url + "/crm/_behaviour", json={"failUsers": []}, timeout=5)
    assert cli("dlq", "redrive", log_id).output == "redriven: 1\n"  # piped: no spinner, no blank line
    # Then it reaches the CRM exactly once, and the DLQ no longer holds it
    wait_for(lambda: any(p["logId"] == log_id for p in stack.crm_held()["punches"]))
    [held] = [p for p in stack.crm_held()["punches"] if p["logId"] == log_id]
    assert held["deliveries"] == 1
    assert log_id not in cli("--json", "dlq", "list").output
    record = json.loads(cli("--json", "logs", "show", log_id).output)
    assert record["status"] == "synced"
    assert [entry["status"] for entry in record["history"]][-2:] == ["pending", "synced"]
    # (in camelCase, as every --json output: the record's keys and its punch's)
    assert (record["punch"]["logId"], record["lastError"] is not None) == (log_id, True)
    # and shown to people, a delivered punch's earlier error is history, not its last error
    shown = {
        line.split(maxsplit=1)[0]: line for line in cli("logs", "show", log_id).output.splitlines() if line
    }
    assert shown["lastError"].split() == ["lastError"]


def refused_punch(stack, cli, user: str, minutes_ago: int) -> str:
    """A punch the CRM refuses for good, once it is in the DLQ."""
    httpx.post(stack.crm_url + "/crm/_behaviour", json={"failUsers": [user], "status": 422}, timeout=5)
    at = (datetime.now() - timedelta(minutes=minutes_ago)).replace(microsecond=0).isoformat()
    log_id = post(stack, {"deviceId": "DEV001", "userId": user, "timestamp": at, "type": "out"}).json()[
        "logId"
    ]
    wait_for(lambda: log_id in cli("--json", "dlq", "list").output)
    return log_id


def test_one_punch_is_abandoned_then_the_rest_purged(stack, cli):
    # Given two punches in the DLQ, one of a badge nobody holds
    stray, other = refused_punch(stack, cli, "CLI-2", 40), refused_punch(stack, cli, "CLI-3", 41)
    # When an admin abandons that one, and a logId the DLQ does not hold
    abandoned = cli("dlq", "abandon", stray, "NO-SUCH-LOG", expect=1)
    # Then it is out of the DLQ, kept as abandoned with who did it, and the unknown one is named
    assert abandoned.output == "abandoned: 1; not in the DLQ: NO-SUCH-LOG\n"
    record = json.loads(cli("--json", "logs", "show", stray).output)
    assert record["status"] == "abandoned"
    assert record["history"][-1]["detail"].startswith("abandoned by an admin (cli")
    listed = [row["logId"] for row in json.loads(cli("--json", "dlq", "list").output)]
    assert other in listed
    assert stray not in listed
    # When the rest is purged (not without --yes), then the other one is abandoned too, and the DLQ is empty
    cli("dlq", "purge", expect=2)
    assert other in json.loads(cli("--json", "dlq", "purge", "--yes").output)["abandoned"]
    assert json.loads(cli("--json", "logs", "show", other).output)["status"] == "abandoned"
    assert cli("dlq", "list").output.strip() == "The dead-letter queue is empty."
    stats = json.loads(cli("--json", "logs", "stats").output)
    assert stats["counts"]["abandoned"] >= 2


def test_a_delivered_punch_is_voided_out_of_the_crm_and_the_reports(stack, cli):
    # Given a punch the CRM took
    at = (datetime.now() - timedelta(minutes=42)).replace(microsecond=0)
    body = {"deviceId": "DEV001", "userId": "CLI-VOID", "timestamp": at.isoformat(), "type": "in"}
    log_id = post(stack, body).json()["logId"]
    wait_for(lambda: json.loads(cli("--json", "logs", "show", log_id).output)["status"] == "synced")
    assert "CLI-VOID" in cli("--json", "report", "daily", "--date", at.date().isoformat()).output
    # and an admin finds its logId among the punches of that employee's work day
    day = ("report", "workday", "CLI-VOID", "--date", at.date().isoformat())
    (listed,) = json.loads(cli("--json", *day).output)
    assert (listed["logId"], listed["syncStatus"], listed["type"]) == (log_id, "synced", "in")
    assert log_id in cli(*day).output.replace("\n", "")  # the table keeps an ID whole, to be copied
    # When an admin voids it (a reason is required)
    cli("logs", "void", log_id, "--reason", "  ", expect=2)
    voiding = cli("logs", "void", log_id, "--reason", "a test punch")
    # Then it is voided, out of the CRM, with the reason in its history
    said = " ".join(voiding.output.split())  # rich wraps it at the terminal's width
    assert said == f"voiding {log_id} (was synced): the worker removes it from the CRM"
    wait_for(lambda: json.loads(cli("--json", "logs", "show", log_id).output)["status"] == "voided")
    assert all(p["logId"] != log_id for p in stack.crm_held()["punches"])
    details = [
        entry["detail"] for entry in json.loads(cli("--json", "logs", "show", log_id).output)["history"]
    ]
    assert any(
        detail.startswith("voided by an admin (cli") and detail.endswith(": a test punch")
        for detail in details
    )
    # and the day's report, which had it, no longer does, nor do the punches of the work day
    assert "CLI-VOID" not in cli("--json", "report", "daily", "--date", at.date().isoformat()).output
    assert cli(*day).output.strip() == "No punches count for that day."
    # and voiding it again, or a punch that does not exist, is refused
    assert "voided already" in cli("logs", "void", log_id, "--reason", "again", expect=2).output
    cli("logs", "void", "NO-SUCH-LOG", "--reason", "x", expect=1)


def test_a_punch_of_the_wrong_type_is_corrected_in_one_step(stack, cli):
    # Given a check-out the clock recorded as a check-in, delivered
    at = (datetime.now() - timedelta(minutes=37)).replace(microsecond=0)
    body = {"deviceId": "DEV001", "userId": "CLI-FIX", "timestamp": at.isoformat(), "type": "in"}
    log_id = post(stack, body).json()["logId"]
    wait_for(lambda: json.loads(cli("--json", "logs", "show", log_id).output)["status"] == "synced")
    # When an admin corrects it to what it should have been (its own type is refused)
    assert "of type in already" in cli(
        "logs", "void", log_id, "--reason", "x", "--corrected-type", "in", expect=2
    ).output.replace("\n", " ")
    cli("logs", "void", log_id, "--reason", "x", "--corrected-type", "sideways", expect=2)
    said = " ".join(cli("logs", "void", log_id, "--reason", "left", "--corrected-type", "out").output.split())
    # Then the worker voids it and adds the check-out in its place, and the work day counts that instead
    assert (
        said
        == f"voiding {log_id} (was synced): the worker removes it from the CRM, then adds it again as out"
    )
    day = ("--json", "report", "workday", "CLI-FIX", "--date", at.date().isoformat())

    def corrected() -> list[tuple[str, str, str]]:
        return [(p["type"], p["source"], p["syncStatus"]) for p in json.loads(cli(*day).output)]

    wait_for(lambda: corrected() == [("out", "manual", "synced")])
    assert json.loads(cli("--json", "logs", "show", log_id).output)["status"] == "voided"
    held = [(p["body"]["userId"], p["body"]["type"]) for p in stack.crm_held()["punches"]]
    assert [punch for punch in held if punch[0] == "CLI-FIX"] == [("CLI-FIX", "out")]
    # and the voids list it, with who, why and what it became
    (listed,) = [v for v in json.loads(cli("--json", "logs", "voids").output) if v["logId"] == log_id]
    assert (listed["reason"], listed["correctedType"], listed["syncStatus"]) == ("left", "out", "voided")
    assert listed["voidedBy"].startswith("cli")
    assert "Voided punches" in cli("logs", "voids", "--limit", "5").output
    # and correcting the check-out back to a check-in is refused: that check-in is the voided punch
    ((added,),) = [json.loads(cli(*day).output)]
    back = cli("logs", "void", added["logId"], "--reason", "x", "--corrected-type", "in", expect=2)
    assert "stored before" in " ".join(back.output.split())
    assert json.loads(cli("--json", "logs", "show", added["logId"]).output)["status"] == "synced"


def test_keys_devices_schedules_and_reports(stack, cli):
    created = json.loads(cli("--json", "keys", "create", "--name", "door", "--devices", "D1").output)
    assert post(
        stack,
        {"deviceId": "D1", "userId": "K1", "timestamp": "2025-02-10T09:00:00", "type": "in"},
        key=created["key"],
    ).status_code in (202, 422)  # allowed for D1 (the date may be too old to take)
    assert (
        post(
            stack,
            {"deviceId": "D2", "userId": "K1", "timestamp": "2025-02-10T09:00:00", "type": "in"},
            key=created["key"],
        ).status_code
        == 403
    )
    assert created["devices"] == ["D1"]
    listed = {key["keyId"]: key for key in json.loads(cli("--json", "keys", "list").output)}
    assert (listed[created["keyId"]]["devices"], listed[created["keyId"]]["rateLimit"]) == (["D1"], None)
    open_key = json.loads(cli("--json", "keys", "create", "--name", "any door", "--rate-limit", "0").output)
    assert (open_key["devices"], open_key["rateLimit"]) == (None, 0)  # any device, no limit: one type a field
    cli("keys", "revoke", created["keyId"])
    assert (
        post(
            stack,
            {"deviceId": "D1", "userId": "K2", "timestamp": "2025-02-10T10:00:00", "type": "in"},
            key=created["key"],
        ).status_code
        == 401
    )
    # a revoked key's limit cannot change: it sends nothing, and a limit set now would read as working
    assert json.loads(
        cli("--json", "keys", "set-rate-limit", created["keyId"], "--rate-limit", "5", expect=2).output
    ) == {
        "error": "key_revoked",
        "message": f"{created['keyId']} is revoked: it sends nothing, so a limit would change nothing",
    }
    relisted = {key["keyId"]: key for key in json.loads(cli("--json", "keys", "list").output)}
    assert relisted[created["keyId"]]["rateLimit"] is None
    assert json.loads(cli("--json", "keys", "set-rate-limit", open_key["keyId"], "--rate-limit", "5").output)[
        "changed"
    ]
    cli("keys", "revoke", "key_nope", expect=1)
    assert json.loads(cli("--json", "keys", "revoke", "key_nope", expect=1).output) == {
        "error": "not_found",
        "message": "no key key_nope",
    }
    # a device list that came out empty is refused, never read as "any device"; so is a blank name
    for devices in ("", ",", " , "):
        empty = cli("keys", "create", "--name", "door", "--devices", devices, expect=2)
        assert "give at least one device ID" in " ".join(empty.output.split())
    assert "(no spaces)" in cli("keys", "create", "--name", "door", "--devices", "DEV 1", expect=2).output
    cli("keys", "create", "--name", "  ", expect=2)

    hik = json.loads(
        cli("--json", "devices", "add", "--id", "HIK9", "--kind", "hikvision", "--zone", "UTC").output
    )
    assert hik["pushUrl"].startswith(stack.api_url + "/hikvision/events/")
    event = {"eventType": "heartBeat"}
    assert httpx.post(hik["pushUrl"], json=event, timeout=5).status_code == 200
    replaced = json.loads(cli("--json", "devices", "new-push-url", "HIK9").output)
    assert httpx.post(hik["pushUrl"], json=event, timeout=5).status_code == 403  # the old URL, leaked say
    assert httpx.post(replaced["pushUrl"], json=event, timeout=5).status_code == 200
    cli("devices", "add", "--id", "ZK9", "--kind", "zkteco", "--serial", "ZK9SN", "--zone", "Europe/Berlin")
    cli("devices", "add", "--id", "ZK8", "--kind", "zkteco", "--zone", "UTC", expect=2)  # no serial
    taken = cli(
        "devices", "add", "--id", "ZK7", "--kind", "zkteco", "--serial", "ZK9SN", "--zone", "UTC", expect=2
    )
    assert "serial ZK9SN is registered to device ZK9" in taken.output
    cli("devices", "new-push-url", "ZK9", expect=2)  # a ZKTeco clock has no push URL
    assert "ZK9SN" in cli("--json", "devices", "list").output
    cli("devices", "disable", "HIK9")
    assert httpx.post(replaced["pushUrl"], json=event, timeout=5).status_code == 403
    cli("devices", "disable", "NOPE", expect=1)
    # a device is removed once disabled; its serial is then free for another clock
    assert "disable it first" in cli("devices", "remove", "ZK9", expect=2).output
    cli("devices", "disable", "ZK9")
    removed = json.loads(cli("--json", "devices", "remove", "ZK9").output)
    assert (removed["removed"], removed["commandsRemoved"]) == (True, 0)
    assert "ZK9SN" not in cli("--json", "devices", "list").output
    cli("devices", "add", "--id", "ZK7", "--kind", "zkteco", "--serial", "ZK9SN", "--zone", "UTC")
    cli("devices", "remove", "ZK9", expect=1)

    cli(
        "schedules",
        "set",
        "--default",
        "--days",
        "mon-fri",
        "--start",
        "09:00",
        "--end",
        "17:00",
        "--zone",
        "UTC",
    )
    cli("schedules", "set", "NIGHTS", "--days", "mon,tue,wed", "--start", "22:00", "--end", "06:00")
    cli("schedules", "set", "--days", "someday", "X", expect=2)
    same = cli("schedules", "set", "X", "--days", "mon", "--start", "08:00", "--end", "08:00", expect=2)
    assert "start and end are both 08:00" in same.output
    listed = json.loads(cli("--json", "schedules", "list").output)
    assert {row["user"] for row in listed} >= {"(default)", "NIGHTS"}

    day = (datetime.now() - timedelta(days=1)).date()
    for at, kind in (("08:50:00", "in"), ("17:10:00", "out")):
        post(stack, {"deviceId": "DEV001", "userId": "REPORTED", "timestamp": f"{day}T{at}", "type": kind})
    cli("employees", "set", "REPORTED", "--name", "Rita Reported", "--department", "Audit")
    rows = json.loads(cli("--json", "report", "daily", "--date", str(day)).output)["rows"]
    assert [(row["name"], row["workedMinutes"]) for row in rows if row["userId"] == "REPORTED"] == [
        ("Rita Reported", 500)
    ]
    csv_text = cli("report", "daily", "--date", str(day), "--csv").output
    assert csv_text.splitlines()[0].startswith("\ufeffdate,userId,name,firstIn")  # with the byte-order mark
    # and someone whose schedule expected them that day, who did not come, is named under the table
    every_day = ("--days", "mon-sun", "--start", "00:00", "--end", "00:01", "--zone", "UTC")
    every_day += ("--schedule-from", str(day - timedelta(days=6)))  # the days below are its
    cli("employees", "set", "NOSHOW", "--name", "Nora Noshow", "--department", "Audit", *every_day)
    shown = cli("report", "daily", "--date", str(day), "--department", "audit").output
    assert "Absent: Nora Noshow (NOSHOW)" in shown
    # and with --json as the API answers it: the rows, and who was absent and on leave
    body = json.loads(cli("--json", "report", "daily", "--date", str(day), "--department", "audit").output)
    assert ([row["userId"] for row in body["absent"]], body["onLeave"]) == (["NOSHOW"], [])
    assert (body["department"], body["count"], body["rows"][0]["userId"]) == ("audit", 1, "REPORTED")
    assert "Nora Noshow" not in cli("report", "daily", "--date", str(day), "--csv").output
    # and the same day is in the employee's timesheet and in the pay period's line for them
    days = ("--from", str(day - timedelta(days=6)), "--to", str(day))
    sheet = json.loads(cli("--json", "report", "timesheet", "REPORTED", *days).output)
    assert [(row["date"], row["workedMinutes"]) for row in sheet] == [(str(day), 500)]
    period = json.loads(cli("--json", "report", "period", *days).output)
    assert [
        (row["name"], row["workDays"], row["workedMinutes"]) for row in period if row["userId"] == "REPORTED"
    ] == [("Rita Reported", 1, 500)]
    assert cli("report", "period", *days, "--csv").output.startswith(
        "\ufeffuserId,name,department,from,to,workDays,"
    )
    audit = json.loads(cli("--json", "report", "period", *days, "--department", "audit").output)
    assert [(row["userId"], row["department"]) for row in audit] == [
        ("NOSHOW", "Audit"),
        ("REPORTED", "Audit"),
    ]
    assert audit[0]["absentDays"][-1] == str(day)
    nobody = json.loads(cli("--json", "report", "daily", "--date", str(day), "--department", "Nobody").output)
    assert (nobody["rows"], nobody["absent"], nobody["count"]) == ([], [], 0)
    too_long = cli("report", "period", "--from", "2026-01-01", "--to", "2026-03-01", expect=2).output
    assert "a pay period covers at most 31 days" in too_long
    stats = json.loads(cli("--json", "logs", "stats", "--date", str(day)).output)
    assert sum(stats["counts"].values()) >= 2
    assert stats["date"] == str(day)
    # And a day that is not one is a usage error naming it, for both commands that take --date
    for command in (("logs", "stats"), ("report", "daily")):
        refused = cli(*command, "--date", "2026-13-01", expect=2)
        assert "'2026-13-01' is not a date: give YYYY-MM-DD" in refused.output

    # And schedules are removed as they were set (the default too: other tests on this stack count calendar
    # days); one that is not there is exit 1, naming it
    cli("schedules", "remove", "NIGHTS")
    cli("schedules", "remove", "--default")
    assert {row["user"] for row in json.loads(cli("--json", "schedules", "list").output)}.isdisjoint(
        {"(default)", "NIGHTS"}
    )
    assert "no schedule of NIGHTS" in cli("schedules", "remove", "NIGHTS", expect=1).output
    cli("schedules", "remove", expect=2)  # neither a userId nor --default


def test_no_stack_is_exit_code_3(tmp_path):
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "admin_cli.main", "--local", "dlq", "list"],
        env={"AWS_PORT": "1", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 3
    assert "make run" in result.stderr
