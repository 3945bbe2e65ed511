"""Every AWS call ingest and the pending sweep make is one their roles in the template allow."""

from datetime import UTC, datetime, timedelta

import boto3

from attendance.data.punches import PunchStore
from attendance.domain.punch import SyncStatus
from functions.ingest import app as ingest_app
from tests.integration.ingest.conftest import punch
from tests.integration.ingest.test_failures import age_everything, run_sweep
from tests.integration.permissions import calls_made, refused


def test_ingest_calls_only_what_its_role_allows(api, stack, template):
    # Given a fresh execution environment, recorded from its first client on
    with calls_made() as calls:
        ingest_app.dependencies.cache_clear()
        # When it takes a punch, its exact and near duplicates and a batch of several users
        api.post(punch(at="2025-02-10T09:00:00"))
        api.post(punch(at="2025-02-10T09:00:00"))
        api.post(punch(at="2025-02-10T09:00:30", device="DEV2"))
        api.post({"punches": [punch(user=f"B{n}", at="2025-02-10T23:59:30") for n in range(3)]})
    # Then its role allows every one of those calls
    assert {operation for _, operation, _ in calls} >= {"GetItem", "BatchGetItem", "TransactWriteItems"}
    assert refused(template, "IngestFunction", stack, calls) == []


def test_the_sweep_calls_only_what_its_role_allows(api, stack, template, use_function_env):
    # Given a punch pending too long, and one dead-lettered 13 days ago
    api.post(punch())
    age_everything(stack, minutes=30)
    dead = api.post(punch(user="DEAD")).body["logId"]
    store = PunchStore(boto3.client("dynamodb"), stack.refs["PunchesTable"])
    store.record_delivery(dead, datetime.now(UTC) - timedelta(days=13), SyncStatus.FAILED, "HTTP 422")
    with calls_made() as calls:
        assert run_sweep(use_function_env) == {"requeued": 1, "deadLettersKept": 1}
    assert {operation for _, operation, _ in calls} >= {"Scan", "SendMessageBatch", "UpdateItem"}
    assert {params["QueueUrl"] for _, operation, params in calls if operation == "SendMessageBatch"} == {
        stack.refs["PunchQueue"],
        stack.refs["PunchDeadLetterQueue"],
    }
    assert refused(template, "PendingSweepFunction", stack, calls) == []
