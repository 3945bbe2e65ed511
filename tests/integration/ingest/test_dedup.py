"""Dedup rules: exact duplicates forever, near duplicates within the window on the punches' own times."""

import random
import threading
import time

import boto3
import pytest

from tests.integration.ingest.conftest import punch
from tests.integration.permissions import calls_made


def test_exact_duplicate_is_caught_after_its_dedup_record_expired(api, stack, queued):
    # Given a punch whose dedup record has expired (DynamoDB may keep such items for two days)
    first = api.post(punch())
    table = stack.refs["DedupTable"]
    dynamodb = boto3.client("dynamodb")
    for item in dynamodb.scan(TableName=table)["Items"]:
        item["expiresAt"] = {"N": str(int(time.time()) - 3600)}
        dynamodb.put_item(TableName=table, Item=item)
    # When the same punch is sent again "a month later"
    again = api.post(punch())
    # Then it is still a duplicate with the same logId, and it is not queued again
    assert (again.status, again.body["logId"]) == (409, first.body["logId"])
    assert queued() == [first.body["logId"]]


def test_near_duplicate_from_another_device_names_the_earlier_punch(api, queued):
    first = api.post(punch(at="2025-02-10T09:16:00", device="DEV001"))
    tap = api.post(punch(at="2025-02-10T09:16:30", device="DEV002"))
    assert tap.status == 409
    assert tap.body["logId"] == first.body["logId"]
    assert "less than 60 s" in tap.body["reason"]
    assert (tap.body["duplicateKind"], tap.body["windowSeconds"]) == ("near_punch", 60)
    assert queued() == [first.body["logId"]]


@pytest.mark.parametrize(
    ("second", "expected"),
    [
        ("2025-02-10T09:16:59", 409),  # 59 s later
        ("2025-02-10T09:17:00", 202),  # exactly the window later: a new punch
        ("2025-02-10T09:15:01", 409),  # 59 s earlier, arriving later
        ("2025-02-10T09:15:00", 202),  # exactly the window earlier
    ],
)
def test_window_is_measured_on_punch_timestamps(api, second, expected):
    assert api.post(punch(at="2025-02-10T09:16:00")).status == 202
    assert api.post(punch(at=second, kind="out")).status == expected


def test_other_users_are_not_near_duplicates(api):
    assert api.post(punch(user="A", at="2025-02-10T09:16:00")).status == 202
    assert api.post(punch(user="B", at="2025-02-10T09:16:00")).status == 202


def test_expired_dedup_record_is_treated_as_absent(api, stack):
    # Given a near-duplicate window whose dedup record has expired but not yet been deleted by TTL
    api.post(punch(at="2025-02-10T09:16:00", device="DEV001"))
    dynamodb = boto3.client("dynamodb")
    table = stack.refs["DedupTable"]
    for item in dynamodb.scan(TableName=table)["Items"]:
        item["expiresAt"] = {"N": str(int(time.time()) - 1)}
        dynamodb.put_item(TableName=table, Item=item)
    # Then a tap within the window is no longer a near duplicate
    assert api.post(punch(at="2025-02-10T09:16:20", device="DEV002")).status == 202


def test_dedup_records_expire_after_the_retention(api, stack, ingest_env):
    before = int(time.time())
    api.post(punch())
    [record] = boto3.client("dynamodb").scan(TableName=stack.refs["DedupTable"])["Items"]
    retention = int(ingest_env["DEDUP_RETENTION_DAYS"]) * 86400
    assert before + retention <= int(record["expiresAt"]["N"]) <= int(time.time()) + retention


def a_day_of(user: str, times: list[str]) -> list[dict]:
    kinds = ["in", "break_out", "break_in", "out", "overtime_in", "overtime_out"]
    return [punch(user=user, at=f"2025-02-10T{t}", kind=kinds[i % 6]) for i, t in enumerate(times)]


def test_backfill_of_a_whole_day_is_accepted_in_any_order(api):
    day = a_day_of("EMP1", ["08:00:00", "08:01:00", "12:00:00", "12:30:00", "17:00:00", "17:00:59"])
    random.Random(7).shuffle(day)
    reply = api.post({"punches": day})
    assert reply.status == 200
    assert reply.body["accepted"] == 5
    assert reply.body["duplicate"] == 1  # 17:00:59 is 59 s after 17:00:00


def accepted_times(api, order: list[str]) -> set[str]:
    batch = [punch(at=f"2025-02-10T{t}") for t in order]
    reply = api.post({"punches": batch})
    return {batch[r["index"]]["timestamp"] for r in reply.body["results"] if r["status"] == "accepted"}


def test_batch_outcome_does_not_depend_on_item_order(api, stack):
    # A chain of taps 50 s apart: which survive is decided by timestamp, not by position in the batch
    forward = accepted_times(api, ["09:00:00", "09:00:50", "09:01:40"])
    assert forward == {"2025-02-10T09:00:00", "2025-02-10T09:01:40"}
    backward = accepted_times(api, ["09:01:40", "09:00:50", "09:00:00"])
    # The second batch is all duplicates now; compare on a fresh user instead
    assert backward == set()
    other = [punch(user="EMP2", at=f"2025-02-10T{t}") for t in ["09:01:40", "09:00:50", "09:00:00"]]
    reply = api.post({"punches": other})
    assert [r["status"] for r in reply.body["results"]] == ["accepted", "duplicate", "accepted"]


