"""`make soak`: chaos through the local stack, then an account of every punch.

Several sources at once (API batches, ADMS pushes, edge pollers reading device simulators), a fifth of
the punches duplicates (exact re-sends and near-duplicate taps), a CRM failing a third of the time with
5xx and timeouts and then recovering, ingest dying between the table write and the queue send now and
then, ingest dying between a punch's claim in its dedup record and the punch's own write now and then,
and an edge poller killed mid-push and restarted. At the end every punch stored is either
delivered to the CRM exactly once (by Idempotency-Key) or sits in the DLQ marked failed, and every punch
sent is stored or was a near duplicate of a stored one.
"""

import argparse
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from attendance.domain.punch import PunchType, punch_log_id
from bench.stack_process import Stack, start_stack
from edge_poller.simulator import DeviceState, ZkSimulator
from local_stack.provision import STACK_PREFIX
from local_stack.stack import local_client

ROOT = Path(__file__).resolve().parent.parent
ZONE = "Europe/Berlin"
TYPES = list(PunchType)
WINDOW = 60


@dataclass
class Sent:
    """Every distinct punch a source sent, by its identity, and how many sends there were."""

    punches: dict[str, tuple[str, str, datetime]] = field(
        default_factory=dict
    )  # logId -> (device, user, instant)
    sends: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def resend(self, count: int) -> None:
        """Punches sent again exactly as before (their identities are known already)."""
        with self.lock:
            self.sends += count

    def add(self, device: str, user: str, local: datetime, kind: PunchType) -> None:
        instant = local.replace(tzinfo=ZoneInfo(ZONE))
        with self.lock:
            self.sends += 1
            self.punches[punch_log_id(device, user, instant, kind)] = (device, user, instant)


CHAOS = {
    "LOCAL_PARAMETERS": "PendingRequeueMinutes=1,LogLevel=WARNING",
    "LOCAL_SCHEDULE_SECONDS": "15",
    "LOCAL_CHAOS_CRASH_BEFORE_QUEUE": "0.1",
    "LOCAL_CHAOS_CRASH_BEFORE_STORE": "0.05",
}
# What the stack's log says the chaos did (local_stack/chaos.py; the ingest's warning)
CHAOS_EVENTS = {
    "ingest deaths between the table write and the queue send": "dies between the table write and the queue send",
    "ingest deaths between a punch's claim and its store": "dies between a punch's claim and its store",
    "abandoned claims withdrawn": "abandoned dedup claim withdrawn",
}


def day_of_punches(
    rng: random.Random, users: list[str], day: datetime, count: int
) -> list[tuple[str, datetime, PunchType]]:
    """`count` punches of these users on `day`, at least two windows apart per user."""
    punches = []
    for n in range(count):
        user = users[n % len(users)]
        slot = n // len(users)
        punches.append(
            (user, day + timedelta(minutes=6 + slot * 7, seconds=rng.randint(0, 50)), TYPES[slot % 6])
        )
    return punches


def api_source(stack: Stack, sent: Sent, count: int, rng: random.Random, day: datetime) -> Counter:
    """Batches of 50 from a webhook; a fifth of the items are exact re-sends or near-duplicate taps."""
    client = httpx.Client(timeout=60, headers={"Authorization": "Bearer local-dev-key"})
    outcomes: Counter = Counter()
    items: list[dict[str, str]] = []
    for user, at, kind in day_of_punches(rng, [f"API{n}" for n in range(25)], day, count):
        items.append(_item("WEBHOOK", user, at, kind))
        sent.add("WEBHOOK", user, at, kind)
        if rng.random() < 0.2:
            duplicate = (
                _item("WEBHOOK", user, at, kind)
                if rng.random() < 0.5
                else _item("WEBHOOK-2", user, at + timedelta(seconds=rng.randint(1, 40)), kind)
            )
            items.append(duplicate)
            sent.add(
                duplicate["deviceId"],
                user,
                datetime.fromisoformat(duplicate["timestamp"]).replace(tzinfo=None),
                kind,
            )
    for start in range(0, len(items), 50):
        outcomes.update(_post_batch(client, stack.api, items[start : start + 50]))
    return outcomes


def _item(device: str, user: str, at: datetime, kind: PunchType) -> dict[str, str]:
    """With the offset: a webhook's devices are not registered, so a naive time would be read in UTC."""
    return {
        "deviceId": device,
        "userId": user,
        "timestamp": at.replace(tzinfo=ZoneInfo(ZONE)).isoformat(timespec="seconds"),
        "type": kind.value,
    }


