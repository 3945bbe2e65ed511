"""A batch on a slow store: ingest stops starting punches before its time runs out and answers for every
item, the ones it did not reach marked for retry, never a timeout or a 500."""

from collections.abc import Iterator

import pytest

from attendance.settings import IngestSettings
from local_stack.chaos import slow_dynamodb
from tests.integration.ingest.conftest import punch

# Writes slowed, as a throttled table's are when botocore backs them off and retries: at 100 ms each, eight
# at a time, a 300-punch batch needs about eight seconds of writes. Its reads keep their speed, so the time
# before the first write (reading ahead for 300 punches) depends little on how busy the machine is.
WRITE_LATENCY_MS = 100
WRITES = frozenset({"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem"})
SPARE_SECONDS = 3


@pytest.fixture
def slow_store(api) -> Iterator[None]:
    """Set up after the stack's fixtures, which start boto3's default session afresh."""
    undo = slow_dynamodb(WRITE_LATENCY_MS, WRITES)
    yield
    undo()


def test_a_batch_short_of_time_stores_what_it_reached_and_asks_for_the_rest_again(
    slow_store, api, punches_table, queued
):
    # Given a slow store and an invocation with a few seconds to spare beyond the reserve
    batch = [punch(user=f"E{n:03d}", at="2025-02-10T09:00:00") for n in range(300)]
    timeout = IngestSettings.model_fields["batch_time_reserve_seconds"].default + SPARE_SECONDS
    # When a 300-punch batch is posted
    reply = api.post({"punches": batch}, timeout_seconds=timeout)
    # Then it answers 200 for every item: some stored, the rest to send again after Retry-After
    assert reply.status == 200, reply.body
    results = reply.body["results"]
    accepted = [r for r in results if r["status"] == "accepted"]
    retry = [r for r in results if r["status"] == "retry"]
    assert 0 < len(accepted) < 300
    assert len(accepted) + len(retry) == 300
    assert (reply.body["accepted"], reply.body["retry"]) == (len(accepted), len(retry))
    assert reply.body["retryAfter"] == int(reply.headers["Retry-After"]) > 0
    assert all("logId" not in r and "send it again" in r["reason"] for r in retry)
    # and exactly the accepted punches are stored and queued
    accepted_ids = sorted(r["logId"] for r in accepted)
    assert sorted(p["logId"] for p in punches_table()) == accepted_ids
    assert sorted(queued()) == accepted_ids

    # When the client sends the retry items again with time enough
    again = [batch[r["index"]] for r in retry]
    second = api.post({"punches": again})
    # Then they are all stored, once, and the batch's punches are all there
    assert (second.body["accepted"], second.body["retry"]) == (len(retry), 0)
    assert "Retry-After" not in second.headers
    assert "retryAfter" not in second.body
    assert len(punches_table()) == 300
    # and the whole batch sent once more is all duplicates
    assert api.post({"punches": batch}).body["duplicate"] == 300


def test_a_single_punch_is_always_tried_however_little_time_is_left(slow_store, api, punches_table):
    reply = api.post(punch(user="LATE"), timeout_seconds=1)
    assert reply.status == 202, reply.body
    assert [p["userId"] for p in punches_table()] == ["LATE"]
