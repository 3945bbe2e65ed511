"""Queue a command over HTTP, the clock fetches it on getrequest, and its result is recorded."""

import logging
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import boto3
import pytest

from attendance.commands import service as commands_service
from attendance.data.commands import CommandStore
from attendance.domain.devices import Device, DeviceKind
from attendance.domain.employees import Employee
from edge_poller.simulator import decode_time
from tests.integration.device_commands.conftest import (
    INGEST_KEY,
    READ_KEY,
    SERIAL,
    adms,
    api,
    history,
    queue_reboot,
)


def poll(serial: str = SERIAL) -> list[str]:
    status, text = adms("GET", "/iclock/getrequest", serial)
    assert status == 200
    return [] if text == "OK" else text.splitlines()


def test_a_command_is_delivered_once_and_its_result_recorded(clock, anna, queue):
    # Given an admin puts Anna on the clock without naming her (the directory knows her)
    queued = queue(kind="put_employee", userId="1001")
    assert queued["status"] == "pending"
    assert queued["commandId"].isdigit()
    # When the clock polls twice
    first, second = poll(), poll()
    # Then the first poll carries the command, the second nothing
    assert first == [f"C:{queued['commandId']}:DATA UPDATE USERINFO PIN=1001\tName=Anna Berg\tPri=0"]
    assert second == []
    [sent] = history()
    assert (sent["status"], sent["sentAt"] is not None, sent["returnCode"]) == ("sent", True, None)
    # When the clock reports success
    reply = adms("POST", "/iclock/devicecmd", body=f"ID={queued['commandId']}&Return=0&CMD=DATA\n".encode())
    # Then it is acknowledged and the command is done
    assert reply == (200, "OK")
    [done] = history()
    assert (done["status"], done["returnCode"], done["queuedBy"]) == ("done", 0, queued["queuedBy"])
    assert done["finishedAt"] is not None


def test_several_commands_in_one_poll_and_a_failure_keeps_its_code(clock, queue):
    # Given three commands for the clock
    remove = queue(kind="remove_employee", userId="1002")
    reboot = queue(kind="reboot")
    rename = queue(kind="put_employee", userId="1003", name="Ben\tOtto")
    # When the clock polls once
    lines = poll()
    # Then it gets all three, oldest first, each as ADMS text (a tab in a name cannot split a field)
    assert lines == [
        f"C:{remove['commandId']}:DATA DELETE USERINFO PIN=1002",
        f"C:{reboot['commandId']}:REBOOT",
        f"C:{rename['commandId']}:DATA UPDATE USERINFO PIN=1003\tName=Ben Otto\tPri=0",
    ]
    # When it answers two in one body, one of them with an error
    body = (
        f"ID={remove['commandId']}&Return=-1003&CMD=DATA\r\nID={reboot['commandId']}&Return=0&CMD=REBOOT\r\n"
    )
    assert adms("POST", "/iclock/devicecmd", body=body.encode()) == (200, "OK")
    # Then each is recorded, the failure with the device's code; the third still waits for its result
    statuses = {c["commandId"]: (c["status"], c["returnCode"]) for c in history()}
    assert statuses == {
        remove["commandId"]: ("failed", -1003),
        reboot["commandId"]: ("done", 0),
        rename["commandId"]: ("sent", None),
    }


def test_history_is_newest_first(clock, queue):
    ids = [queue(kind="reboot")["commandId"] for _ in range(3)]
    assert [c["commandId"] for c in history()] == ids[::-1]


def test_two_polls_racing_hand_a_command_out_once(clock, queue, environment):
    # Given a pending command, read by two polls at once before either took it
    queue(kind="reboot")
    store = CommandStore(boto3.client("dynamodb"), environment["COMMANDS_TABLE"])
    now = datetime.now(UTC)
    [seen_by_first] = store.deliverable("GATE-1", now)
    [seen_by_second] = store.deliverable("GATE-1", now)
    # When both try to take it, then only one succeeds
    assert store.mark_sent(seen_by_first, "REBOOT", now) is True
    assert store.mark_sent(seen_by_second, "REBOOT", now) is False


