"""`make bench`: cold starts, AWS requests per punch, latency through the local stack, the edge poller,
and the cost model. Prints a table and rewrites docs/PERFORMANCE.md with the figures of this run.

Figures are measurements on this machine and on moto, not on AWS: they compare, they do not promise.
"""

import gzip
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import httpx
from moto import mock_aws

from bench.edge_poller_bench import measure as measure_edge
from local_stack.events import LambdaContext, http_api_event
from local_stack.moto_patches import apply_moto_patches
from local_stack.provision import provision
from local_stack.template import TEMPLATE_PATH, function_environment, load_template, resources_of_type

ROOT = TEMPLATE_PATH.parent
DOC = ROOT / "docs" / "PERFORMANCE.md"
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
}


def cold_starts() -> list[tuple[str, float]]:
    """Import-and-init of each handler module in a fresh interpreter, as Lambda loads it (median of runs)."""
    template = load_template()
    layer = ROOT / "layer"
    script = (
        "import sys, time; sys.path[:0] = sys.argv[1:3]; t = time.perf_counter(); "
        "__import__(sys.argv[3]); print(time.perf_counter() - t)"
    )
    rows = [
        (
            "import boto3 (baseline)",
            _median_run(
                ["-c", "import time; t = time.perf_counter(); import boto3; print(time.perf_counter() - t)"]
            ),
        )
    ]
    for logical_id, resource in sorted(resources_of_type(template, "AWS::Serverless::Function").items()):
        properties = resource["Properties"]
        module = properties["Handler"].rsplit(".", 1)[0]
        code = ROOT / properties["CodeUri"]
        rows.append((logical_id, _median_run(["-c", script, str(code), str(layer), module])))
    return rows


def _median_run(arguments: list[str]) -> float:
    environment = os.environ | {"POWERTOOLS_TRACE_DISABLED": "true", "AWS_DEFAULT_REGION": "us-east-1"}
    times = [
        float(
            subprocess.run(
                [sys.executable, "-I", *arguments],
                capture_output=True,
                text=True,
                check=True,
                cwd="/",
                env=environment,
            ).stdout
        )
        for _ in range(COLD_RUNS)
    ]
    return statistics.median(times)


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
        2 * 4 + 3
    )  # a transaction of 2 puts and 2 condition checks (2 units each), 3 GSI copies
    worker_units = (
        1,
        1 + 2 + 2,
    )  # read the punch; update it: the item, the status index (moves), two indexes
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
    cold = cold_starts()
    print("counting AWS requests...", file=sys.stderr)
    calls = requests_per_punch()
    print("driving the local stack...", file=sys.stderr)
    stack = through_local_stack()
    print("edge poller, 50,000 records...", file=sys.stderr)
    edge = measure_edge(50_000)
    cost = cost_model(calls)
    baseline = cold[0][1]
    rows = [("Cold start (import + init, median of 5, fresh interpreter)", "", "")]
    rows += [
        (
            f"  {name}",
            f"{seconds * 1000:.0f} ms",
            "" if name.startswith("import") else f"{seconds / baseline:.1f}x boto3",
        )
        for name, seconds in cold
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
