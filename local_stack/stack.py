"""The whole system on one machine: moto as AWS, the template's resources, the real handlers, a mock CRM."""

import logging
import os
import re
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3

from attendance.data.api_keys import ApiKeyStore
from attendance.domain.clock import parse_zone
from attendance.domain.keys import Scope
from attendance.domain.rate_limit import NO_LIMIT
from attendance.local_parameters import parameters_from_environment
from attendance.local_ports import InvalidPort, port_from_environment
from local_stack.api_server import LocalApiServer
from local_stack.chaos import NO_CHAOS, Chaos
from local_stack.functions import FunctionPool, function_pools, http_routes
from local_stack.mock_crm import GENERIC_PATH, MockCrmProcess
from local_stack.moto_patches import apply_moto_patches
from local_stack.moto_replies import KeepAliveMotoServer
from local_stack.numbers import NumberVariables
from local_stack.parameters import parameter_problems
from local_stack.provision import provision
from local_stack.sqs_trigger import MotoQueueReader, SqsTrigger
from local_stack.stream_trigger import MotoStreamReader, StreamTrigger, poll_stream_until
from local_stack.template import Resolver, load_template, resources_of_type
from local_stack.throttle import stage_throttle
from local_stack.websocket_api import LocalWebSocketApi, websocket_routes

HOST = "127.0.0.1"
LOCAL_CRM_TOKEN = "local-crm-token"  # noqa: S105 - the mock CRM's bearer token
# Each port of the stack's config and the variable that sets it.
PORT_VARIABLES = {
    "api_port": "API_PORT",
    "aws_port": "AWS_PORT",
    "crm_port": "CRM_PORT",
    "ws_port": "WS_PORT",
    "ws_management_port": "WS_MANAGEMENT_PORT",
}


class SettingsRefused(ValueError):
    """Settings the stack will not start with, found before it starts anything: a line for each problem."""

    exit_code = 2  # a usage error: nothing was started

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems

    def report(self) -> int:
        """Says each problem on a line of its own; the exit code to end with."""
        for problem in self.problems:
            print(f"could not start: {problem}", flush=True)
        return self.exit_code


