"""How fast the local stack carries punches: end to end from `POST /punches` batches to the mock CRM, each
batch's time while the worker drains, and a batch's time as the tables grow.

    python -m bench.local_stack_speed [--punches 2000] [--sizes 1000,10000,100000]

The tables are grown with copies of a delivered punch the stack stored itself (new logId and user, the rest
as stored, indexes included), written with BatchWriteItem: 100,000 punches through the API would take the
benchmark longer than the figure is worth.
"""

import argparse
import gzip
import json
import os
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from itertools import batched, count
from typing import Any

import httpx

from bench.process_cpu import cpu_seconds
from bench.soak import post_until_final
from bench.stack_process import Stack, start_stack
from local_stack.provision import STACK_PREFIX
from local_stack.stack import local_client

BATCH = 500
_users = count()


def post_until_stored(client: httpx.Client, api: str, punches: list[dict[str, str]]) -> float:
    """One gzip batch, and its `retry` items again until every punch has a final answer; the first answer's
    time. Any status but 200 stops the benchmark: a figure must not hide a failure."""
    started = time.perf_counter()
    answer_times: list[float] = []

    def send(items: list[dict[str, str]]) -> httpx.Response:
        return client.post(
            api + "/punches",
            content=gzip.compress(json.dumps({"punches": items}).encode()),
            headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
        )

    def answered(reply: httpx.Response) -> bool:
        answer_times.append(time.perf_counter() - started)
        if reply.status_code != httpx.codes.OK:
            raise RuntimeError(f"ingest answered HTTP {reply.status_code}: {reply.text[:200]}")
        return True

    post_until_final(send, punches, answered)
    return answer_times[0]


def fresh_punches(size: int) -> list[dict[str, str]]:
    at = (datetime.now() - timedelta(hours=1)).isoformat(timespec="seconds")
    return [
        {"deviceId": "SPEED", "userId": f"S{next(_users)}", "timestamp": at, "type": "in"}
        for _ in range(size)
    ]


def crm_count(client: httpx.Client, crm: str) -> int:
    return int(client.get(crm + "/crm/attendance/count").json()["count"])


def wait_for_crm(client: httpx.Client, crm: str, expected: int, limit: float = 900) -> float:
    """Seconds until the mock CRM holds `expected` punches (or the limit passes)."""
    started = time.monotonic()
    while crm_count(client, crm) < expected and time.monotonic() - started < limit:
        time.sleep(0.2)
    return time.monotonic() - started


def end_to_end(stack: Stack, client: httpx.Client, total: int, senders: int = 2) -> dict[str, float]:
    """`total` new punches in 500-punch batches from `senders` at once, the worker draining meanwhile; then
    one more batch alone, sent while the worker still drains the others."""
    before = crm_count(client, stack.crm)
    batches = [fresh_punches(BATCH) for _ in range(total // BATCH)]
    cpu_before = cpu_seconds(stack.process.pid)
    started = time.monotonic()
    with ThreadPoolExecutor(senders) as pool:
        times = list(pool.map(lambda batch: post_until_stored(client, stack.api, batch), batches))
    backlog = before + total - crm_count(client, stack.crm)
    lone = post_until_stored(client, stack.api, fresh_punches(BATCH))
    wait_for_crm(client, stack.crm, before + total + BATCH)
    elapsed = time.monotonic() - started
    cpu = cpu_seconds(stack.process.pid)
    cpu.subtract(cpu_before)
    return {
        "cpu_ms_per_punch": {part: seconds * 1000 / (total + BATCH) for part, seconds in cpu.most_common()},
        "punches_per_second": (total + BATCH) / elapsed,
        "seconds": elapsed,
        "batch_median": statistics.median(times),
        "lone_batch": lone,
        "backlog": backlog,
    }


def grow_to(stack: Stack, stored: int) -> None:
    """Copies of a delivered punch until the punches table holds `stored` items."""
    dynamodb = local_client("dynamodb", stack.aws)
    table = f"{STACK_PREFIX}-PunchesTable"
    have = dynamodb.describe_table(TableName=table)["Table"]["ItemCount"]
    model = _a_delivered_punch(dynamodb, table)
    copies = (_copy(model, n) for n in range(have, stored))
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda chunk: _write(dynamodb, table, chunk), batched(copies, 25)))


