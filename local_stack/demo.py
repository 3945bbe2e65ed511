"""`make demo`: a realistic day of punches through the local stack, with duplicates and a CRM outage.

Runs against a stack started with `make run` (same API_PORT, AWS_PORT, CRM_PORT), or starts one.
"""

import gzip
import json
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from pathlib import Path
from typing import Any

import httpx

from local_stack.banner import wait_for_banner
from local_stack.provision import STACK_PREFIX
from local_stack.stack import LocalConfig, SettingsRefused, local_client

EMPLOYEES = ["EMP001", "EMP002", "EMP003", "EMP004", "EMP005"]
# The office the day happens in, set up as an admin would: its clocks (read by the edge poller) and its
# directory. UNKNOWN-9, who punches too, is in neither the directory nor the CRM.
CLOCKS = [
    {
        "deviceId": "DEV-FRONT",
        "kind": "zkteco",
        "serial": "ZKDEMO0001",
        "name": "Front door",
        "site": "Office",
    },
    {
        "deviceId": "DEV-SIDE",
        "kind": "zkteco",
        "serial": "ZKDEMO0002",
        "name": "Side entrance",
        "site": "Office",
    },
]
DIRECTORY = {
    "EMP001": {"name": "Anna Berg", "department": "Sales"},
    "EMP002": {"name": "Ben Okafor", "department": "Warehouse"},
    "EMP003": {"name": "Chen Li", "department": "Support"},
    "EMP004": {"name": "Dana Novak", "department": "Sales"},
    "EMP005": {"name": "Emil Sousa", "department": "Finance"},
}
# Dana is on vacation this week: the Employees page lists her as on leave, not absent, and the reports
# count her days by kind
ON_LEAVE, LEAVE_KIND = "EMP004", "vacation"
OUTAGE_SECONDS = 15  # shorter than three attempts 10 s apart: punches caught in it are retried, not lost
LOCKED_EMPLOYEE = "EMP005"  # the CRM refuses every punch of this one all day: they end in the DLQ
SETTLE_LIMIT_SECONDS = 90


@dataclass
class Tally:
    sent: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    log_ids: set[str] = field(default_factory=set)

    def count(self, status: str, log_id: str | None) -> None:
        self.statuses[status] = self.statuses.get(status, 0) + 1
        if status == "accepted" and log_id:
            self.log_ids.add(log_id)


def punch(user: str, day: datetime, hhmmss: str, kind: str, device: str = "DEV-FRONT") -> dict[str, str]:
    return {"deviceId": device, "userId": user, "timestamp": f"{day:%Y-%m-%d}T{hhmmss}", "type": kind}


def morning(day: datetime) -> list[dict[str, str]]:
    arrivals = ["08:52:10", "08:57:43", "09:01:05", "09:03:30", "08:49:58"]
    punches = [punch(user, day, at, "in") for user, at in zip(EMPLOYEES, arrivals, strict=True)]
    punches.append(punch("EMP002", day, "08:58:01", "in", device="DEV-SIDE"))  # double tap on another clock
    punches.append(punch("UNKNOWN-9", day, "09:10:00", "in"))  # a PIN the HR system does not know
    punches.append({"deviceId": "DEV-FRONT", "userId": "EMP003", "timestamp": "soon", "type": "in"})  # broken
    return punches


def lunch(day: datetime) -> list[dict[str, str]]:
    return [punch(user, day, f"12:0{n}:00", "break_out") for n, user in enumerate(EMPLOYEES)] + [
        punch(user, day, f"12:4{n}:30", "break_in") for n, user in enumerate(EMPLOYEES)
    ]


def evening(day: datetime) -> list[dict[str, str]]:
    return [punch(user, day, f"17:{10 + 7 * n}:00", "out") for n, user in enumerate(EMPLOYEES)]


def arriving_now(now: datetime) -> list[dict[str, str]]:
    """Today's first arrivals, over the last few minutes (with the clocks' offset): what the dashboard's
    Live page lists and counts as in now. The CRM takes them all."""
    return [
        {
            "deviceId": device,
            "userId": user,
            "timestamp": (now - timedelta(minutes=minutes)).isoformat(),
            "type": "in",
        }
        for user, minutes, device in [
            ("EMP001", 6, "DEV-FRONT"),
            ("EMP003", 4, "DEV-SIDE"),
            ("EMP002", 2, "DEV-FRONT"),
        ]
    ]


