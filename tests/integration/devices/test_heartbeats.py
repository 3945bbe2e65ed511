"""Heartbeats: every contact counts, written at most once a minute per device (unless details changed)."""

import json
from datetime import UTC, datetime, timedelta

import boto3

from attendance.data.devices import DeviceStore
from attendance.domain.health import Contact
from tests.integration.devices.conftest import INGEST_KEY, POLLER_KEY


def test_adms_contacts_make_a_device_online_with_one_write_a_minute(api, register, push, device_writes):
    # Given a registered ZKTeco clock that has never called
    register("HB-ZK1", serial="HBSN1")

    # When it handshakes and polls five times within seconds
    replies = [push("GET", "/iclock/cdata", query={"SN": "HBSN1", "options": "all"})]
    replies += [push("GET", "/iclock/getrequest", query={"SN": "HBSN1"}) for _ in range(4)]

    # Then it is online, seen via ADMS, and the device item was written exactly once
    assert [reply.status for reply in replies] == [200] * 5
    device = api("GET", "/devices/{deviceId}", deviceId="HB-ZK1").body
    assert (device["state"], device["via"]) == ("online", "adms")
    assert len([w for w in device_writes if "lastSeenAt" in json.dumps(w)]) == 1


def test_a_contact_a_minute_later_is_written_again(device_writes, registry, register, stack):
    # Given a device seen at 12:00:00
    register("HB-ZK2")
    noon = datetime(2030, 1, 1, 12, tzinfo=UTC)
    assert registry.record_contact("HB-ZK2", Contact(via="adms"), noon) is True
    writes_before = len(device_writes)

    # When it calls again 59 s later, then 60 s later, through a store that never read the device (a cold
    # function: only DynamoDB's condition can refuse the early one)
    cold = DeviceStore(boto3.client("dynamodb"), stack.refs["DevicesTable"])
    early = cold.record_contact("HB-ZK2", Contact(via="adms"), noon + timedelta(seconds=59))
    due = cold.record_contact("HB-ZK2", Contact(via="adms"), noon + timedelta(seconds=60))

    # Then only the contact a minute later is written
    assert (early, due) == (False, True)
    assert len(device_writes) - writes_before == 1
    _, health = registry.get_with_health("HB-ZK2")
    assert health.last_seen_at == noon + timedelta(seconds=60)


def test_racing_contacts_write_once(device_writes, registry, register, stack):
    # Given a device last seen two minutes ago, and two function instances that both read it then
    register("HB-ZK3")
    now = datetime(2030, 1, 1, 12, tzinfo=UTC)
    registry.record_contact("HB-ZK3", Contact(via="adms"), now - timedelta(minutes=2))
    first, second = (DeviceStore(boto3.client("dynamodb"), stack.refs["DevicesTable"]) for _ in range(2))
    first.get("HB-ZK3"), second.get("HB-ZK3")
    writes_before = len(device_writes)

    # When both record a contact at the same moment
    outcomes = [
        first.record_contact("HB-ZK3", Contact(via="adms"), now),
        second.record_contact("HB-ZK3", Contact(via="adms"), now),
    ]

    # Then DynamoDB let exactly one of them write
    assert sorted(outcomes) == [False, True]
    assert len(device_writes) - writes_before == 1


def test_a_hikvision_event_is_a_contact(api, register, push):
    # Given a registered Hikvision terminal
    token = register("HB-HIK1", kind="hikvision")["pushUrl"].rsplit("/", 1)[1]

    # When it sends a heartbeat event
    reply = push(
        "POST",
        f"/hikvision/events/{token}",
        json.dumps({"eventType": "heartBeat"}).encode(),
        content_type="application/json",
    )

    # Then it is online via hikvision
    assert reply.status == 200
    device = api("GET", "/devices/{deviceId}", deviceId="HB-HIK1").body
    assert (device["state"], device["via"]) == ("online", "hikvision")


