"""moto (patched, as the local stack serves it) and dynalite (npm), side by side: the DynamoDB requests a punch
makes, sent by the code that sends them, and what of the stack's needs each engine serves.

    python -m bench.dynamodb_engines [--punches 1000]

For each engine, in a process of its own, with the template's punches and dedup tables: every punch is
stored as ingest stores it (PunchIntake: its user-day read, its claim, the punch), then leased and marked
delivered as the worker does (PunchStore); the figures are the time and the engine process's CPU per
punch, one request after another. Then the engine is asked for what the stack also needs: a transaction,
a table stream, a time-to-live. dynalite is installed with npm into .cache/ when Node.js is there.
"""

import argparse
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from attendance.data.punch_intake import PunchIntake
from attendance.data.punches import PunchStore
from attendance.domain.punch import Punch, PunchSource, PunchType, SyncStatus, punch_log_id
from bench.process_cpu import process_seconds
from edge_poller.simulator import free_tcp_port
from local_stack.template import TEMPLATE_PATH, load_template

ROOT = TEMPLATE_PATH.parent
DYNALITE = "dynalite@4.0.0"
DYNALITE_HOME = ROOT / ".cache" / "dynalite"
TABLES = ("PunchesTable", "DedupTable")
_TABLE_KEYS = ("AttributeDefinitions", "KeySchema", "GlobalSecondaryIndexes")
WINDOW_SECONDS = 60  # the template's default dedup window


def engines() -> dict[str, list[str] | None]:
    """How to start each engine on a port (appended), or None when it cannot be installed here."""
    moto = [sys.executable, "-m", "bench.dynamodb_engines", "--serve-moto"]
    return {"moto (patched)": moto, "dynalite": _dynalite()}


def _dynalite() -> list[str] | None:
    binary = DYNALITE_HOME / "node_modules" / ".bin" / "dynalite"
    npm = shutil.which("npm")
    if not binary.exists() and npm:
        subprocess.run([npm, "install", "--silent", "--prefix", str(DYNALITE_HOME), DYNALITE], check=False)
    return [str(binary), "--port"] if binary.exists() else None


