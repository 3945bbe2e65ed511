"""The devices API: registry, scopes, unknown IDs, device states and punches."""

import gzip
import json
import logging
import os
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from attendance.data.api_keys import ApiKeyStore
from attendance.data.commands import CommandStore
from attendance.data.devices import DeviceStore
from attendance.data.punches import PunchStore
from functions.devices import app as devices_app
from tests.integration.device_commands.conftest import queue_reboot
from tests.integration.devices.conftest import ADMIN_KEY, INGEST_KEY, READ_KEY
from tests.integration.http_calls import Reply, call_route


def test_a_registered_device_is_listed_as_never_seen_until_it_calls(api, register):
    # Given a ZKTeco clock registered by an admin
    reply = register(
        "REG-ZK1", name="Front door", site="berlin-hq", timeZone="Europe/Berlin", silentAfterMinutes=10
    )
    assert reply["device"]["state"] == "never_seen"
    assert "pushUrl" not in reply

    # When anyone with the read scope lists the devices
    listed = api("GET", "/devices", key=READ_KEY)

    # Then it is there, never seen, with its registration
    assert listed.status == 200
    [device] = [d for d in listed.body["devices"] if d["deviceId"] == "REG-ZK1"]
    assert device["punchesToday"] == 0
    assert device["state"] == "never_seen"
    assert (device["lastSeenAt"], device["lastPunchAt"], device["via"]) == (None, None, None)
    assert (device["name"], device["site"], device["silentAfterMinutes"]) == ("Front door", "berlin-hq", 10)
    assert not {"clockDriftSeconds", "model", "firmware"} & set(device)
    assert api("GET", "/devices/{deviceId}", key=READ_KEY, deviceId="REG-ZK1").body == device


def test_a_hikvision_registration_answers_its_push_url_once(api, register):
    # When an admin registers a Hikvision terminal
    reply = register("REG-HIK1", kind="hikvision", timeZone="Europe/London")

    # Then the reply holds its push URL, on the host the API was called at, and nothing shows it again
    assert reply["pushUrl"].startswith("https://api.example.com/hikvision/events/")
    again = api("GET", "/devices/{deviceId}", deviceId="REG-HIK1").body
    assert reply["pushUrl"].rsplit("/", 1)[1] not in str(again)


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        ({"deviceId": "REG-BAD", "kind": "zkteco"}, 422, "missing_serial"),
        (
            {"deviceId": "REG-BAD", "kind": "zkteco", "serial": "S1", "timeZone": "Mars/Olympus"},
            422,
            "invalid_time_zone",
        ),
        (
            {"deviceId": "REG-BAD", "kind": "zkteco", "serial": "S1", "silentAfterMinutes": True},
            400,
            "invalid_request",
        ),
        (
            {"deviceId": "REG-BAD", "kind": "hikvision", "timeZone": "+99:00"},
            422,
            "invalid_time_zone",
        ),
        ({"deviceId": "REG BAD", "kind": "zkteco", "serial": "S1"}, 400, "invalid_request"),
        ({"deviceId": "REG/BAD", "kind": "hikvision"}, 400, "invalid_request"),  # no page could hold it
        ({"deviceId": "REG-BAD", "kind": "suprema", "serial": "S1"}, 400, "invalid_request"),
    ],
)
def test_a_registration_that_breaks_the_contract_or_a_rule_is_refused(api, body, status, error):
    # When an admin sends an impossible registration
    reply = api("POST", "/devices", body=body)

    # Then it is refused with the documented status, and nothing is registered
    assert (reply.status, reply.body["error"]) == (status, error)
    assert api("GET", "/devices/{deviceId}", deviceId="REG-BAD").status in (400, 404)


def test_registering_a_taken_id_is_a_conflict_and_changes_nothing(api, register):
    # Given a registered device
    register("REG-ZK2", name="Original")

    # When the same ID is registered again
    reply = api(
        "POST", "/devices", body={"deviceId": "REG-ZK2", "kind": "zkteco", "serial": "OTHER", "name": "New"}
    )

    # Then it is a 409 and the device is as it was
    assert (reply.status, reply.body["error"]) == (409, "already_registered")
    device = api("GET", "/devices/{deviceId}", deviceId="REG-ZK2").body
    assert (device["name"], device["serial"]) == ("Original", "SN-REG-ZK2")