def test_a_command_never_fetched_expires(clock, environment):
    # Given a command queued two days ago with a one-day expiry, which the clock never fetched
    queue_reboot(
        environment["COMMANDS_TABLE"], "GATE-1", datetime.now(UTC) - timedelta(days=2), timedelta(days=1)
    )
    # When the clock polls now, then it gets nothing, and the list shows the command expired
    assert poll() == []
    [expired] = history()
    assert (expired["commandId"], expired["status"], expired["sentAt"]) == ("123456789", "expired", None)


def test_expiry_is_settable_per_command(clock, queue):
    queued = queue(kind="reboot", expiresInMinutes=5)
    created, expires = (datetime.fromisoformat(queued[name]) for name in ("createdAt", "expiresAt"))
    assert expires - created == timedelta(minutes=5)
    default = queue(kind="reboot")
    assert datetime.fromisoformat(default["expiresAt"]) - datetime.fromisoformat(default["createdAt"]) == (
        timedelta(days=1)
    )


def test_unknown_and_disabled_serials_get_no_command_and_change_nothing(clock, devices, queue):
    # Given a pending command for the clock, and a disabled clock with one too
    queue(kind="reboot")
    devices.put(Device(device_id="OLD-GATE", serial="OLD1", time_zone="UTC"))
    queue("OLD-GATE", kind="reboot")
    devices.put(Device(device_id="OLD-GATE", serial="OLD1", time_zone="UTC", enabled=False))
    # When an unregistered serial and the disabled clock poll and post results, they are refused as on
    # every ADMS route (the serial is the credential)
    refused = (403, "ERROR: unknown device")
    assert adms("GET", "/iclock/getrequest", "NOT-REGISTERED") == refused
    assert adms("GET", "/iclock/getrequest", "OLD1") == (403, "ERROR: disabled device")
    assert adms("POST", "/iclock/devicecmd", "NOT-REGISTERED", b"ID=1&Return=0&CMD=REBOOT") == refused
    # Then every command is still pending
    assert [c["status"] for c in history() + history("OLD-GATE")] == ["pending", "pending"]


def test_a_result_for_an_unknown_command_is_acknowledged(clock, queue):
    # Given a queued command the clock took
    queued = queue(kind="reboot")
    poll()
    # When the clock reports on an ID we never issued, and sends a line that is no result at all
    body = b"ID=999&Return=0&CMD=INFO\nnot a result\nID=&Return=x\n"
    # Then it is acknowledged, and our command is untouched
    assert adms("POST", "/iclock/devicecmd", body=body) == (200, "OK")
    [command] = history()
    assert (command["commandId"], command["status"]) == (queued["commandId"], "sent")


def test_resend_log_asks_for_the_range_on_the_clocks_own_time(clock, queue):
    # Given a clock in Berlin (UTC+1 in February)
    queued = queue(kind="resend_log", **{"from": "2025-02-10T08:00:00Z", "to": "2025-02-10T17:30:00"})
    # Then the offset time is turned into the clock's time and the naive one is taken as is
    assert queued["command"] == "DATA QUERY ATTLOG StartTime=2025-02-10 09:00:00\tEndTime=2025-02-10 17:30:00"
    assert poll() == [f"C:{queued['commandId']}:{queued['command']}"]


def test_set_clock_carries_the_clocks_time_when_fetched(clock, queue):
    queued = queue(kind="set_clock")
    [line] = poll()
    prefix = f"C:{queued['commandId']}:SET OPTIONS DateTime="
    assert line.startswith(prefix)
    sent = decode_time(int(line.removeprefix(prefix)))
    berlin_now = datetime.now(ZoneInfo("Europe/Berlin")).replace(tzinfo=None)
    assert abs((sent - berlin_now).total_seconds()) < 5
    [recorded] = history()
    assert recorded["command"] == line.split(":", 2)[2]  # the line as sent is what is recorded