class Demo:
    def __init__(self, config: LocalConfig) -> None:
        self.config = config
        self.http = httpx.Client(timeout=10)
        self.tally = Tally()
        self.dynamodb = local_client("dynamodb", config.aws_url)
        self.sqs = local_client("sqs", config.aws_url)
        self.day = datetime.now() - timedelta(days=1)  # a whole working day, all of it past

    def run(self) -> None:
        day = self.day
        self.set_up_office()
        self.crm("_reset", {})
        self.crm("_behaviour", {"failUsers": [LOCKED_EMPLOYEE]})
        print(
            f"The mock CRM refuses every punch of {LOCKED_EMPLOYEE} today: they will end in the dead-letter queue."
        )
        step(f"Morning of {day:%A %d %B}: arrivals as one batch, plus a re-sent punch from an old device")
        self.send_batch(morning(day))
        self.send_one(morning(day)[0], path="/device/punch")  # the same punch again, via the alias
        step(f"The CRM goes down ({OUTAGE_SECONDS} s of 503s) just as lunch breaks come in")
        self.crm("_behaviour", {"failRate": 1, "status": 503})
        self.send_batch(lunch(day), compress=True)
        time.sleep(OUTAGE_SECONDS)
        self.crm("_behaviour", {"failRate": 0})
        step("The CRM is back. Evening check-outs, one at a time")
        for item in evening(day):
            self.send_one(item)
        step("Today: the first arrivals of the morning, minutes ago")
        self.send_batch(arriving_now(datetime.now().astimezone().replace(microsecond=0)))
        step("Waiting for every punch to be delivered or dead-lettered")
        self.settle()
        self.report()
        self.crm("_behaviour", {"failUsers": []})
        print(f"\nThe mock CRM takes {LOCKED_EMPLOYEE}'s punches again.")

    def set_up_office(self) -> None:
        step("The office: two clocks the edge poller reads, and five employees in the directory")
        for clock in CLOCKS:
            reply = self.api("POST", "/devices", clock, ok={HTTPStatus.CREATED, HTTPStatus.CONFLICT})
            # The poller's health report after reading the clock: the Devices page shows it online.
            now = datetime.now().astimezone().isoformat(timespec="seconds")
            self.api(
                "POST", f"/devices/{clock['deviceId']}/health", {"via": "edge:office", "lastReadAt": now}
            )
            done = "registered" if reply.status_code == HTTPStatus.CREATED else "already registered"
            print(f"  {clock['deviceId']:10} {clock['name']:14} {done}")
        for user, entry in DIRECTORY.items():
            self.api("PUT", f"/employees/{user}", entry)
            print(f"  {user:10} {entry['name']:14} in the directory")
        # From yesterday to the week's end, whatever the company's zone; a run on another day finds it there
        today = datetime.now(UTC).date()
        away = {
            "to": (today + timedelta(days=5)).isoformat(),
            "kind": LEAVE_KIND,
            "note": "booked in the demo",
        }
        first = (today - timedelta(days=1)).isoformat()
        self.api(
            "PUT",
            f"/employees/{ON_LEAVE}/leave/{first}",
            away,
            ok={HTTPStatus.OK, HTTPStatus.CREATED, HTTPStatus.CONFLICT},
        )
        print(f"  {ON_LEAVE:10} {DIRECTORY[ON_LEAVE]['name']:14} on {LEAVE_KIND} this week")

    def api(
        self, method: str, path: str, body: dict[str, Any], ok: set[HTTPStatus] | None = None
    ) -> httpx.Response:
        """A request to the API with the stack's key; any answer but `ok` (by default any 2xx) stops the demo."""
        reply = self.http.request(method, self.config.api_url + path, json=body, headers=self.headers())
        accepted = reply.status_code in ok if ok else reply.is_success
        if not accepted:
            sys.exit(f"{method} {path} answered {reply.status_code}: {reply.text}")
        return reply

    def send_batch(self, items: list[dict[str, str]], compress: bool = False) -> None:
        body = json.dumps({"punches": items}).encode()
        headers = self.headers()
        if compress:
            body, headers = gzip.compress(body), headers | {"Content-Encoding": "gzip"}
        reply = self.http.post(self.config.api_url + "/punches", content=body, headers=headers).json()
        self.tally.sent += len(items)
        for item, result in zip(items, reply["results"], strict=True):
            self.tally.count(result["status"], result.get("logId"))
            print(f"  {describe(item):42} {result['status']:9} {result.get('reason', '')}")

    def send_one(self, item: dict[str, str], path: str = "/punches") -> None:
        reply = self.http.post(self.config.api_url + path, json=item, headers=self.headers())
        body = reply.json()
        status = body.get("status", "rejected")
        self.tally.sent += 1
        self.tally.count(status, body.get("logId"))
        reason = body.get("reason") or body.get("message", "")  # a refusal is an ErrorBody
        print(f"  {describe(item):42} {reply.status_code} {status:9} {reason}")

    def settle(self) -> None:
        """Until nothing is pending and every failed punch has reached the DLQ (on its next receive)."""
        give_up = time.monotonic() + SETTLE_LIMIT_SECONDS
        last = None
        while time.monotonic() < give_up:
            statuses = [r["syncStatus"]["S"] for r in self.records() if r["logId"]["S"] in self.tally.log_ids]
            state = (statuses.count("pending"), statuses.count("failed"), self.dead_letter_count())
            if state != last:
                print(f"  pending {state[0]:3}   failed {state[1]:3}   in the DLQ {state[2]:3}", flush=True)
                last = state
            if state[0] == 0 and state[2] >= state[1]:
                return
            time.sleep(1)
        print(f"  still not settled after {SETTLE_LIMIT_SECONDS} s")

    def dead_letter_count(self) -> int:
        reply = self.sqs.get_queue_attributes(
            QueueUrl=self.queue_url("PunchDeadLetterQueue"), AttributeNames=["ApproximateNumberOfMessages"]
        )
        return int(reply["Attributes"]["ApproximateNumberOfMessages"])

    def report(self) -> None:
        records = {r["logId"]["S"]: r for r in self.records() if r["logId"]["S"] in self.tally.log_ids}
        held = self.crm_view()
        retried = [
            r for r in records.values() if r["syncStatus"]["S"] == "synced" and int(r["attempts"]["N"]) > 1
        ]
        failed = [r for r in records.values() if r["syncStatus"]["S"] == "failed"]
        step("What happened")
        rows = [
            ("punches sent", self.tally.sent),
            ("accepted", self.tally.statuses.get("accepted", 0)),
            ("duplicates (not queued again)", self.tally.statuses.get("duplicate", 0)),
            ("rejected (invalid)", self.tally.statuses.get("rejected", 0)),
            (
                "delivered to the CRM",
                sum(p["deliveries"] > 0 for p in held["punches"] if p["logId"] in records),
            ),
            ("  of which after retries", len(retried)),
            ("dead-lettered (failed)", len(failed)),
            ("messages in the DLQ now", self.dead_letter_count()),
            ("delivered twice", sum(p["deliveries"] > 1 for p in held["punches"])),
        ]
        for label, value in rows:
            print(f"  {label:32} {value:5}")
        step("The path some punches took")
        for record in (retried[:1] + failed)[:3]:
            print_path(record)
        print(f"\nInspect it yourself: curl -s {self.config.crm_url}/crm/attendance")

    def records(self) -> list[dict[str, Any]]:
        table = f"{STACK_PREFIX}-PunchesTable"
        pages = self.dynamodb.get_paginator("scan").paginate(TableName=table)
        return [item for page in pages for item in page["Items"]]

    def queue_url(self, logical_id: str) -> str:
        return self.sqs.get_queue_url(QueueName=f"{STACK_PREFIX}-{logical_id}")["QueueUrl"]

    def crm(self, action: str, body: dict[str, Any]) -> None:
        self.http.post(f"{self.config.crm_url}/crm/{action}", json=body).raise_for_status()

    def crm_view(self) -> dict[str, Any]:
        return self.http.get(self.config.crm_url + "/crm/attendance").json()

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.config.api_key}", "Content-Type": "application/json"}


