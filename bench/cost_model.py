"""The cost of a punch, from the requests the code really sends.

A punch sent alone and a 500-punch batch go through the ingest handler, then ten stored punches through
the CRM worker (the template's batch size) and a local CRM, all on an in-process moto. botocore's event
hooks record every request with the items it touched, read before and after it; DynamoDB's capacity
rules (bench.dynamodb_units) turn those into read and write units, with the indexes the template defines.
Log bytes are what the handlers wrote at the template's log level and the HTTP API's access-log line.
Prices are us-east-1 list prices.

`python -m bench.cost_model` prints the table alone.
"""

import contextlib
import gzip
import io
import json
import logging
import math
import os
import re
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import botocore.session
from moto import mock_aws

from bench.dynamodb_units import Item, Table, item_size, query_units, read_units, write_units
from bench.prices import PRICE, PRICES_AS_OF
from local_stack.events import LambdaContext, http_api_event
from local_stack.moto_patches import apply_moto_patches
from local_stack.provision import provision
from local_stack.template import function_environment, load_template, resources_of_type

XRAY_SAMPLED = 0.05  # X-Ray's default sampling rule beyond its one-a-second reservoir
HTTP_API_CHUNK = 512 * 1024
SQS_CHUNK = 64 * 1024
BATCH = 500
# What the Lambda service itself writes to a function's log for each invocation (START, END, REPORT).
PLATFORM_LINES = (
    "START RequestId: {id} Version: $LATEST\n",
    "END RequestId: {id}\n",
    "REPORT RequestId: {id}\tDuration: 12.34 ms\tBilled Duration: 13 ms\tMemory Size: 256 MB\t"
    "Max Memory Used: 98 MB\t\nXRAY TraceId: 1-6749f1a3-0123456789abcdef01234567\tSegmentId: "
    "0123456789abcdef\tSampled: true\t\n",
)
_WRITES = {"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem"}


@dataclass
class Usage:
    """What one piece of work cost in requests, units, time and log bytes."""

    calls: Counter = field(default_factory=Counter)  # "dynamodb.GetItem" -> requests
    write_units: Counter = field(default_factory=Counter)  # "PunchesTable" or "PunchesTable/byUser" -> WRU
    read_units: Counter = field(default_factory=Counter)
    sqs_requests: float = 0
    seconds: float = 0
    log_bytes: int = 0
    invocations: int = 0
    http_requests: int = 0
    stored_items: dict[str, Item] = field(default_factory=dict)  # the last item each table was written with
    key_writes: Counter = field(default_factory=Counter)  # ("PunchesTable/byUser", partition key) -> writes

    def scaled(self, factor: float) -> "Usage":
        scale = lambda counter: Counter({key: value * factor for key, value in counter.items()})  # noqa: E731
        return Usage(
            scale(self.calls),
            scale(self.write_units),
            scale(self.read_units),
            self.sqs_requests * factor,
            self.seconds * factor,
            int(self.log_bytes * factor),
            self.invocations * factor,
            self.http_requests * factor,
            self.stored_items,
            scale(self.key_writes),
        )


