"""`make soak-rush`: a morning rush through the local stack against a CRM that allows 20 requests a second.

Distinct punches (every one a different employee clocking in) are posted at once, in 500-punch batches
from several senders in parallel, to a local stack whose worker runs the template's pacing
(`CrmMaxRatePerSecond` at the CRM's limit, over `WorkerMaxConcurrency` workers). The mock CRM refuses any
request beyond its limit with 429 and Retry-After, and notes the arrival time of every request, refused
ones too. Then an account: every punch delivered once, none lost or dead-lettered, the requests that
reached the CRM (refused ones included) in its busiest second and in any one-second window, and the time
from the first send to the last delivery. It passes when nothing is lost, delivered twice or
dead-lettered and no second of the CRM's held more than 10 % over its limit.
"""

import argparse
import random
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from bench.soak import ZONE, dead_letter_log_ids, post_until_final, scan_punches, settle
from bench.stack_process import Stack, start_stack
from local_stack.stack import local_client

BATCH = 500
INGEST_ENVIRONMENTS = 1
OVER_LIMIT_TOLERANCE = 0.10  # the CRM may see at most 10 % more than its limit in any second


def punches(count: int, devices: int = 400, seed: int = 7) -> list[dict[str, str]]:
    """`count` employees clocking in, each once, within yesterday's 20-minute rush, on `devices` clocks."""
    draw = random.Random(seed)
    start = datetime.now(ZoneInfo(ZONE)).replace(hour=7, minute=50, second=0, microsecond=0) - timedelta(
        days=1
    )
    return [
        {
            "deviceId": f"RUSH{employee % devices:03d}",
            "userId": f"R{employee:06d}",
            "timestamp": (start + timedelta(seconds=draw.randrange(20 * 60))).isoformat(timespec="seconds"),
            "type": "in",
        }
        for employee in range(count)
    ]


def send(stack: Stack, rush: list[dict[str, str]], senders: int, batch_size: int) -> tuple[set[str], int]:
    """Every batch at once, `senders` at a time: the logIds the API answered with, and how many requests
    it failed (a 5xx is sent again, as a client does; a punch stored before it comes back a duplicate)."""
    batches = [rush[start : start + batch_size] for start in range(0, len(rush), batch_size)]
    client = httpx.Client(timeout=120, headers={"Authorization": "Bearer local-dev-key"})
    log_ids: set[str] = set()
    failed: list[int] = []

    def answered(reply: httpx.Response) -> bool:
        if reply.status_code != 200:
            failed.append(reply.status_code)
        return reply.status_code == 200

    def post(batch: list[dict[str, str]]) -> None:
        results = post_until_final(
            lambda items: client.post(stack.api + "/punches", json={"punches": items}), batch, answered
        )
        log_ids.update(result["logId"] for result in results if result["status"] != "rejected")

    with ThreadPoolExecutor(max_workers=senders) as pool:
        list(pool.map(post, batches))
    return log_ids, len(failed)