def test_the_edge_pollers_report_records_its_details_and_changed_details_are_written_at_once(
    api, register, device_writes
):
    # Given a device the edge poller reads
    register("EDGE-1")
    report = {
        "via": "edge:office-pc",
        "lastReadAt": "2030-01-01T12:00:00+01:00",
        "clockDriftSeconds": -42,
        "outboxDepth": 3,
        "model": "K40",
        "firmware": "Ver 6.60",
        "lastError": None,
    }

    # When the poller reports, then reports the same again, then a changed outbox depth, all within seconds
    replies = [
        api("POST", "/devices/{deviceId}/health", key=POLLER_KEY, body=report, deviceId="EDGE-1"),
        api("POST", "/devices/{deviceId}/health", key=POLLER_KEY, body=report, deviceId="EDGE-1"),
        api(
            "POST",
            "/devices/{deviceId}/health",
            key=POLLER_KEY,
            body=report | {"outboxDepth": 0},
            deviceId="EDGE-1",
        ),
    ]

    # Then the first and the changed one are recorded, the repeat is a plain heartbeat within the minute
    assert [(r.status, r.body) for r in replies] == [
        (202, {"deviceId": "EDGE-1", "recorded": True}),
        (202, {"deviceId": "EDGE-1", "recorded": False}),
        (202, {"deviceId": "EDGE-1", "recorded": True}),
    ]
    device = api("GET", "/devices/{deviceId}", deviceId="EDGE-1").body
    assert (device["state"], device["via"]) == ("online", "edge:office-pc")
    assert (device["clockDriftSeconds"], device["model"], device["firmware"], device["outboxDepth"]) == (
        -42,
        "K40",
        "Ver 6.60",
        0,
    )
    assert device["lastReadAt"] == "2030-01-01T11:00:00Z"
    assert "lastError" not in device

    # And an error the poller reports is shown, and cleared when it reports null
    api(
        "POST",
        "/devices/{deviceId}/health",
        key=POLLER_KEY,
        body={"via": "edge:office-pc", "lastError": "timed out"},
        deviceId="EDGE-1",
    )
    assert api("GET", "/devices/{deviceId}", deviceId="EDGE-1").body["lastError"] == "timed out"
    api(
        "POST",
        "/devices/{deviceId}/health",
        key=POLLER_KEY,
        body={"via": "edge:office-pc", "lastError": None},
        deviceId="EDGE-1",
    )
    assert "lastError" not in api("GET", "/devices/{deviceId}", deviceId="EDGE-1").body


def test_a_poller_key_may_report_only_for_its_devices(api, register):
    register("EDGE-2")
    reply = api(
        "POST", "/devices/{deviceId}/health", key=POLLER_KEY, body={"via": "edge:x"}, deviceId="EDGE-2"
    )
    assert (reply.status, reply.body["error"]) == (403, "device_not_allowed")
    assert api("GET", "/devices/{deviceId}", deviceId="EDGE-2").body["state"] == "never_seen"


def test_a_report_needs_the_ingest_scope_and_a_well_formed_body(api, register):
    register("EDGE-3")
    assert (
        api("POST", "/devices/{deviceId}/health", body={"via": "edge:x"}, deviceId="EDGE-3").status == 403
    )  # admin
    bad_bodies = [
        {},
        {"via": "carrier-pigeon"},
        {"via": "edge:x", "outboxDepth": -1},
        {"via": "edge:x", "clockDriftSeconds": True},
        {"via": "edge:x", "lastReadAt": "2030-01-01T12:00:00"},  # no offset
        {"via": "edge:x", "lastError": "x" * 501},
    ]
    statuses = [
        api("POST", "/devices/{deviceId}/health", key=INGEST_KEY, body=b, deviceId="EDGE-3").status
        for b in bad_bodies
    ]
    assert statuses == [400] * len(bad_bodies)
    impossible = {"via": "edge:x", "lastReadAt": "2030-02-30T12:00:00Z"}
    reply = api("POST", "/devices/{deviceId}/health", key=INGEST_KEY, body=impossible, deviceId="EDGE-3")
    assert (reply.status, reply.body["error"]) == (422, "invalid_timestamp")
    assert api("GET", "/devices/{deviceId}", deviceId="EDGE-3").body["state"] == "never_seen"
