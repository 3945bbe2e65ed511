"""What fails after a punch is acknowledged never loses it; a store that is down stores nothing."""

import importlib
import json
from datetime import UTC, datetime, timedelta

import boto3

from attendance.data.punches import PunchStore
from attendance.domain.punch import SyncStatus
from functions.ingest import sweep
from tests.integration.ingest.conftest import INGEST_KEY, IngestApi, cold_start, punch
from tests.punches import dead_letter_queue


def test_store_down_answers_503_and_stores_nothing(api, stack, punches_table, queued):
    # Given the dedup table is gone (the store refuses every transaction)
    boto3.client("dynamodb").delete_table(TableName=stack.refs["DedupTable"])
    # When a punch and a batch arrive
    single = api.post(punch())
    batch = api.post({"punches": [punch(user="A"), punch(user="B")]})
    # Then both are told to retry later, and nothing was stored or queued
    for reply in (single, batch):
        assert reply.status == 503
        assert reply.body["error"] == "unavailable"
        assert reply.headers["Retry-After"] == "30"
        assert "dedup" not in json.dumps(reply.body).lower()  # no internals leak
    assert punches_table() == []
    assert queued() == []


def test_unreachable_store_answers_503(api, monkeypatch, punches_table):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    reply = api.post(punch())
    monkeypatch.delenv("AWS_ENDPOINT_URL")
    assert reply.status == 503
    assert punches_table() == []


def age_everything(stack, minutes: int) -> None:
    """Move every pending punch's receivedAt and queuedAt into the past, as if time had passed."""
    dynamodb = boto3.client("dynamodb")
    past = (datetime.now(UTC) - timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")
    for item in dynamodb.scan(TableName=stack.refs["PunchesTable"])["Items"]:
        item["receivedAt"] = item["queuedAt"] = {"S": past}
        dynamodb.put_item(TableName=stack.refs["PunchesTable"], Item=item)


def run_sweep(use_function_env) -> dict:
    use_function_env("PendingSweepFunction")
    importlib.reload(sweep)
    from local_stack.events import LambdaContext

    return sweep.lambda_handler({"source": "aws.scheduler"}, LambdaContext(function_name="sweep"))


def test_punch_acknowledged_but_not_queued_is_requeued_by_the_sweep(use_function_env, keys, stack, queued):
    # Given the queue send fails after the punch was stored (the function "dies" between the two)
    cold_start(
        use_function_env(
            "IngestFunction", MAX_PAST_DAYS="3650", PUNCH_QUEUE_URL=stack.refs["PunchQueue"] + "x"
        )
    )
    keys.create("k", raw_key=INGEST_KEY)
    reply = IngestApi(INGEST_KEY).post(punch())
    # Then the client still got its acknowledgement, and nothing is on the queue yet
    assert reply.status == 202
    assert queued() == []
    # When the sweep runs before the punch is stale, it leaves it alone
    assert run_sweep(use_function_env) == {"requeued": 0, "deadLettersKept": 0}
    # When the punch has been pending longer than the requeue age, the sweep queues it
    age_everything(stack, minutes=11)
    assert run_sweep(use_function_env) == {"requeued": 1, "deadLettersKept": 0}
    assert queued() == [reply.body["logId"]]
    # And a second sweep does not queue it again: it was just queued
    assert run_sweep(use_function_env) == {"requeued": 0, "deadLettersKept": 0}


def test_sweep_ignores_punches_no_longer_pending(api, stack, use_function_env, queued):
    api.post(punch())
    queued()
    age_everything(stack, minutes=30)
    dynamodb = boto3.client("dynamodb")
    [item] = dynamodb.scan(TableName=stack.refs["PunchesTable"])["Items"]
    store = PunchStore(dynamodb, stack.refs["PunchesTable"])
    store.record_delivery(item["logId"]["S"], datetime.now(UTC), SyncStatus.SYNCED, "delivered meanwhile")
    assert run_sweep(use_function_env) == {"requeued": 0, "deadLettersKept": 0}
    assert queued() == []


def test_a_dead_letter_is_sent_to_the_dlq_again_before_its_message_expires(api, stack, use_function_env):
    # Given two punches the CRM refused, dead-lettered 13 days ago and yesterday, whose messages the DLQ
    # no longer holds (the older one's 14 days are nearly over; both are gone here, to see which comes back)
    dynamodb = boto3.client("dynamodb")
    store = PunchStore(dynamodb, stack.refs["PunchesTable"])
    old, recent = api.post(punch(user="OLD")).body["logId"], api.post(punch(user="NEW")).body["logId"]
    now = datetime.now(UTC)
    store.record_delivery(old, now - timedelta(days=13), SyncStatus.FAILED, "HTTP 422: unknown employee")
    store.record_delivery(recent, now - timedelta(days=1), SyncStatus.FAILED, "HTTP 422: unknown employee")
    dlq = dead_letter_queue(stack)
    assert dlq.peek() == []
    # When the sweep runs
    assert run_sweep(use_function_env) == {"requeued": 0, "deadLettersKept": 1}
    # Then the one near the end of its 14 days is in the DLQ again, to be listed and redriven; still failed
    assert [letter.log_id for letter in dlq.peek()] == [old]
    assert store.get(old).status is SyncStatus.FAILED
    # and the next sweep leaves it be: its new message has 14 days again
    assert run_sweep(use_function_env) == {"requeued": 0, "deadLettersKept": 0}


def test_a_setting_the_function_refuses_answers_500_and_its_log_names_it(use_function_env, caplog):
    # Given the ingest's zone setting holds a zone that does not exist
    cold_start(use_function_env("IngestFunction", DEFAULT_TIME_ZONE="Europe/Berln"))
    # When a punch arrives
    reply = IngestApi(INGEST_KEY).post(punch())
    # Then the client learns nothing of it, and the log's message names the variable and its value
    assert (reply.status, reply.body) == (500, {"error": "internal", "message": "internal error"})
    assert [record.getMessage() for record in caplog.records if record.levelname == "ERROR"] == [
        "invalid settings: IngestSettings: DEFAULT_TIME_ZONE='Europe/Berln': unknown time zone 'Europe/Berln'"
    ]
