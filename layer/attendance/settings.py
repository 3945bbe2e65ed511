"""Each function's configuration, read from its environment (set by template.yaml)."""

import os
from datetime import timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_core import ErrorDetails

from attendance.domain.clock import ZoneName


class InvalidSettings(ValueError):
    """A function's environment that its settings refuse. The message is one line naming each variable and
    its value: a function that cannot start says why in its log's first line, not in a traceback's last."""


class _FromEnvironment(BaseModel):
    """Fields from the variables of the same name in any case; values passed in take precedence. Plain
    pydantic rather than pydantic-settings, whose sources (dotenv files, secrets, a command line) no
    function uses and whose import every cold start would pay. Each function reads one of these classes,
    so each builds its validator when first used, not at import."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    def __init__(self, **values: Any) -> None:
        environment = {name.lower(): value for name, value in os.environ.items()}
        fields = type(self).model_fields
        try:
            super().__init__(**{name: environment[name] for name in fields if name in environment} | values)
        except ValidationError as error:
            raise InvalidSettings(f"{type(self).__name__}: {_problems(error)}") from None


def _problems(error: ValidationError) -> str:
    """One problem a variable, the first pydantic names (a union, such as a zone or empty, fails each way)."""
    problems: dict[str, str] = {}
    for detail in error.errors(include_url=False):
        variable = str(detail["loc"][0]).upper()
        problems.setdefault(variable, _problem(variable, detail))
    return "; ".join(problems.values())


def _problem(variable: str, detail: ErrorDetails) -> str:
    if detail["type"] == "missing":
        return f"{variable} is not set"
    return f"{variable}={detail['input']!r}: {detail['msg'].removeprefix('Value error, ')}"


class DedupSettings(_FromEnvironment):
    """The dedup rules, for every function that judges punches (attendance/domain/dedup.py)."""

    dedup_table: str
    dedup_window_seconds: int = Field(default=60, ge=0, le=3600)


class DedupClaimSettings(DedupSettings):
    """For the functions that store punches: how long a punch's claim in its user-day record is kept."""

    dedup_retention_days: int = Field(default=35, ge=1, le=3660)


class PunchIntakeSettings(DedupClaimSettings):
    """What storing punches needs, whichever door they come in by."""

    punches_table: str
    devices_table: str
    punch_queue_url: str
    default_time_zone: ZoneName = "UTC"
    max_future_minutes: int = Field(default=1440, ge=1)
    max_past_days: int = Field(default=400, ge=1)

    @property
    def max_future(self) -> timedelta:
        return timedelta(minutes=self.max_future_minutes)

    @property
    def max_past(self) -> timedelta:
        return timedelta(days=self.max_past_days)


class IngestSettings(PunchIntakeSettings):
    api_keys_table: str
    request_counts_table: str
    # Requests a second an API key may send to the ingest routes unless the key has a limit of its own.
    client_rate_limit: int = Field(default=10, ge=0)
    # A batch starts no punch once less than this is left of the function's time: enough for the stores
    # in flight (one per worker thread, with botocore's retries) and the queue sends that follow.
    batch_time_reserve_seconds: float = Field(default=3.0, ge=0.5, le=25)


class DevicePushSettings(PunchIntakeSettings):
    """Devices authenticate by registration (serial or push token), not by API key."""

    commands_table: str  # ZKTeco ADMS clocks fetch their commands and post the results


class SweepSettings(_FromEnvironment):
    punches_table: str
    punch_queue_url: str
    punch_dlq_url: str  # dead letters near the end of its retention are sent there again
    pending_requeue_minutes: int = Field(default=10, ge=1)


class WorkerSettings(DedupClaimSettings):
    """The CRM worker; the dedup rules judge a punch voided to correct its type as it is added again."""

    punches_table: str
    punch_queue_url: str  # a punch told to wait by the CRM comes back on a new message
    punch_dlq_url: str
    max_receive_count: int = Field(default=3, ge=1)
    # Calls a second to the CRM, all workers together (0: no limit), over at most this many workers.
    crm_max_rate_per_second: float = Field(default=0, ge=0)
    worker_max_concurrency: int = Field(default=2, ge=1)
    crm_target: Literal["generic", "frappe"] = "generic"
    crm_url: str = Field(pattern=r"^https?://\S+$")
    crm_secret_parameter: str = ""
    crm_timeout_seconds: float = Field(default=5.0, gt=0, le=30)
    crm_frappe_version: int = Field(default=15, ge=10)
    default_time_zone: ZoneName = "UTC"
    crm_time_zone: ZoneName | Literal[""] = ""  # the HR system's zone; empty: the stack's

    @property
    def crm_zone(self) -> str:
        return self.crm_time_zone or self.default_time_zone


class DeviceCommandsSettings(_FromEnvironment):
    api_keys_table: str
    devices_table: str
    employees_table: str
    commands_table: str
    default_time_zone: ZoneName = "UTC"


class ReportsSettings(_FromEnvironment):
    punches_table: str
    schedules_table: str
    employees_table: str
    holidays_table: str
    leave_table: str
    api_keys_table: str
    default_time_zone: ZoneName = "UTC"


class EmployeesSettings(_FromEnvironment):
    """The directory, schedules, today's punches and the holidays; the company zone decides what today is."""

    employees_table: str
    schedules_table: str
    punches_table: str
    api_keys_table: str
    holidays_table: str
    leave_table: str
    default_time_zone: ZoneName = "UTC"


class ExportSettings(_FromEnvironment):
    punches_table: str
    schedules_table: str
    employees_table: str
    holidays_table: str
    leave_table: str
    reports_bucket: str
    default_time_zone: ZoneName = "UTC"


class DevicesSettings(_FromEnvironment):
    """The devices API: the registry, health reports, and each device's punches (by the byDevice index)."""

    devices_table: str
    punches_table: str
    api_keys_table: str
    commands_table: str  # a device removed takes its commands with it
    default_time_zone: ZoneName = "UTC"


class DeviceHealthSettings(_FromEnvironment):
    """The scheduled silent-device check."""

    devices_table: str
    alarm_topic_arn: str


class FeedConnectionsSettings(_FromEnvironment):
    """The WebSocket API's routes: the connections table and the key that checks sign-in tokens."""

    feed_connections_table: str
    feed_signing_key_parameter: str


class FeedTokenSettings(_FromEnvironment):
    api_keys_table: str
    feed_signing_key_parameter: str
    feed_url: str = Field(pattern=r"^wss?://\S+$")
    feed_token_minutes: int = Field(default=15, ge=1, le=15)


class FeedFanoutSettings(_FromEnvironment):
    """The feed's fan-out: the connections it serves, and the zone of a clock registered without one."""

    feed_connections_table: str
    feed_connections_endpoint: str = Field(pattern=r"^https?://\S+$")
    default_time_zone: ZoneName = "UTC"


class DashboardSettings(_FromEnvironment):
    """The web dashboard: the company's zone for every time it shows, and the feed it may connect to."""

    default_time_zone: ZoneName = "UTC"
    feed_url: str = Field(pattern=r"^wss?://\S+$")


class DeliveriesSettings(DedupSettings):
    """The deliveries API: counts by sync status, the dead-letter queue, redrives onto the punch queue; the
    dedup rules tell whether a punch voided to correct its type can be added again."""

    punches_table: str
    api_keys_table: str
    punch_queue_url: str
    punch_dlq_url: str
