"""Batches, gzip, and every kind of bad input: a 4xx naming the problem, nothing stored or queued."""

import gzip
import json

import pytest

from tests.integration.ingest.conftest import punch


def test_batch_reports_counts_and_one_result_per_item(api, punches_table, queued):
    # Given a batch with a new punch, an invalid one, a duplicate of the first and another valid one
    batch = [
        punch(user="A", at="2025-02-10T09:00:00"),
        {"deviceId": "DEV001", "userId": "B", "timestamp": "2025-02-10T09:00:00", "type": "lunch"},
        punch(user="A", at="2025-02-10T09:00:00"),
        punch(user="C", at="2025-02-10T09:00:00"),
    ]
    # When it is posted
    reply = api.post({"punches": batch})
    # Then valid items go through and each item has its own result
    assert reply.status == 200
    assert (reply.body["received"], reply.body["accepted"]) == (4, 2)
    assert (reply.body["duplicate"], reply.body["rejected"]) == (1, 1)
    results = reply.body["results"]
    assert [r["index"] for r in results] == [0, 1, 2, 3]
    assert [r["status"] for r in results] == ["accepted", "rejected", "duplicate", "accepted"]
    assert results[1]["error"] == "invalid_punch"
    assert "type" in results[1]["reason"]
    assert (results[2]["logId"], results[2]["duplicateKind"]) == (results[0]["logId"], "same_punch")
    assert {p["userId"] for p in punches_table()} == {"A", "C"}
    assert sorted(queued()) == sorted([results[0]["logId"], results[3]["logId"]])


def test_gzip_batch_is_accepted(api, punches_table):
    batch = [punch(user=f"E{n}") for n in range(500)]
    reply = api.post({"punches": batch}, compress=True)
    assert reply.status == 200
    assert reply.body["accepted"] == 500
    assert len(punches_table()) == 500


def test_a_large_batch_is_queued_in_full(api, queued):
    reply = api.post({"punches": [punch(user=f"E{n}") for n in range(23)]})
    assert reply.body["accepted"] == 23
    assert sorted(queued()) == sorted(r["logId"] for r in reply.body["results"])


def refused(reply, status: int, error: str) -> None:
    assert reply.status == status, reply.body
    assert reply.body["error"] == error
    assert reply.body["message"]


@pytest.mark.parametrize(
    ("raw", "headers", "status", "error"),
    [
        (b"{not json", {}, 400, "invalid_json"),
        (b"", {}, 400, "invalid_json"),
        (b"[1, 2]", {}, 400, "invalid_request"),
        (b'"a string"', {}, 400, "invalid_request"),
        (b'{"punches": []}', {}, 400, "invalid_request"),
        (b'{"punches": {"a": 1}}', {}, 400, "invalid_request"),
        (b"\xff\xfe\x00", {}, 400, "invalid_json"),
        (b"[" * 100_000 + b"]" * 100_000, {}, 400, "invalid_request"),  # an array, however deep
        (json.dumps([punch()]).encode(), {}, 400, "invalid_request"),  # a batch is {"punches": [...]}
        (json.dumps(punch()).encode(), {"content-type": "text/plain"}, 415, "unsupported_media_type"),
        (json.dumps(punch()).encode(), {"content-type": ""}, 415, "unsupported_media_type"),
        (json.dumps(punch()).encode(), {"content-encoding": "br"}, 415, "unsupported_encoding"),
        (b"not gzip at all", {"content-encoding": "gzip"}, 400, "invalid_gzip"),
        (gzip.compress(b'{"a": 1}', mtime=0)[:-6], {"content-encoding": "gzip"}, 400, "invalid_gzip"),
        (b" " * (1024 * 1024 + 1), {}, 413, "body_too_large"),
    ],
)
def test_malformed_bodies_are_refused_and_nothing_is_stored(
    api, punches_table, queued, raw, headers, status, error
):
    refused(api.post(None, raw=raw, headers=headers), status, error)
    assert punches_table() == []
    assert queued() == []


