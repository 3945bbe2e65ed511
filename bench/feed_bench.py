"""The live feed's figures, measured on the local stack: how soon a punch reaches the clients watching,
and what the feed adds to the bill, per million punches and per connection-hour.

Everything comes from this run: the fan-out's own log lines (batches, records, messages sent, duration),
the connection items as the connections table stores them, the frames the clients receive and the round
trips they make. Only the prices (bench.prices) and AWS's billing units are given.
Run: `python -m bench.feed_bench`.
"""

import asyncio
import inspect
import json
import math
import statistics
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import httpx
from websockets.asyncio.client import ClientConnection, connect

from admin_cli.watch import PING_INTERVAL
from local_stack.running import RunningStack, running_local_stack
from local_stack.stack import local_client
from local_stack.template import load_template, resources_of_type
from local_stack.websocket_api import LocalWebSocketApi

API_KEY = "feed-bench-key"
CLIENTS = 10
SOLO_PUNCHES = 20  # first with one client watching: the fan-out's cost for a single client
PUNCHES = 100  # then with every client watching: latency, and what each further client adds
PACE_SECONDS = 0.05
WAIT_SECONDS = 60.0  # generous: the machine may be busy
QUIET_SECONDS = 2.0  # the fan-out has logged its last batch once no new one came for this long
HTTP_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
PING = json.dumps({"action": "ping"})
EVENTS = ("punch.accepted", "punch.delivered")

# AWS's billing units: WebSocket messages in 32 KB units; DynamoDB strongly consistent reads in 4 KB
# units (a scan adds up its items before rounding), writes in 1 KB units; Lambda bills whole ms.
MESSAGE_UNIT_BYTES = 32 * 1024
READ_UNIT_BYTES = 4 * 1024
WRITE_UNIT_BYTES = 1024
# API Gateway closes every connection after this long (the local stand-in keeps the same limit).
MAX_CONNECTION_SECONDS = float(
    inspect.signature(LocalWebSocketApi).parameters["max_lifetime_seconds"].default
)


@dataclass
class Watcher:
    """One client: how long its sign-in, handshake and a ping took, and what the feed sent it."""

    connection: ClientConnection
    token_seconds: float
    handshake_seconds: float
    ping_seconds: float
    ping_bytes: int
    pong_bytes: int
    arrivals: dict[tuple[str, str], float] = field(default_factory=dict)  # (logId, type) -> first seen
    event_bytes: list[int] = field(default_factory=list)

    def saw(self, log_id: str, event_type: str) -> bool:
        return (log_id, event_type) in self.arrivals


@dataclass(frozen=True)
class FanoutRun:
    """The fan-out's invocations during one phase, from its "fan-out" log lines."""

    punches: int
    clients: int
    invocations: int
    scans: int  # invocations with events to send: each reads the connections table once
    records: int
    sent: int
    billed_ms: float  # mean billed duration (each rounded up to a whole ms)

    @classmethod
    def from_lines(cls, lines: list[dict[str, Any]], punches: int) -> "FanoutRun":
        if not lines:
            raise RuntimeError("the fan-out logged no batch: did the stack's stream mapping run?")
        return cls(
            punches=punches,
            clients=max(line["connections"] for line in lines),  # the connections it served
            invocations=len(lines),
            scans=sum(1 for line in lines if line["events"]),
            records=sum(line["records"] for line in lines),
            sent=sum(line["sent"] for line in lines),
            billed_ms=statistics.mean(max(1, math.ceil(line["durationMs"])) for line in lines),
        )

    def per_punch(self, count: int) -> float:
        return count / self.punches


@dataclass
class Measured:
    solo: FanoutRun
    crowd: FanoutRun
    accepted_ms: list[float]
    delivered_ms: list[float]
    missing: int  # (punch, client) pairs that never saw the delivered event
    event_bytes: list[int]
    connection_item_bytes: list[int]
    token_ms: float
    handshake_ms: float
    ping_ms: float
    ping_bytes: int
    pong_bytes: int