def test_a_serial_registered_to_another_device_is_a_conflict_and_changes_nothing(api, register):
    # Given a clock ADMS knows by its serial
    register("REG-ZK20", serial="SN-SHARED")

    # When another device is registered with the same serial
    reply = api("POST", "/devices", body={"deviceId": "REG-ZK21", "kind": "zkteco", "serial": "SN-SHARED"})

    # Then it is a 409 naming the holder, nothing is registered, and the first clock keeps its serial alone
    assert (reply.status, reply.body["error"]) == (409, "serial_taken")
    assert reply.body["message"] == "serial SN-SHARED is registered to device REG-ZK20"
    assert api("GET", "/devices/{deviceId}", deviceId="REG-ZK21").status == 404
    assert DeviceStore(boto3.client("dynamodb"), os.environ["DEVICES_TABLE"]).by_serial(
        "SN-SHARED"
    ).device_id == ("REG-ZK20")


def test_a_new_push_url_refuses_the_old_one_and_a_change_never_brings_it_back(api, register, push):
    # Given a Hikvision terminal pushing to its URL
    old_token = register("REG-HIK2", kind="hikvision")["pushUrl"].rsplit("/", 1)[1]

    def heartbeat(token: str) -> int:
        body = json.dumps({"eventType": "heartBeat"}).encode()
        return push("POST", f"/hikvision/events/{token}", body, content_type="application/json").status

    assert heartbeat(old_token) == 200

    # When an admin replaces its push URL (it leaked), then renames the terminal
    replaced = api("POST", "/devices/{deviceId}/push-url", deviceId="REG-HIK2")
    api("PATCH", "/devices/{deviceId}", body={"name": "Lobby"}, deviceId="REG-HIK2")

    # Then the new URL is answered once, the old one is refused and the new one taken
    assert replaced.status == 200
    assert replaced.body["device"]["deviceId"] == "REG-HIK2"
    new_token = replaced.body["pushUrl"].removeprefix("https://api.example.com/hikvision/events/")
    assert new_token != old_token
    assert heartbeat(old_token) == 403
    assert heartbeat(new_token) == 200
    assert new_token not in str(api("GET", "/devices/{deviceId}", deviceId="REG-HIK2").body)


@pytest.mark.parametrize(
    ("device_id", "key", "status", "error"),
    [
        ("REG-ZK22", ADMIN_KEY, 422, "not_hikvision"),
        ("REG-NONE", ADMIN_KEY, 404, "not_found"),
        ("REG-HIK3", READ_KEY, 403, "forbidden"),
    ],
)
def test_only_an_admin_replaces_a_push_url_and_only_a_hikvision_terminal_has_one(
    api, register, device_id, key, status, error
):
    register("REG-ZK22")
    register("REG-HIK3", kind="hikvision")
    reply = api("POST", "/devices/{deviceId}/push-url", key=key, deviceId=device_id)
    assert (reply.status, reply.body["error"]) == (status, error)


def test_an_admin_changes_and_disables_a_device(api, register):
    # Given a registered device
    register("REG-ZK3", name="Gate", site="plant-1")

    # When an admin renames it, moves it, changes its threshold and clears its zone
    changed = api(
        "PATCH",
        "/devices/{deviceId}",
        body={"name": "Gate 2", "site": "plant-2", "silentAfterMinutes": 30, "timeZone": None},
        deviceId="REG-ZK3",
    )

    # Then exactly those fields changed
    assert changed.status == 200
    body = changed.body
    assert (body["name"], body["site"], body["silentAfterMinutes"], body["timeZone"]) == (
        "Gate 2",
        "plant-2",
        30,
        None,
    )
    assert (body["enabled"], body["serial"]) == (True, "SN-REG-ZK3")

    # And when it is disabled, it is listed as disabled
    disabled = api("POST", "/devices/{deviceId}/disable", deviceId="REG-ZK3")
    assert (disabled.status, disabled.body["state"], disabled.body["enabled"]) == (200, "disabled", False)
    assert api("GET", "/devices/{deviceId}", deviceId="REG-ZK3").body["state"] == "disabled"

    # And re-enabled by PATCH, it is never_seen again
    enabled = api("PATCH", "/devices/{deviceId}", body={"enabled": True}, deviceId="REG-ZK3")
    assert enabled.body["state"] == "never_seen"