@contextmanager
def running(command: list[str]) -> Iterator[tuple[Any, int]]:
    """The engine on a free port, and a DynamoDB client for it; stopped afterwards."""
    port = free_tcp_port()
    process = subprocess.Popen(
        [*command, str(port)], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    client = boto3.client(
        "dynamodb",
        endpoint_url=f"http://127.0.0.1:{port}",
        region_name="us-east-1",
        aws_access_key_id="bench",
        aws_secret_access_key="bench",
        config=Config(retries={"max_attempts": 1}, connect_timeout=1),
    )
    try:
        _wait_until_up(client, process)
        yield client, process.pid
    finally:
        process.terminate()
        process.wait(timeout=30)


def _wait_until_up(client: Any, process: subprocess.Popen) -> None:
    for _ in range(100):
        if process.poll() is not None:
            raise RuntimeError(f"{process.args[0]} exited with {process.returncode}")
        try:
            client.list_tables()
            return
        except Exception:  # not listening yet
            time.sleep(0.2)
    raise RuntimeError(f"{process.args[0]} did not answer")


def create_tables(client: Any) -> None:
    """The template's punches and dedup tables: keys and indexes, on demand."""
    resources = load_template()["Resources"]
    for logical_id in TABLES:
        properties = resources[logical_id]["Properties"]
        definition = {key: properties[key] for key in _TABLE_KEYS if key in properties}
        client.create_table(TableName=logical_id, BillingMode="PAY_PER_REQUEST", **definition)
        _wait_until_active(client, logical_id)


def _wait_until_active(client: Any, table: str) -> None:
    """dynalite, like DynamoDB, creates a table in the background."""
    client.get_waiter("table_exists").wait(TableName=table, WaiterConfig={"Delay": 0.2, "MaxAttempts": 100})


def per_punch(client: Any, pid: int, punches: int) -> dict[str, tuple[float, float]]:
    """(ms of wall time, ms of the engine's CPU) per punch, for ingest's store and the worker's delivery."""
    intake = PunchIntake(client, "PunchesTable", "DedupTable")
    store = PunchStore(client, "PunchesTable")
    now = datetime.now(UTC)
    batch = [_punch(f"E{n}", now - timedelta(hours=1)) for n in range(punches)]

    def deliver(punch: Punch) -> None:
        if not store.claim_delivery(punch.log_id, "bench", now, 30).won:
            raise RuntimeError(f"the lease on {punch.log_id} was refused")
        store.record_delivery(punch.log_id, now, SyncStatus.SYNCED, "delivered")

    return {
        "ingest: read, claim, store": _timed(
            pid, batch, lambda punch: intake.add(punch, WINDOW_SECONDS, timedelta(days=1), now)
        ),
        "worker: lease, outcome": _timed(pid, batch, deliver),
    }


def _punch(user: str, instant: datetime) -> Punch:
    return Punch(
        log_id=punch_log_id("BENCH", user, instant, PunchType.IN),
        device_id="BENCH",
        user_id=user,
        instant=instant,
        local_time=instant.replace(tzinfo=None).isoformat(timespec="seconds"),
        time_zone="UTC",
        type=PunchType.IN,
        source=PunchSource.API,
        received_at=instant,
    )


def _timed(pid: int, punches: list[Punch], step: Callable[[Punch], Any]) -> tuple[float, float]:
    cpu, started = process_seconds(pid), time.perf_counter()
    for punch in punches:
        step(punch)
    return (
        (time.perf_counter() - started) / len(punches) * 1000,
        (process_seconds(pid) - cpu) / len(punches) * 1000,
    )


def what_it_serves(client: Any) -> dict[str, str]:
    """Asked of the engine: each feature the stack needs, "yes" or the engine's answer."""
    item = {"pk": {"S": "a"}}
    features: dict[str, Callable[[], Any]] = {
        "TransactWriteItems (a claim across two days)": lambda: client.transact_write_items(
            TransactItems=[{"Put": {"TableName": "Features", "Item": item}}]
        ),
        "table streams (the feed, the dashboard)": lambda: client.update_table(
            TableName="Features",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        ),
        "time to live (dedup records, feed connections)": lambda: client.update_time_to_live(
            TableName="Features", TimeToLiveSpecification={"Enabled": True, "AttributeName": "expiresAt"}
        ),
    }
    client.create_table(
        TableName="Features",
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
    )
    _wait_until_active(client, "Features")
    answers = {}
    for feature, ask in features.items():
        try:
            ask()
            answers[feature] = "yes"
        except ClientError as error:
            answers[feature] = f"no: {error.response['Error'].get('Code')}"
    return answers


def serve_moto(port: int) -> None:
    """moto as the local stack serves it: its patches, its keep-alive server."""
    from local_stack.moto_patches import apply_moto_patches
    from local_stack.moto_replies import KeepAliveMotoServer

    apply_moto_patches()
    KeepAliveMotoServer("127.0.0.1", port, verbose=False).start()
    while True:
        time.sleep(3600)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--punches", type=int, default=1000)
    parser.add_argument("--serve-moto", type=int, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.serve_moto:
        serve_moto(arguments.serve_moto)
        return
    for name, command in engines().items():
        if command is None:
            print(f"{name}: not installed (it needs Node.js and npm)")
            continue
        with running(command) as (client, pid):
            create_tables(client)
            figures = per_punch(client, pid, arguments.punches)
            served = what_it_serves(client)
        print(f"{name}, {arguments.punches} punches one after another")
        for step, (wall, cpu) in figures.items():
            print(f"  {step:40} {wall:6.2f} ms a punch, the engine's CPU {cpu:5.2f} ms")
        for feature, answer in served.items():
            print(f"  {feature:58} {answer}")


if __name__ == "__main__":
    main()
