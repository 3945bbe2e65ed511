"""The whole system on one machine: moto as AWS, the template's resources, the real handlers, a mock CRM."""

import logging
import os
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import boto3
from moto.server import ThreadedMotoServer

from attendance.data.api_keys import ApiKeyStore
from attendance.domain.keys import Scope
from local_stack.api_server import LocalApiServer
from local_stack.functions import LocalFunction, http_routes, load_functions
from local_stack.mock_crm import GENERIC_PATH, MockCrmServer
from local_stack.moto_patches import apply_moto_patches
from local_stack.provision import provision
from local_stack.sqs_trigger import SqsTrigger
from local_stack.template import Resolver, load_template

HOST = "127.0.0.1"
LOCAL_CRM_TOKEN = "local-crm-token"  # noqa: S105 - the mock CRM's bearer token


@dataclass(frozen=True)
class LocalConfig:
    api_port: int = 3000
    aws_port: int = 4566
    crm_port: int = 5001
    api_key: str = "local-dev-key"
    # For soak tests and experiments: template parameter overrides ("Name=value,Name=value"), every
    # schedule every N seconds instead of its own, and a chance that ingest dies between storing punches
    # and queueing them.
    parameters: tuple[tuple[str, str], ...] = ()
    schedule_seconds: float | None = None
    crash_before_queue: float = 0.0

    @classmethod
    def from_environment(cls) -> "LocalConfig":
        overrides = [
            pair.split("=", 1) for pair in os.environ.get("LOCAL_PARAMETERS", "").split(",") if "=" in pair
        ]
        schedule = os.environ.get("LOCAL_SCHEDULE_SECONDS")
        return cls(
            api_port=int(os.environ.get("API_PORT", cls.api_port)),
            aws_port=int(os.environ.get("AWS_PORT", cls.aws_port)),
            crm_port=int(os.environ.get("CRM_PORT", cls.crm_port)),
            api_key=os.environ.get("LOCAL_API_KEY", cls.api_key),
            parameters=tuple((name.strip(), value.strip()) for name, value in overrides),
            schedule_seconds=float(schedule) if schedule else None,
            crash_before_queue=float(os.environ.get("LOCAL_CHAOS_CRASH_BEFORE_QUEUE", "0")),
        )

    @property
    def api_url(self) -> str:
        return f"http://{HOST}:{self.api_port}"

    @property
    def aws_url(self) -> str:
        return f"http://{HOST}:{self.aws_port}"

    @property
    def crm_url(self) -> str:
        return f"http://{HOST}:{self.crm_port}"


