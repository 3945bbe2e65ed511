"""The deliveries API through real API Gateway events against moto, with punches dead-lettered as the worker
does it (the failure recorded on the punch, its logId sent to the dead-letter queue)."""

import importlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from attendance.data.api_keys import ApiKeyStore
from attendance.data.punches import PunchStore
from attendance.data.queue import PunchQueue, log_id_in
from attendance.domain.keys import Scope
from attendance.domain.punch import SyncStatus
from functions.deliveries import app as deliveries_app
from local_stack.template import Resolver
from tests.integration.http_calls import Reply, call_route
from tests.punches import store_punch, utc_punch

ADMIN_KEY, READ_KEY, INGEST_KEY = "admin-key", "read-key", "ingest-key"


@pytest.fixture
def deliveries_env(use_function_env) -> dict[str, str]:
    environment = use_function_env("DeliveriesFunction")
    importlib.reload(deliveries_app)
    keys = ApiKeyStore(boto3.client("dynamodb"), environment["API_KEYS_TABLE"])
    keys.create("ops", frozenset({Scope.ADMIN}), raw_key=ADMIN_KEY)
    keys.create("dashboard", frozenset({Scope.READ}), raw_key=READ_KEY)
    keys.create("webhook", frozenset({Scope.INGEST}), raw_key=INGEST_KEY)
    return environment


@pytest.fixture
def api(deliveries_env) -> Callable[..., Reply]:
    """Calls the deliveries API: api("POST", "/deliveries/dead-letters/redrive", body={...})."""

    def call(method: str, path: str, key: str | None = ADMIN_KEY, **arguments: Any) -> Reply:
        return call_route(deliveries_app.lambda_handler, method, path, key, **arguments)

    return call


@pytest.fixture
def punches(stack: Resolver) -> PunchStore:
    return PunchStore(boto3.client("dynamodb"), stack.refs["PunchesTable"])


@pytest.fixture
def add_punch(stack: Resolver) -> Callable[..., str]:
    def add(user_id: str, device_id: str = "DEV-1", minutes_ago: int = 5) -> str:
        instant = (datetime.now(UTC) - timedelta(minutes=minutes_ago)).replace(microsecond=0)
        punch = utc_punch(user_id, instant, device_id, received_at=instant)
        store_punch(stack, punch)
        return punch.log_id

    return add


@pytest.fixture
def dead_letter(stack: Resolver, punches: PunchStore, add_punch) -> Callable[..., str]:
    """A punch the CRM refused, attempts recorded, its logId in the dead-letter queue."""
    dlq = PunchQueue(boto3.client("sqs"), stack.refs["PunchDeadLetterQueue"])

    def add(
        user_id: str, error: str = "HTTP 422: unknown employee", attempts: int = 1, minutes_ago: int = 5
    ) -> str:
        log_id = add_punch(user_id, minutes_ago=minutes_ago)
        for attempt in range(1, attempts + 1):
            status = SyncStatus.FAILED if attempt == attempts else SyncStatus.PENDING
            punches.record_delivery(log_id, datetime.now(UTC), status, error)
        assert dlq.send([log_id]) == []
        return log_id

    return add


@pytest.fixture
def punch_queue(stack: Resolver) -> Callable[[], list[str]]:
    """The logIds waiting in the punch queue (taken off it)."""
    sqs = boto3.client("sqs")

    def read() -> list[str]:
        found = []
        while messages := sqs.receive_message(QueueUrl=stack.refs["PunchQueue"], MaxNumberOfMessages=10).get(
            "Messages", []
        ):
            for message in messages:
                found.append(log_id_in(message["Body"]))
                sqs.delete_message(QueueUrl=stack.refs["PunchQueue"], ReceiptHandle=message["ReceiptHandle"])
        return found

    return read