def test_push_queues_the_employee_on_every_enabled_zkteco_clock_of_the_site(clock, devices, anna):
    # Given the site has another ZKTeco clock, a Hikvision terminal and a disabled clock; another site a clock
    devices.put(Device(device_id="GATE-2", serial="CMD0002", time_zone="Europe/Berlin", site="berlin-hq"))
    devices.put(Device(device_id="HIK-1", kind=DeviceKind.HIKVISION, time_zone="UTC", site="berlin-hq"))
    devices.put(Device(device_id="GATE-9", serial="CMD0009", site="berlin-hq", enabled=False))
    devices.put(Device(device_id="PARIS-1", serial="CMD0010", site="paris"))
    # When an admin pushes Anna to the site
    status, body = api("POST", "/employees/1001/push", query={"site": "berlin-hq"})
    # Then both enabled ZKTeco clocks of the site get her, by her directory name
    assert status == 201
    assert (body["userId"], body["site"], body["count"]) == ("1001", "berlin-hq", 2)
    assert sorted(c["deviceId"] for c in body["commands"]) == ["GATE-1", "GATE-2"]
    assert {c["command"] for c in body["commands"]} == {
        "DATA UPDATE USERINFO PIN=1001\tName=Anna Berg\tPri=0"
    }
    assert history("PARIS-1") == []


def test_push_of_an_employee_not_in_the_directory_is_404(clock):
    status, body = api("POST", "/employees/404404/push", query={"site": "berlin-hq"})
    assert (status, body["error"]) == (404, "not_found")
    assert history() == []


def test_someone_who_left_is_not_put_on_clocks_but_can_be_taken_off(clock, employees):
    # Given Ben, whose last working day was yesterday, and Cleo, whose last day is today
    today = datetime.now(UTC).date()  # the stack's DefaultTimeZone is UTC
    employees.put(Employee(user_id="1002", name="Ben Left", left_on=today - timedelta(days=1)))
    employees.put(Employee(user_id="1003", name="Cleo Leaving", left_on=today))
    # When an admin pushes Ben to the site, or queues him by his directory name
    pushed = api("POST", "/employees/1002/push", query={"site": "berlin-hq"})
    queued = api("POST", "/devices/GATE-1/commands", {"kind": "put_employee", "userId": "1002"})
    # Then both are refused with his last day, and nothing is queued
    for status, body in (pushed, queued):
        assert (status, body["error"]) == (409, "employee_left")
        assert f"last working day {today - timedelta(days=1)}" in body["message"]
    assert history() == []
    # And Cleo still works today: she is pushed; Ben can be taken off the clocks
    assert api("POST", "/employees/1003/push", query={"site": "berlin-hq"})[0] == 201
    assert api("POST", "/devices/GATE-1/commands", {"kind": "remove_employee", "userId": "1002"})[0] == 201


def test_scopes(clock):
    command = {"kind": "reboot"}
    # Reading needs read or admin; queuing needs admin
    assert api("GET", "/devices/GATE-1/commands", key=READ_KEY)[0] == 200
    assert api("POST", "/devices/GATE-1/commands", command, key=READ_KEY)[0] == 403
    assert api("POST", "/employees/1001/push", key=READ_KEY, query={"site": "x"})[0] == 403
    assert api("GET", "/devices/GATE-1/commands", key=INGEST_KEY)[0] == 403
    assert api("GET", "/devices/GATE-1/commands", key=None)[0] == 401
    assert api("POST", "/devices/GATE-1/commands", command, key="guessed")[0] == 401
    assert history() == []


def test_a_command_for_a_disabled_clock_is_refused_and_nothing_is_queued(environment, devices):
    # Given a clock disabled (taken down, or refused for a while)
    devices.put(Device(device_id="OLD-GATE2", serial="OLD2", time_zone="UTC", enabled=False))
    # When an admin queues a command for it
    status, body = api("POST", "/devices/OLD-GATE2/commands", {"kind": "reboot"})
    # Then it is a 409 saying why (ADMS answers a disabled serial no command), and nothing waits for it
    assert (status, body["error"]) == (409, "device_disabled")
    assert history("OLD-GATE2") == []