def test_gzip_bomb_is_refused_cheaply(api, punches_table):
    bomb = gzip.compress(b'{"punches": [' + b" " * (50 * 1024 * 1024) + b"]}")
    reply = api.post(None, raw=bomb, headers={"content-encoding": "gzip"})
    refused(reply, 413, "body_too_large")
    assert punches_table() == []
    # in the words a plain body over the limit gets, with what was measured
    plain = api.post(None, raw=b" " * (1024 * 1024 + 1))
    assert reply.body["message"] == f"{plain.body['message']} (after decompression)"
    assert plain.body["message"] == "body is larger than 1,048,576 bytes"


def test_more_than_500_items_is_refused_whole(api, punches_table, queued):
    reply = api.post({"punches": [punch(user=f"E{n}") for n in range(501)]})
    refused(reply, 400, "invalid_request")
    assert reply.body["details"][0]["field"] == "batch.punches"
    assert "at most 500 items" in reply.body["message"]
    assert punches_table() == []
    assert queued() == []


@pytest.mark.parametrize(
    ("item", "named"),
    [
        ({"userId": "E1", "timestamp": "2025-02-10T09:00:00", "type": "in"}, "deviceId: Field required"),
        ({"deviceId": "D1", "timestamp": "2025-02-10T09:00:00", "type": "in"}, "userId: Field required"),
        ({"deviceId": "D1", "userId": "E1", "type": "in"}, "timestamp: Field required"),
        ({"deviceId": "D1", "userId": "E1", "timestamp": "2025-02-10T09:00:00"}, "type: Field required"),
        (punch() | {"type": "lunch"}, "type: Input should be 'in'"),
        (punch() | {"userId": 789}, "userId: Input should be a valid string"),
        (punch() | {"deviceId": ""}, "deviceId: String should have at least 1 character"),
        (punch() | {"userId": "x" * 65}, "userId: String should have at most 64 characters"),
        (punch() | {"userId": "a b"}, "userId: should hold only letters, digits"),
        (punch() | {"timestamp": 1739178960}, "timestamp: Input should be a valid string"),
        (punch() | {"timestamp": "10/02/2025 09:16"}, "timestamp: should be an ISO 8601 date and time"),
        (punch() | {"timestamp": "2025-02-10"}, "timestamp: should be an ISO 8601 date and time"),
        (punch() | {"verifyMode": True}, "verifyMode"),
    ],
)
def test_invalid_single_punch_names_the_problem(api, punches_table, queued, item, named):
    # Given a punch that breaks the documented contract
    # When it is posted
    reply = api.post(item)
    # Then a 400 names the field, in the message and in the details, and nothing is stored
    refused(reply, 400, "invalid_request")
    assert named in reply.body["message"]
    assert named.split(":")[0] in {detail["field"].removeprefix("punch.") for detail in reply.body["details"]}
    assert punches_table() == []
    assert queued() == []


@pytest.mark.parametrize(
    ("at", "message"),
    [
        ("2025-02-30T09:00:00", "is not ISO 8601"),
        ("0001-01-01T00:00+01:00", "outside the calendar"),
        ("9999-12-31T23:59-01:00", "outside the calendar"),
    ],
)
def test_a_well_formed_punch_whose_time_cannot_be_taken_is_unprocessable(api, punches_table, at, message):
    # Given a timestamp that matches the pattern but names no instant (the 30th of February, before
    # year 1 or after year 9999 in UTC)
    reply = api.post(punch(at=at))
    # Then it is a 422 naming the timestamp, and nothing is stored
    refused(reply, 422, "invalid_timestamp")
    assert message in reply.body["message"]
    assert punches_table() == []


def test_timestamps_absurdly_far_away_are_rejected(use_function_env, keys, punches_table):
    from tests.integration.ingest.conftest import INGEST_KEY, IngestApi, cold_start

    cold_start(use_function_env("IngestFunction"))  # default limits: 1 day ahead, 400 days back
    keys.create("k", raw_key=INGEST_KEY)
    api = IngestApi(INGEST_KEY)
    future = api.post(punch(at="2099-01-01T09:00:00"))
    assert (future.status, future.body["error"]) == (422, "invalid_timestamp")
    assert "in the future" in future.body["message"]
    past = api.post(punch(at="1999-01-01T09:00:00"))
    assert "400 days in the past" in past.body["message"]
    assert punches_table() == []