def test_a_disabled_device_is_removed_with_its_commands_and_its_punches_stay(api, register, add_punch, stack):
    # Given a clock registered by mistake, with a punch it sent and a command queued for it
    register("REG-RM1", name="Wrong clock")
    log_id = add_punch("REG-RM1", "U-RM", datetime.now(UTC).replace(microsecond=0))
    queue_reboot(stack.refs["CommandsTable"], "REG-RM1", datetime.now(UTC), timedelta(hours=1))
    commands = CommandStore(boto3.client("dynamodb"), stack.refs["CommandsTable"])
    # When an admin removes it while it is enabled, it is refused: it must be disabled first
    refused = api("DELETE", "/devices/{deviceId}", deviceId="REG-RM1")
    assert (refused.status, refused.body["error"]) == (409, "device_enabled")
    assert "disable it first" in refused.body["message"]
    assert api("GET", "/devices/{deviceId}", deviceId="REG-RM1").status == 200
    assert len(commands.for_device("REG-RM1")) == 1
    # And once disabled, it is removed with its command, and answered as it was
    api("POST", "/devices/{deviceId}/disable", deviceId="REG-RM1")
    removed = api("DELETE", "/devices/{deviceId}", deviceId="REG-RM1")
    assert removed.status == 200
    assert (removed.body["device"]["deviceId"], removed.body["device"]["state"]) == ("REG-RM1", "disabled")
    assert removed.body["commandsRemoved"] == 1
    # Then the registry and the command queue no longer know it, but its punch is kept
    assert api("GET", "/devices/{deviceId}", deviceId="REG-RM1").status == 404
    assert "REG-RM1" not in [device["deviceId"] for device in api("GET", "/devices").body["devices"]]
    assert commands.for_device("REG-RM1") == []
    assert PunchStore(boto3.client("dynamodb"), stack.refs["PunchesTable"]).get(log_id) is not None
    # And removing it again is a 404; registering the ID again starts afresh
    assert api("DELETE", "/devices/{deviceId}", deviceId="REG-RM1").status == 404
    again = register("REG-RM1", name="Right clock")
    assert (again["device"]["state"], again["device"]["enabled"]) == ("never_seen", True)


def test_only_an_admin_removes_a_device(api, register):
    register("REG-RM2")
    api("POST", "/devices/{deviceId}/disable", deviceId="REG-RM2")
    refused = api("DELETE", "/devices/{deviceId}", key=READ_KEY, deviceId="REG-RM2")
    assert (refused.status, refused.body["error"]) == (403, "forbidden")
    assert api("GET", "/devices/{deviceId}", deviceId="REG-RM2").status == 200


@pytest.mark.parametrize("body", [{"silentAfterMinutes": None}, {"enabled": None}])
def test_a_change_cannot_clear_a_required_setting(api, register, body):
    register("REG-ZK4")
    reply = api("PATCH", "/devices/{deviceId}", body=body, deviceId="REG-ZK4")
    assert (reply.status, reply.body["error"]) == (422, "invalid_change")


@pytest.mark.parametrize("body", [{"serial": "SN-NEW"}, {"kind": "hikvision"}, {"defaultType": "out"}])
def test_a_change_of_a_field_that_cannot_change_is_a_400_naming_it(api, register, body):
    # Given a clock; When a change names a field a change cannot make
    register("REG-ZK23")
    reply = api("PATCH", "/devices/{deviceId}", body=body | {"name": "Renamed"}, deviceId="REG-ZK23")
    # Then it is refused naming the field, and nothing changed
    assert reply.status == 400
    assert reply.body["details"][0]["field"] == next(iter(body))
    device = api("GET", "/devices/{deviceId}", deviceId="REG-ZK23").body
    assert (device["name"], device["serial"], device["kind"]) == (None, "SN-REG-ZK23", "zkteco")


def test_an_unreal_zone_offset_in_a_change_is_a_422(api, register):
    register("REG-ZK24")
    reply = api("PATCH", "/devices/{deviceId}", body={"timeZone": "+24:00"}, deviceId="REG-ZK24")
    assert (reply.status, reply.body["error"]) == (422, "invalid_time_zone")


def test_a_change_with_a_number_as_text_or_a_bool_as_number_is_a_400(api, register):
    register("REG-ZK5")
    assert (
        api("PATCH", "/devices/{deviceId}", body={"silentAfterMinutes": "30"}, deviceId="REG-ZK5").status
        == 400
    )
    assert api("PATCH", "/devices/{deviceId}", body={"enabled": 1}, deviceId="REG-ZK5").status == 400


