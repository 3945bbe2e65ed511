"""The reports handler through API Gateway events against moto, with punches stored as ingest stores them."""

import importlib
import json
from collections.abc import Callable
from datetime import UTC, datetime, time
from typing import Any

import boto3
import pytest

from attendance.data.api_keys import ApiKeyStore
from attendance.data.schedules import ScheduleStore
from attendance.domain.clock import resolve_timestamp
from attendance.domain.keys import Scope
from attendance.domain.punch import Punch, PunchSource, PunchType, punch_log_id
from attendance.domain.timesheet import DEFAULT_SCHEDULE_ID, Schedule
from functions.reports import app as reports_app
from local_stack.events import LambdaContext, http_api_event
from local_stack.template import Resolver
from tests.punches import store_punch

REPORTS_KEY, INGEST_KEY = "reports-key", "ingest-only-key"
OFFICE = Schedule(start=time(9, 0), end=time(17, 0), grace_minutes=5, time_zone="Europe/Berlin")
NIGHTS = Schedule(
    days=frozenset(range(7)), start=time(22, 0), end=time(6, 0), grace_minutes=10, time_zone="Europe/Berlin"
)


@pytest.fixture
def default_zone() -> str:
    """The stack's DefaultTimeZone; a test parametrizes `default_zone` to use another."""
    return "Europe/Berlin"


@pytest.fixture
def reports_env(use_function_env, default_zone) -> dict[str, str]:
    environment = use_function_env("ReportsFunction", DEFAULT_TIME_ZONE=default_zone)
    importlib.reload(reports_app)
    keys = ApiKeyStore(boto3.client("dynamodb"), environment["API_KEYS_TABLE"])
    keys.create("hr", frozenset({Scope.REPORTS}), raw_key=REPORTS_KEY)
    keys.create("clock", frozenset({Scope.INGEST}), raw_key=INGEST_KEY)
    return environment


@pytest.fixture
def schedules(stack: Resolver) -> ScheduleStore:
    return ScheduleStore(boto3.client("dynamodb"), stack.refs["SchedulesTable"])


@pytest.fixture
def add_punch(stack: Resolver) -> Callable[..., None]:
    def add(
        user: str,
        local: str,
        kind: str,
        zone: str = "Europe/Berlin",
        device: str = "DEV1",
        source: PunchSource = PunchSource.API,
    ) -> None:
        resolved = resolve_timestamp(local, zone, zone)
        punch = Punch(
            log_id=punch_log_id(device, user, resolved.instant, PunchType(kind)),
            device_id=device,
            user_id=user,
            instant=resolved.instant,
            local_time=resolved.local_time,
            time_zone=resolved.time_zone,
            type=PunchType(kind),
            source=source,
            received_at=datetime.now(UTC),
        )
        store_punch(stack, punch)

    return add


@pytest.fixture
def get(reports_env) -> Callable[..., tuple[int, Any, dict[str, str]]]:
    def call(path: str, key: str | None = REPORTS_KEY, **query: str) -> tuple[int, Any, dict[str, str]]:
        headers = {"authorization": f"Bearer {key}"} if key else {}
        response = reports_app.lambda_handler(
            http_api_event("GET", path, None, headers, query or None), LambdaContext("reports")
        )
        content_type = response.get("headers", {}).get("Content-Type", "")
        body = json.loads(response["body"]) if "json" in content_type else response["body"]
        return response["statusCode"], body, response.get("headers", {})

    return call


@pytest.fixture
def a_day(add_punch, schedules):
    """Monday 10 February 2025 at a small office, and a night watchman."""
    schedules.put(DEFAULT_SCHEDULE_ID, OFFICE)
    schedules.put("NIGHT1", NIGHTS)
    for user, at, kind in [
        ("ANNA", "2025-02-10 08:58:00", "in"),
        ("ANNA", "2025-02-10 12:00:00", "break_out"),
        ("ANNA", "2025-02-10 12:30:00", "break_in"),
        ("ANNA", "2025-02-10 17:05:00", "out"),
        ("BEN", "2025-02-10 09:25:00", "in"),  # forgot to check out
        ("NIGHT1", "2025-02-10 21:55:00", "in"),
        ("NIGHT1", "2025-02-11 06:02:00", "out"),
        ("ANNA", "2025-02-11 09:00:00", "in"),
        ("ANNA", "2025-02-11 17:00:00", "out"),
        ("NIGHT1", "2025-02-09 22:00:00", "in"),
        ("NIGHT1", "2025-02-10 06:00:00", "out"),  # the night before
    ]:
        add_punch(user, at, kind)