def _post_batch(client: httpx.Client, api: str, batch: list[dict[str, str]]) -> Counter:
    results = post_until_final(lambda items: client.post(api + "/punches", json={"punches": items}), batch)
    return Counter(result["status"] for result in results)


def post_until_final(
    send: Callable[[list[dict[str, str]]], httpx.Response],
    batch: list[dict[str, str]],
    answered: Callable[[httpx.Response], bool] = lambda reply: reply.status_code == 200,
) -> list[dict[str, Any]]:
    """Like a client: a batch `send` posts is sent again until `answered` (a 5xx: the function died, or
    storage is overloaded), and the items answered `retry` again after `retryAfter`, until every item has
    a final result (in order)."""
    final: dict[int, dict[str, Any]] = {}
    waiting = list(range(len(batch)))
    while waiting:
        items = [batch[index] for index in waiting]
        reply = _until(lambda items=items: send(items), answered)
        body = reply.json()
        for result in body["results"]:
            if result["status"] != "retry":
                final[waiting[result["index"]]] = result
        waiting = [index for index in waiting if index not in final]
        if waiting:
            time.sleep(body.get("retryAfter", 1))
    return [final[index] for index in range(len(batch))]


def _until(send: Any, acknowledged: Any, patience: float = 600) -> Any:
    """Send again, backing off from 1 s to 15 s, until acknowledged (a client that never gives up)."""
    delay, give_up = 1.0, time.monotonic() + patience
    while True:
        try:
            reply = send()
            if acknowledged(reply):
                return reply
        except httpx.HTTPError:
            pass
        if time.monotonic() > give_up:
            raise RuntimeError("never acknowledged")
        time.sleep(delay)
        delay = min(15.0, delay * 2)


def adms_source(stack: Stack, sent: Sent, count: int, rng: random.Random, day: datetime) -> Counter:
    """A ZKTeco clock pushing ATTLOG in small uploads, re-sending a fifth of them (as when our OK is lost)."""
    serial = "SOAK-ADMS"
    dynamodb = local_client("dynamodb", stack.aws)
    dynamodb.put_item(
        TableName=f"{STACK_PREFIX}-DevicesTable",
        Item={
            "deviceId": {"S": serial},
            "kind": {"S": "zkteco"},
            "serial": {"S": serial},
            "timeZone": {"S": ZONE},
            "enabled": {"BOOL": True},
            "defaultType": {"S": "in"},
        },
    )
    client = httpx.Client(timeout=60)
    outcomes: Counter = Counter()
    punches = day_of_punches(rng, [f"ADMS{n}" for n in range(20)], day, count)
    for start in range(0, len(punches), 20):
        lines = []
        for user, at, kind in punches[start : start + 20]:
            lines.append(f"{user}\t{at:%Y-%m-%d %H:%M:%S}\t{TYPES.index(kind)}\t1\t\t0\t0")
            sent.add(serial, user, at, kind)
        body = "\r\n".join(lines) + "\r\n"
        for attempt in range(2 if rng.random() < 0.2 else 1):
            # Not OK: the device keeps the records and sends them again later.
            if attempt:
                sent.resend(len(lines))
            _until(
                lambda body=body: client.post(
                    stack.api + "/iclock/cdata",
                    params={"SN": serial, "table": "ATTLOG"},
                    content=body,
                    headers={"Content-Type": "text/plain"},
                ),
                lambda reply: reply.text.startswith("OK"),
            )
            outcomes["acknowledged"] += len(lines)
    return outcomes


@dataclass
class EdgePoller:
    simulator: ZkSimulator
    process: subprocess.Popen
    state: Path
    records: int

    def delivered(self) -> int:
        return self._outbox_count("WHERE state = 'delivered'")

    def read(self) -> int:
        """Records read from its clock into its outbox."""
        return self._outbox_count()

    def _outbox_count(self, where: str = "") -> int:
        """Read beside the running poller, as SQLite allows."""
        outbox = self.state / "outbox.sqlite3"
        if not outbox.exists():
            return 0
        with closing(sqlite3.connect(f"file:{outbox}?mode=ro", uri=True, timeout=30)) as db:
            return db.execute(f"SELECT COUNT(*) FROM outbox {where}").fetchone()[0]  # noqa: S608 - ours

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)
        self.simulator.stop()