def test_an_array_where_an_object_belongs_is_a_400_and_changes_nothing(api, register):
    # Given a device; When a change and a registration come as one-element arrays of valid bodies
    register("REG-ZK7")
    change = api("PATCH", "/devices/{deviceId}", body=[{"name": "Renamed"}], deviceId="REG-ZK7")
    registration = api("POST", "/devices", body=[{"deviceId": "REG-ARR", "kind": "hikvision"}])
    # Then both are refused, naming the body (Powertools alone would take the array's first element)
    for reply in (change, registration):
        assert (reply.status, reply.body["message"]) == (400, "body: should be a JSON object, not an array")
    # and nothing changed
    assert api("GET", "/devices/{deviceId}", deviceId="REG-ZK7").body["name"] is None
    assert api("GET", "/devices/{deviceId}", deviceId="REG-ARR").status == 404


def test_a_read_key_reads_but_cannot_change(api, register):
    register("REG-ZK6")
    assert api("GET", "/devices", key=READ_KEY).status == 200
    assert api("GET", "/devices/{deviceId}/punches", key=READ_KEY, deviceId="REG-ZK6").status == 200
    refused = [
        api("POST", "/devices", key=READ_KEY, body={"deviceId": "REG-RD", "kind": "hikvision"}),
        api("PATCH", "/devices/{deviceId}", key=READ_KEY, body={"name": "x"}, deviceId="REG-ZK6"),
        api("POST", "/devices/{deviceId}/disable", key=READ_KEY, deviceId="REG-ZK6"),
    ]
    assert [(r.status, r.body["error"]) for r in refused] == [(403, "forbidden")] * 3
    assert api("GET", "/devices/{deviceId}", deviceId="REG-ZK6").body["enabled"] is True
    assert api("GET", "/devices/{deviceId}", deviceId="REG-RD").status == 404


def test_an_ingest_key_cannot_list_devices_and_no_key_is_a_401(api):
    assert (api("GET", "/devices", key=INGEST_KEY).status, api("GET", "/devices", key=None).status) == (
        403,
        401,
    )
    assert api("GET", "/devices/{deviceId}", key="not-a-key", deviceId="X").status == 401


@pytest.mark.parametrize(
    ("method", "route", "body"),
    [
        ("GET", "/devices/{deviceId}", None),
        ("PATCH", "/devices/{deviceId}", {"name": "x"}),
        ("POST", "/devices/{deviceId}/disable", None),
        ("DELETE", "/devices/{deviceId}", None),
        ("GET", "/devices/{deviceId}/punches", None),
        ("POST", "/devices/{deviceId}/health", {"via": "edge:office"}),
    ],
)
def test_unknown_device_ids_are_404(api, method, route, body):
    key = INGEST_KEY if route.endswith("/health") else ADMIN_KEY  # the health report is the poller's
    reply = api(method, route, key=key, body=body, deviceId="NO-SUCH-DEVICE")
    assert (reply.status, reply.body["error"]) == (404, "not_found")


def test_other_methods_get_405_with_allow(api):
    reply = api("PUT", "/devices/{deviceId}", deviceId="X")
    assert reply.status == 405
    assert reply.headers["Allow"] == "DELETE, GET, PATCH"


def test_a_devices_punches_newest_first_with_delivery_status_and_todays_count(api, register, add_punch):
    # Given a device with three punches today and one yesterday (in the stack's zone, Europe/Berlin),
    # and a punch of another device
    register("REG-ZK7")
    now = datetime.now(UTC).replace(microsecond=0)
    today_start = now.astimezone(_berlin()).replace(hour=0, minute=0, second=0).astimezone(UTC)
    times = [today_start + timedelta(seconds=s) for s in (0, 60, 120)] + [today_start - timedelta(seconds=1)]
    log_ids = [add_punch("REG-ZK7", f"U{i}", moment) for i, moment in enumerate(times)]
    add_punch("REG-OTHER", "U9", today_start + timedelta(seconds=30))

    # When its punches and its view are read
    punches = api("GET", "/devices/{deviceId}/punches", deviceId="REG-ZK7", query={"limit": "2"})
    device = api("GET", "/devices/{deviceId}", deviceId="REG-ZK7").body

    # Then the latest come first, with their delivery status, and today's count leaves yesterday out
    assert punches.status == 200
    assert [p["logId"] for p in punches.body["punches"]] == [log_ids[2], log_ids[1]]
    first = punches.body["punches"][0]
    assert (first["syncStatus"], first["attempts"], first["lastError"], first["userId"]) == (
        "pending",
        0,
        None,
        "U2",
    )
    assert device["punchesToday"] == 3
    assert device["lastPunchAt"] == times[2].strftime("%Y-%m-%dT%H:%M:%SZ")
    all_punches = api("GET", "/devices/{deviceId}/punches", deviceId="REG-ZK7").body
    assert all_punches["count"] == 4


