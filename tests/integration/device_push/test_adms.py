"""ZKTeco ADMS push: real-format bodies through the HTTP layer."""

import importlib
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import boto3
import pytest

from attendance.data.punch_intake import StoreOutcome
from attendance.domain.devices import Device, DeviceKind
from functions.device_push import app as push_app
from tests.integration.device_push.conftest import call
from tests.punches import claim_without_storing, store_punch, utc_punch

SN = "CQZ7224460246"
# As devices send it: tab-separated, CRLF, trailing tabs for the reserved fields
ATTLOG = (
    b"1001\t2025-02-10 08:59:12\t0\t1\t\t0\t0\r\n"
    b"1002\t2025-02-10 09:03:40\t0\t15\t\t0\t0\r\n"
    b"1001\t2025-02-10 12:00:05\t2\t1\t\t0\t0\r\n"
    b"1001\t2025-02-10 17:31:00\t1\t1\t\t0\t0\r\n"
)


def upload(body: bytes, table: str = "ATTLOG", serial: str = SN):
    return call("POST", "/iclock/cdata", body, {"SN": serial, "table": table, "Stamp": "9999"})


def test_handshake_sends_the_devices_time_zone_and_a_correct_date(zk_device):
    reply = call(
        "GET", "/iclock/cdata", None, {"SN": SN, "options": "all", "pushver": "2.4.0", "language": "69"}
    )
    assert reply.status == 200
    assert reply.headers["Content-Type"].startswith("text/plain")
    lines = reply.text.splitlines()
    assert lines[0] == f"GET OPTION FROM: {SN}"
    expected_offset = (
        datetime.now(UTC).astimezone(__import__("zoneinfo").ZoneInfo("Europe/Berlin")).utcoffset()
    )
    assert f"TimeZone={int(expected_offset.total_seconds() // 3600)}" in lines
    assert "Realtime=1" in lines
    assert any(line.startswith("TransFlag=") and "AttLog" in line for line in lines)
    sent = parsedate_to_datetime(reply.headers["Date"])
    assert abs((sent - datetime.now(UTC)).total_seconds()) < 5


@pytest.mark.parametrize(("zone", "hours"), [("+05:30", "5.5"), ("-03:30", "-3.5"), ("+04:00", "4")])
def test_handshake_sends_a_fixed_offset_zone_in_hours(registry, zone, hours):
    # Given a clock registered with a fixed-offset zone
    registry.put(Device(device_id="FIXED", serial="FIXED1", time_zone=zone))
    # When it asks for its options
    reply = call("GET", "/iclock/cdata", None, {"SN": "FIXED1", "options": "all"})
    # Then TimeZone is that offset in hours, so the device does not shift its clock
    assert reply.status == 200
    assert f"TimeZone={hours}" in reply.text.splitlines()


def test_a_clock_registered_without_a_zone_is_set_to_the_companys(use_function_env, registry, stored):
    # Given a company in Tokyo, and a clock registered without a zone of its own
    use_function_env("DevicePushFunction", MAX_PAST_DAYS="3650", DEFAULT_TIME_ZONE="Asia/Tokyo")
    importlib.reload(push_app)
    registry.put(Device(device_id="TOKYO-GATE", kind=DeviceKind.ZKTECO, serial="JP0001"))
    # When it asks for its options
    reply = call("GET", "/iclock/cdata", None, {"SN": "JP0001", "options": "all"})
    # Then it is told the company's offset (+9), the zone its naive times are read in, not UTC's 0, which
    # would set its clock 9 h back
    assert "TimeZone=9" in reply.text.splitlines()
    # And a check-in at 08:30 on its clock is stored at 23:30 UTC the day before
    assert upload(b"1001\t2025-02-10 08:30:00\t0\t1\t\t0\t0\r\n", serial="JP0001").text == "OK: 1"
    [punch] = stored()
    assert (punch["punchTime"], punch["localTime"]) == ("2025-02-09T23:30:00Z", "2025-02-10T08:30:00")


def test_a_fixed_offset_device_gets_correct_utc_through_adms(registry, stored):
    # Given a clock in India registered as +05:30
    registry.put(Device(device_id="PUNE-GATE", serial="IN0001", time_zone="+05:30"))
    # When it handshakes, then uploads a check-in at 08:59:12 on its clock
    assert call("GET", "/iclock/cdata", None, {"SN": "IN0001", "options": "all"}).status == 200
    assert upload(b"1001\t2025-02-10 08:59:12\t0\t1\t\t0\t0\r\n", serial="IN0001").text == "OK: 1"
    # Then the punch is at 03:29:12 UTC, shown as the device's wall clock in its zone
    [punch] = stored()
    assert (punch["punchTime"], punch["localTime"], punch["timeZone"]) == (
        "2025-02-10T03:29:12Z",
        "2025-02-10T08:59:12",
        "+05:30",
    )


def test_attlog_upload_is_stored_like_any_punch_and_acknowledged(zk_device, stored, queued):
    reply = upload(ATTLOG)
    assert (reply.status, reply.text) == (200, "OK: 4")
    punches = stored()
    assert [(p["userId"], p["localTime"], p["type"]) for p in punches] == [
        ("1001", "2025-02-10T08:59:12", "in"),
        ("1002", "2025-02-10T09:03:40", "in"),
        ("1001", "2025-02-10T12:00:05", "break_out"),
        ("1001", "2025-02-10T17:31:00", "out"),
    ]
    assert punches[0]["punchTime"] == "2025-02-10T07:59:12Z"  # Berlin is UTC+1 in February
    assert {p["deviceId"] for p in punches} == {"FRONT-DOOR"}
    assert {p["source"] for p in punches} == {"adms"}
    assert punches[1]["verifyMode"] == "15"
    assert queued() == 4