def wait_for_crm(stack: Stack, count: int, limit: float) -> None:
    """Until the CRM holds `count` punches (or `limit` seconds have passed)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        held = httpx.get(stack.crm + "/crm/attendance", timeout=60).json()["count"]
        print(f"  the CRM holds {held:6} of {count}", file=sys.stderr, flush=True)
        if held >= count:
            return
        time.sleep(5)


def peak_per_second(times: list[float]) -> int:
    """The most arrivals in any one-second window (sliding: stricter than calendar seconds)."""
    ordered, peak, first = sorted(times), 0, 0
    for last, at in enumerate(ordered):
        while ordered[first] <= at - 1:
            first += 1
        peak = max(peak, last - first + 1)
    return peak


def account(
    stack: Stack, count: int, limit: int, sent: set[str], failed: int, started: float, sending_took: float
) -> dict[str, Any]:
    """`sent`: the logIds the API gave the `count` punches posted (a punch it refused has none: lost)."""
    stored = {
        item["logId"]["S"]: item
        for item in scan_punches(local_client("dynamodb", stack.aws), "logId, syncStatus")
    }
    crm = httpx.get(stack.crm + "/crm/attendance", timeout=60).json()
    held = {punch["logId"]: punch for punch in crm["punches"]}
    dead = dead_letter_log_ids(stack)
    arrivals = [at for times in crm["attemptTimes"].values() for at in times]
    per_second = Counter(int(at) for at in arrivals)
    identities = Counter(
        (p["body"].get("deviceId"), p["body"].get("userId"), p["body"].get("timestamp"))
        for p in crm["punches"]
    )
    statuses = Counter(item["syncStatus"]["S"] for item in stored.values())
    last_delivery = max((punch["receivedAt"] for punch in held.values()), default=started)
    return {
        "sent": count,
        "stored": len(stored),
        "delivered": len(sent & set(held)),
        "lost": count - len(sent & (set(held) | dead)),
        "delivered twice": sum(p["deliveries"] > 1 for p in held.values())
        + sum(n > 1 for n in identities.values()),
        # A punch is dead-lettered once, though both its stored status and a DLQ message may say so.
        "dead-lettered": len(
            dead | {log_id for log_id, item in stored.items() if item["syncStatus"]["S"] == "failed"}
        ),
        "still pending": statuses["pending"],
        "CRM requests": crm["requests"],
        "CRM 429 answers": crm["rateLimited"],
        "CRM requests in its busiest second": max(per_second.values(), default=0),
        "CRM seconds over its limit": sum(n > limit for n in per_second.values()),
        "CRM seconds over it by more than 10 %": sum(
            n > limit * (1 + OVER_LIMIT_TOLERANCE) for n in per_second.values()
        ),
        "CRM requests in any 1 s window, most": peak_per_second(arrivals),
        "ingest requests failed and sent again": failed,
        "seconds to send": round(sending_took, 1),
        "seconds to drain (first send to last delivery)": round(last_delivery - started, 1),
    }


def run(
    count: int = 10_000, crm_limit: int = 20, workers: int = 4, senders: int = 4, batch_size: int = BATCH
) -> dict[str, Any]:
    parameters = f"CrmMaxRatePerSecond={crm_limit},WorkerMaxConcurrency={workers},LogLevel=WARNING"
    # One ingest environment: moto is one process, and 500-punch batches stored side by side beside the
    # deliveries take longer than the function's 10 s timeout here (the senders' requests queue instead).
    stack = start_stack({"LOCAL_PARAMETERS": parameters, "LOCAL_CONCURRENCY": str(INGEST_ENVIRONMENTS)})
    try:
        httpx.post(stack.crm + "/crm/_behaviour", json={"rateLimit": crm_limit}, timeout=10)
        rush = punches(count)
        print(
            f"rush: {count} punches in {batch_size}-punch batches from {senders} senders; the CRM allows "
            f"{crm_limit} requests a second, {workers} workers pace themselves to it",
            file=sys.stderr,
        )
        started = time.time()
        sent, failed = send(stack, rush, senders, batch_size)
        sending_took = time.time() - started
        # The floor is count / crm_limit seconds; twice that and a few minutes more is a hang, not a rush.
        wait_for_crm(stack, len(sent), limit=2 * count / crm_limit + 300)
        settle(stack, limit=120)
        figures = account(stack, count, crm_limit, sent, failed, started, sending_took)
        figures["limit"] = crm_limit
        return figures
    finally:
        stack.stop()


def passed(figures: dict[str, Any]) -> bool:
    return (
        figures["lost"] == 0
        and figures["delivered twice"] == 0
        and figures["dead-lettered"] == 0
        and figures["CRM requests in its busiest second"] <= figures["limit"] * (1 + OVER_LIMIT_TOLERANCE)
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--punches", type=int, default=10_000)
    parser.add_argument("--crm-limit", type=int, default=20, help="the mock CRM's requests a second")
    parser.add_argument("--workers", type=int, default=4, help="WorkerMaxConcurrency")
    parser.add_argument("--senders", type=int, default=4, help="batches posted at once")
    parser.add_argument("--batch", type=int, default=BATCH, help="punches a request")
    arguments = parser.parse_args()
    figures = run(
        arguments.punches, arguments.crm_limit, arguments.workers, arguments.senders, arguments.batch
    )
    width = max(map(len, figures))
    for label, value in figures.items():
        print(f"{label:{width}}  {value:>8}")
    floor = figures["sent"] / figures["limit"]
    print(f"{'(the floor: sent / limit)':{width}}  {floor:>8.1f}")
    return 0 if passed(figures) else 1


if __name__ == "__main__":
    sys.exit(main())
