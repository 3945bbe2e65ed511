"""At what batch size and time ingest starts answering partially on the local stack: for each added delay
per DynamoDB request (the chaos knob), batches of growing size, each timed and its `retry` items counted.

    python -m bench.partial_batches [--latencies 0,25,50,100]
"""

import argparse
import gzip
import json
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import count

import httpx

from bench.stack_process import start_stack
from local_stack.chaos import LATENCY_VARIABLE

SIZES = (100, 200, 300, 400, 500)
_users = count()


@dataclass(frozen=True)
class BatchFigure:
    size: int
    seconds: float
    stored: int
    retry: int


def batches_at(latency_ms: float) -> list[BatchFigure]:
    """A fresh stack with this delay; batches of SIZES until one comes back partial."""
    stack = start_stack({LATENCY_VARIABLE: str(latency_ms)})
    figures = []
    try:
        client = httpx.Client(timeout=60, headers={"Authorization": "Bearer local-dev-key"})
        for size in SIZES:
            figures.append(_post_batch(client, stack.api, size))
            if figures[-1].retry:
                break
    finally:
        stack.stop()
    return figures


def _post_batch(client: httpx.Client, api: str, size: int) -> BatchFigure:
    at = (datetime.now() - timedelta(hours=1)).isoformat(timespec="seconds")
    punches = [
        {"deviceId": "BENCH", "userId": f"P{next(_users)}", "timestamp": at, "type": "in"}
        for _ in range(size)
    ]
    started = time.perf_counter()
    reply = client.post(
        api + "/punches",
        content=gzip.compress(json.dumps({"punches": punches}).encode()),
        headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
    )
    seconds = time.perf_counter() - started
    reply.raise_for_status()  # a timeout or a 500 is exactly what this must never see
    body = reply.json()
    return BatchFigure(size, seconds, body["accepted"], body["retry"])


def rows(by_latency: dict[float, list[BatchFigure]]) -> list[tuple[str, str, str]]:
    lines = [("Batches on a slow store (local stack)", "", "")]
    for latency, figures in by_latency.items():
        last = figures[-1]
        label = f"  DynamoDB +{latency:.0f} ms a request"
        if last.retry:
            value = f"partial at {last.size}: {last.seconds:.1f} s"
            note = f"{last.stored} stored, {last.retry} to retry"
            if len(figures) > 1:
                note += f"; {figures[-2].size} whole in {figures[-2].seconds:.1f} s"
        else:
            value = f"{last.size} whole in {last.seconds:.1f} s"
            note = "never partial up to 500"
        lines.append((label, value, note))
    return lines


def measure(latencies: tuple[float, ...] = (0, 25, 50, 100)) -> dict[float, list[BatchFigure]]:
    return {latency: batches_at(latency) for latency in latencies}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latencies", default="0,25,50,100", help="ms added to each DynamoDB request")
    latencies = tuple(float(value) for value in parser.parse_args().latencies.split(","))
    for label, value, note in rows(measure(latencies)):
        print(f"{label:40}{value:>28}  {note}".rstrip())


if __name__ == "__main__":
    main()