def describe(item: dict[str, str]) -> str:
    clock = item.get("timestamp", "")[11:19] or item.get("timestamp", "")  # HH:MM:SS, or what was sent
    return f"{item.get('userId')} {item.get('type')} {clock} @{item.get('deviceId')}"


def print_path(record: dict[str, Any]) -> None:
    user, kind, local = record["userId"]["S"], record["type"]["S"], record["localTime"]["S"]
    print(f"  {user} {kind} {local}")
    print(f"    {record['receivedAt']['S']}  accepted, queued")
    for n, entry in enumerate(record.get("history", {}).get("L", []), start=1):
        values = entry["M"]
        print(f"    {values['at']['S']}  attempt {n}: {values['status']['S']:8} {values['detail']['S'][:60]}")
    if record["syncStatus"]["S"] == "failed":
        print("    -> in the dead-letter queue, marked failed")


def step(title: str) -> None:
    print(f"\n== {title}", flush=True)


def is_listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def start_stack(log_path: Path) -> subprocess.Popen:
    """A stack of our own in the background, its logs in a file so the demo's output stays readable."""
    log_path.parent.mkdir(exist_ok=True)
    print(f"No local stack running; starting one for the demo (logs: {log_path}; make run keeps one up)...")
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "local_stack"], stdout=log, stderr=subprocess.STDOUT
        )
    if wait_for_banner(process, log_path.read_text, limit_seconds=90) is None:
        sys.exit(f"the local stack did not start; see {log_path}")
    return process


def main() -> int:
    try:
        config = LocalConfig.from_environment()
    except SettingsRefused as refused:
        return refused.report()
    own_stack = (
        None if is_listening(config.api_port) else start_stack(Path(".local-stack") / "demo-stack.log")
    )
    demo = Demo(config)
    try:
        demo.run()
    finally:
        if own_stack:
            own_stack.terminate()
            own_stack.wait(timeout=30)
    if own_stack:
        print("The stack started for the demo has stopped; with `make run` up, the demo's punches stay.")
    else:
        print(
            f"`attendance dlq redrive --all` delivers {LOCKED_EMPLOYEE}'s dead letters now; UNKNOWN-9's come back"
            " to the queue, as the HR system does not know that PIN."
        )
        dashboard = config.api_url
        print(f"In the dashboard ({dashboard}/, API key {config.api_key}):")
        print(f"  today, live        {dashboard}/#/live")
        print(f"  yesterday's report {dashboard}/#/reports/daily/{demo.day:%Y-%m-%d}")
        print(f"  the dead letters   {dashboard}/#/deliveries")
    return 0


if __name__ == "__main__":
    sys.exit(main())
