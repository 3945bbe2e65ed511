"""The worker under test: moto's queues with real redrive, a real local HTTP CRM, the real handler."""

import importlib
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import boto3
import httpx
import pytest
from aws_lambda_powertools.utilities import parameters
from moto.ssm.responses import SimpleSystemManagerResponse

from attendance.data.api_keys import ApiKeyStore
from attendance.data.aws import from_item
from attendance.data.device_punches import DevicePunches
from attendance.data.punches import PunchStore
from attendance.data.queue import PunchQueue
from attendance.domain.keys import Scope
from attendance.domain.punch import Punch, PunchSource, PunchType, punch_log_id
from functions.crm_worker import app as worker_app
from functions.deliveries import app as deliveries_app
from local_stack.mock_crm import GENERIC_PATH, MockCrmServer
from local_stack.sqs_trigger import SqsTrigger
from local_stack.template import Resolver
from tests.integration.http_calls import Reply, call_route
from tests.punches import punch_intake

VISIBILITY_SECONDS = 1  # short in tests; 10 in the template


@pytest.fixture
def stack_parameters() -> dict[str, str]:
    return {"PunchVisibilityTimeout": str(VISIBILITY_SECONDS)}


@pytest.fixture
def crm() -> Iterator[MockCrmServer]:
    server = MockCrmServer(port=0).start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def worker_env(use_function_env, crm, stack) -> Callable[..., dict[str, str]]:
    """Apply the worker's template environment (pointing at the mock CRM) and cold-start the handler."""

    def apply(**overrides: str) -> dict[str, str]:
        environment = use_function_env(
            "CrmWorkerFunction", **({"CRM_URL": crm.url + GENERIC_PATH} | overrides)
        )
        parameters.clear_caches()  # a new container has no cached secret
        importlib.reload(worker_app)
        return environment

    apply()
    return apply


@pytest.fixture
def trigger(stack: Resolver, worker_env) -> SqsTrigger:
    return SqsTrigger(
        boto3.client("sqs"),
        stack.refs["PunchQueue"],
        stack.attributes[("PunchQueue", "Arn")],
        lambda event, context: worker_app.lambda_handler(event, context),
    )


@pytest.fixture
def store(stack: Resolver) -> PunchStore:
    return PunchStore(boto3.client("dynamodb"), stack.refs["PunchesTable"])


@pytest.fixture
def enqueue(stack: Resolver) -> Callable[..., str]:
    """Store a punch as ingest does and put its logId on the punch queue."""
    queue = PunchQueue(boto3.client("sqs"), stack.refs["PunchQueue"])
    intake = punch_intake(stack)  # its client made now: calls a test records are the worker's alone
    counter = iter(range(10_000))

    def add(
        user: str = "EMP1", kind: PunchType = PunchType.IN, at: datetime | None = None, zone: str = "UTC"
    ) -> str:
        """A punch at `at` (by default five minutes after the one before), from a device in `zone`."""
        instant = at or datetime(2025, 2, 10, 8, 0, tzinfo=UTC) + timedelta(minutes=5 * next(counter))
        punch = Punch(
            log_id=punch_log_id("DEV001", user, instant, PunchType(kind)),
            device_id="DEV001",
            user_id=user,
            instant=instant,
            local_time=instant.astimezone(ZoneInfo(zone)).replace(tzinfo=None).isoformat(),
            time_zone=zone,
            type=PunchType(kind),
            source=PunchSource.API,
            received_at=datetime.now(UTC),
        )
        intake.add(punch, 60, timedelta(days=1), datetime.now(UTC))
        assert not queue.send([punch.log_id])
        return punch.log_id

    return add


@pytest.fixture
def stored(stack: Resolver) -> Callable[[str], dict[str, Any]]:
    def get(log_id: str) -> dict[str, Any]:
        item = boto3.client("dynamodb").get_item(
            TableName=stack.refs["PunchesTable"], Key={"logId": {"S": log_id}}
        )
        return from_item(item["Item"])

    return get


@pytest.fixture
def dead_letters(stack: Resolver) -> Callable[[], list[str]]:
    import json

    def drain() -> list[str]:
        reply = boto3.client("sqs").receive_message(
            QueueUrl=stack.refs["PunchDeadLetterQueue"], MaxNumberOfMessages=10, VisibilityTimeout=60
        )
        return [json.loads(m["Body"])["logId"] for m in reply.get("Messages", [])]

    return drain