def test_unknown_device_is_404_and_hikvision_422(environment, devices):
    devices.put(Device(device_id="HIK-1", kind=DeviceKind.HIKVISION, time_zone="UTC"))
    assert api("POST", "/devices/NOPE/commands", {"kind": "reboot"})[0] == 404
    assert api("GET", "/devices/NOPE/commands")[0] == 404
    status, body = api("POST", "/devices/HIK-1/commands", {"kind": "reboot"})
    assert (status, body["error"]) == (422, "not_adms")


def test_put_employee_without_a_name_needs_the_directory(clock):
    status, body = api("POST", "/devices/GATE-1/commands", {"kind": "put_employee", "userId": "NOBODY"})
    assert (status, body["error"]) == (404, "not_found")


@pytest.mark.parametrize(
    ("span", "error"),
    [
        ({"from": "2025-02-10T17:00:00", "to": "2025-02-10T08:00:00"}, "invalid_range"),
        ({"from": "2025-02-30T08:00:00", "to": "2025-03-01T08:00:00"}, "invalid_timestamp"),
    ],
)
def test_a_resend_range_that_cannot_be_taken_is_422(clock, span, error):
    status, body = api("POST", "/devices/GATE-1/commands", {"kind": "resend_log", **span})
    assert (status, body["error"]) == (422, error)
    assert history() == []


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"kind": "format_disk"},
        {"kind": "resend_log", "from": "2025-02-10T08:00:00"},
        {"kind": "put_employee"},
        {"kind": "put_employee", "userId": "has space"},
        {"kind": "put_employee", "userId": "1001", "name": ""},
        {"kind": "reboot", "expiresInMinutes": True},
        {"kind": "reboot", "expiresInMinutes": 0},
        {"kind": "reboot", "expiresInMinutes": "60"},
        {"kind": "resend_log", "from": "yesterday", "to": "2025-02-10T08:00:00"},
        "not json",
    ],
)
def test_a_body_outside_the_tagged_union_is_400(clock, body):
    status, reply = api("POST", "/devices/GATE-1/commands", body)
    assert status == 400
    assert reply["error"] in ("invalid_request", "invalid_json")
    assert history() == []


def test_other_methods_are_405(clock):
    status, body = api("DELETE", "/devices/GATE-1/commands")
    assert (status, body["error"]) == (405, "method_not_allowed")


def test_a_poll_without_any_serial_is_refused_as_on_every_adms_route(clock):
    assert adms("GET", "/iclock/getrequest", serial="") == (403, "ERROR: unknown device")


def test_an_id_sent_percent_encoded_is_read_decoded(devices):
    # Given a clock whose ID holds a `+`, which clients send as %2B
    devices.put(Device(device_id="HALL+1", serial="PLUS1", time_zone="UTC"))
    # When an admin queues and lists with the encoded path, then the clock is found
    assert api("POST", "/devices/HALL%2B1/commands", {"kind": "reboot"})[0] == 201
    [queued] = history("HALL%2B1")
    assert queued["deviceId"] == "HALL+1"


def test_a_command_that_is_not_json_is_415(clock):
    status, body = api(
        "POST", "/devices/GATE-1/commands", '{"kind": "reboot"}', content_type="multipart/form-data"
    )
    assert (status, body["error"]) == (415, "unsupported_media_type")
    assert history() == []


@pytest.fixture
def service_log():
    """What the command service logs (its own logger: the function's is named after the service that
    happened to import it first in this process)."""
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append
    service_logger = logging.getLogger(commands_service.logger.name)
    service_logger.addHandler(handler)
    yield records
    service_logger.removeHandler(handler)


def test_every_queued_command_is_logged_with_the_callers_key(clock, queue, service_log):
    queued = queue(kind="reboot")
    [entry] = [record for record in service_log if record.getMessage() == "command queued"]
    assert (entry.key_id, entry.commandId, entry.device) == (
        queued["queuedBy"],
        queued["commandId"],
        "GATE-1",
    )
    assert queued["queuedBy"].startswith("key_")