def measure() -> Measured:
    with running_local_stack(API_KEY) as stack:
        _progress("local stack up; signing in and connecting clients")
        return asyncio.run(_drive(stack))


async def _drive(stack: RunningStack) -> Measured:
    headers = {"Authorization": f"Bearer {stack.api_key}"}
    async with httpx.AsyncClient(timeout=HTTP_TIMEOUT, headers=headers) as http:
        watchers = [await _sign_in_and_connect(http, stack)]
        readers = [asyncio.create_task(_read_feed(watchers[0]))]
        try:
            start = len(stack.output)
            _progress(f"one client watching, {SOLO_PUNCHES} punches")
            posted = await _post_punches(http, stack, SOLO_PUNCHES)
            await _until_delivered(watchers, posted)
            middle = await _fanout_settled(stack.output)
            for _ in range(CLIENTS - 1):
                watchers.append(await _sign_in_and_connect(http, stack))
                readers.append(asyncio.create_task(_read_feed(watchers[-1])))
            items = _connection_item_sizes(stack)
            _progress(f"{CLIENTS} clients watching, {PUNCHES} punches")
            posted = await _post_punches(http, stack, PUNCHES)
            await _until_delivered(watchers, posted)
            end = await _fanout_settled(stack.output)
        finally:
            for reader in readers:
                reader.cancel()
            await asyncio.gather(*(watcher.connection.close() for watcher in watchers))
    accepted, delivered, missing = _latencies(watchers, posted)
    return Measured(
        solo=FanoutRun.from_lines(_fanout_lines(stack.output[start:middle]), SOLO_PUNCHES),
        crowd=FanoutRun.from_lines(_fanout_lines(stack.output[middle:end]), PUNCHES),
        accepted_ms=accepted,
        delivered_ms=delivered,
        missing=missing,
        event_bytes=[size for watcher in watchers for size in watcher.event_bytes],
        connection_item_bytes=items,
        token_ms=statistics.median(watcher.token_seconds * 1000 for watcher in watchers),
        handshake_ms=statistics.median(watcher.handshake_seconds * 1000 for watcher in watchers),
        ping_ms=statistics.median(watcher.ping_seconds * 1000 for watcher in watchers),
        ping_bytes=max(watcher.ping_bytes for watcher in watchers),
        pong_bytes=max(watcher.pong_bytes for watcher in watchers),
    )


async def _sign_in_and_connect(http: httpx.AsyncClient, stack: RunningStack) -> Watcher:
    """POST /auth/token, the handshake, then one ping round trip, each timed."""
    started = time.monotonic()
    reply = await http.post(stack.api_url + "/auth/token")
    reply.raise_for_status()
    token_seconds = time.monotonic() - started
    body = reply.json()
    started = time.monotonic()
    connection = await connect(  # keepalive is the ping action, as `attendance watch` sends it
        f"{body['url']}?token={quote(body['token'])}", open_timeout=WAIT_SECONDS, ping_interval=None
    )
    handshake_seconds = time.monotonic() - started
    started = time.monotonic()
    await connection.send(PING)
    while True:
        frame = await asyncio.wait_for(connection.recv(), WAIT_SECONDS)
        if json.loads(frame).get("type") == "pong":
            break
    ping_seconds = time.monotonic() - started
    return Watcher(
        connection, token_seconds, handshake_seconds, ping_seconds, len(PING.encode()), _size(frame)
    )


async def _read_feed(watcher: Watcher) -> None:
    async for frame in watcher.connection:
        message = json.loads(frame)
        if message.get("type") in EVENTS:
            watcher.arrivals.setdefault((message["punch"]["logId"], message["type"]), time.monotonic())
            watcher.event_bytes.append(_size(frame))