@pytest.mark.parametrize("limit", ["0", "201", "ten"])
def test_a_punch_limit_outside_1_to_200_is_a_400(api, register, limit):
    register("REG-ZK8")
    reply = api("GET", "/devices/{deviceId}/punches", deviceId="REG-ZK8", query={"limit": limit})
    assert (reply.status, reply.body["error"]) == (400, "invalid_request")


def _berlin():
    from zoneinfo import ZoneInfo

    return ZoneInfo("Europe/Berlin")


@pytest.mark.parametrize(
    ("method", "route", "key"),
    [
        ("POST", "/devices", ADMIN_KEY),
        ("PATCH", "/devices/{deviceId}", ADMIN_KEY),
        ("POST", "/devices/{deviceId}/health", INGEST_KEY),
    ],
)
def test_a_body_that_is_not_typed_utf8_json_is_refused_before_anything_else(
    api, register, method, route, key
):
    register("REG-ZK9")
    form = api(
        method, route, key=key, body='{"name": "x"}', content_type="multipart/form-data", deviceId="REG-ZK9"
    )
    garbage = api(method, route, key=key, body=b"\xffi", deviceId="REG-ZK9")
    assert (form.status, form.body["error"]) == (415, "unsupported_media_type")
    assert (garbage.status, garbage.body["error"]) == (400, "invalid_json")
    assert api("GET", "/devices/{deviceId}", deviceId="REG-ZK9").body["name"] is None


def test_a_gzip_body_is_taken_and_another_encoding_refused_as_on_every_json_route(api, register):
    # Given a device; When a change comes gzipped, then one encoded by brotli, then one over 1 MiB gzipped
    register("REG-ZK25")

    def change(body: bytes, encoding: str) -> Reply:
        return call_route(
            devices_app.lambda_handler,
            "PATCH",
            "/devices/{deviceId}",
            ADMIN_KEY,
            body=body,
            headers={"content-encoding": encoding},
            deviceId="REG-ZK25",
        )

    taken = change(gzip.compress(b'{"name": "Gate"}'), "gzip")
    brotli = change(b'{"name": "Other"}', "br")
    bomb = change(gzip.compress(b'{"name": "' + b"x" * (1024 * 1024) + b'"}'), "gzip")
    # Then the gzipped one is taken, the others refused as the docs say, and nothing else changed
    assert (taken.status, taken.body["name"]) == (200, "Gate")
    assert (brotli.status, brotli.body["error"]) == (415, "unsupported_encoding")
    assert (bomb.status, bomb.body["error"]) == (413, "body_too_large")
    assert api("GET", "/devices/{deviceId}", deviceId="REG-ZK25").body["name"] == "Gate"


def test_an_id_with_characters_clients_percent_encode_is_found(api, register):
    register("REG+ZK@1:a")
    reply = api("GET", "/devices/{deviceId}", deviceId="REG%2BZK%401%3Aa")
    assert (reply.status, reply.body["deviceId"]) == (200, "REG+ZK@1:a")


def test_every_change_is_logged_with_the_key_that_made_it(api, register, caplog):
    # Given the admin key's ID
    admin_key_id = ApiKeyStore(boto3.client("dynamodb"), os.environ["API_KEYS_TABLE"]).find(ADMIN_KEY).key_id
    caplog.set_level(logging.INFO)

    # When it registers, changes and disables a device
    register("REG-LOG1")
    api("PATCH", "/devices/{deviceId}", body={"site": "plant-9"}, deviceId="REG-LOG1")
    api("POST", "/devices/{deviceId}/disable", deviceId="REG-LOG1")

    # Then each change is a log line naming the device and that key
    changes = [
        (record.getMessage(), record.__dict__.get("device"), record.__dict__.get("fields"))
        for record in caplog.records
        if record.__dict__.get("keyId") == admin_key_id
    ]
    assert changes == [
        ("device registered", "REG-LOG1", None),
        ("device changed", "REG-LOG1", ["site"]),
        ("device changed", "REG-LOG1", ["enabled"]),
    ]
