"""The employees handler through API Gateway events against moto, with punches ingested by the real
IngestService; the admin CLI (the `cli` fixture) in-process against the same moto tables."""

import importlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

import boto3
import pytest

from attendance.data.api_keys import ApiKeyStore
from attendance.data.devices import DeviceStore
from attendance.data.employees import EmployeeStore
from attendance.data.punch_intake import PunchIntake
from attendance.data.queue import PunchQueue
from attendance.data.schedules import ScheduleStore
from attendance.domain.keys import Scope
from attendance.domain.punch import PunchSource
from attendance.domain.timesheet import DEFAULT_SCHEDULE_ID, Schedule
from attendance.ingest.service import IngestService, ItemStatus
from attendance.settings import PunchIntakeSettings
from functions.employees import app as employees_app
from local_stack.events import LambdaContext, http_api_event
from local_stack.template import Resolver

READ_KEY, ADMIN_KEY, INGEST_KEY = "read-key", "admin-key", "ingest-only-key"


@dataclass
class Reply:
    status: int
    body: Any
    headers: dict[str, str]


def midday_zone() -> str:
    """A fixed-offset company zone in which it is now around midday, so that the punches of the last
    few hours fall on today whenever the test runs."""
    hours = (12 - datetime.now(UTC).hour + 12) % 24 - 12  # -12 .. +11
    return f"{'-' if hours < 0 else '+'}{abs(hours):02d}:00"


@pytest.fixture
def company_zone() -> str:
    return midday_zone()


@pytest.fixture
def employees_env(use_function_env, company_zone) -> dict[str, str]:
    environment = use_function_env("EmployeesFunction", DEFAULT_TIME_ZONE=company_zone)
    importlib.reload(employees_app)  # a cold start under this environment
    keys = ApiKeyStore(boto3.client("dynamodb"), environment["API_KEYS_TABLE"])
    keys.create("directory viewer", frozenset({Scope.READ}), raw_key=READ_KEY)
    keys.create("hr admin", frozenset({Scope.ADMIN}), raw_key=ADMIN_KEY)
    keys.create("front door", frozenset({Scope.INGEST}), raw_key=INGEST_KEY)
    return environment


@pytest.fixture
def call(employees_env) -> Callable[..., Reply]:
    def send(
        method: str,
        path: str,
        body: Any = None,
        key: str | None = READ_KEY,
        raw: str | None = None,
        query: dict[str, str] | None = None,
    ) -> Reply:
        headers = {"content-type": "application/json"} if body is not None or raw is not None else {}
        if key:
            headers["authorization"] = f"Bearer {key}"
        text = raw if raw is not None else (json.dumps(body) if body is not None else None)
        response = employees_app.lambda_handler(
            http_api_event(method, path, text, headers, query), LambdaContext("employees")
        )
        return Reply(response["statusCode"], json.loads(response["body"]), response.get("headers", {}))

    return send


@pytest.fixture
def directory(stack: Resolver) -> EmployeeStore:
    return EmployeeStore(boto3.client("dynamodb"), stack.refs["EmployeesTable"])


@pytest.fixture
def schedules(stack: Resolver) -> ScheduleStore:
    return ScheduleStore(boto3.client("dynamodb"), stack.refs["SchedulesTable"])


@pytest.fixture
def everyone_expected_today(schedules, company_zone) -> Schedule:
    """A default schedule of every day, 09:00-17:00 in the company zone (where it is about midday): the
    directory's people are expected at work today, whatever the weekday."""
    every_day = Schedule(days=frozenset(range(7)), start=time(9), end=time(17), time_zone=company_zone)
    schedules.put(DEFAULT_SCHEDULE_ID, every_day)
    return every_day


@pytest.fixture
def punch(stack: Resolver) -> Callable[..., str]:
    """Sends a punch `minutes_ago` minutes ago (or `at` an instant) through the real IngestService, as POST
    /punches would."""
    settings = PunchIntakeSettings(
        punches_table=stack.refs["PunchesTable"],
        dedup_table=stack.refs["DedupTable"],
        devices_table=stack.refs["DevicesTable"],
        punch_queue_url=stack.refs["PunchQueue"],
    )
    dynamodb = boto3.client("dynamodb")
    service = IngestService(
        settings,
        PunchIntake(dynamodb, settings.punches_table, settings.dedup_table),
        DeviceStore(dynamodb, settings.devices_table),
        PunchQueue(boto3.client("sqs"), settings.punch_queue_url),
    )
    _, caller = ApiKeyStore(dynamodb, stack.refs["ApiKeysTable"]).create("clock")

    def send(
        user: str, kind: str, minutes_ago: int = 0, device: str = "DEV-EMP", at: datetime | None = None
    ) -> str:
        moment = at or (datetime.now(UTC) - timedelta(minutes=minutes_ago)).replace(microsecond=0)
        item = {"deviceId": device, "userId": user, "timestamp": moment.isoformat(), "type": kind}
        [result] = service.ingest([item], caller, PunchSource.API)
        assert result.status is ItemStatus.ACCEPTED, result
        return moment.isoformat()

    return send