async def _post_punches(http: httpx.AsyncClient, stack: RunningStack, count: int) -> list[tuple[str, float]]:
    """Single punches, each of a device and employee of its own: (logId, when its POST started)."""
    run = uuid.uuid4().hex[:6]
    posted = []
    for n in range(count):
        punch = {
            "deviceId": f"FEED-{run}-D{n}",
            "userId": f"FEED-{run}-U{n}",
            "timestamp": datetime.now(UTC).replace(microsecond=0).isoformat(),
            "type": "in",
        }
        started = time.monotonic()
        reply = await http.post(stack.api_url + "/punches", json=punch)
        reply.raise_for_status()
        posted.append((reply.json()["logId"], started))
        await asyncio.sleep(PACE_SECONDS)
    return posted


async def _until_delivered(watchers: list[Watcher], posted: list[tuple[str, float]]) -> None:
    give_up = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < give_up:
        if all(w.saw(log_id, "punch.delivered") for w in watchers for log_id, _ in posted):
            return
        await asyncio.sleep(0.2)
    _progress("some deliveries never reached a client; they count as missing")


async def _fanout_settled(output: list[str]) -> int:
    """Where the output stands once the fan-out has logged its last batch."""
    count, since = len(_fanout_lines(output)), time.monotonic()
    while time.monotonic() - since < QUIET_SECONDS:
        await asyncio.sleep(0.2)
        if (now := len(_fanout_lines(output))) != count:
            count, since = now, time.monotonic()
    return len(output)


def _fanout_lines(output: list[str]) -> list[dict[str, Any]]:
    lines = []
    for line in output:
        if '"fan-out"' not in line:
            continue
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and record.get("message") == "fan-out":
            lines.append(record)
    return lines


def _latencies(
    watchers: list[Watcher], posted: list[tuple[str, float]]
) -> tuple[list[float], list[float], int]:
    """Milliseconds from each POST's start to each client's accepted and delivered event."""
    accepted, delivered, missing = [], [], 0
    for log_id, started in posted:
        for watcher in watchers:
            if watcher.saw(log_id, "punch.accepted"):
                accepted.append((watcher.arrivals[(log_id, "punch.accepted")] - started) * 1000)
            if watcher.saw(log_id, "punch.delivered"):
                delivered.append((watcher.arrivals[(log_id, "punch.delivered")] - started) * 1000)
            else:
                missing += 1
    return accepted, delivered, missing


def _connection_item_sizes(stack: RunningStack) -> list[int]:
    """The connections table's items as stored, each sized by DynamoDB's rules."""
    dynamodb = local_client("dynamodb", stack.aws_url)
    table = next(name for name in dynamodb.list_tables()["TableNames"] if "FeedConnections" in name)
    pages = dynamodb.get_paginator("scan").paginate(TableName=table, ConsistentRead=True)
    return [item_size(item) for page in pages for item in page["Items"]]


def item_size(item: dict[str, Any]) -> int:
    """DynamoDB's size of an item: each attribute's name in UTF-8 bytes plus its value's size."""
    return sum(len(name.encode()) + value_size(value) for name, value in item.items())


def value_size(value: dict[str, Any]) -> int:
    [(kind, raw)] = value.items()
    if kind == "S":
        return len(raw.encode())
    if kind == "B":
        return len(raw)
    if kind == "N":
        return _number_size(raw)
    if kind == "SS":
        return sum(len(member.encode()) for member in raw)
    if kind == "NS":
        return sum(_number_size(member) for member in raw)
    if kind == "BS":
        return sum(len(member) for member in raw)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "L":  # 3 bytes of overhead, and 1 per element
        return 3 + sum(1 + value_size(element) for element in raw)
    if kind == "M":
        return 3 + sum(1 + len(name.encode()) + value_size(element) for name, element in raw.items())
    raise ValueError(f"no size rule for {kind}")


def _number_size(raw: str) -> int:
    """About one byte per two significant digits, plus one."""
    digits = Decimal(raw).normalize().as_tuple().digits
    return math.ceil(len(digits) / 2) + 1


