"""`make bench`: cold starts, AWS requests per punch, latency through the local stack, the edge poller,
and the cost model. Prints a table and rewrites docs/PERFORMANCE.md with the figures of this run.

Figures are measurements on this machine and on moto, not on AWS: they compare, they do not promise.
"""

import functools
import gzip
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from collections import Counter
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from importlib import metadata
from pathlib import Path
from typing import Any

import boto3
import httpx
from moto import mock_aws
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from bench.edge_poller_bench import measure as measure_edge
from bench.feed_bench import measure as measure_feed
from bench.feed_bench import rows as feed_rows
from local_stack.events import LambdaContext, http_api_event
from local_stack.moto_patches import apply_moto_patches
from local_stack.provision import provision
from local_stack.template import TEMPLATE_PATH, function_environment, load_template, resources_of_type

ROOT = TEMPLATE_PATH.parent
DOC = ROOT / "docs" / "PERFORMANCE.md"
LAYER_REQUIREMENTS = ROOT / "layer" / "requirements.txt"
PROJECT = canonicalize_name(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["name"])
RUNTIME_PROVIDED = ("boto3",)  # the Lambda Python runtime brings boto3 and its dependencies
COLD_RUNS = 5

# us-east-1 list prices used by the cost model (AWS price pages; check before quoting).
PRICES_AS_OF = "2026-11"
PRICE = {
    "lambda_request": 0.20 / 1e6,
    "lambda_gb_second_arm": 0.0000133334,
    "http_api_request": 1.00 / 1e6,
    "sqs_request": 0.40 / 1e6,
    "dynamodb_wru": 0.625 / 1e6,
    "dynamodb_rru": 0.125 / 1e6,
    "dynamodb_gb_month": 0.25,
    "dynamodb_pitr_gb_month": 0.20,
    "logs_gb": 0.50,
    "websocket_message": 1.00 / 1e6,  # per 32 KB unit, in or out
    "websocket_connection_minute": 0.25 / 1e6,
}


LOAD_AS_ON_LAMBDA = (
    "import importlib.abc, json, sys, time\n"
    "class Absent(importlib.abc.MetaPathFinder):\n"
    "    def find_spec(self, name, path, target=None):\n"
    "        if name.split('.')[0] in BLOCKED: raise ModuleNotFoundError(name)\n"
    "BLOCKED = set(json.loads(sys.argv[4])); sys.meta_path.insert(0, Absent())\n"
    "sys.path[:0] = sys.argv[1:3]; t = time.perf_counter(); __import__(sys.argv[3])\n"
    "print(time.perf_counter() - t)"
)
PACKAGE_GROUPS = {  # top-level module -> the group a cold start's breakdown shows it in
    "aws_xray_sdk": "X-Ray SDK",
    "wrapt": "X-Ray SDK",
    "botocore": "boto3 and botocore",
    "boto3": "boto3 and botocore",
    "s3transfer": "boto3 and botocore",
    "urllib3": "boto3 and botocore",
    "jmespath": "boto3 and botocore",
    "dateutil": "boto3 and botocore",
    "pydantic": "pydantic",
    "pydantic_core": "pydantic",
    "pydantic_settings": "pydantic",
    "annotated_types": "pydantic",
    "typing_extensions": "pydantic",
    "typing_inspection": "pydantic",
    "aws_lambda_powertools": "Powertools",
    "attendance": "our code",
    "app": "our code",
}


def cold_starts() -> dict[str, tuple[float, float]]:
    """Import-and-init of each handler module in a fresh interpreter, as Lambda loads it: with the
    function's code and the layer on the path, and none of the packages installed here only for
    development. Seconds with tracing on and off, each the median of runs taken in turn, so that a
    busy moment of the machine weighs on both alike."""
    figures = {}
    for logical_id, arguments in _handler_modules():
        runs: dict[bool, list[float]] = {True: [], False: []}
        for _ in range(COLD_RUNS):
            for tracing in runs:
                runs[tracing].append(_timed_import(["-c", LOAD_AS_ON_LAMBDA, *arguments], _tracing(tracing)))
        figures[logical_id] = (statistics.median(runs[True]), statistics.median(runs[False]))
    return figures