@pytest.mark.parametrize(
    "times",
    [("2025-02-10T09:00:50", "2025-02-10T09:01:10"), ("2025-02-10T23:59:50", "2025-02-11T00:00:10")],
    ids=["within a day", "across midnight UTC"],
)
def test_racing_requests_accept_exactly_one_of_two_taps(stack, ingest_env, queued, times):
    # Given pairs of taps 20 s apart, each pair sent at the same moment by two concurrent invocations
    statuses = []
    for n in range(20):
        statuses += at_once([[punch(user=f"U{n}", at=at)] for at in times])
    # Then each pair has exactly one accepted punch, and exactly those were queued
    assert sorted(statuses) == ["accepted"] * 20 + ["duplicate"] * 20
    assert len(set(queued())) == 20


def test_racing_batches_of_one_user_day_accept_exactly_one_of_each_pair_of_taps(stack, ingest_env, queued):
    # Given two batches of a user's day, each tap in one 20 s from a tap in the other, sent at the same
    # moment (each batch's punches of the day are claimed in one write)
    statuses = []
    for n in range(20):
        batches = [
            [punch(user=f"U{n}", at=f"2025-02-10T{hour}:00:{second}") for hour in ("09", "12", "17")]
            for second in ("00", "20")
        ]
        statuses += at_once(batches)
    # Then exactly one tap of each pair is accepted, and exactly those were queued
    assert sorted(statuses) == ["accepted"] * 60 + ["duplicate"] * 60
    assert len(set(queued())) == 60


def at_once(batches: list[list[dict]]) -> list[str]:
    """Each batch sent by its own concurrent invocation (a Lambda container: its own service, one table),
    all at the same moment; the statuses of every item."""
    from attendance.domain.keys import ApiKey, Scope
    from attendance.domain.punch import PunchSource
    from functions.ingest import app as ingest_app

    caller = ApiKey(key_id="k", name="k", scopes=frozenset({Scope.INGEST}), created_at="2025-01-01T00:00:00Z")
    containers = []
    for _ in batches:
        ingest_app.dependencies.cache_clear()
        containers.append(ingest_app.dependencies().service)
    statuses: list[str] = []
    lock = threading.Lock()

    def send(service, items: list[dict]) -> None:
        results = service.ingest(items, caller, PunchSource.API)
        with lock:
            statuses.extend(result.status.value for result in results)

    threads = [threading.Thread(target=send, args=pair) for pair in zip(containers, batches, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


def test_a_batchs_punches_of_one_user_day_are_claimed_in_one_write(api, stack, punches_table, queued):
    # Given a batch with a user's day: four punches, one of them a tap 30 s after another
    day = a_day_of("EMP1", ["08:00:00", "08:00:30", "12:00:00", "17:00:00"])
    # When it is sent (with calls recorded)
    with calls_made() as calls:
        reply = api.post({"punches": day})
    # Then the outcomes are those of one punch after another, and the day's record was written once
    assert [r["status"] for r in reply.body["results"]] == ["accepted", "duplicate", "accepted", "accepted"]
    dedup_writes = [
        params
        for _, operation, params in calls
        if operation in ("PutItem", "UpdateItem", "TransactWriteItems")
        and params.get("TableName") == stack.refs["DedupTable"]
    ]
    assert len(dedup_writes) == 1
    assert len(punches_table()) == 3
    assert len(queued()) == 3


def test_window_zero_turns_near_duplicates_off(use_function_env, keys):
    from tests.integration.ingest.conftest import INGEST_KEY, IngestApi, cold_start

    cold_start(use_function_env("IngestFunction", DEDUP_WINDOW_SECONDS="0", MAX_PAST_DAYS="3650"))
    keys.create("k", raw_key=INGEST_KEY)
    api = IngestApi(INGEST_KEY)
    assert api.post(punch(at="2025-02-10T09:00:00")).status == 202
    assert api.post(punch(at="2025-02-10T09:00:01", kind="out")).status == 202
    assert api.post(punch(at="2025-02-10T09:00:01", kind="out")).status == 409


@pytest.mark.parametrize(
    "times",
    [("2025-02-10T09:00:50", "2025-02-10T09:01:10"), ("2025-02-10T23:59:50", "2025-02-11T00:00:10")],
    ids=["within a day", "across midnight UTC"],
)
def test_a_punch_judged_on_what_was_read_before_a_racing_write_is_still_refused(stack, times):
    # Given two taps 20 s apart, each judged on the dedup records as they were before either was stored
    # (the interleaving two racing requests can have: both read, then both write)
    from datetime import UTC, datetime, timedelta

    from attendance.data.punch_intake import IntakeMemory, PunchIntake, StoreOutcome
    from attendance.domain.dedup import DedupDay, days_to_judge
    from tests.punches import utc_punch

    store = PunchIntake(boto3.client("dynamodb"), stack.refs["PunchesTable"], stack.refs["DedupTable"])
    taps = [
        utc_punch("U1", datetime.fromisoformat(at + "+00:00"), device)
        for device, at in zip(("DEV1", "DEV2"), times, strict=True)
    ]
    before = {key: DedupDay(key) for tap in taps for key in days_to_judge("U1", tap.epoch_seconds, 60) if key}
    # When both are stored on that stale view
    first = store.add(taps[0], 60, timedelta(days=1), datetime.now(UTC), IntakeMemory(dict(before)))
    second = store.add(taps[1], 60, timedelta(days=1), datetime.now(UTC), IntakeMemory(dict(before)))
    # Then the write of the second finds the records moved on, reads them again and refuses it
    assert first.outcome is StoreOutcome.ACCEPTED
    assert (second.outcome, second.log_id) == (StoreOutcome.NEAR_DUPLICATE, taps[0].log_id)
