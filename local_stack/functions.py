"""The template's functions, run as Lambda runs them: each invocation in an execution environment (a
process of its own that imported the handler once), one invocation at a time per environment, more
environments started when all are busy, up to the function's concurrency."""

import json
import os
import re
import select
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from local_stack.chaos import NO_CHAOS, Chaos
from local_stack.cpu import yield_cpu
from local_stack.events import LambdaContext
from local_stack.template import Resolver, function_environment, resources_of_type

ROOT = Path(__file__).resolve().parent.parent
COLD_START_LIMIT = 60.0  # seconds for a new environment to import its handler
RESULT_GRACE = 0.5  # seconds beyond the function's timeout for the result to cross the pipe


class FunctionError(Exception):
    """The invocation failed as Lambda reports it: the handler raised, the process died, or it timed out."""


class Invocable(Protocol):
    events: dict[str, dict[str, Any]]

    def invoke(self, event: dict[str, Any]) -> Any: ...


@dataclass
class LocalFunction:
    """A handler called in this process, one invocation at a time (for tests that stand in a function)."""

    logical_id: str
    handler: Callable[[dict[str, Any], Any], Any]
    timeout: float
    events: dict[str, dict[str, Any]]
    lock: threading.Lock = field(default_factory=threading.Lock)

    def invoke(self, event: dict[str, Any]) -> Any:
        with self.lock:
            return self.handler(event, LambdaContext(self.logical_id, self.timeout))


# Event sources whose functions nobody waits on: they run at a lower CPU priority (local_stack.cpu).
BACKGROUND_EVENT_TYPES = {"SQS", "DynamoDB", "Kinesis", "Schedule", "ScheduleV2", "EventBridgeRule"}


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    handler: str  # dotted: functions.ingest.app.handler
    timeout: float
    environment: dict[str, str]
    background: bool = False  # invoked by event sources only: nobody waits on its answer


class Container:
    """One execution environment: a `local_stack.container` process with the function's environment."""

    def __init__(self, spec: FunctionSpec, base_environment: dict[str, str]) -> None:
        self.spec = spec
        read_end, write_end = os.pipe()
        environment = base_environment | spec.environment
        environment |= {
            "AWS_LAMBDA_FUNCTION_NAME": spec.logical_id,
            "LOCAL_HANDLER": spec.handler,
            "LOCAL_TIMEOUT": str(spec.timeout),
            "LOCAL_RESULT_FD": str(write_end),
        }
        self._process = subprocess.Popen(
            [sys.executable, "-m", "local_stack.container"],
            cwd=ROOT,
            env=environment,
            stdin=subprocess.PIPE,
            pass_fds=[write_end],
        )
        if spec.background:
            yield_cpu(self._process.pid)
        os.close(write_end)
        self._results = os.fdopen(read_end, "rb")
        try:  # the cold start: fails if the handler cannot be imported
            self._read(COLD_START_LIMIT, f"init timed out after {COLD_START_LIMIT:.0f} seconds")
        except FunctionError:
            self.stop()
            raise

    def invoke(self, event: dict[str, Any]) -> Any:
        assert self._process.stdin
        try:
            self._process.stdin.write(json.dumps(event).encode() + b"\n")
            self._process.stdin.flush()
        except BrokenPipeError as error:
            raise FunctionError(f"{self.spec.logical_id}: Runtime exited") from error
        return self._read(
            self.spec.timeout + RESULT_GRACE, f"Task timed out after {self.spec.timeout:.2f} seconds"
        )

    @property
    def alive(self) -> bool:
        return self._process.poll() is None

    def stop(self) -> None:
        if self._process.stdin:
            self._process.stdin.close()
        try:
            self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._results.close()

    def _read(self, limit: float, timed_out: str) -> Any:
        ready, _, _ = select.select([self._results], [], [], limit)
        if not ready:  # Lambda stops the environment of an invocation that runs out of time
            self._process.kill()
            self._process.wait()
            self._fail(timed_out)
        line = self._results.readline()
        if not line:
            self._process.wait()
            self._fail(f"Runtime exited with error: exit status {self._process.returncode}")
        reply = json.loads(line)
        if "errorType" in reply:
            raise FunctionError(f"{self.spec.logical_id}: {reply['errorType']}: {reply['errorMessage']}")
        return reply.get("result")

    def _fail(self, message: str) -> None:
        """Log it as Lambda logs it (the handler cannot), and report it to the caller."""
        print(
            json.dumps({"function": self.spec.logical_id, "level": "ERROR", "message": message}), flush=True
        )
        raise FunctionError(f"{self.spec.logical_id}: {message}")