def import_breakdown(logical_id: str = "IngestFunction") -> dict[str, float]:
    """Seconds of one function's import by package group (python -X importtime, tracing on)."""
    arguments = dict(_handler_modules())[logical_id]
    report = _fresh_interpreter(
        ["-X", "importtime", "-c", LOAD_AS_ON_LAMBDA, *arguments], _tracing(True)
    ).stderr
    groups: Counter = Counter()
    for line in report.splitlines():
        if line.startswith("import time:") and "self [us]" not in line:
            self_us, _, name = (part.strip() for part in line.removeprefix("import time:").split("|"))
            groups[PACKAGE_GROUPS.get(name.split(".")[0], "Python's standard library and the rest")] += (
                int(self_us) / 1e6
            )
    return dict(groups.most_common())


@functools.cache
def _handler_modules() -> list[tuple[str, list[str]]]:
    template = load_template()
    blocked = json.dumps(modules_outside_lambda())
    modules = []
    for logical_id, resource in sorted(resources_of_type(template, "AWS::Serverless::Function").items()):
        properties = resource["Properties"]
        module = properties["Handler"].rsplit(".", 1)[0]
        modules.append(
            (logical_id, [str(ROOT / properties["CodeUri"]), str(ROOT / "layer"), module, blocked])
        )
    return modules


def _tracing(on: bool) -> dict[str, str]:
    return {"POWERTOOLS_TRACE_DISABLED": "false", "TRACING_MODE": "Active" if on else "PassThrough"}


def boto3_import() -> float:
    script = "import time; t = time.perf_counter(); import boto3; print(time.perf_counter() - t)"
    return statistics.median(_timed_import(["-c", script]) for _ in range(COLD_RUNS))


def modules_outside_lambda() -> list[str]:
    """Top-level modules of the distributions installed here that a function on Lambda would not have:
    it gets the layer's requirements and the runtime's boto3, with their dependencies, and nothing else
    (httpx, for one, imports its command line's rich and click when they happen to be installed)."""
    lines = LAYER_REQUIREMENTS.read_text().splitlines()
    wanted = [Requirement(line) for line in lines if line.strip() and not line.startswith("#")]
    wanted += [Requirement(name) for name in RUNTIME_PROVIDED]
    shipped: set[str] = set()
    while wanted:
        requirement = wanted.pop()
        shipped.add(canonicalize_name(requirement.name))
        for line in metadata.requires(requirement.name) or []:
            dependency = Requirement(line)
            extras = {""} | requirement.extras
            applies = dependency.marker is None or any(
                dependency.marker.evaluate({"extra": e}) for e in extras
            )
            if applies and canonicalize_name(dependency.name) not in shipped:
                wanted.append(dependency)
    return sorted(
        module
        for module, distributions in metadata.packages_distributions().items()
        if not (shipped | {PROJECT}) & {canonicalize_name(d) for d in distributions}
    )


def _timed_import(arguments: list[str], environment: dict[str, str] | None = None) -> float:
    """Seconds a fresh interpreter reports for its import (the script prints them)."""
    return float(_fresh_interpreter(arguments, environment or {}).stdout)


def _fresh_interpreter(arguments: list[str], environment: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-I", *arguments],
        capture_output=True,
        text=True,
        check=True,
        cwd="/",
        env=os.environ | {"AWS_DEFAULT_REGION": "us-east-1"} | environment,
    )