def edge_source(stack: Stack, sent: Sent, count: int, day: datetime, kill: bool) -> EdgePoller:
    """An edge poller reading a simulated clock; optionally killed mid-push (kill -9) and restarted."""
    serial = f"SOAK-EDGE-{'K' if kill else 'N'}"
    device = DeviceState(serial=serial, time_zone=ZONE)
    rng = random.Random(serial)
    for user, at, kind in day_of_punches(rng, [f"{serial}-{n}" for n in range(20)], day, count):
        taps = [at, at + timedelta(seconds=rng.randint(1, 40))] if rng.random() < 0.2 else [at]
        for tap in taps:  # a fifth tapped twice within seconds: the clock keeps both records
            device.punch(user, punch=TYPES.index(kind), at=tap)
            sent.add(serial, user, tap, kind)
    simulator = ZkSimulator(device, port=0).start()
    state = Path(tempfile.mkdtemp(prefix="soak-edge-"))
    config = state / "edge-poller.toml"
    config.write_text(
        f'cloud_url = "{stack.api}"\napi_key = "local-dev-key"\ninterval_seconds = 2\n'
        f'push_batch_size = 25\nstate_dir = "{state}"\n[[devices]]\nname = "clock"\n'
        f'host = "127.0.0.1"\nport = {simulator.port}\ntime_zone = "{ZONE}"\n'
    )
    command = [sys.executable, "-m", "edge_poller", "--config", str(config), "run"]
    poller = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if kill:
        outbox = state / "edge-poller.log"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and "records" not in (
            outbox.read_text() if outbox.exists() else ""
        ):
            time.sleep(0.2)
        time.sleep(1.5)  # into the pushing
        poller.send_signal(signal.SIGKILL)
        poller.wait()
        poller = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return EdgePoller(simulator, poller, state, len(device.records))