def _size(frame: str | bytes) -> int:
    return len(frame.encode() if isinstance(frame, str) else frame)


def _units(size: int, unit: int) -> int:
    return max(1, math.ceil(size / unit))


def _memory_gb(template: dict[str, Any], logical_id: str) -> float:
    properties = resources_of_type(template, "AWS::Serverless::Function")[logical_id]["Properties"]
    return float(properties.get("MemorySize", template["Globals"]["Function"]["MemorySize"])) / 1024


def _invocation(price: dict[str, float], milliseconds: float, memory_gb: float) -> float:
    """Dollars for one Lambda invocation of this duration (billed in whole ms)."""
    billed = max(1, math.ceil(milliseconds)) / 1000
    return price["lambda_request"] + billed * memory_gb * price["lambda_gb_second_arm"]


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))] if ordered else math.nan


def costs(figures: Measured, price: dict[str, float]) -> dict[str, Any]:
    """Dollars per million punches (one client, and each further one) and per connection-hour."""
    template = load_template()
    fanout_gb = _memory_gb(template, "FeedFanoutFunction")
    connections_gb = _memory_gb(template, "FeedConnectionsFunction")
    token_gb = _memory_gb(template, "FeedTokenFunction")
    message_units = statistics.mean(_units(size, MESSAGE_UNIT_BYTES) for size in figures.event_bytes)
    item_bytes = statistics.mean(figures.connection_item_bytes)
    solo, crowd = figures.solo, figures.crowd

    def compute(run: FanoutRun) -> float:
        return run.per_punch(run.invocations) * _invocation(price, run.billed_ms, fanout_gb) * 1e6

    one_client = {
        "Lambda": compute(solo),
        "messages": solo.per_punch(solo.sent) * message_units * price["websocket_message"] * 1e6,
        "scan": solo.per_punch(solo.scans)
        * _units(int(item_bytes), READ_UNIT_BYTES)
        * price["dynamodb_rru"]
        * 1e6,
    }
    messages_per_client = crowd.per_punch(crowd.sent) / crowd.clients
    further_client = {
        "messages": messages_per_client * message_units * price["websocket_message"] * 1e6,
        # a scan's units are the items' bytes added up: each further item is that much more to read
        "scan": crowd.per_punch(crowd.scans) * item_bytes / READ_UNIT_BYTES * price["dynamodb_rru"] * 1e6,
        "Lambda": max(0.0, compute(crowd) - compute(solo)) / (crowd.clients - 1),
    }
    pings_per_hour = 3600 / PING_INTERVAL
    ping = pings_per_hour * (
        (_units(figures.ping_bytes, MESSAGE_UNIT_BYTES) + _units(figures.pong_bytes, MESSAGE_UNIT_BYTES))
        * price["websocket_message"]
        + _invocation(price, figures.ping_ms, connections_gb)
    )
    item_writes = _units(max(figures.connection_item_bytes), WRITE_UNIT_BYTES) * price["dynamodb_wru"]
    session = (
        price["http_api_request"]
        + _invocation(price, figures.token_ms, token_gb)  # sign-in
        + _invocation(price, figures.handshake_ms, connections_gb)
        + item_writes  # $connect: PutItem
        + _invocation(price, figures.handshake_ms, connections_gb)
        + item_writes  # $disconnect: DeleteItem, billed on the deleted item
    )
    per_hour = {
        "minutes": 60 * price["websocket_connection_minute"],
        "pings": ping,
        "sessions": session / (MAX_CONNECTION_SECONDS / 3600),
    }
    return {
        "one_client": one_client,
        "further_client": further_client,
        "per_hour": per_hour,
        "pings_per_hour": pings_per_hour,
        "message_units": message_units,
        "item_bytes": item_bytes,
        "scan_units_one": _units(int(item_bytes), READ_UNIT_BYTES),
        "scan_units_crowd": _units(sum(figures.connection_item_bytes), READ_UNIT_BYTES),
        "messages_per_client": messages_per_client,
        "fanout_mb": fanout_gb * 1024,
    }


