"""Hikvision event push: JSON and multipart, as terminals send them."""

import json

from attendance.domain.devices import Device
from tests.integration.device_push.conftest import call


def event(minor: int = 38, status: str | None = "checkIn", employee: str | None = "1001", **extra) -> dict:
    detail = {
        "deviceName": "DS-K1T502DBFWX-C",
        "majorEventType": 5,
        "subEventType": minor,
        "serialNo": 257,
        "currentVerifyMode": "fingerPrint",
    }
    if employee is not None:
        detail["employeeNoString"] = employee
    if status is not None:
        detail["attendanceStatus"] = status
    return {
        "ipAddress": "10.0.0.5",
        "portNo": 80,
        "protocol": "HTTP",
        "dateTime": "2024-08-26T12:32:28+01:00",
        "activePostCount": 1,
        "eventType": "AccessControllerEvent",
        "eventState": "active",
        "AccessControllerEvent": detail,
    } | extra


def post_json(token: str, document: dict):
    return call(
        "POST", f"/hikvision/events/{token}", json.dumps(document).encode(), content_type="application/json"
    )


def multipart(document: dict, part_name: str, with_picture: bool = True) -> tuple[bytes, str]:
    boundary = "MIME_boundary_7f3a"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{part_name}"\r\nContent-Type: application/json\r\n\r\n'.encode()
        + json.dumps(document).encode()
        + b"\r\n"
    ]
    if with_picture:
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="Picture"; filename="Picture.jpg"\r\n'
            f"Content-Type: image/jpeg\r\n\r\n".encode()
            + b"\xff\xd8\xff\xe0"
            + bytes(range(256)) * 20
            + b"\r\n"
        )
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def test_json_event_becomes_a_punch(hik_token, stored, queued):
    reply = post_json(hik_token, event())
    assert reply.status == 200
    assert reply.json()["result"] == "accepted"
    [punch] = stored()
    assert (punch["deviceId"], punch["userId"], punch["type"], punch["source"]) == (
        "HIK-LOBBY",
        "1001",
        "in",
        "hikvision",
    )
    assert punch["punchTime"] == "2024-08-26T11:32:28Z"
    assert punch["localTime"] == "2024-08-26T12:32:28"  # shown in the device's zone (London, BST)
    assert punch["verifyMode"] == "fingerPrint"
    assert queued() == 1


def test_multipart_event_under_either_firmware_name_with_a_picture(hik_token, stored):
    for name, employee in (("AccessControllerEvent", "2001"), ("event_log", "2002")):
        body, content_type = multipart(event(employee=employee, status="checkOut"), name)
        reply = call("POST", f"/hikvision/events/{hik_token}", body, content_type=content_type)
        assert (reply.status, reply.json()["result"]) == (200, "accepted")
    assert sorted((p["userId"], p["type"]) for p in stored()) == [("2001", "out"), ("2002", "out")]


def test_each_attendance_status_maps_to_its_type(hik_token, stored):
    statuses = ["checkIn", "checkOut", "breakOut", "breakIn", "overtimeIn", "overtimeOut"]
    for n, status in enumerate(statuses):
        post_json(hik_token, event(status=status, employee=str(3000 + n)))
    assert sorted((p["userId"], p["type"]) for p in stored()) == [
        ("3000", "in"),
        ("3001", "out"),
        ("3002", "break_out"),
        ("3003", "break_in"),
        ("3004", "overtime_in"),
        ("3005", "overtime_out"),
    ]


def test_undefined_status_falls_back_to_the_devices_default(hik_token, stored):
    post_json(hik_token, event(status="undefined", employee="4001"))
    post_json(hik_token, event(status=None, employee="4002", dateTime="2024-08-26T14:00:00+01:00"))
    assert {p["type"] for p in stored()} == {"in"}


def test_heartbeats_failures_and_door_events_are_acknowledged_and_ignored(hik_token, stored):
    for document in (
        {"eventType": "heartBeat"},
        event(minor=9),  # card not recognised
        event(minor=76),  # face not recognised
        event(minor=21),  # door unlocked
        event(employee=None),  # a stranger
        {"eventType": "videoloss"},
    ):
        reply = post_json(hik_token, document)
        assert (reply.status, reply.json()["result"]) == (200, "ignored"), document
    assert stored() == []


def test_fingerprint_card_and_face_all_count(hik_token, stored):
    for n, minor in enumerate((1, 38, 75, 77, 105)):
        post_json(hik_token, event(minor=minor, employee=str(5000 + n)))
    assert len(stored()) == 5


def test_a_resent_event_is_a_duplicate_and_still_200(hik_token, stored):
    post_json(hik_token, event())
    again = post_json(hik_token, event())
    assert (again.status, again.json()["result"]) == (200, "duplicate")
    assert len(stored()) == 1


def test_unknown_token_is_refused(hik_token, stored):
    # Given a token shaped like ours that no terminal holds, and one that could never be ours
    unknown = post_json("x" * len(hik_token), event())
    malformed = post_json("not a token", event())
    # Then the first is refused as an unknown device, the second as a malformed path
    assert (unknown.status, unknown.json()["error"]) == (403, "device_refused")
    assert (malformed.status, malformed.json()["details"][0]["field"]) == (400, "token")
    assert stored() == []


def test_malformed_events_are_400_and_store_nothing(hik_token, stored):
    bad = [
        (b"{not json", "application/json"),
        (b"[1, 2]", "application/json"),
        (json.dumps(event(dateTime=None)).encode(), "application/json"),
        (
            b'--x\r\nContent-Disposition: form-data; name="Picture"\r\n\r\nabc\r\n--x--\r\n',
            "multipart/form-data; boundary=x",
        ),
    ]
    for body, content_type in bad:
        reply = call("POST", f"/hikvision/events/{hik_token}", body, content_type=content_type)
        assert reply.status == 400, body
        assert reply.json()["error"] == "malformed_event"
    assert stored() == []


def test_an_event_beyond_the_size_limit_is_refused_unread(hik_token, stored):
    # Given an event whose picture makes it larger than the 2 MiB a push may be (sent base64, as binary)
    body, content_type = multipart(event(), "AccessControllerEvent", with_picture=True)
    oversized = body.replace(b"\xff\xd8\xff\xe0", b"\xff\xd8\xff\xe0" + b"\x00" * 2 * 1024 * 1024)
    # When the terminal posts it
    reply = call("POST", f"/hikvision/events/{hik_token}", oversized, content_type=content_type)
    # Then it is told why, and nothing is stored
    assert (reply.status, reply.json()["error"]) == (400, "malformed_event")
    assert reply.json()["message"] == "body is larger than 2,097,152 bytes"
    assert stored() == []


def test_a_fixed_offset_terminal_gets_correct_utc(registry, stored):
    # Given a terminal in India registered as +05:30
    token, _ = registry.register_hikvision(Device(device_id="HIK-PUNE", time_zone="+05:30"))
    # When it pushes a check-in stamped with its offset, and one stamped without (older firmware)
    post_json(token, event(employee="1001", dateTime="2024-08-26T12:32:28+05:30"))
    post_json(token, event(employee="1002", dateTime="2024-08-26T12:40:00"))
    # Then both are at the right UTC instant and shown as wall-clock times in the terminal's zone
    assert [(p["userId"], p["punchTime"], p["localTime"], p["timeZone"]) for p in stored()] == [
        ("1001", "2024-08-26T07:02:28Z", "2024-08-26T12:32:28", "+05:30"),
        ("1002", "2024-08-26T07:10:00Z", "2024-08-26T12:40:00", "+05:30"),
    ]
