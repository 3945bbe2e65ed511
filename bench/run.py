"""`make bench`: cold starts, AWS requests per punch, latency through the local stack, the edge poller,
and the cost model. Prints a table and rewrites docs/PERFORMANCE.md with the figures of this run.

Figures are measurements on this machine and on moto, not on AWS: they compare, they do not promise.
"""

import gzip
import json
import os
import platform
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta

import httpx

from bench import cold_start, cost_model, key_distribution, local_stack_speed, partial_batches
from bench.edge_poller_bench import measure as measure_edge
from bench.feed_bench import measure as measure_feed
from bench.feed_bench import rows as feed_rows
from bench.stack_process import start_stack
from local_stack.template import TEMPLATE_PATH

ROOT = TEMPLATE_PATH.parent
DOC = ROOT / "docs" / "PERFORMANCE.md"


def through_local_stack() -> dict[str, float]:
    """Latency and throughput over HTTP, and POST-to-CRM time, with `python -m local_stack` as a subprocess."""
    stack = start_stack()
    try:
        api, crm = stack.api, stack.crm
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
        stack.stop()


def main() -> None:
    print("measuring cold starts...", file=sys.stderr)
    cold = cold_start.measure()
    breakdown = cold_start.import_breakdown()
    print("the cost of a punch, from its requests...", file=sys.stderr)
    costs = cost_model.measure()
    print("a morning rush, key by key...", file=sys.stderr)
    rush = key_distribution.hottest_keys(employees=1_000)
    print("driving the local stack...", file=sys.stderr)
    stack = through_local_stack()
    print("the local stack's speed, as its tables grow to 100,000 punches...", file=sys.stderr)
    speed = local_stack_speed.measure()
    print("batches on a slow store...", file=sys.stderr)
    slow = partial_batches.measure((0, 50, 100))
    print("edge poller, 50,000 records...", file=sys.stderr)
    edge = measure_edge(50_000)
    print("the live feed through the local stack...", file=sys.stderr)
    feed = measure_feed()
    rows = cold_start.rows(cold, breakdown)
    rows += cost_model.request_rows(costs)
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
    rows += local_stack_speed.rows(speed)
    rows += partial_batches.rows(slow)
    rows += [("Edge poller", "", "")] + [(f"  {label}", value, "") for label, value in edge]
    rows += cost_model.report_rows(costs)
    rows += key_distribution.rows(*rush)
    rows += feed_rows(feed)
    width = max(len(row[0]) for row in rows) + 2
    table = "\n".join(f"{label:{width}}{value:>22}  {note}".rstrip() for label, value, note in rows)
    print(table)
    _write_doc(table)


def _write_doc(table: str) -> None:
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
