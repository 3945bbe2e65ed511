"""Chaos for soaks and experiments, set by LOCAL_CHAOS_* variables when the stack starts and installed in
each execution environment (the functions' own processes), where the failures happen on AWS.

LOCAL_CHAOS_CRASH_BEFORE_QUEUE=p    ingest dies, with chance p, after storing punches and before queueing
LOCAL_CHAOS_CRASH_BEFORE_STORE=p    ingest dies, with chance p, after claiming a punch in its dedup record and
                                    before storing the punch itself
LOCAL_CHAOS_CRASH_LIMIT=n           no more than n deaths of each kind in the stack's life (unset: no limit), so
                                    that a high chance gives certain deaths without failing one client's every
                                    retry until its back-off outlasts the run
LOCAL_CHAOS_DYNAMODB_LATENCY_MS=n   every DynamoDB request a function sends waits n ms first, as against a
                                    throttled table whose requests botocore backs off and retries
"""

import os
import random
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from local_stack.numbers import NumberVariables

CRASH_VARIABLE = "LOCAL_CHAOS_CRASH_BEFORE_QUEUE"
CLAIM_CRASH_VARIABLE = "LOCAL_CHAOS_CRASH_BEFORE_STORE"
LIMIT_VARIABLE = "LOCAL_CHAOS_CRASH_LIMIT"
LEDGER_VARIABLE = "LOCAL_CHAOS_LEDGER"  # set by the stack: where its environments count their deaths
LATENCY_VARIABLE = "LOCAL_CHAOS_DYNAMODB_LATENCY_MS"


@dataclass(frozen=True)
class DeathLedger:
    """The deaths the stack's execution environments (separate processes) may still die, counted in one
    directory: a death takes a numbered slot with an exclusive create, atomic across processes."""

    directory: str = ""
    limit: int | None = None

    def may_die(self, kind: str) -> bool:
        if self.limit is None:
            return True
        for slot in range(self.limit):
            try:
                os.close(
                    os.open(Path(self.directory) / f"{kind}-{slot}", os.O_CREAT | os.O_EXCL | os.O_WRONLY)
                )
                return True
            except FileExistsError:
                continue
        return False


@dataclass(frozen=True)
class Chaos:
    crash_before_queue: float = 0.0
    crash_before_store: float = 0.0
    dynamodb_latency_ms: float = 0.0
    deaths: DeathLedger = DeathLedger()

    @classmethod
    def from_environment(
        cls, environment: Mapping[str, str] = os.environ, numbers: NumberVariables | None = None
    ) -> "Chaos":
        """In the stack, a limit gets a new ledger; in an environment, the stack's ledger is read. A variable
        that holds no number in its range is a problem in `numbers` (the stack's, which names them all
        before it starts), and no chaos of its kind."""
        numbers = numbers or NumberVariables(environment)
        limit = numbers.read(LIMIT_VARIABLE, -1, whole=True)
        chaos = cls(
            crash_before_queue=numbers.read(CRASH_VARIABLE, 0, highest=1),
            crash_before_store=numbers.read(CLAIM_CRASH_VARIABLE, 0, highest=1),
            dynamodb_latency_ms=numbers.read(LATENCY_VARIABLE, 0),
        )
        if limit < 0:
            return chaos
        ledger = environment.get(LEDGER_VARIABLE) or tempfile.mkdtemp(prefix="chaos-")
        return replace(chaos, deaths=DeathLedger(ledger, int(limit)))

    def environment(self) -> dict[str, str]:
        """The variables that carry this chaos into an execution environment."""
        values = {
            CRASH_VARIABLE: self.crash_before_queue,
            CLAIM_CRASH_VARIABLE: self.crash_before_store,
            LATENCY_VARIABLE: self.dynamodb_latency_ms,
        }
        variables = {name: str(value) for name, value in values.items() if value}
        if self.deaths.limit is not None:
            variables |= {LIMIT_VARIABLE: str(self.deaths.limit), LEDGER_VARIABLE: self.deaths.directory}
        return variables

    def install(self) -> None:
        """In an execution environment, before its handler creates its clients."""
        if self.crash_before_queue:
            install_crash_before_queue(self.crash_before_queue, self.deaths)
        if self.crash_before_store:
            install_crash_before_store(self.crash_before_store, self.deaths)
        if self.dynamodb_latency_ms:
            slow_dynamodb(self.dynamodb_latency_ms)


NO_CHAOS = Chaos()


def slow_dynamodb(milliseconds: float, operations: frozenset[str] = frozenset()) -> Callable[[], None]:
    """Delay every DynamoDB request (or only these operations') of the clients boto3 creates from now on;
    returns the undo."""

    def wait(operation_name: str, **_: Any) -> None:
        if not operations or operation_name in operations:
            time.sleep(milliseconds / 1000)

    return _on_every_client("before-sign.dynamodb", wait, "chaos-dynamodb-latency")


def _on_every_client(event: str, handler: Callable[..., None], unique_id: str) -> Callable[[], None]:
    """A botocore hook on the clients boto3 creates from now on; returns the undo."""
    import boto3

    if boto3.DEFAULT_SESSION is None:
        boto3.setup_default_session()
    events = boto3.DEFAULT_SESSION.events  # type: ignore[union-attr]
    events.register(event, handler, unique_id=unique_id)
    return lambda: events.unregister(event, unique_id=unique_id)


def install_crash_before_store(probability: float, deaths: DeathLedger) -> None:
    """Now and then, an ingest request dies after its first punch's claim in the dedup table and before the
    punch itself is put, as a Lambda killed between the two writes would. The client gets no answer and
    sends the punch again, which stores it; a near duplicate meanwhile is sent back to retry."""
    from attendance.ingest.service import IngestService

    doomed = threading.Event()
    punches_table = os.environ.get("PUNCHES_TABLE")

    def die_before_the_punch(params: dict[str, Any], **_: Any) -> None:
        if doomed.is_set() and params.get("TableName") == punches_table and deaths.may_die("before-store"):
            print("chaos: the function dies between a punch's claim and its store", flush=True)
            os._exit(137)

    original_ingest = IngestService.ingest

    def ingest(service: IngestService, *args: Any, **kwargs: Any) -> Any:
        # decided per request: one that dies stores nothing after its first claim
        if random.random() < probability:  # noqa: S311 - chaos, not crypto
            doomed.set()
        else:
            doomed.clear()
        return original_ingest(service, *args, **kwargs)

    _on_every_client(
        "before-parameter-build.dynamodb.PutItem", die_before_the_punch, "chaos-crash-before-store"
    )
    IngestService.ingest = ingest  # type: ignore[method-assign]


def install_crash_before_queue(probability: float, deaths: DeathLedger) -> None:
    """Now and then, the process dies after storing punches and before queueing them, as a Lambda killed
    at that moment would. The punches stay pending; the scheduled sweep must queue them."""
    from attendance.ingest.service import IngestService

    class CrashingQueue:
        def __init__(self, queue: Any) -> None:
            self._queue = queue

        def send(self, log_ids: Any) -> list[str]:
            doomed = log_ids and random.random() < probability  # noqa: S311 - chaos, not crypto
            if doomed and deaths.may_die("before-queue"):
                print("chaos: the function dies between the table write and the queue send", flush=True)
                os._exit(137)
            return self._queue.send(log_ids)

    original_init = IngestService.__init__

    def init(service: IngestService, *args: Any, **kwargs: Any) -> None:
        original_init(service, *args, **kwargs)
        service._queue = CrashingQueue(service._queue)  # type: ignore[assignment]

    IngestService.__init__ = init  # type: ignore[method-assign]