class LocalStack:
    def __init__(
        self, config: LocalConfig, log: Callable[[str], None] = lambda line: print(line, flush=True)
    ) -> None:
        self.config = config
        self.log = log
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._moto: ThreadedMotoServer | None = None
        self._crm: MockCrmServer | None = None
        self._api: LocalApiServer | None = None
        self.resolver: Resolver | None = None
        self.functions: dict[str, LocalFunction] = {}

    def start(self) -> None:
        self._point_aws_at_moto()
        apply_moto_patches()
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's per-request access log
        self._moto = ThreadedMotoServer(HOST, self.config.aws_port, verbose=False)
        self._moto.start()
        template = load_template()
        parameters = {"CrmUrl": self.config.crm_url + GENERIC_PATH} | dict(self.config.parameters)
        if self.config.crash_before_queue:
            install_crash_before_queue(self.config.crash_before_queue)
        self.resolver = provision(
            template, boto3.client("dynamodb"), boto3.client("sqs"), parameters, s3=boto3.client("s3")
        )
        self._crm = MockCrmServer(HOST, self.config.crm_port).start()
        boto3.client("ssm").put_parameter(  # the worker reads its CRM secret from SSM, as on AWS
            Name=self.resolver.parameters()["CrmSecretParameterName"],
            Value=LOCAL_CRM_TOKEN,
            Type="SecureString",
        )
        self.functions = load_functions(template, self.resolver)
        ApiKeyStore(boto3.client("dynamodb"), self.resolver.refs["ApiKeysTable"]).create(
            "local", frozenset(Scope), raw_key=self.config.api_key
        )
        self._api = LocalApiServer(HOST, self.config.api_port, http_routes(self.functions))
        self._spawn("http-api", self._api.serve_forever)
        for function in self.functions.values():
            self._start_event_sources(function)

    def stop(self) -> None:
        self._stop.set()
        for server in (self._api, self._crm):
            if server:
                server.shutdown()
                server.server_close()
        for thread in self._threads:
            thread.join(timeout=15)
        if self._moto:
            self._moto.stop()

    def _point_aws_at_moto(self) -> None:
        os.environ.update(
            AWS_ENDPOINT_URL=self.config.aws_url,
            AWS_ACCESS_KEY_ID="local",
            AWS_SECRET_ACCESS_KEY="local",  # noqa: S106 - moto accepts any credentials
            AWS_DEFAULT_REGION="us-east-1",
            POWERTOOLS_TRACE_DISABLED="true",
        )
        os.environ.pop("AWS_PROFILE", None)

    def _start_event_sources(self, function: LocalFunction) -> None:
        assert self.resolver
        for name, event in function.events.items():
            if event["Type"] not in ("SQS", "Schedule", "ScheduleV2"):
                continue  # HttpApi events are served by the local API
            properties = self.resolver.resolve(event["Properties"])
            if event["Type"] == "SQS":
                queue_arn = properties["Queue"]
                trigger = SqsTrigger(
                    boto3.client("sqs"),
                    self._queue_url(queue_arn),
                    queue_arn,
                    lambda e, _c, f=function: f.invoke(e),
                    batch_size=int(properties.get("BatchSize", 10)),
                    function_timeout=function.timeout,
                )
                self._spawn(f"sqs-{function.logical_id}", lambda t=trigger: self._poll_forever(t))
            elif event["Type"] in ("Schedule", "ScheduleV2"):
                expression = properties["ScheduleExpression"]
                zone = properties.get("ScheduleExpressionTimezone", "UTC")
                self._spawn(
                    f"schedule-{name}", lambda f=function, e=expression, z=zone: self._run_on(f, e, z)
                )

    def _queue_url(self, queue_arn: str) -> str:
        assert self.resolver
        return next(
            self.resolver.refs[logical_id]
            for (logical_id, attribute), value in self.resolver.attributes.items()
            if attribute == "Arn" and value == queue_arn
        )

    def _poll_forever(self, trigger: SqsTrigger) -> None:
        while not self._stop.is_set():
            try:
                trigger.poll_once(wait_seconds=1)
            except Exception as error:
                self.log(f"event source mapping: {error}")
                self._stop.wait(1)

    def _run_on(self, function: LocalFunction, expression: str, zone: str) -> None:
        def wait() -> float:
            return self.config.schedule_seconds or seconds_until_next(expression, zone, datetime.now(UTC))

        while not self._stop.wait(wait()):
            event = {"source": "aws.scheduler", "time": datetime.now().astimezone().isoformat()}
            try:
                function.invoke(event)
            except Exception as error:
                self.log(f"scheduled {function.logical_id}: {error}")

    def _spawn(self, name: str, target: Callable[[], Any]) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)


def install_crash_before_queue(probability: float) -> None:
    """Chaos: make ingest die, now and then, after storing punches and before queueing them, as a Lambda
    killed at that moment would. The punches stay pending; the sweep must queue them."""
    import random

    from attendance.ingest.service import IngestService

    class CrashingQueue:
        def __init__(self, queue: Any) -> None:
            self._queue = queue

        def send(self, log_ids: Any) -> list[str]:
            if log_ids and random.random() < probability:  # noqa: S311 - chaos, not crypto
                raise RuntimeError("chaos: ingest died between the table write and the queue send")
            return self._queue.send(log_ids)

    original_init = IngestService.__init__

    def init(service: IngestService, *args: Any, **kwargs: Any) -> None:
        original_init(service, *args, **kwargs)
        service._queue = CrashingQueue(service._queue)  # type: ignore[assignment]

    IngestService.__init__ = init  # type: ignore[method-assign]


def local_client(service: str, endpoint: str) -> Any:
    """A boto3 client for a running local stack's AWS endpoint, from outside its process."""
    secret = "local"  # noqa: S105 - moto accepts any credentials
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key=secret,
    )


def seconds_until_next(expression: str, zone: str, now: datetime) -> float:
    """For rate(N minutes|hours|days), and for daily cron(M H * * ? *) in a time zone."""
    rate = re.fullmatch(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)", expression.strip())
    if rate:
        return int(rate[1]) * {"minute": 60, "hour": 3600, "day": 86400}[rate[2].rstrip("s")]
    daily = re.fullmatch(r"cron\((\d+) (\d+) \* \* \? \*\)", expression.strip())
    if not daily:
        raise ValueError(f"unsupported schedule {expression!r}: use rate(...) or cron(M H * * ? *)")
    local_now = now.astimezone(ZoneInfo(zone))
    run = local_now.replace(hour=int(daily[2]), minute=int(daily[1]), second=0, microsecond=0)
    if run <= local_now:
        run += timedelta(days=1)
    return (run.astimezone(UTC) - now.astimezone(UTC)).total_seconds()  # in UTC: right across DST


def wait_for_stop(stack: LocalStack) -> None:
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        stack.log("stopping...")
    finally:
        stack.stop()