class FunctionPool:
    """A function's execution environments: reused while warm, a new one when every one is busy."""

    def __init__(
        self,
        spec: FunctionSpec,
        events: dict[str, dict[str, Any]],
        concurrency: int,
        base_environment: dict[str, str],
    ) -> None:
        self.spec = spec
        self.events = events
        self.concurrency = concurrency
        self._base_environment = base_environment
        self._idle: list[Container] = []
        self._running = 0
        self._available = threading.Condition()
        self.cold_starts = 0

    @property
    def logical_id(self) -> str:
        return self.spec.logical_id

    def warm_up(self) -> None:
        """Start one environment now, so a handler that cannot load fails at start-up, not on first use."""
        container = self._start_container()
        with self._available:
            self._idle.append(container)

    def invoke(self, event: dict[str, Any]) -> Any:
        container = self._acquire()
        try:
            return container.invoke(event)
        finally:
            self._release(container)

    def stop(self) -> None:
        with self._available:
            idle, self._idle = self._idle, []
        for container in idle:
            container.stop()

    def _acquire(self) -> Container:
        with self._available:
            while not self._idle and self._running >= self.concurrency:
                self._available.wait()
            self._running += 1
            while self._idle:
                container = self._idle.pop()
                if container.alive:
                    return container
        try:
            return self._start_container()
        except BaseException:
            with self._available:
                self._running -= 1
                self._available.notify()
            raise

    def _release(self, container: Container) -> None:
        with self._available:
            self._running -= 1
            if container.alive:
                self._idle.append(container)
            self._available.notify()

    def _start_container(self) -> Container:
        started = time.monotonic()
        container = Container(self.spec, self._base_environment)
        self.cold_starts += 1
        if os.environ.get("LOCAL_LOG_COLD_STARTS"):
            print(f"cold start: {self.logical_id} in {time.monotonic() - started:.2f} s", flush=True)
        return container


ANY_METHOD = "ANY"


@dataclass(frozen=True)
class HttpRoute:
    method: str
    path: str  # may hold {parameters}, as in the template
    function: Invocable

    def match(self, method: str, path: str) -> dict[str, str] | None:
        if self.method.upper() not in (method.upper(), ANY_METHOD):
            return None
        pattern = "^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", self.path) + "$"
        found = re.match(pattern, path)
        return found.groupdict() if found else None


def function_pools(
    template: dict[str, Any],
    resolver: Resolver,
    concurrency: int,
    base_environment: dict[str, str],
    chaos: Chaos = NO_CHAOS,
    served_here: dict[str, str] | None = None,
) -> dict[str, FunctionPool]:
    """Every function of the template, each with its own environment variables, as Lambda sets them.

    `served_here`: variables naming an endpoint the local stack serves itself (the WebSocket API's URLs)
    get the local value instead of the AWS one. An SQS-triggered function runs at most its mapping's
    MaximumConcurrency environments, as on AWS; others at most `concurrency`."""
    defaults = template.get("Globals", {}).get("Function", {})
    pools = {}
    for logical_id, resource in resources_of_type(template, "AWS::Serverless::Function").items():
        properties = resource["Properties"]
        package = properties["CodeUri"].strip("/").replace("/", ".")
        events = properties.get("Events", {})
        spec = FunctionSpec(
            logical_id,
            f"{package}.{properties['Handler']}",
            float(properties.get("Timeout", defaults.get("Timeout", 3))),
            _serve_here(function_environment(template, logical_id, resolver), served_here or {})
            | chaos.environment(),
            background=runs_in_background(events),
        )
        pools[logical_id] = FunctionPool(
            spec, events, _concurrency(events, resolver, concurrency), base_environment
        )
    return pools


def runs_in_background(events: dict[str, dict[str, Any]]) -> bool:
    """Invoked by event sources only (not by an API): nobody waits on its answer."""
    return bool(events) and all(event["Type"] in BACKGROUND_EVENT_TYPES for event in events.values())


def _serve_here(environment: dict[str, str], served_here: dict[str, str]) -> dict[str, str]:
    return environment | {name: value for name, value in served_here.items() if name in environment}


def _concurrency(events: dict[str, dict[str, Any]], resolver: Resolver, default: int) -> int:
    for event in events.values():
        if event["Type"] == "SQS":
            scaling = resolver.resolve(event["Properties"].get("ScalingConfig", {}))
            return int(scaling.get("MaximumConcurrency", default))
    return default


def http_routes(functions: dict[str, FunctionPool]) -> list[HttpRoute]:
    """Every HttpApi route; as on API Gateway, a route for the very method wins over an ANY route."""
    routes = [
        HttpRoute(event["Properties"]["Method"], event["Properties"]["Path"], function)
        for function in functions.values()
        for event in function.events.values()
        if event["Type"] == "HttpApi"
    ]
    return sorted(routes, key=lambda route: route.method.upper() == ANY_METHOD)
