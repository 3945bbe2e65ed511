"""Bearer API keys: hashed at rest, limited to devices, revocable at once."""

import boto3

from attendance.domain.keys import Scope, hash_key
from tests.integration.ingest.conftest import INGEST_KEY, punch
from tests.integration.permissions import calls_made


def test_missing_key_is_401(api, punches_table):
    api.key = None
    reply = api.post(punch())
    assert (reply.status, reply.body["error"]) == (401, "unauthorized")
    assert punches_table() == []


def test_wrong_scheme_is_401(api):
    assert api.post(punch(), headers={"authorization": f"Basic {INGEST_KEY}"}).status == 401


def test_unknown_key_is_401(api, punches_table):
    assert api.post(punch(), key="not-a-key").status == 401
    assert punches_table() == []


def test_revoked_key_stops_at_once(api, keys, punches_table):
    raw, key = keys.create("office", frozenset({Scope.INGEST}))
    assert api.post(punch(user="A"), key=raw).status == 202
    assert keys.revoke(key.key_id)
    reply = api.post(punch(user="B"), key=raw)
    assert reply.status == 401
    assert "revoked" in reply.body["message"]
    assert [p["userId"] for p in punches_table()] == ["A"]


def test_key_limited_to_devices_cannot_write_for_others(api, keys, punches_table):
    raw, _ = keys.create("front door", frozenset({Scope.INGEST}), devices=frozenset({"DEV001"}))
    assert api.post(punch(device="DEV001"), key=raw).status == 202
    other = api.post(punch(device="DEV999", user="X"), key=raw)
    assert (other.status, other.body["error"]) == (403, "device_not_allowed")
    batch = api.post(
        {"punches": [punch(device="DEV999", user="Y"), punch(device="DEV001", user="Z")]}, key=raw
    )
    assert [r["status"] for r in batch.body["results"]] == ["rejected", "accepted"]
    assert batch.body["results"][0]["error"] == "device_not_allowed"
    assert {p["deviceId"] for p in punches_table()} == {"DEV001"}


def test_reports_only_key_cannot_write(api, keys):
    raw, _ = keys.create("hr", frozenset({Scope.REPORTS}))
    reply = api.post(punch(), key=raw)
    assert (reply.status, reply.body["error"]) == (403, "forbidden")


def test_keys_are_stored_hashed(api, stack):
    items = boto3.client("dynamodb").scan(TableName=stack.refs["ApiKeysTable"])["Items"]
    stored = str(items)
    assert INGEST_KEY not in stored
    assert hash_key(INGEST_KEY) in stored


def test_disabled_device_is_refused(api, register_device, punches_table):
    register_device("DEV001", enabled=False)
    reply = api.post(punch())
    assert (reply.status, reply.body["error"]) == (403, "device_disabled")
    assert punches_table() == []


def test_a_request_reads_its_key_and_counts_it_against_the_rate_once(api, stack):
    # Given a valid key, checked before the request is validated and handed to the route after
    # When one punch is sent
    with calls_made() as calls:
        assert api.post(punch()).status == 202
    # Then the key was read once and the request counted once
    tables = [params.get("TableName") for service, _, params in calls if service == "dynamodb"]
    assert tables.count(stack.refs["ApiKeysTable"]) == 1
    assert tables.count(stack.refs["RequestCountsTable"]) == 1


def test_without_a_key_a_malformed_body_is_still_a_401(api, punches_table):
    api.key = None
    reply = api.post({"punches": "not a list"})
    assert (reply.status, reply.body["error"]) == (401, "unauthorized")
    assert punches_table() == []
