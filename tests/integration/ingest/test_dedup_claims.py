"""A punch is claimed in its user-day record before it is stored, in two writes: an invocation that dies
between them leaves a claim without its punch, which the next request that meets it resolves, so the
punch is neither lost nor taken twice."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
import pytest

from attendance.data.aws import from_item, to_item
from attendance.domain.dedup import CLAIM_IN_FLIGHT_SECONDS
from functions.ingest import app as ingest_app
from tests.integration.client_hooks import hooked
from tests.integration.ingest.conftest import punch
from tests.integration.permissions import calls_made, refused
from tests.punches import BEFORE_PUT_ITEM, InvocationDied, dying_before_a_punch_is_put

EARLIER = punch(at="2025-02-10T09:00:00", device="DEV001")
NEAR = punch(at="2025-02-10T09:00:30", device="DEV002", kind="out")


@contextmanager
def dying_before_the_punch_is_put(stack: Any) -> Iterator[None]:
    """Ingest invocations die after their dedup claim is written, before the punch itself is."""
    with hooked({BEFORE_PUT_ITEM: dying_before_a_punch_is_put(stack)}):
        ingest_app.dependencies.cache_clear()  # a fresh environment, whose clients carry the hook
        try:
            yield
        finally:
            ingest_app.dependencies.cache_clear()


def dedup_records(stack: Any) -> list[dict[str, Any]]:
    items = boto3.client("dynamodb").scan(TableName=stack.refs["DedupTable"])["Items"]
    return [from_item(item) for item in items]


@pytest.fixture
def abandoned_claim(api, stack, punches_table) -> str:
    """The logId of EARLIER, claimed by an invocation that died before storing it."""
    with dying_before_the_punch_is_put(stack), pytest.raises(InvocationDied):
        api.post(EARLIER)
    [record] = dedup_records(stack)
    assert punches_table() == []
    [log_id] = record["punches"]
    return log_id


def test_a_punch_claimed_by_a_dead_invocation_is_stored_when_sent_again(
    api, abandoned_claim, punches_table, queued
):
    # When the client sends the punch it got no answer for again
    reply = api.post(EARLIER)
    # Then it is accepted under its logId, stored once and queued once
    assert (reply.status, reply.body["logId"]) == (202, abandoned_claim)
    assert [item["logId"] for item in punches_table()] == [abandoned_claim]
    assert queued() == [abandoned_claim]
    # And from then on it is a plain duplicate
    assert api.post(EARLIER).status == 409
    assert queued() == []


def test_a_near_duplicate_of_a_claim_still_in_flight_is_sent_back_to_retry(
    api, abandoned_claim, punches_table, queued
):
    # When a punch less than the window from the claimed one arrives while its invocation may still be running
    single = api.post(NEAR)
    batch = api.post({"punches": [NEAR, punch(user="OTHER")]})
    # Then it is neither stored nor called a duplicate of a punch that is not stored: it is to be sent again
    assert single.status == 503
    assert single.body["error"] == "retry"
    assert "still being stored" in single.body["message"]
    assert single.headers["Retry-After"] == "2"
    assert [result["status"] for result in batch.body["results"]] == ["retry", "accepted"]
    assert batch.body["retryAfter"] == 2
    assert len(punches_table()) == 1  # OTHER's alone
    assert len(queued()) == 1


def test_an_abandoned_claim_is_withdrawn_and_the_near_duplicate_takes_its_place(
    api, stack, template, abandoned_claim, punches_table, queued
):
    # Given the claim is older than any invocation can run
    dynamodb = boto3.client("dynamodb")
    [record] = dedup_records(stack)
    record["claimedAt"] -= CLAIM_IN_FLIGHT_SECONDS + 1
    dynamodb.put_item(TableName=stack.refs["DedupTable"], Item=to_item(record))
    # When the near duplicate arrives (from a fresh environment, its calls recorded)
    with calls_made() as calls:
        ingest_app.dependencies.cache_clear()
        reply = api.post(NEAR)
    # Then the claim is withdrawn and the new punch accepted, stored and queued in its place
    assert reply.status == 202
    [record] = dedup_records(stack)
    assert list(record["punches"]) == [reply.body["logId"]]
    assert [item["logId"] for item in punches_table()] == [reply.body["logId"]]
    assert queued() == [reply.body["logId"]]
    assert refused(template, "IngestFunction", stack, calls) == []
    # And the abandoned punch, sent again, is now the near duplicate: one of the two, never both
    again = api.post(EARLIER)
    assert (again.status, again.body["logId"]) == (409, reply.body["logId"])
    assert queued() == []


def test_a_resent_batch_confirms_its_duplicates_together(api, stack, template, punches_table, queued):
    # Given a batch of twenty users' punches, stored
    first = [punch(user=f"R{n}", at="2025-02-10T09:00:00") for n in range(20)]
    assert {r["status"] for r in api.post({"punches": first}).body["results"]} == {"accepted"}
    queued()
    # When the batch is sent again, with a near duplicate of each (a resend after a lost answer, and taps)
    near = [punch(user=f"R{n}", at="2025-02-10T09:00:20", device="DEV002") for n in range(20)]
    with calls_made() as calls:
        ingest_app.dependencies.cache_clear()
        reply = api.post({"punches": first + near})
    # Then every one is a duplicate, nothing is stored or queued twice
    assert {result["status"] for result in reply.body["results"]} == {"duplicate"}
    assert len(punches_table()) == 20
    assert queued() == []
    # And the punches they match were confirmed stored in one strongly consistent read, not one per punch
    punch_reads = [
        (operation, params)
        for _, operation, params in calls
        if stack.refs["PunchesTable"] in (params.get("TableName"), *params.get("RequestItems", {}))
    ]
    assert [operation for operation, _ in punch_reads] == ["BatchGetItem"]
    request = punch_reads[0][1]["RequestItems"][stack.refs["PunchesTable"]]
    assert request["ConsistentRead"] is True
    assert len(request["Keys"]) == 20
    assert refused(template, "IngestFunction", stack, calls) == []


def test_a_resent_batch_still_stores_a_punch_whose_invocation_died_after_its_claim(
    api, stack, punches_table, queued
):
    # Given a batch whose invocation died after claiming its first punch, before storing it
    batch = {"punches": [EARLIER, punch(user="OTHER")]}
    with dying_before_the_punch_is_put(stack), pytest.raises(InvocationDied):
        api.post(batch)
    assert punches_table() == []
    # When the client sends the batch again
    reply = api.post(batch)
    # Then the claimed punch, not found by the batch's read, is stored now: both accepted, stored and queued once
    assert [result["status"] for result in reply.body["results"]] == ["accepted", "accepted"]
    assert len(punches_table()) == 2
    assert len(queued()) == 2


def test_a_user_days_punches_claimed_together_by_a_dead_invocation_are_stored_when_sent_again(
    api, stack, punches_table, queued
):
    # Given a batch of one user's day, claimed in one write by an invocation that died before storing any
    day = [punch(at=f"2025-02-10T{hour}:00:00") for hour in ("08", "12", "17")]
    with dying_before_the_punch_is_put(stack), pytest.raises(InvocationDied):
        api.post({"punches": day})
    [record] = dedup_records(stack)
    assert len(record["punches"]) == 3
    assert punches_table() == []
    # When the batch is sent again, with a tap 20 s after the first punch
    reply = api.post({"punches": [*day, punch(at="2025-02-10T08:00:20", device="DEV002")]})
    # Then the three are stored and queued once each, and the tap is their near duplicate
    statuses = [result["status"] for result in reply.body["results"]]
    assert statuses == ["accepted", "accepted", "accepted", "duplicate"]
    assert len(punches_table()) == 3
    assert len(queued()) == 3