@pytest.fixture
def ssm_reads(monkeypatch: pytest.MonkeyPatch, aws: None) -> Callable[[], int]:
    """How many GetParameter requests SSM (moto) has answered so far."""
    reads: list[str] = []
    answer = SimpleSystemManagerResponse.get_parameter

    def counted(response: SimpleSystemManagerResponse) -> Any:
        reads.append(response._get_param("Name"))
        return answer(response)

    monkeypatch.setattr(SimpleSystemManagerResponse, "get_parameter", counted)
    return lambda: len(reads)


def put_secret(value: str, name: str = "/attendance-sync/crm-secret") -> None:
    """Create or rotate the CRM secret, as `aws ssm put-parameter --overwrite` does."""
    boto3.client("ssm").put_parameter(Name=name, Value=value, Type="SecureString", Overwrite=True)


def crm_view(crm: MockCrmServer) -> dict[str, Any]:
    return httpx.get(crm.url + "/crm/attendance", timeout=5).json()


def set_behaviour(crm: MockCrmServer, **behaviour: Any) -> None:
    httpx.post(crm.url + "/crm/_behaviour", json=behaviour, timeout=5).raise_for_status()


def held(crm: MockCrmServer) -> dict[str, dict[str, Any]]:
    """The punches the CRM holds, by the key it holds them under: the logId on the generic path,
    `<employee>|<site time>|<log type>` on Frappe's."""
    return {punch["key"]: punch for punch in crm_view(crm)["punches"]}


def held_by_user(crm: MockCrmServer) -> dict[str, dict[str, Any]]:
    """The punches the CRM holds, by the user each is for (one punch each), whichever the target."""
    return {
        punch["body"].get("userId") or punch["body"]["employee_field_value"]: punch
        for punch in crm_view(crm)["punches"]
    }


def synced(stored: Callable[[str], dict[str, Any]], *log_ids: str) -> Callable[[], bool]:
    return lambda: all(stored(log_id)["syncStatus"] == "synced" for log_id in log_ids)


def run_until(trigger: SqsTrigger, done: Callable[[], bool], limit_seconds: float = 30) -> list:
    """Poll like the event source mapping until `done`; returns the poll reports."""
    reports = []
    give_up = time.monotonic() + limit_seconds
    while not done():
        assert time.monotonic() < give_up, f"not done after {limit_seconds} s: {reports}"
        report = trigger.poll_once(wait_seconds=0)
        if report.received:
            reports.append(report)
        else:
            time.sleep(0.1)
    return reports


ADMIN_KEY, READ_KEY = "void-admin", "void-reader"
VOID = "/punches/{logId}/void"


@pytest.fixture
def void(use_function_env, worker_env) -> Callable[..., Reply]:
    """void(logId, reason) through the deliveries API, as an admin (or with `key`)."""
    environment = use_function_env("DeliveriesFunction")
    importlib.reload(deliveries_app)
    keys = ApiKeyStore(boto3.client("dynamodb"), environment["API_KEYS_TABLE"])
    keys.create("hr-lead", frozenset({Scope.ADMIN}), raw_key=ADMIN_KEY)
    keys.create("wallboard", frozenset({Scope.READ}), raw_key=READ_KEY)

    def call(log_id: str, reason: Any = "a test punch", key: str = ADMIN_KEY, **arguments: Any) -> Reply:
        body = arguments.pop("body", {"reason": reason})
        return call_route(
            deliveries_app.lambda_handler, "POST", VOID, key, body=body, logId=log_id, **arguments
        )

    return call


def status_of(stored: Callable[[str], dict[str, Any]], log_id: str) -> str:
    return stored(log_id)["syncStatus"]


@pytest.fixture
def in_reports(store: PunchStore, stack: Resolver) -> Callable[..., bool]:
    """Whether the reports' and lists' reads (a day's punches, one employee's, the day's latest, the
    device's latest) still see a punch."""
    device = DevicePunches(boto3.client("dynamodb"), stack.refs["PunchesTable"])

    def seen(log_id: str, user: str = "EMP1") -> bool:
        day = [punch.log_id for punch in store.on_local_dates(["2025-02-10"])]
        around = datetime(2025, 2, 10, tzinfo=UTC)
        of_user = [punch.log_id for punch in store.of_user(user, around, around + timedelta(days=1))]
        latest = [punch.log_id for punch in store.latest_on_local_date("2025-02-10", 50)]
        on_device = [punch.log_id for punch in device.recent("DEV001", 50)]
        return any(log_id in found for found in (day, of_user, latest, on_device))

    return seen