class RequestRecorder:
    """botocore hooks on boto3's default session: each request, the items it touched before and after."""

    def __init__(self, tables: dict[str, tuple[str, Table]]) -> None:
        self._tables = tables  # physical name -> (logical id, keys and indexes)
        self._peek = botocore.session.Session().create_client("dynamodb", region_name="us-east-1")
        self._lock = threading.Lock()
        self.usage = Usage()

    def _hooks(self) -> tuple[tuple[str, Callable[..., None], str], ...]:
        return (
            ("before-parameter-build", self._parameters, "cost-parameters"),
            ("before-call", self._before, "cost-before"),
            ("after-call", self._after, "cost-after"),
        )

    def install(self) -> None:
        session = boto3.DEFAULT_SESSION._session
        for event, handler, unique_id in self._hooks():
            session.register(event, handler, unique_id=unique_id)

    def uninstall(self) -> None:
        session = boto3.DEFAULT_SESSION._session
        for event, _, unique_id in self._hooks():
            session.unregister(event, unique_id=unique_id)

    @contextlib.contextmanager
    def measuring(self) -> Iterator[Usage]:
        """Yields a Usage that holds, afterwards, what the block cost."""
        with self._lock:
            outer, self.usage = self.usage, Usage()
        measured = self.usage
        log = _CountingStream()
        started = time.perf_counter()
        with _logs_into(log):
            yield measured
        measured.seconds = time.perf_counter() - started
        measured.log_bytes = log.bytes
        self.usage = outer

    def _parameters(self, event_name: str, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        """The request's own parameters, and the items a write will touch as they are before it."""
        _, service, operation = event_name.split(".", 2)
        context["cost-params"] = params
        if service == "dynamodb" and operation in _WRITES:
            context["cost-writes"] = [
                (table, key, self._item(table, key)) for table, key in _keys(operation, params, self._tables)
            ]

    def _before(self, event_name: str, params: dict[str, Any], **_: Any) -> None:
        _, service, operation = event_name.split(".", 2)
        with self._lock:
            self.usage.calls[f"{service}.{operation}"] += 1
            if service == "sqs":
                self.usage.sqs_requests += max(1, math.ceil(len(params.get("body") or b"") / SQS_CHUNK))

    def _after(self, event_name: str, parsed: dict[str, Any], context: dict[str, Any], **kwargs: Any) -> None:
        _, service, operation = event_name.split(".", 2)
        if service != "dynamodb":
            return
        with self._lock:
            if operation in _WRITES:
                self._count_writes(operation, context.get("cost-writes", []), parsed)
            else:
                self._count_reads(operation, parsed, context)

    def _count_writes(self, operation: str, touched: list, parsed: dict[str, Any]) -> None:
        transactional = operation == "TransactWriteItems"
        applied = "Error" not in parsed
        for table, key, before in touched:
            logical_id, schema = self._tables[table]
            after = self._item(table, key) if applied else before
            factor = 2 if transactional else 1
            self.usage.write_units[logical_id] += factor * write_units(before, after)
            self.usage.key_writes[(logical_id, schema.partition_key(after or before or {}))] += 1
            for index, units in schema.index_write_units(before, after).items():
                self.usage.write_units[f"{logical_id}/{index}"] += units
            for index, key in schema.index_keys_written(before, after):
                self.usage.key_writes[(f"{logical_id}/{index}", key)] += 1
            if after:
                self.usage.stored_items[logical_id] = after

    def _count_reads(self, operation: str, parsed: dict[str, Any], context: dict[str, Any]) -> None:
        """Reads are charged on the whole item, whatever a projection returns, a missing one at the least."""
        params = context.get("cost-params", {})
        if operation == "GetItem":
            found = [parsed["Item"]] if "Item" in parsed else []
            self._charge_reads(params.get("TableName", ""), params, [params["Key"]], found)
        elif operation == "BatchGetItem":
            for table, request in params.get("RequestItems", {}).items():
                unprocessed = parsed.get("UnprocessedKeys", {}).get(table, {}).get("Keys", [])
                keys = [key for key in request["Keys"] if key not in unprocessed]  # asked again, charged then
                self._charge_reads(table, request, keys, parsed.get("Responses", {}).get(table, []))
        elif operation in ("Query", "Scan"):
            units = query_units(parsed.get("Items", [])) if "Items" in parsed else 0.5
            self.usage.read_units[self._logical(context) or "other"] += units

    def _charge_reads(
        self, table: str, request: dict[str, Any], keys: list[dict[str, Any]], found: list[Item]
    ) -> None:
        """Items returned whole are sized as returned; projected ones are looked up whole."""
        if "ProjectionExpression" in request:
            items = [self._item(table, key) for key in keys]
        else:
            items = [*found, *[None] * (len(keys) - len(found))]
        units = read_units(items, bool(request.get("ConsistentRead")))
        self.usage.read_units[self._tables.get(table, (table, None))[0] or "other"] += units

    def _logical(self, context: dict[str, Any]) -> str:
        name = context.get("cost-params", {}).get("TableName", "")
        return self._tables.get(name, (name, None))[0]

    def _item(self, table: str, key: dict[str, Any]) -> Item | None:
        return self._peek.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")


def _keys(
    operation: str, params: dict[str, Any], tables: dict[str, tuple[str, Table]]
) -> Iterator[tuple[str, dict]]:
    """(table, key) of every item a write request touches."""

    def key_of(table: str, request: dict[str, Any]) -> dict[str, Any]:
        if "Key" in request:
            return request["Key"]
        return {name: request["Item"][name] for name in tables[table][1].keys}

    if operation == "TransactWriteItems":
        for action in params["TransactItems"]:
            ((_, request),) = action.items()
            yield request["TableName"], key_of(request["TableName"], request)
    elif operation == "BatchWriteItem":
        for table, requests in params["RequestItems"].items():
            for request in requests:
                ((_, inner),) = request.items()
                yield table, key_of(table, inner)
    else:
        yield params["TableName"], key_of(params["TableName"], params)


class _CountingStream(io.TextIOBase):
    def __init__(self) -> None:
        self.bytes = 0

    def write(self, text: str) -> int:
        self.bytes += len(text.encode())
        return len(text)


@contextlib.contextmanager
def _logs_into(stream: _CountingStream) -> Iterator[None]:
    """Every log handler (Powertools' loggers write JSON lines to stdout) and stdout itself (metrics)."""
    loggers = [logging.getLogger(), *logging.Logger.manager.loggerDict.values()]
    handlers = {  # one handler may serve several loggers: each is swapped once
        handler: handler.stream
        for logger in loggers
        if isinstance(logger, logging.Logger)
        for handler in logger.handlers
        if isinstance(handler, logging.StreamHandler) and not getattr(handler.stream, "closed", False)
    }
    for handler in handlers:
        handler.setStream(stream)
    try:
        with contextlib.redirect_stdout(stream):
            yield
    finally:
        for handler, old in handlers.items():
            handler.setStream(old)


@dataclass(frozen=True)
class Measured:
    single: Usage  # one punch posted alone
    batch: Usage  # one 500-punch batch
    delivery: Usage  # one worker invocation delivering a full batch of punches
    delivery_batch_size: int
    reports: dict[str, Usage]  # a report or delivery overview -> what one request of it cost
    memory_gb: dict[str, float]  # function -> GB
    tracing: bool
    tables: dict[str, Table]  # logical id -> keys and indexes
    resent: Usage = field(default_factory=Usage)  # the same 500-punch batch sent again (its answer lost)
    backfill: Usage = field(default_factory=Usage)  # a 500-punch batch of whole user-days (an edge backfill)


def _cold_start_functions() -> None:
    """Functions imported by an earlier run keep its clients and settings: start them afresh, as new
    execution environments would, so that this run's clients (and the recorder's hooks) are used."""
    for name in (
        "functions.ingest.app",
        "functions.crm_worker.app",
        "functions.reports.app",
        "functions.deliveries.app",
        "functions.employees.app",
    ):
        module = sys.modules.get(name)
        if module is not None:
            module.dependencies.cache_clear()


@dataclass(frozen=True)
class LocalFunctions:
    """The template's tables and queues on an in-process moto, the functions' environments set, every
    request recorded."""

    template: dict[str, Any]
    resolver: Any
    recorder: "RequestRecorder"
    tables: dict[str, Table]  # logical id -> keys and indexes


@contextlib.contextmanager
def local_functions() -> Iterator[LocalFunctions]:
    """Sets the functions' environment variables for the block, and puts the old ones back after it."""
    saved = dict(os.environ)
    try:
        with _local_functions() as local:
            yield local
    finally:
        os.environ.clear()
        os.environ.update(saved)


@contextlib.contextmanager
def _local_functions() -> Iterator[LocalFunctions]:
    os.environ.update(
        AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="us-east-1"
    )
    os.environ.pop("AWS_ENDPOINT_URL", None)
    apply_moto_patches()
    template = load_template()
    with mock_aws(), _logs_into(_CountingStream()):  # only the measured blocks' log bytes are counted
        boto3.setup_default_session()
        resolver = provision(
            template,
            boto3.client("dynamodb"),
            boto3.client("sqs"),
            s3=boto3.client("s3"),
            parameters={"CrmUrl": "http://127.0.0.1:9/crm"},
        )
        tables = {
            resolver.refs[logical_id]: (logical_id, Table.from_template(resource["Properties"]))
            for logical_id, resource in resources_of_type(template, "AWS::DynamoDB::Table").items()
        }
        recorder = RequestRecorder(tables)
        recorder.install()
        for logical_id in (
            "IngestFunction",
            "CrmWorkerFunction",
            "ReportsFunction",
            "DeliveriesFunction",
            "EmployeesFunction",
        ):
            os.environ.update(function_environment(template, logical_id, resolver))
        _cold_start_functions()
        from attendance.data.api_keys import ApiKeyStore
        from attendance.domain.keys import Scope

        keys = ApiKeyStore(boto3.client("dynamodb"), resolver.refs["ApiKeysTable"])
        keys.create("bench", raw_key="bench", scopes=frozenset({Scope.INGEST, Scope.ADMIN}))
        yield LocalFunctions(template, resolver, recorder, dict(tables.values()))


def measure(employees: int = 200) -> Measured:
    """Run the scenarios on an in-process moto with the template's resources and settings."""
    with local_functions() as local:
        single, batch, resent = _ingest(local)
        backfill = _backfill(local)
        delivery, batch_size = _deliver(local)
        reports = _reports(local.recorder, employees)
    globals_ = local.template["Globals"]["Function"]
    memory = {
        name: resource["Properties"].get("MemorySize", globals_["MemorySize"]) / 1024
        for name, resource in resources_of_type(local.template, "AWS::Serverless::Function").items()
    }
    tracing = local.resolver.resolve(globals_.get("Tracing", "PassThrough")) == "Active"
    return Measured(
        single, batch, delivery, batch_size, reports, memory, tracing, local.tables, resent, backfill
    )


_HEADERS = {"authorization": "Bearer bench", "content-type": "application/json"}


def post(path: str, body: bytes | str, headers: dict[str, str] | None = None) -> dict[str, Any]:
    return _handled(http_api_event("POST", path, body, _HEADERS | (headers or {})))


def _handled(event: dict[str, Any]) -> dict[str, Any]:
    from functions.ingest import app

    # Lambda's longest time: in-process, a batch's time is moto's and the recorder's, and a busy machine
    # must not cut the batch short (a partial answer would leave punches out of the figures)
    return app.lambda_handler(event, LambdaContext(timeout_seconds=900))


def _posted(local: LocalFunctions, body: bytes | str, headers: dict[str, str] | None = None) -> Usage:
    """What one POST /punches cost, with the line the HTTP API writes to its access log for it."""
    event = http_api_event("POST", "/punches", body, _HEADERS | (headers or {}))
    with local.recorder.measuring() as usage:
        reply = _handled(event)
    usage.log_bytes += len(access_log_line(local.template, event, reply, usage.seconds).encode())
    return usage


def access_log_line(
    template: dict[str, Any], event: dict[str, Any], reply: dict[str, Any], seconds: float
) -> str:
    """The line the HTTP API writes to its access log for one request, in the template's own format
    (a variable left empty is written as "-", as API Gateway does)."""
    context = event["requestContext"]
    values = {
        "requestId": context["requestId"],
        "requestTime": context["time"],
        "identity.sourceIp": context["http"]["sourceIp"],
        "identity.userAgent": context["http"]["userAgent"],
        "routeKey": context["routeKey"],
        "status": str(reply["statusCode"]),
        "responseLatency": str(round(seconds * 1000)),
        "responseLength": str(len(reply.get("body") or "")),
        "integrationErrorMessage": "",
    }
    log_format = template["Resources"]["PunchApi"]["Properties"]["AccessLogSettings"]["Format"]
    return re.sub(r"\$context\.([\w.]+)", lambda variable: values[variable[1]] or "-", log_format) + "\n"


def _ingest(local: LocalFunctions) -> tuple[Usage, Usage, Usage]:
    at = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    punch = {"deviceId": "D1", "userId": "U0", "timestamp": at, "type": "in"}
    post("/punches", json.dumps(punch))  # a warm function: the cold start is measured apart
    single = _posted(local, json.dumps(punch | {"userId": "U1"}))
    single.invocations = single.http_requests = 1
    body = gzip.compress(
        json.dumps({"punches": [punch | {"userId": f"B{n}"} for n in range(BATCH)]}).encode()
    )
    batch = _posted(local, body, {"content-encoding": "gzip"})
    batch.invocations = 1
    batch.http_requests = max(1, math.ceil(len(body) / HTTP_API_CHUNK))
    resent = _posted(local, body, {"content-encoding": "gzip"})
    return single, batch, resent


def _backfill(local: LocalFunctions) -> Usage:
    """An edge poller catching up on a clock's log: 125 users' four punches of one day, in one batch."""
    day = (datetime.now(UTC) - timedelta(days=2)).replace(hour=7, minute=0, second=0, microsecond=0)
    punches = [
        {
            "deviceId": "CLOCK",
            "userId": f"F{n}",
            "timestamp": (day + timedelta(hours=hours)).isoformat(),
            "type": kind,
        }
        for n in range(BATCH // len(BACKFILL_DAY))
        for hours, kind in BACKFILL_DAY
    ]
    return _posted(local, json.dumps({"punches": punches}))


BACKFILL_DAY = ((0, "in"), (4, "break_out"), (5, "break_in"), (9, "out"))  # hours after 07:00 UTC


@contextlib.contextmanager
def _worker(local: LocalFunctions) -> Iterator[tuple[Any, Any]]:
    """The worker behind the local SQS mapping (the template's batch size), and the local CRM it delivers to."""
    from functions.crm_worker import app as worker
    from local_stack.mock_crm import GENERIC_PATH, MockCrmServer
    from local_stack.sqs_trigger import SqsTrigger

    batch_size = int(local.resolver.resolve(local.template["Parameters"]["WorkerBatchSize"]["Default"]))
    crm = MockCrmServer(port=0).start()
    os.environ["CRM_URL"] = crm.url + GENERIC_PATH
    worker.dependencies.cache_clear()
    queue = local.resolver.refs["PunchQueue"]
    arn = local.resolver.attributes[("PunchQueue", "Arn")]
    try:
        yield SqsTrigger(boto3.client("sqs"), queue, arn, worker.lambda_handler, batch_size), crm
    finally:
        crm.shutdown()


def deliver_all(local: LocalFunctions) -> int:
    """Every queued punch through the worker, batch by batch; how many distinct punches the CRM then holds.

    Not the worker's successes: a batch that outlives the visibility timeout (a slow machine) is received
    and delivered again, as SQS and Lambda do, and the CRM's idempotency key makes that one punch."""
    with _worker(local) as (trigger, crm):
        while trigger.poll_once().received:
            pass
        return len(crm.state.held)


def _deliver(local: LocalFunctions) -> tuple[Usage, int]:
    """One full worker batch of stored punches delivered to a local CRM through the local SQS mapping."""
    from attendance.data.queue import PunchQueue

    with _worker(local) as (trigger, _):
        trigger.poll_once()  # a warm function, its CRM secret read
        sqs, queue = boto3.client("sqs"), local.resolver.refs["PunchQueue"]
        sqs.purge_queue(QueueUrl=queue)
        scan = boto3.client("dynamodb").scan(
            TableName=local.resolver.refs["PunchesTable"],
            FilterExpression="attribute_exists(undelivered)",
            Limit=200,
        )
        PunchQueue(sqs, queue).send([item["logId"]["S"] for item in scan["Items"][: trigger.batch_size]])
        with local.recorder.measuring() as delivery:
            report = trigger.poll_once()
    if report.succeeded != trigger.batch_size:
        raise RuntimeError(f"the worker delivered {report.succeeded} of {trigger.batch_size} punches")
    delivery.invocations = 1
    return delivery, trigger.batch_size


PAGE_NAMES = 50  # a device page's recent punches, by as many people at most


def _reports(recorder: RequestRecorder, employees: int) -> dict[str, Usage]:
    """A day of a company through ingest, its directory, then one request of each report, of the delivery
    overview and of the names a dashboard page lists."""
    from attendance.data.employees import EmployeeStore
    from attendance.domain.employees import Employee
    from functions.deliveries import app as deliveries
    from functions.employees import app as directory
    from functions.reports import app as reports

    people = EmployeeStore(boto3.client("dynamodb"), os.environ["EMPLOYEES_TABLE"])
    for n in range(employees):
        people.put(Employee(user_id=f"E{n}", name=f"Employee {n}", department="Bench"))

    day = (datetime.now(UTC) - timedelta(days=1)).date()
    shifts = ("08:00:00", "12:00:00", "12:30:00", "17:00:00")
    kinds = ("in", "break_out", "break_in", "out")
    punches = [
        {"deviceId": f"D{n % 4}", "userId": f"E{n}", "timestamp": f"{day}T{at}", "type": kind}
        for n in range(employees)
        for at, kind in zip(shifts, kinds, strict=True)
    ]
    for start in range(0, len(punches), BATCH):
        post("/punches", json.dumps({"punches": punches[start : start + BATCH]}))
    first = day - timedelta(days=30)
    asks: dict[str, tuple[Callable, str, dict[str, str]]] = {
        f"daily report, {employees} employees ({len(punches)} punches)": (
            reports.lambda_handler,
            "/reports/daily",
            {"date": day.isoformat()},
        ),
        "timesheet, one employee, 31 days": (
            reports.lambda_handler,
            "/reports/timesheet",
            {"userId": "E1", "from": str(first), "to": str(day)},
        ),
        f"pay period, {employees} employees, 31 days (the punches on one)": (
            reports.lambda_handler,
            "/reports/period",
            {"from": str(first), "to": str(day)},
        ),
        "delivery overview (GET /deliveries)": (deliveries.lambda_handler, "/deliveries", {}),
        f"names of a page's {PAGE_NAMES} employees (GET /employee-names)": (
            directory.lambda_handler,
            "/employee-names",
            {"userId": ",".join(f"E{n}" for n in range(PAGE_NAMES))},
        ),
        f"the directory of {employees} with today's status (GET /employees)": (
            directory.lambda_handler,
            "/employees",
            {},
        ),
    }
    usages = {}
    for name, (handler, path, query) in asks.items():
        handler(http_api_event("GET", path, None, _HEADERS, query), LambdaContext())  # warm
        with recorder.measuring() as usage:
            reply = handler(http_api_event("GET", path, None, _HEADERS, query), LambdaContext())
        if reply["statusCode"] != 200:
            raise RuntimeError(f"{path} answered {reply['statusCode']}: {reply.get('body')}")
        usages[name] = usage
    return usages


@dataclass(frozen=True)
class Cost:
    """Dollars per million punches, by line."""

    lines: dict[str, float]

    @property
    def total(self) -> float:
        return sum(self.lines.values())


def per_punch(measured: Measured, batched: bool) -> Usage:
    """One punch's share of the ingest request that brought it and of the worker batch that delivered it."""
    ingest = measured.batch.scaled(1 / BATCH) if batched else measured.single
    return _sum(ingest, measured.delivery.scaled(1 / measured.delivery_batch_size))


def _sum(a: Usage, b: Usage) -> Usage:
    return Usage(
        a.calls + b.calls,
        a.write_units + b.write_units,
        a.read_units + b.read_units,
        a.sqs_requests + b.sqs_requests,
        a.seconds + b.seconds,
        a.log_bytes + b.log_bytes,
        a.invocations + b.invocations,
        a.http_requests + b.http_requests,
        {**a.stored_items, **b.stored_items},
        a.key_writes + b.key_writes,
    )


def cost_per_million(measured: Measured, batched: bool) -> Cost:
    ingest = measured.batch.scaled(1 / BATCH) if batched else measured.single
    delivery = measured.delivery.scaled(1 / measured.delivery_batch_size)
    punch = per_punch(measured, batched)
    compute = (
        ingest.seconds * measured.memory_gb["IngestFunction"]
        + delivery.seconds * measured.memory_gb["CrmWorkerFunction"]
    )
    platform_bytes = sum(len(line.format(id="0" * 36).encode()) for line in PLATFORM_LINES)
    lines = {
        "HTTP API requests": punch.http_requests * PRICE["http_api_request"],
        "Lambda requests": punch.invocations * PRICE["lambda_request"],
        "Lambda compute (measured time x memory)": compute * PRICE["lambda_gb_second_arm"],
        "SQS requests": punch.sqs_requests * PRICE["sqs_request"],
        "DynamoDB writes": sum(punch.write_units.values()) * PRICE["dynamodb_wru"],
        "DynamoDB reads": sum(punch.read_units.values()) * PRICE["dynamodb_rru"],
        "CloudWatch Logs": (punch.log_bytes + punch.invocations * platform_bytes) / 1e9 * PRICE["logs_gb"],
        "X-Ray traces (default sampling)": punch.invocations * XRAY_SAMPLED * PRICE["xray_trace"]
        if measured.tracing
        else 0.0,
    }
    return Cost({line: dollars * 1e6 for line, dollars in lines.items()})


def floor_per_million(measured: Measured, batched: bool) -> Cost:
    """The fewest requests and units any design with these guarantees needs, priced the same way.

    Every punch arrives in one HTTP request (or 1/500 of one) handled by one invocation; it is stored
    once, by one conditional write that also decides exact and near duplicates (the punch and what it
    is judged against in one item, so no transaction), with no index; it is queued (one message, or a
    tenth of a 10-message send), received and deleted with its worker batch; and its delivery takes a
    lease and records the outcome: two conditional writes. Item sizes are those this code stored.
    """
    stored = measured.single.stored_items["PunchesTable"]
    delivered = measured.delivery.stored_items["PunchesTable"]
    share = 1 / measured.delivery_batch_size
    ingest_requests = 1 / BATCH if batched else 1
    lines = {
        "HTTP API requests": ingest_requests * PRICE["http_api_request"],
        "Lambda requests": (ingest_requests + share) * PRICE["lambda_request"],
        "SQS requests": ((share if batched else 1) + 2 * share) * PRICE["sqs_request"],
        "DynamoDB writes": (write_units(None, stored) + 2 * write_units(stored, delivered))
        * PRICE["dynamodb_wru"],
    }
    return Cost({line: dollars * 1e6 for line, dollars in lines.items()})


# The measured lines the floor leaves out that no storage design removes, by the name the report gives them.
_EVERY_REQUEST = {
    "Lambda compute (measured time x memory)": "compute",
    "CloudWatch Logs": "logs",
    "X-Ray traces (default sampling)": "traces",
}


def every_request_per_million(measured: Measured, batched: bool) -> dict[str, float]:
    """What a punch's requests pay here whatever the storage design, in dollars a million punches: the
    caller's key read and its rate count, the handlers' time, the logs and the traces."""
    punch = per_punch(measured, batched)
    cost = cost_per_million(measured, batched)
    return {
        "key read": punch.read_units["ApiKeysTable"] * PRICE["dynamodb_rru"] * 1e6,
        "rate count": punch.write_units["RequestCountsTable"] * PRICE["dynamodb_wru"] * 1e6,
    } | {name: cost.lines[line] for line, name in _EVERY_REQUEST.items()}


INDEX_ENTRY_OVERHEAD = 100  # bytes DynamoDB adds to each index entry for storage


def stored_bytes_per_punch(measured: Measured) -> int:
    """A delivered punch at rest: its item and its entries in the indexes it stays in (a dedup record is
    TTL'd, and shared by a user's punches of a day)."""
    item = measured.delivery.stored_items["PunchesTable"]
    punches = measured.tables["PunchesTable"]
    entries = [index.entry(item, punches.keys) for index in punches.indexes]
    return item_size(item) + sum(item_size(entry) + INDEX_ENTRY_OVERHEAD for entry in entries if entry)


def company_rows(measured: Measured, employees: int = 200) -> list[tuple[str, str, str]]:
    """A company of `employees`, four punches a working day, 22 working days a month, sent singly."""
    punches = employees * 4 * 22
    stored_gb = punches * 12 * stored_bytes_per_punch(measured) / 1e9  # a year of them
    at_rest = stored_gb * (PRICE["dynamodb_gb_month"] + PRICE["dynamodb_pitr_gb_month"])
    month = cost_per_million(measured, batched=False).total * punches / 1e6 + at_rest
    return [
        (
            f"  at rest, a year of a {employees}-employee company",
            f"${at_rest:.4f}/month",
            f"{stored_bytes_per_punch(measured)} bytes a punch with its index entries, + PITR",
        ),
        (
            f"  {employees}-employee company ({punches:,} punches/month)",
            f"${month:.2f}/month",
            "single POSTs",
        ),
    ]


def request_rows(measured: Measured) -> list[tuple[str, str, str]]:
    """AWS requests per punch, as the code sent them."""
    size = measured.delivery_batch_size
    return [
        ("AWS requests per punch (captured)", "", ""),
        ("  single-punch ingest", f"{sum(measured.single.calls.values()):g}", _calls(measured.single.calls)),
        (
            f"  {BATCH}-punch batch (per punch)",
            f"{sum(measured.batch.calls.values()) / BATCH:.2f}",
            _calls(measured.batch.calls),
        ),
        (
            "  the same batch sent again (per punch)",
            f"{sum(measured.resent.calls.values()) / BATCH:.2f}",
            _calls(measured.resent.calls),
        ),
        (
            f"  {BATCH}-punch backfill, whole user-days (per punch)",
            f"{sum(measured.backfill.calls.values()) / BATCH:.2f}",
            _calls(measured.backfill.calls),
        ),
        (
            f"  worker delivery (batch of {size}, per punch)",
            f"{sum(measured.delivery.calls.values()) / size:.2f}",
            _calls(measured.delivery.calls),
        ),
    ]


def _calls(calls: Counter) -> str:
    return ", ".join(f"{name.split('.', 1)[1]} {count:g}" for name, count in sorted(calls.items()))


def report_rows(measured: Measured) -> list[tuple[str, str, str]]:
    """The cost model's rows of `make bench`'s table."""
    rows = [(f"Cost per million punches (us-east-1, prices of {PRICES_AS_OF}; floor: see docs)", "", "")]
    for batched, label in ((False, "single POSTs"), (True, f"{BATCH}-punch batches")):
        cost, floor = cost_per_million(measured, batched), floor_per_million(measured, batched)
        rows.append((f"  {label}", f"${cost.total:.2f}", f"floor ${floor.total:.2f}"))
        for line, dollars in cost.lines.items():
            beside = f"floor ${floor.lines[line]:.2f}" if line in floor.lines else ""
            rows.append((f"    {line}", f"${dollars:.2f}", beside))
        kept = every_request_per_million(measured, batched)
        rows.append(
            (
                "    the floor with what every request pays here",
                f"${floor.total + sum(kept.values()):.2f}",
                ", ".join(f"{name} ${dollars:.2f}" for name, dollars in kept.items()),
            )
        )
    for batched, label in ((False, "single"), (True, "batched")):
        punch = per_punch(measured, batched)
        rows.append(
            (
                f"  write units per punch, {label}",
                f"{sum(punch.write_units.values()):.2f}",
                _units(punch.write_units),
            )
        )
        rows.append(
            (
                f"  read units per punch, {label}",
                f"{sum(punch.read_units.values()):.2f}",
                _units(punch.read_units),
            )
        )
    backfill = _sum(
        measured.backfill.scaled(1 / BATCH), measured.delivery.scaled(1 / measured.delivery_batch_size)
    )
    rows.append(
        (
            "  write units per punch, backfill batch",
            f"{sum(backfill.write_units.values()):.2f}",
            _units(backfill.write_units),
        )
    )
    again = measured.resent.scaled(1 / BATCH)
    rows.append(
        (
            "  read units per punch, batch sent again",
            f"{sum(again.read_units.values()):.2f}",
            _units(again.read_units),
        )
    )
    rows += company_rows(measured)
    rows.append(("Reports, delivery tools and the dashboard's names (one request, warm)", "", ""))
    for name, usage in measured.reports.items():
        units = sum(usage.read_units.values())
        dollars = units * PRICE["dynamodb_rru"] * 1000
        rows.append(
            (
                f"  {name}",
                f"{usage.seconds * 1000:.0f} ms",
                f"{units:g} read units (${dollars:.4f} a thousand)",
            )
        )
    return rows


def _units(counter: Counter) -> str:
    return ", ".join(
        f"{name} {units:.2f}".rstrip("0").rstrip(".") for name, units in sorted(counter.items()) if units
    )


def main() -> None:
    measured = measure()
    rows = request_rows(measured) + report_rows(measured)
    width = max(len(row[0]) for row in rows) + 2
    print("\n".join(f"{label:{width}}{value:>12}  {note}".rstrip() for label, value, note in rows))


if __name__ == "__main__":
    main()