def wait_for_pollers(pollers: list[EdgePoller], limit: float) -> None:
    """Until every poller has pushed every record of its clock: only then is all sent."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline and any(p.delivered() < p.records for p in pollers):
        time.sleep(1)


def settle(stack: Stack, limit: float) -> dict[str, int]:
    """Wait until nothing is pending and every failed punch has reached the DLQ."""
    dynamodb, sqs = local_client("dynamodb", stack.aws), local_client("sqs", stack.aws)
    dlq = sqs.get_queue_url(QueueName=f"{STACK_PREFIX}-PunchDeadLetterQueue")["QueueUrl"]
    deadline = time.monotonic() + limit
    while True:
        statuses = Counter(item["syncStatus"]["S"] for item in scan_punches(dynamodb, "syncStatus"))
        in_dlq = int(
            sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["ApproximateNumberOfMessages"])[
                "Attributes"
            ]["ApproximateNumberOfMessages"]
        )
        print(
            f"  pending {statuses['pending']:5}  synced {statuses['synced']:5}  failed {statuses['failed']:4}"
            f"  in DLQ {in_dlq:4}",
            file=sys.stderr,
            flush=True,
        )
        if (statuses["pending"] == 0 and in_dlq >= statuses["failed"]) or time.monotonic() > deadline:
            return dict(statuses) | {"dlq": in_dlq}
        time.sleep(10)


def scan_punches(dynamodb: Any, attributes: str | None = None) -> list[dict[str, Any]]:
    projection = {"ProjectionExpression": attributes} if attributes else {}
    pages = dynamodb.get_paginator("scan").paginate(TableName=f"{STACK_PREFIX}-PunchesTable", **projection)
    return [item for page in pages for item in page["Items"]]


def dead_letter_log_ids(stack: Stack) -> set[str]:
    """The punches whose messages wait in the dead-letter queue (each once, however many messages)."""
    sqs = local_client("sqs", stack.aws)
    dlq_url = sqs.get_queue_url(QueueName=f"{STACK_PREFIX}-PunchDeadLetterQueue")["QueueUrl"]
    dead: set[str] = set()
    while messages := sqs.receive_message(
        QueueUrl=dlq_url, MaxNumberOfMessages=10, VisibilityTimeout=300
    ).get("Messages", []):
        dead.update(json.loads(m["Body"])["logId"] for m in messages)
    return dead


def account(stack: Stack, sent: Sent) -> dict[str, int]:
    stored = {item["logId"]["S"]: item for item in scan_punches(local_client("dynamodb", stack.aws))}
    crm = httpx.get(stack.crm + "/crm/attendance", timeout=30).json()
    held = {p["logId"]: p for p in crm["punches"]}
    dead = dead_letter_log_ids(stack)
    delivered = {log_id for log_id in stored if log_id in held}
    dead_lettered = {
        log_id for log_id, item in stored.items() if log_id in dead and item["syncStatus"]["S"] == "failed"
    }
    unaccounted_stored = set(stored) - delivered - dead_lettered
    by_user: dict[str, list[datetime]] = {}
    for item in stored.values():
        by_user.setdefault(item["userId"]["S"], []).append(datetime.fromisoformat(item["punchTime"]["S"]))
    lost_sent = [
        log_id
        for log_id, (_, user, instant) in sent.punches.items()
        if log_id not in stored
        and not any(abs((instant - other).total_seconds()) < WINDOW for other in by_user.get(user, []))
    ]
    if lost_sent and os.environ.get("SOAK_DEBUG"):
        print(
            "lost sample:",
            [sent.punches[i] for i in lost_sent[:3]],
            list(stored.values())[:2],
            file=sys.stderr,
        )
    identities = Counter(
        (p["body"].get("deviceId"), p["body"].get("userId"), p["body"].get("timestamp"))
        for p in crm["punches"]
    )
    return {
        "sent": sent.sends,
        "unique": len(stored),
        "delivered": len(delivered),
        "dead-lettered": len(dead_lettered),
        "dead-lettered, though the CRM has it (its reply was lost)": len(dead_lettered & delivered),
        "lost": len(unaccounted_stored) + len(lost_sent),
        "delivered twice": sum(1 for n in identities.values() if n > 1),
        "CRM calls repeated (absorbed by Idempotency-Key)": sum(p["deliveries"] - 1 for p in crm["punches"]),
    }


def chaos_events(stack: Stack) -> dict[str, int]:
    log = Path(stack.log.name).read_text()
    return {label: log.count(line) for label, line in CHAOS_EVENTS.items()}


def run(scale: int, seed: int = 7, chaos: dict[str, str] = CHAOS) -> dict[str, int]:
    rng = random.Random(seed)
    day = datetime.now(ZoneInfo(ZONE)).replace(
        tzinfo=None, hour=0, minute=0, second=0, microsecond=0
    ) - timedelta(days=1)
    stack = start_stack(chaos)
    started = time.monotonic()
    sent = Sent()
    pollers: list[EdgePoller] = []
    try:
        httpx.post(
            stack.crm + "/crm/_behaviour",
            json={"failRate": 0.33, "status": 503, "slowRate": 0.05, "delayMs": 7000},
            timeout=10,
        )
        print(
            f"chaos phase: {scale * 3} punches (and their duplicates) from four sources, the CRM failing a third"
            " of the time",
            file=sys.stderr,
        )
        threads = [
            threading.Thread(target=api_source, args=(stack, sent, scale, rng, day)),
            threading.Thread(target=adms_source, args=(stack, sent, scale, random.Random(seed + 1), day)),
        ]
        for thread in threads:
            thread.start()
        for kill in (False, True):
            pollers.append(edge_source(stack, sent, scale // 2, day, kill))
        for thread in threads:
            thread.join()
        wait_for_pollers(pollers, limit=300 + scale)
        time.sleep(20)
        httpx.post(
            stack.crm + "/crm/_behaviour", json={"failRate": 0, "slowRate": 0, "delayMs": 0}, timeout=10
        )
        print("the CRM recovers; waiting for every punch to settle", file=sys.stderr)
        settle(stack, limit=300 + scale)
        return (
            account(stack, sent)
            | {
                "left unread on a clock": sum(p.records - p.read() for p in pollers),
                "left unsent in an edge poller's outbox": sum(p.read() - p.delivered() for p in pollers),
            }
            | chaos_events(stack)
            | {"seconds from the first send to all settled": round(time.monotonic() - started)}
        )
    finally:
        for poller in pollers:
            poller.stop()
        stack.stop()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--scale",
        type=int,
        default=1000,
        help="punches from the API and from ADMS; half as many from each of two edge pollers",
    )
    figures = run(parser.parse_args().scale)
    width = max(map(len, figures))
    for label, value in figures.items():
        print(f"{label:{width}}  {value:>7}")
    settled = figures["left unread on a clock"] == figures["left unsent in an edge poller's outbox"] == 0
    return 0 if settled and figures["lost"] == 0 and figures["delivered twice"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