class AwsCallCounter:
    """Counts every AWS call made by clients created after `install()`, with botocore's event hooks."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()

    def install(self) -> None:
        boto3.setup_default_session()
        boto3.DEFAULT_SESSION._session.register("before-call", self._count, unique_id="bench-count")

    def _count(self, event_name: str, **kwargs: Any) -> None:
        _, service, operation = event_name.split(".", 2)
        self.calls[f"{service}.{operation}"] += 1

    @contextmanager
    def measuring(self) -> Any:
        """Yields a dict that holds, afterwards, the calls made inside the block."""
        before = Counter(self.calls)
        measured: dict[str, int] = {}
        yield measured
        measured.update(self.calls - before)


def requests_per_punch() -> dict[str, Any]:
    """AWS requests for one punch, a 500-punch batch and a worker delivery, counted with botocore hooks."""
    os.environ.update(
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",
        AWS_DEFAULT_REGION="us-east-1",
        POWERTOOLS_TRACE_DISABLED="true",
        POWERTOOLS_LOG_LEVEL="ERROR",
    )
    os.environ.pop("AWS_ENDPOINT_URL", None)
    apply_moto_patches()
    counter = AwsCallCounter()
    results: dict[str, Any] = {}
    with mock_aws():
        counter.install()  # inside the mock: starting it replaces boto3's default session
        template = load_template()
        resolver = provision(
            template,
            boto3.client("dynamodb"),
            boto3.client("sqs"),
            s3=boto3.client("s3"),
            parameters={"CrmUrl": "http://127.0.0.1:9/crm"},
        )
        for logical_id in ("IngestFunction", "CrmWorkerFunction"):
            os.environ.update(function_environment(template, logical_id, resolver))
        os.environ["POWERTOOLS_LOG_LEVEL"] = "ERROR"  # keep the figures readable
        from attendance.data.api_keys import ApiKeyStore
        from functions.ingest import app as ingest_app

        ApiKeyStore(boto3.client("dynamodb"), resolver.refs["ApiKeysTable"]).create("bench", raw_key="bench")
        headers = {"authorization": "Bearer bench", "content-type": "application/json"}
        now = datetime.now(UTC) - timedelta(hours=1)
        single = {"deviceId": "D1", "userId": "U0", "timestamp": now.isoformat(), "type": "in"}
        ingest_app.lambda_handler(
            http_api_event("POST", "/punches", json.dumps(single), headers), LambdaContext()
        )
        with counter.measuring() as calls:
            started = time.perf_counter()
            ingest_app.lambda_handler(
                http_api_event("POST", "/punches", json.dumps(single | {"userId": "U1"}), headers),
                LambdaContext(),
            )
            results["single_seconds"] = time.perf_counter() - started
        results["single"] = calls
        batch = [single | {"userId": f"B{n}"} for n in range(500)]
        body = gzip.compress(json.dumps({"punches": batch}).encode())
        with counter.measuring() as calls:
            started = time.perf_counter()
            ingest_app.lambda_handler(
                http_api_event("POST", "/punches", body, headers | {"content-encoding": "gzip"}),
                LambdaContext(),
            )
            results["batch_seconds"] = time.perf_counter() - started
        results["batch"] = calls
        results["worker"] = _worker_calls(resolver, counter)
    return results


def _worker_calls(resolver: Any, counter: AwsCallCounter) -> dict[str, int]:
    """One queued punch delivered by the worker to a local CRM (the SQS receive/delete are the mapping's)."""
    from functions.crm_worker import app as worker_app
    from local_stack.mock_crm import GENERIC_PATH, MockCrmServer
    from local_stack.sqs_trigger import SqsTrigger

    crm = MockCrmServer(port=0).start()
    os.environ["CRM_URL"] = crm.url + GENERIC_PATH
    worker_app.dependencies.cache_clear()
    sqs = boto3.client("sqs")
    queue = resolver.refs["PunchQueue"]
    sqs.purge_queue(QueueUrl=queue)
    punch = boto3.client("dynamodb").scan(TableName=resolver.refs["PunchesTable"], Limit=1)["Items"][0]
    sqs.send_message(QueueUrl=queue, MessageBody=json.dumps({"logId": punch["logId"]["S"]}))
    trigger = SqsTrigger(sqs, queue, resolver.attributes[("PunchQueue", "Arn")], worker_app.lambda_handler)
    with counter.measuring() as calls:
        trigger.poll_once()
    crm.shutdown()
    return calls


def through_local_stack() -> dict[str, float]:
    """Latency and throughput over HTTP, and POST-to-CRM time, with `python -m local_stack` as a subprocess."""
    ports = {"API_PORT": "3911", "AWS_PORT": "4911", "CRM_PORT": "5911"}
    log = tempfile.NamedTemporaryFile("w+", prefix="bench-stack-", suffix=".log")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [sys.executable, "-m", "local_stack"],
        cwd=ROOT,
        env=os.environ | ports,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        while "local stack is up" not in Path(log.name).read_text():
            if process.poll() is not None:
                raise RuntimeError(Path(log.name).read_text())
            time.sleep(0.3)
        api, crm = f"http://127.0.0.1:{ports['API_PORT']}", f"http://127.0.0.1:{ports['CRM_PORT']}"
        client = httpx.Client(timeout=60, headers={"Authorization": "Bearer local-dev-key"})
        base = datetime.now() - timedelta(hours=2)
        latencies, sent_at = [], {}
        for n in range(200):
            punch = {
                "deviceId": "D1",
                "userId": f"L{n}",
                "timestamp": base.isoformat(timespec="seconds"),
                "type": "in",
            }
            posted_at, started = time.time(), time.perf_counter()
            reply = client.post(api + "/punches", json=punch)
            latencies.append(time.perf_counter() - started)
            if n < 30:
                sent_at[reply.json()["logId"]] = posted_at
        batch_times = []
        for b in range(5):
            batch = [
                {
                    "deviceId": "D2",
                    "userId": f"T{b}-{n}",
                    "timestamp": base.isoformat(timespec="seconds"),
                    "type": "in",
                }
                for n in range(500)
            ]
            started = time.perf_counter()
            client.post(
                api + "/punches",
                content=gzip.compress(json.dumps({"punches": batch}).encode()),
                headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
            )
            batch_times.append(time.perf_counter() - started)
        deadline = time.monotonic() + 120
        held: dict[str, float] = {}
        while time.monotonic() < deadline and len(held) < len(sent_at):
            held = {
                p["logId"]: p["receivedAt"]
                for p in client.get(crm + "/crm/attendance").json()["punches"]
                if p["logId"] in sent_at
            }
            time.sleep(0.5)
        delivery = sorted(held[log_id] - sent_at[log_id] for log_id in held)
        ordered = sorted(latencies)
        return {
            "p50_ms": ordered[len(ordered) // 2] * 1000,
            "p95_ms": ordered[int(len(ordered) * 0.95)] * 1000,
            "batch_per_second": 500 / statistics.median(batch_times),
            "delivery_p50_s": delivery[len(delivery) // 2] if delivery else float("nan"),
            "delivery_p95_s": delivery[int(len(delivery) * 0.95)] if delivery else float("nan"),
        }
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def cost_model(calls: dict[str, Any]) -> dict[str, float]:
    """Dollars per million punches (single posts, and 500-punch batches) and for a 200-employee company."""
    template = load_template()
    memory = {
        name: r["Properties"].get("MemorySize", template["Globals"]["Function"]["MemorySize"]) / 1024
        for name, r in resources_of_type(template, "AWS::Serverless::Function").items()
    }
    # DynamoDB units per punch: reads of 1 KB or less, writes of 1 KB or less.
    ingest_read_units = 1 + 0.5  # the key (strongly consistent) and the device (eventually consistent)
    ingest_write_units = (
        2 * 4 + 4
    )  # a transaction of 2 puts and 2 condition checks (2 units each), 4 GSI copies
    worker_units = (
        0,
        (1 + 1 + 2) + (1 + 2 + 2 + 1),
    )  # lease the punch (the item and its copy in each of the three indexes, which project everything);
    # record the outcome (the item, the status index where the item moves, two indexes, byDevice)
    worker_per_punch_requests = (
        0.1 + 0.1 + 0.1
    )  # the mapping's receive and delete, and the worker's invoke per batch of 10
    single_lambda_seconds = calls["single_seconds"]
    per_punch = {
        "api": PRICE["http_api_request"],
        "lambda_requests": PRICE["lambda_request"] * (1 + 0.1),
        "lambda_compute": PRICE["lambda_gb_second_arm"]
        * (single_lambda_seconds * memory["IngestFunction"] + 0.1 * 0.3 * memory["CrmWorkerFunction"]),
        "sqs": PRICE["sqs_request"] * (0.1 + worker_per_punch_requests),
        "dynamodb": PRICE["dynamodb_rru"] * (ingest_read_units + worker_units[0])
        + PRICE["dynamodb_wru"] * (ingest_write_units + worker_units[1]),
        "logs": PRICE["logs_gb"] * 1500 / 1e9,  # about 1.5 KB of JSON log lines per punch, both functions
    }
    single = sum(per_punch.values()) * 1e6
    batched_per_punch = dict(per_punch)
    batched_per_punch["api"] = PRICE["http_api_request"] / 500
    batched_per_punch["lambda_requests"] = PRICE["lambda_request"] * (1 / 500 + 0.1)
    batched_per_punch["lambda_compute"] = PRICE["lambda_gb_second_arm"] * (
        calls["batch_seconds"] / 500 * memory["IngestFunction"] + 0.1 * 0.3 * memory["CrmWorkerFunction"]
    )
    batched = sum(batched_per_punch.values()) * 1e6
    company_punches = 200 * 4 * 22  # 200 employees, 4 punches a working day, 22 working days
    stored_gb = company_punches * 12 * 1.2e-6  # a year of punches at about 1.2 KB each with indexes
    at_rest = stored_gb * (PRICE["dynamodb_gb_month"] + PRICE["dynamodb_pitr_gb_month"])
    return {
        "per_million_single": single,
        "per_million_batched": batched,
        "company_month": single * company_punches / 1e6 + at_rest,
        "company_punches": company_punches,
        "at_rest_month": at_rest,
    }


def main() -> None:
    print("measuring cold starts...", file=sys.stderr)
    baseline = boto3_import()
    cold = cold_starts()
    breakdown = import_breakdown()
    print("counting AWS requests...", file=sys.stderr)
    calls = requests_per_punch()
    print("driving the local stack...", file=sys.stderr)
    stack = through_local_stack()
    print("edge poller, 50,000 records...", file=sys.stderr)
    edge = measure_edge(50_000)
    print("the live feed through the local stack...", file=sys.stderr)
    feed = measure_feed()
    cost = cost_model(calls)
    rows = [(f"Cold start (import + init, median of {COLD_RUNS}, as on Lambda)", "", "")]
    rows += [("  import boto3 (baseline)", f"{baseline * 1000:.0f} ms", "")]
    rows += [
        (
            f"  {name}",
            f"{on * 1000:.0f} ms",
            f"{on / baseline:.1f}x boto3; tracing off: {off * 1000:.0f} ms ({off / baseline:.1f}x)",
        )
        for name, (on, off) in cold.items()
    ]
    total = sum(breakdown.values())
    rows += [("IngestFunction's import by package (tracing on)", "", "")]
    rows += [
        (f"  {group}", f"{seconds * 1000:.0f} ms", f"{seconds / total:.0%}")
        for group, seconds in breakdown.items()
    ]
    rows += [("AWS requests per punch", "", "")]
    rows += [
        ("  single-punch ingest", str(sum(calls["single"].values())), _calls(calls["single"])),
        (
            "  500-punch batch (per punch)",
            f"{sum(calls['batch'].values()) / 500:.2f}",
            _calls(calls["batch"]),
        ),
        ("  worker delivery (batch of one)", str(sum(calls["worker"].values())), _calls(calls["worker"])),
    ]
    rows += [
        ("Through the local stack (moto)", "", ""),
        (
            "  single-punch latency p50 / p95",
            f"{stack['p50_ms']:.0f} / {stack['p95_ms']:.0f} ms",
            "200 sequential POSTs",
        ),
        ("  batch throughput", f"{stack['batch_per_second']:.0f} punches/s", "500-punch gzip batches"),
        (
            "  POST to CRM delivery p50 / p95",
            f"{stack['delivery_p50_s']:.2f} / {stack['delivery_p95_s']:.2f} s",
            "30 punches",
        ),
    ]
    rows += [("Edge poller", "", "")] + [(f"  {label}", value, "") for label, value in edge]
    rows += [
        ("Cost model (us-east-1, prices of " + PRICES_AS_OF + ")", "", ""),
        ("  per million punches, single POSTs", f"${cost['per_million_single']:.2f}", ""),
        ("  per million punches, 500-punch batches", f"${cost['per_million_batched']:.2f}", ""),
        (
            "  at rest, a year of a 200-employee company",
            f"${cost['at_rest_month']:.4f}/month",
            "storage + PITR",
        ),
        (
            f"  200-employee company ({cost['company_punches']:,} punches/month)",
            f"${cost['company_month']:.2f}/month",
            "",
        ),
    ]
    rows += feed_rows(feed)
    width = max(len(row[0]) for row in rows) + 2
    table = "\n".join(f"{label:{width}}{value:>22}  {note}".rstrip() for label, value, note in rows)
    print(table)
    _write_doc(table, calls)


def _calls(calls: dict[str, int]) -> str:
    return ", ".join(f"{name.split('.', 1)[1]} {count}" for name, count in sorted(calls.items()))


def _write_doc(table: str, calls: dict[str, Any]) -> None:
    text = DOC.read_text() if DOC.exists() else ""
    start, end = "<!-- figures:start -->", "<!-- figures:end -->"
    figures = (
        f"{start}\nMeasured by `make bench` on {datetime.now(UTC):%Y-%m-%d} ({platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}):\n\n```\n{table}\n```\n{end}"
    )
    if start in text:
        text = text[: text.index(start)] + figures + text[text.index(end) + len(end) :]
    else:
        text += "\n" + figures + "\n"
    DOC.write_text(text)
    print(f"\nwrote the figures into {DOC.relative_to(ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