@dataclass(frozen=True)
class LocalConfig:
    """The stack's settings; a port of 0 is any free one, which `LocalStack.start()` puts here."""

    api_port: int = 3000
    aws_port: int = 4566
    crm_port: int = 5001
    ws_port: int = 3001  # the live feed's WebSocket API
    ws_management_port: int = 3002  # its @connections API, where functions post to clients
    api_key: str = "local-dev-key"
    # For soak tests and experiments: template parameter overrides ("Name=value,Name=value"), every
    # rate() schedule every N seconds instead of its own (daily crons keep their time), and chaos in the
    # functions (LOCAL_CHAOS_*: see local_stack.chaos).
    parameters: tuple[tuple[str, str], ...] = ()
    schedule_seconds: float | None = None
    chaos: Chaos = NO_CHAOS
    # Execution environments (processes) each function may run at once; an SQS-triggered function runs
    # as many as its mapping's MaximumConcurrency instead, as on AWS.
    concurrency: int = 4

    @classmethod
    def from_environment(cls) -> "LocalConfig":
        """The settings the environment gives; SettingsRefused names every port variable and every
        LOCAL_PARAMETERS entry it gets wrong (the values of parameters are the template's to judge, in
        `LocalStack.start()`)."""
        ports, port_problems = _ports_from_environment()
        parameters, entry_problems = parameters_from_environment()
        numbers = NumberVariables()
        schedule_seconds = numbers.read("LOCAL_SCHEDULE_SECONDS", 0, lowest=1)
        concurrency = numbers.read("LOCAL_CONCURRENCY", cls.concurrency, whole=True, lowest=1, highest=64)
        chaos = Chaos.from_environment(numbers=numbers)
        if port_problems or entry_problems or numbers.problems:
            raise SettingsRefused(port_problems + entry_problems + numbers.problems)
        return cls(
            **ports,
            api_key=os.environ.get("LOCAL_API_KEY", cls.api_key),
            parameters=parameters,
            schedule_seconds=schedule_seconds or None,
            chaos=chaos,
            concurrency=int(concurrency),
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

    @property
    def ws_url(self) -> str:
        return f"ws://{HOST}:{self.ws_port}"

    @property
    def ws_management_url(self) -> str:
        return f"http://{HOST}:{self.ws_management_port}"


def _ports_from_environment() -> tuple[dict[str, int], list[str]]:
    """Each port its variable sets (else the default), and a problem for each variable that holds no port."""
    ports, problems = {}, []
    for setting, variable in PORT_VARIABLES.items():
        try:
            ports[setting] = port_from_environment(variable, getattr(LocalConfig, setting), any_free=True)
        except InvalidPort as error:
            problems.append(str(error))
    return ports, problems


class LocalStack:
    def __init__(
        self, config: LocalConfig, log: Callable[[str], None] = lambda line: print(line, flush=True)
    ) -> None:
        self.config = config
        self.log = log
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._moto: KeepAliveMotoServer | None = None
        self._crm: MockCrmProcess | None = None
        self._api: LocalApiServer | None = None
        self._feed: LocalWebSocketApi | None = None
        self.resolver: Resolver | None = None
        self.functions: dict[str, FunctionPool] = {}

    def start(self) -> None:
        """Listens on every port first, so that a port given as 0 (any free one) is known before anything
        that names it is made; `config` then holds the ports taken. Parameters the template refuses are
        SettingsRefused, before anything starts."""
        template = load_template()
        problems = parameter_problems(template["Parameters"], dict(self.config.parameters))
        if problems:
            raise SettingsRefused(problems)
        config = self.config
        # In a process of its own, so that no delivery's answer waits for moto; it starts meanwhile.
        self._crm = MockCrmProcess(HOST, config.crm_port)
        apply_moto_patches()
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's per-request access log
        self._moto = KeepAliveMotoServer(HOST, config.aws_port, verbose=False)
        _listening(f"AWS_PORT={config.aws_port}", self._moto.start)
        self._api = _listening(f"API_PORT={config.api_port}", lambda: LocalApiServer(HOST, config.api_port))
        self._feed = _listening(
            f"WS_PORT={config.ws_port} or WS_MANAGEMENT_PORT={config.ws_management_port}",
            LocalWebSocketApi(HOST, config.ws_port, config.ws_management_port, {}, log=self.log).start,
        )
        _listening(f"CRM_PORT={config.crm_port}", self._crm.start)
        self.config = replace(
            self.config,
            aws_port=self._moto.get_host_and_port()[1],
            api_port=self._api.port,
            crm_port=self._crm.port,
            ws_port=self._feed.port,
            ws_management_port=self._feed.management_port,
        )
        self._point_aws_at_moto()
        # No X-Ray here: tracing off, which also spares every cold start the X-Ray SDK.
        parameters = {"CrmUrl": self.config.crm_url + GENERIC_PATH, "Tracing": "PassThrough"} | dict(
            self.config.parameters
        )
        self.resolver = provision(
            template, boto3.client("dynamodb"), boto3.client("sqs"), parameters, s3=boto3.client("s3")
        )
        boto3.client("ssm").put_parameter(  # the worker reads its CRM secret from SSM, as on AWS
            Name=self.resolver.parameters()["CrmSecretParameterName"],
            Value=LOCAL_CRM_TOKEN,
            Type="SecureString",
        )
        self.functions = function_pools(
            template,
            self.resolver,
            self.config.concurrency,
            {k: v for k, v in os.environ.items() if not k.startswith("LOCAL_")},
            self.config.chaos,
            # the WebSocket API and its @connections API are served by this stack, not by AWS
            served_here={
                "FEED_URL": self.config.ws_url,
                "FEED_CONNECTIONS_ENDPOINT": self.config.ws_management_url,
            },
        )
        self._warm_up()
        ApiKeyStore(boto3.client("dynamodb"), self.resolver.refs["ApiKeysTable"]).create(
            "local", frozenset(Scope), raw_key=self.config.api_key, rate_limit=NO_LIMIT
        )
        [http_api] = resources_of_type(template, "AWS::Serverless::HttpApi").values()
        self._api.open_routes(http_routes(self.functions), stage_throttle(http_api, self.resolver))
        self._spawn("http-api", self._api.serve_forever)
        self._feed.routes = dict(websocket_routes(template, self.functions))
        for function in self.functions.values():
            self._start_event_sources(function)

    def stop(self) -> None:
        self._stop.set()
        if self._api:
            self._api.stop()
        if self._crm:
            self._crm.stop()
        if self._feed:
            self._feed.stop()
        for thread in self._threads:
            thread.join(timeout=15)
        for function in self.functions.values():
            function.stop()
        if self._moto:
            self._moto.stop()

    def _warm_up(self) -> None:
        """One execution environment per function, started side by side; a handler that fails to load
        stops the start-up here."""
        with ThreadPoolExecutor(max_workers=len(self.functions) or 1) as pool:
            for future in [pool.submit(function.warm_up) for function in self.functions.values()]:
                future.result()

    def _point_aws_at_moto(self) -> None:
        os.environ.update(
            AWS_ENDPOINT_URL=self.config.aws_url,
            AWS_ACCESS_KEY_ID="local",
            AWS_SECRET_ACCESS_KEY="local",  # noqa: S106 - moto accepts any credentials
            AWS_DEFAULT_REGION="us-east-1",
            POWERTOOLS_TRACE_DISABLED="true",
        )
        os.environ.pop("AWS_PROFILE", None)

    def _start_event_sources(self, function: FunctionPool) -> None:
        assert self.resolver
        for name, event in function.events.items():
            if event["Type"] not in ("SQS", "DynamoDB", "Schedule", "ScheduleV2"):
                continue  # HttpApi events are served by the local API
            properties = self.resolver.resolve(event["Properties"])
            # The event sources read moto in this process, as its server would answer them.
            if event["Type"] == "SQS":
                queue_arn = properties["Queue"]
                trigger = SqsTrigger(
                    MotoQueueReader.for_queue(queue_arn),
                    self._queue_url(queue_arn),
                    queue_arn,
                    lambda e, _c, f=function: f.invoke(e),
                    batch_size=int(properties.get("BatchSize", 10)),
                    function_timeout=function.spec.timeout,
                )
                for poller in range(function.concurrency):  # one poller per environment it may run
                    self._spawn(
                        f"sqs-{function.logical_id}-{poller}", lambda t=trigger: self._poll_forever(t)
                    )
            elif event["Type"] == "DynamoDB":
                stream = StreamTrigger.for_event(
                    properties,
                    function.invoke,
                    MotoStreamReader.for_stream(properties["Stream"]),
                    boto3.client("sqs"),
                    self._queue_url,
                    function.logical_id,
                    should_stop=self._stop.is_set,
                )
                stream.start()  # LATEST: from the changes made once the stack is up
                self._spawn(f"stream-{name}", lambda t=stream: poll_stream_until(t, self._stop, self.log))
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

    def _run_on(self, function: FunctionPool, expression: str, zone: str) -> None:
        def wait() -> float:
            if self.config.schedule_seconds and expression.startswith("rate("):
                return self.config.schedule_seconds
            return seconds_until_next(expression, zone, datetime.now(UTC))

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


def _listening[Server](setting: str, listen: Callable[[], Server]) -> Server:
    """A server listening on its port; a port it cannot take is named by its setting."""
    try:
        return listen()
    except OSError as error:
        raise OSError(f"{setting}: {error}") from error


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
    local_now = now.astimezone(parse_zone(zone))
    run = local_now.replace(hour=int(daily[2]), minute=int(daily[1]), second=0, microsecond=0)
    if run <= local_now:
        run += timedelta(days=1)
    return (run.astimezone(UTC) - now.astimezone(UTC)).total_seconds()  # in UTC: right across DST