def _a_delivered_punch(dynamodb: Any, table: str) -> dict[str, Any]:
    for page in dynamodb.get_paginator("scan").paginate(TableName=table):
        for item in page["Items"]:
            if item["syncStatus"]["S"] == "synced":
                return item
    raise RuntimeError("no delivered punch to copy")


def _copy(model: dict[str, Any], n: int) -> dict[str, Any]:
    return model | {"logId": {"S": f"grown{n:08d}"}, "userId": {"S": f"G{n % 5000}"}}


def _write(dynamodb: Any, table: str, chunk: tuple[dict[str, Any], ...]) -> None:
    requests = [{"PutRequest": {"Item": item}} for item in chunk]
    while requests:
        reply = dynamodb.batch_write_item(RequestItems={table: requests})
        requests = reply.get("UnprocessedItems", {}).get(table, [])


def batch_time_as_tables_grow(stack: Stack, client: httpx.Client, sizes: tuple[int, ...]) -> dict[int, float]:
    """A 500-punch batch's time (median of three, each delivered before the next) at each table size; the
    first batch, delivered, gives the punch the tables are grown with."""
    post_until_stored(client, stack.api, fresh_punches(BATCH))
    wait_for_crm(client, stack.crm, BATCH)
    figures = {}
    for size in sizes:
        grow_to(stack, size)
        times = []
        for _ in range(3):
            before = crm_count(client, stack.crm)
            times.append(post_until_stored(client, stack.api, fresh_punches(BATCH)))
            wait_for_crm(client, stack.crm, before + BATCH)
        figures[size] = statistics.median(times)
    return figures


def measure(total: int = 4000, sizes: tuple[int, ...] = (1_000, 10_000, 100_000)) -> dict[str, Any]:
    """Each part on a fresh stack: the flow on empty tables, then the growth from empty."""
    client = httpx.Client(timeout=120, headers={"Authorization": "Bearer local-dev-key"})
    stack = start_stack()
    try:
        flow = end_to_end(stack, client, total)
    finally:
        stack.stop()
    stack = start_stack()
    try:
        growth = batch_time_as_tables_grow(stack, client, sizes)
    finally:
        stack.stop()
    return {"total": total, "flow": flow, "growth": growth}


def rows(figures: dict[str, Any]) -> list[tuple[str, str, str]]:
    flow, growth = figures["flow"], figures["growth"]
    lines = [
        ("Local stack speed (make run)", "", ""),
        (
            "  end to end, POST to the mock CRM",
            f"{flow['punches_per_second']:.0f} punches/s",
            f"{figures['total'] + BATCH} punches in 500-punch batches: {flow['seconds']:.1f} s",
        ),
        (
            "  500-punch batch, two sent at once",
            f"{flow['batch_median']:.2f} s",
            "median, the worker draining",
        ),
        (
            "  500-punch batch while the worker drains",
            f"{flow['lone_batch']:.2f} s",
            f"sent alone, {flow['backlog']:.0f} punches still on their way to the CRM",
        ),
    ]
    lines += cpu_rows(flow["cpu_ms_per_punch"])
    smallest = min(growth)
    for size, seconds in growth.items():
        ratio = f"{seconds / growth[smallest]:.2f}x the time at {smallest:,}" if size != smallest else ""
        lines.append((f"  500-punch batch, {size:,} stored", f"{seconds:.2f} s", ratio))
    return lines


def cpu_rows(ms_per_punch: dict[str, float]) -> list[tuple[str, str, str]]:
    """Where a punch's CPU went end to end, and the rate that CPU allows on this machine's cores."""
    total = sum(ms_per_punch.values())
    cores = os.cpu_count() or 1
    lines = [
        (
            "  CPU per punch, end to end",
            f"{total:.1f} ms",
            f"so at most {cores * 1000 / total:.0f} punches/s on {cores} cores, whatever the waits",
        )
    ]
    lines += [(f"    {part}", f"{ms:.2f} ms", "") for part, ms in ms_per_punch.items() if ms >= 0.05]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--punches", type=int, default=4000, help="for the end-to-end figure (multiple of 500)"
    )
    parser.add_argument("--sizes", default="1000,10000,100000", help="table sizes for the growth figures")
    args = parser.parse_args()
    figures = measure(args.punches, tuple(int(size) for size in args.sizes.split(",")))
    for label, value, note in rows(figures):
        print(f"{label:44}{value:>18}  {note}".rstrip())


if __name__ == "__main__":
    main()