def rows(figures: Measured) -> list[tuple[str, str, str]]:
    from bench.prices import PRICE, PRICES_AS_OF

    cost = costs(figures, PRICE)
    solo, crowd = figures.solo, figures.crowd
    one, further, hour = cost["one_client"], cost["further_client"], cost["per_hour"]
    pairs = len(figures.accepted_ms)
    return [
        (f"Live feed (local stack; prices of {PRICES_AS_OF})", "", ""),
        (
            "  POST to punch.accepted p50 / p95",
            f"{_percentile(figures.accepted_ms, 0.5):.0f} / {_percentile(figures.accepted_ms, 0.95):.0f} ms",
            f"{crowd.punches} punches x {crowd.clients} clients ({pairs} arrivals)",
        ),
        (
            "  POST to punch.delivered p50 / p95",
            f"{_percentile(figures.delivered_ms, 0.5):.0f} / {_percentile(figures.delivered_ms, 0.95):.0f} ms",
            f"through the CRM worker; {figures.missing} missing",
        ),
        (
            "  fan-out invocations / records per punch",
            f"{crowd.per_punch(crowd.invocations):.2f} / {crowd.per_punch(crowd.records):.2f}",
            f"{solo.clients} client: {solo.per_punch(solo.invocations):.2f} / {solo.per_punch(solo.records):.2f}",
        ),
        (
            "  messages per punch per client",
            f"{cost['messages_per_client']:.2f}",
            f"{cost['message_units']:.2f} billed 32 KB units each (largest {max(figures.event_bytes)} bytes)",
        ),
        (
            f"  fan-out billed duration, {solo.clients} / {crowd.clients} clients",
            f"{solo.billed_ms:.0f} / {crowd.billed_ms:.0f} ms",
            f"mean, {cost['fanout_mb']:.0f} MB",
        ),
        (
            f"  connections scan, {solo.clients} / {crowd.clients} clients",
            f"{cost['scan_units_one']} / {cost['scan_units_crowd']} RRU",
            f"consistent, items of {cost['item_bytes']:.0f} bytes, one scan per batch with events",
        ),
        (
            f"  per million punches, {solo.clients} client watching",
            f"${sum(one.values()):.2f}",
            _breakdown(one) + "; stream reads by Lambda are free",
        ),
        ("  each further client, per million punches", f"${sum(further.values()):.2f}", _breakdown(further)),
        (
            "  per connection-hour",
            f"${sum(hour.values()):.6f}",
            f"connection-minutes ${hour['minutes']:.6f}, {cost['pings_per_hour']:.0f} pings "
            f"${hour['pings']:.6f}, sign-in + $connect + $disconnect over "
            f"{MAX_CONNECTION_SECONDS / 3600:.0f} h ${hour['sessions']:.6f}",
        ),
        (
            "  round trips (bound the invocations)",
            f"{figures.handshake_ms:.0f} / {figures.ping_ms:.0f} ms",
            f"handshake / ping, medians of {crowd.clients}; sign-in {figures.token_ms:.0f} ms",
        ),
    ]


def _breakdown(parts: dict[str, float]) -> str:
    return ", ".join(f"{name} ${dollars:.{2 if dollars >= 0.01 else 4}f}" for name, dollars in parts.items())


def table(lines: list[tuple[str, str, str]]) -> str:
    width = max(len(label) for label, _, _ in lines) + 2
    return "\n".join(f"{label:{width}}{value:>22}  {note}".rstrip() for label, value, note in lines)


def _progress(message: str) -> None:
    print(f"live feed: {message}...", file=sys.stderr, flush=True)


if __name__ == "__main__":
    print(table(rows(measure())))