def test_a_resent_upload_is_acknowledged_and_stored_once(zk_device, stored, queued):
    assert upload(ATTLOG).text == "OK: 4"
    assert upload(ATTLOG).text == "OK: 4"  # the device did not hear our OK and sends again
    assert len(stored()) == 4
    assert queued() == 4


def test_an_upload_near_a_punch_still_being_stored_is_refused_until_it_is(zk_device, stack, stored):
    # Given user 1001's punch 12 s before the upload's first line, claimed by an ingest that died before
    # storing it (its client will send it again)
    earlier = utc_punch("1001", datetime(2025, 2, 10, 7, 59, tzinfo=UTC), device="WEBHOOK")
    claim_without_storing(stack, earlier)
    # When the clock uploads while the claim may still be in flight
    refused = upload(ATTLOG)
    # Then the upload is not acknowledged (the clock sends it again) and its near duplicate is not stored
    assert refused.status == 503
    assert refused.text.startswith("ERROR: ")
    assert "08:59:12" not in {p["localTime"][11:] for p in stored()}
    # And once the earlier punch is stored, the resent upload is acknowledged, that line as its duplicate
    assert store_punch(stack, earlier, window_seconds=60).outcome is StoreOutcome.ACCEPTED
    assert upload(ATTLOG).text == "OK: 4"
    assert sorted(p["punchTime"] for p in stored() if p["userId"] == "1001") == [
        "2025-02-10T07:59:00Z",
        "2025-02-10T11:00:05Z",
        "2025-02-10T16:31:00Z",
    ]


def test_malformed_lines_are_skipped_not_fatal(zk_device, stored):
    body = b"1001\t2025-02-10 08:59:12\t0\t1\t\t0\t0\r\ngarbage\r\n1002\tyesterday\t0\t1\r\n\r\n1003\t2025-02-10 09:00:00\t1\r\n"
    reply = upload(body)
    assert (reply.status, reply.text) == (200, "OK: 4")
    assert [p["userId"] for p in stored()] == ["1001", "1003"]


def test_state_without_meaning_takes_the_devices_default(zk_device, stored):
    upload(b"1001\t2025-02-10 08:59:12\t255\t1\t\t0\t0\r\n")
    assert stored()[0]["type"] == "in"


def test_other_tables_are_acknowledged_and_ignored(zk_device, stored):
    for table in ("OPERLOG", "USERINFO", "ATTPHOTO"):
        reply = upload(b"OPLOG 4\t0\t2025-02-10 08:59:12\t0\t0\t0\t0\r\n", table=table)
        assert (reply.status, reply.text) == (200, "OK")
    assert stored() == []


def test_an_upload_beyond_the_size_limit_is_refused_and_kept_by_the_clock(zk_device, stored):
    # Given a backlog larger than the 2 MiB an upload may be (text: the clock sends it as it is)
    backlog = ATTLOG * (2 * 1024 * 1024 // len(ATTLOG) + 1)
    # When the clock uploads it
    refused = upload(backlog)
    # Then it is refused with the reason, so the clock keeps its records, and nothing is stored
    assert (refused.status, refused.text) == (400, "ERROR: body is larger than 2,097,152 bytes")
    assert stored() == []


def test_command_endpoints_answer_ok(zk_device):
    assert call("GET", "/iclock/getrequest", None, {"SN": SN}).text == "OK"
    assert call("POST", "/iclock/devicecmd", b"ID=1&Return=0&CMD=INFO", {"SN": SN}).text == "OK"


def test_unknown_and_disabled_devices_are_refused(zk_device, registry, stored):
    unknown = upload(ATTLOG, serial="NOT-REGISTERED")
    assert unknown.status == 403
    assert unknown.text.startswith("ERROR")
    registry.put(Device(device_id="OLD", serial="DISABLED1", time_zone="UTC", enabled=False))
    assert upload(ATTLOG, serial="DISABLED1").status == 403
    no_serial = call("GET", "/iclock/cdata", None, {})
    assert (no_serial.status, no_serial.text) == (403, "ERROR: unknown device")
    assert stored() == []


def test_a_serial_two_old_registrations_share_lets_in_the_enabled_one_once_the_other_is_disabled(
    zk_device, registry, stored
):
    # Given a second device registered with the clock's serial before a serial was kept to one device
    registry.put(Device(device_id="WRONG-ID", serial=SN, time_zone="UTC"))
    # Then the clock is refused (which of the two is it?), and nothing is stored
    assert upload(ATTLOG).status == 403
    assert stored() == []
    # When an admin disables the wrong one, then the clock is taken again, as its own device
    registry.put(Device(device_id="WRONG-ID", serial=SN, time_zone="UTC", enabled=False))
    taken = upload(ATTLOG)
    assert (taken.status, taken.text) == (200, "OK: 4")
    assert {punch["deviceId"] for punch in stored()} == {zk_device.device_id}


def test_storage_failure_is_not_acknowledged(zk_device, stack, stored):
    boto3.client("dynamodb").delete_table(TableName=stack.refs["DedupTable"])
    reply = upload(ATTLOG)
    assert reply.status == 503
    assert not reply.text.startswith("OK")  # the device keeps the records and sends them again
    assert stored() == []
