"""`attendance watch` against a real token endpoint (http.server) and a real WebSocket feed (websockets).

The servers speak the live feed's protocol; time is a clock the tests move and sleeps are recorded, never
waited, so reconnects and backoff are checked without long waits.
"""

import io
import json
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from typer.testing import CliRunner
from websockets.http11 import Request, Response
from websockets.sync.server import ServerConnection, serve

from admin_cli.main import app
from admin_cli.watch import Backoff, FeedAccess, describe, watch_feed

KEY = "sk-read-2f9c1e"
T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
ACCEPTED = {
    "type": "punch.accepted",
    "version": 1,
    "at": "2026-11-30T09:00:07Z",
    "punch": {
        "logId": "log-1",
        "deviceId": "DEV001",
        "userId": "EMP1",
        "punchTime": "2026-11-30T09:00:05Z",
        "localTime": "2026-11-30T10:00:05",
        "timeZone": "Europe/Berlin",
        "type": "in",
        "source": "api",
        "syncStatus": "pending",
        "attempts": 0,
    },
}


def after_delivery(kind: str, at: str, status: str, **fields: Any) -> dict[str, Any]:
    """An event of ACCEPTED's punch after three delivery attempts."""
    punch = {**ACCEPTED["punch"], "syncStatus": status, "attempts": 3}
    return {"type": kind, "version": 1, "at": at, "punch": punch, **fields}


FAILED = after_delivery(
    "punch.failed", "2026-11-30T09:00:09Z", "failed", error="HTTP 503", attempt=3, final=True
)
ABANDONED = after_delivery(
    "punch.abandoned", "2026-11-30T09:05:00Z", "abandoned", note="abandoned by an admin (key ops)"
)
VOIDED = after_delivery(
    "punch.voided",
    "2026-11-30T09:06:00Z",
    "voided",
    reason="voided by an admin (key ops): a test punch",
    note="voided; crm-1 removed (HTTP 204) in the CRM",
)
DEVICE_ONLINE = {
    "type": "device.state",
    "version": 1,
    "at": "2026-11-30T09:01:00Z",
    "device": {
        "deviceId": "DEV001",
        "name": "Front door",
        "site": "berlin-hq",
        "state": "online",
        "previousState": "silent",
        "lastSeenAt": "2026-11-30T09:01:00Z",
        "timeZone": "Europe/Berlin",
    },
}
SUBSCRIBED = {"type": "subscribed", "version": 1, "at": "2026-11-30T09:00:00Z", "rooms": ["all"]}
PONG = {"type": "pong", "version": 1, "at": "2026-11-30T09:00:00Z"}

Script = Callable[[ServerConnection], None]


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Sleeps:
    """An injected sleep: records each delay, moves the clock on, and is Ctrl-C after `stop_after` calls."""

    clock: Clock
    stop_after: int
    advance: timedelta = timedelta(0)
    delays: list[float] = field(default_factory=list)

    def __call__(self, delay: float) -> None:
        self.delays.append(delay)
        self.clock.now += self.advance
        if len(self.delays) >= self.stop_after:
            raise KeyboardInterrupt


@dataclass
class Connection:
    token: str
    rooms: list[str] | None
    received: list[str] = field(default_factory=list)


class FeedHarness:
    """POST /auth/token on one port, the feed on another; tokens are good for `token_lifetime`."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.token_lifetime = timedelta(minutes=15)
        self.issued: list[str] = []
        self.key_answer: int | None = None  # 401/403 to refuse every key
        self.scripts: list[Script] = []
        self.connections: list[Connection] = []
        self.asked_rooms: list[list[str] | None] = []
        self.refused_tokens: set[str] = set()
        self.directory: dict[str, str] = {}  # GET /employee-names answers from it
        self.names_asked: list[list[str]] = []
        self.feed_url = ""
        self.api_url = ""

    # POST /auth/token

    def token_reply(self, authorization: str | None) -> tuple[int, dict[str, Any]]:
        if self.key_answer or authorization != f"Bearer {KEY}":
            status = self.key_answer or 401
            return status, {"error": "unauthorized", "message": "unknown or revoked API key"}
        token = f"tok-{len(self.issued) + 1}"
        self.issued.append(token)
        expires = (self.clock() + self.token_lifetime).strftime("%Y-%m-%dT%H:%M:%SZ")
        return 200, {"token": token, "expiresAt": expires, "url": self.feed_url}

    # GET /employee-names, as the employees API answers it

    def names_reply(self, path: str, authorization: str | None) -> tuple[int, dict[str, Any]]:
        if authorization != f"Bearer {KEY}":
            return 401, {"error": "unauthorized", "message": "unknown or revoked API key"}
        asked = parse_qs(urlsplit(path).query)["userId"][0].split(",")
        self.names_asked.append(asked)
        names = {user: self.directory[user] for user in asked if user in self.directory}
        return 200, {"names": names, "notInDirectory": sorted(set(asked) - set(names))}

    # the feed

    def handshake(self, connection: ServerConnection, request: Request) -> Response | None:
        query = parse_qs(urlsplit(request.path).query)
        token = query.get("token", [""])[0]
        if token not in self.issued:
            return connection.respond(401, "bad token\n")
        if token in self.refused_tokens:
            return connection.respond(403, "token expired\n")
        rooms = query["rooms"][0].split(",") if "rooms" in query else None
        self.asked_rooms.append(rooms)
        if rooms and "device:NOPE" in rooms:
            return connection.respond(
                400, json.dumps({"error": "invalid_request", "message": "no room NOPE"})
            )
        self.connections.append(Connection(token, rooms))
        return None

    def serve_connection(self, connection: ServerConnection) -> None:
        script = self.scripts.pop(0) if self.scripts else _close
        script(connection)


def _close(connection: ServerConnection) -> None:
    connection.close(1001, "going away")


def _send_then_close(*messages: dict[str, Any]) -> Script:
    def script(connection: ServerConnection) -> None:
        for message in messages:
            connection.send(json.dumps(message))
        _close(connection)

    return script


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def feed(clock: Clock) -> Iterator[FeedHarness]:
    harness = FeedHarness(clock)

    class TokenHandler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.reply(*harness.token_reply(self.headers.get("Authorization")))

        def do_GET(self) -> None:
            if urlsplit(self.path).path != "/employee-names":
                self.reply(404, {"error": "not_found", "message": "no such route"})
                return
            self.reply(*harness.names_reply(self.path, self.headers.get("Authorization")))

        def reply(self, status: int, body: dict[str, Any]) -> None:
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *_: Any) -> None:
            pass

    api = ThreadingHTTPServer(("127.0.0.1", 0), TokenHandler)
    ws = serve(harness.serve_connection, "127.0.0.1", 0, process_request=harness.handshake)
    harness.api_url = f"http://127.0.0.1:{api.server_address[1]}"
    harness.feed_url = f"ws://127.0.0.1:{ws.socket.getsockname()[1]}"
    threading.Thread(target=api.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    threading.Thread(target=ws.serve_forever, daemon=True).start()
    yield harness
    api.shutdown()
    ws.shutdown()
    api.server_close()


def _watch(
    feed: FeedHarness, sleeps: Sleeps, rooms: list[str] | None = None, as_json: bool = True, **extra: Any
) -> tuple[int, str]:
    out = io.StringIO()
    code = watch_feed(
        FeedAccess(feed.api_url, KEY),
        rooms or [],
        as_json,
        out=out,
        sleep=sleeps,
        clock=sleeps.clock,
        backoff=Backoff(random_fraction=lambda: 0.0),
        **extra,
    )
    return code, out.getvalue()


def test_json_mode_prints_each_event_exactly_as_received_and_no_control_reply(feed, clock):
    # Given a feed that sends two events with control replies between them, then closes
    frames = [json.dumps(ACCEPTED, indent=None, separators=(",", ":")), json.dumps(FAILED)]

    def script(connection: ServerConnection) -> None:
        connection.send(json.dumps(SUBSCRIBED))
        connection.send(frames[0])
        connection.send(json.dumps(PONG))
        connection.send(frames[1])
        _close(connection)

    feed.scripts = [script]
    # When watch runs with --json until Ctrl-C (at the first wait before reconnecting)
    code, out = _watch(feed, Sleeps(clock, stop_after=1), as_json=True)
    # Then stdout is the events' frames, byte for byte, one a line, and Ctrl-C ended it quietly
    assert out.splitlines() == frames
    assert code == 0


def test_readable_mode_prints_a_line_per_event_in_the_punch_zone(feed, clock, capsys):
    feed.scripts = [_send_then_close(ACCEPTED, FAILED, DEVICE_ONLINE, PONG, ABANDONED, VOIDED)]
    code, out = _watch(feed, Sleeps(clock, stop_after=1), as_json=False)
    lines = out.splitlines()
    assert code == 0
    assert len(lines) == 5
    # The change at 09:00:07 UTC, shown in the punch's zone (Berlin: UTC+1 in November)
    assert lines[0].startswith("2026-11-30 10:00:07 CET  punch.accepted")
    assert "DEV001  user EMP1  in  at 2026-11-30T10:00:05 Europe/Berlin  pending" in lines[0]
    assert lines[1].endswith("failed (attempt 3, final): HTTP 503")
    # and a device's change in its clock's zone, as the punches it records
    assert lines[2].startswith("2026-11-30 10:01:00 CET  device.state")
    assert lines[2].endswith(
        "DEV001 (Front door, berlin-hq)  silent -> online  last seen 2026-11-30 10:01:00 CET"
    )
    assert lines[3].startswith("2026-11-30 10:05:00 CET  punch.abandoned")
    assert lines[3].endswith("abandoned by an admin (key ops)")
    assert lines[4].startswith("2026-11-30 10:06:00 CET  punch.voided")
    assert lines[4].endswith("(key ops): a test punch; voided; crm-1 removed (HTTP 204) in the CRM")
    # Status goes to stderr, and never the token
    status = capsys.readouterr().err
    assert "connected to" in status
    assert "tok-1" not in status


def test_readable_mode_shows_a_punch_of_a_clock_registered_by_offset_in_that_offset():
    # Given a punch from a clock registered at +05:30 (an offset, not an IANA name)
    punch = {**ACCEPTED["punch"], "localTime": "2026-11-30T14:30:05", "timeZone": "+05:30"}
    # When it is described
    line = describe({**ACCEPTED, "punch": punch}).plain
    # Then its time is shown at that offset, as its local time is, not in UTC
    assert line.startswith("2026-11-30 14:30:07 UTC+05:30  punch.accepted")
    assert "at 2026-11-30T14:30:05 +05:30  pending" in line


def test_readable_mode_names_the_employee_as_the_directory_has_it_asking_once(feed, clock):
    # Given an employee in the directory, and one who is not
    feed.directory = {"EMP1": "Anna Berg"}
    stranger = {**ACCEPTED, "punch": {**ACCEPTED["punch"], "logId": "log-2", "userId": "EMP9"}}
    feed.scripts = [_send_then_close(ACCEPTED, FAILED, stranger)]
    # When their punches come
    code, out = _watch(feed, Sleeps(clock, stop_after=1), as_json=False)
    lines = out.splitlines()
    # Then the first's lines name her, the ID beside it, and the other's show the ID alone
    assert code == 0
    assert "DEV001  user Anna Berg (EMP1)  in" in lines[0]
    assert "user Anna Berg (EMP1)" in lines[1]
    assert "DEV001  user EMP9  in" in lines[2]
    # and the directory was asked once for each, by ID
    assert feed.names_asked == [["EMP1"], ["EMP9"]]


def test_json_mode_prints_no_names_and_asks_for_none(feed, clock):
    feed.directory = {"EMP1": "Anna Berg"}
    feed.scripts = [_send_then_close(ACCEPTED)]
    code, out = _watch(feed, Sleeps(clock, stop_after=1), as_json=True)
    assert (code, json.loads(out)) == (0, ACCEPTED)
    assert feed.names_asked == []


def test_rooms_from_the_options_are_in_the_url_and_none_means_all(feed, clock):
    feed.scripts = [_close, _close]
    rooms = ["device:DEV 1&2", "user:EMP1", "deliveries"]
    _watch(feed, Sleeps(clock, stop_after=1), rooms=rooms)
    _watch(feed, Sleeps(clock, stop_after=1))
    assert [(c.token, c.rooms) for c in feed.connections] == [("tok-1", rooms), ("tok-2", None)]


def test_cli_options_become_rooms(feed, monkeypatch):
    # Given a feed that refuses the room of device NOPE
    # When the CLI asks for the rooms of --device NOPE --user EMP1 --deliveries
    result = CliRunner().invoke(
        app,
        ["watch", "--device", "NOPE", "--user", "EMP1", "--deliveries", "--api-url", feed.api_url],
        env={"ATTENDANCE_API_KEY": KEY},
    )
    # Then the feed saw them in the URL, and its 400 is a usage error
    assert feed.asked_rooms == [["device:NOPE", "user:EMP1", "deliveries"]]
    assert result.exit_code == 2
    assert "the feed refused the rooms: no room NOPE" in result.stderr


def test_reconnects_after_the_server_closes_and_renews_a_token_about_to_expire(feed, clock):
    # Given tokens that live 5 minutes and a wait of 4.5 minutes before the reconnect
    feed.token_lifetime = timedelta(minutes=5)
    feed.scripts = [_send_then_close(ACCEPTED), _send_then_close(FAILED)]
    sleeps = Sleeps(clock, stop_after=2, advance=timedelta(minutes=4, seconds=30))
    # When the feed closes the first connection
    _, out = _watch(feed, sleeps)
    # Then the second connection came with a new token, and both events were printed
    assert [c.token for c in feed.connections] == ["tok-1", "tok-2"]
    assert [json.loads(line)["type"] for line in out.splitlines()] == ["punch.accepted", "punch.failed"]


def test_a_token_with_time_left_is_used_again(feed, clock):
    feed.scripts = [_close, _close]
    _watch(feed, Sleeps(clock, stop_after=2, advance=timedelta(minutes=1)))
    assert [c.token for c in feed.connections] == ["tok-1", "tok-1"]
    assert feed.issued == ["tok-1"]


def test_a_refused_token_is_replaced_on_the_next_attempt(feed, clock):
    # Given a token the feed no longer takes (revoked, or expired on a skewed clock)
    feed.refused_tokens = {"tok-1"}
    sleeps = Sleeps(clock, stop_after=2)
    # When watch is refused with it
    _watch(feed, sleeps)
    # Then it asked for a new token and got in with that
    assert [c.token for c in feed.connections] == ["tok-2"]


@pytest.mark.parametrize("status", [401, 403])
def test_a_refused_key_exits_2_with_a_message_that_never_shows_the_key(feed, status, monkeypatch):
    monkeypatch.delenv("ATTENDANCE_API_KEY", raising=False)
    feed.key_answer = status
    result = CliRunner().invoke(app, ["watch", "--api-url", feed.api_url, "--api-key", KEY])
    assert result.exit_code == 2
    assert f"the API key was refused (HTTP {status}): unknown or revoked API key" in result.stderr
    assert KEY not in result.stdout + result.stderr
    assert feed.connections == []


def test_a_deployed_stack_needs_a_key(monkeypatch):
    monkeypatch.delenv("ATTENDANCE_API_KEY", raising=False)
    result = CliRunner().invoke(
        app, ["--stack-name", "attendance-sync", "watch", "--api-url", "http://127.0.0.1:9"]
    )
    assert result.exit_code == 2
    assert "--api-key" in result.stderr


def test_an_api_url_that_is_not_http_is_a_usage_error():
    result = CliRunner().invoke(app, ["watch", "--api-url", "ftp://127.0.0.1:9", "--api-key", KEY])
    assert result.exit_code == 2
    assert "not an http(s) URL" in result.stderr


def test_an_unreachable_stack_is_retried_with_a_growing_capped_backoff(clock, capsys):
    # Given an API port nobody listens on
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    sleeps = Sleeps(clock, stop_after=8)
    code = watch_feed(
        FeedAccess(f"http://127.0.0.1:{port}", KEY),
        [],
        True,
        out=io.StringIO(),
        sleep=sleeps,
        clock=clock,
        backoff=Backoff(random_fraction=lambda: 0.0),
    )
    # Then it waited 1 s doubling up to 30 s, said so once per attempt, and Ctrl-C exits 0
    assert sleeps.delays == [1, 2, 4, 8, 16, 30, 30, 30]
    assert capsys.readouterr().err.count("reconnecting in") == 8
    assert code == 0


def test_the_backoff_jitters_below_its_ceiling_and_starts_over_after_a_reset():
    backoff = Backoff(random_fraction=lambda: 1.0)
    assert [backoff.next_delay() for _ in range(7)] == pytest.approx([0.8, 1.6, 3.2, 6.4, 12.8, 24, 24])
    backoff.reset()
    assert backoff.next_delay() == pytest.approx(0.8)


def test_a_connection_that_stayed_up_resets_the_backoff(feed, clock):
    def stays_up(connection: ServerConnection) -> None:
        connection.recv(timeout=5)  # a ping: the client counts from before it
        clock.now += timedelta(minutes=2)
        _close(connection)

    # Given two connections dropped at once, then one that lived two minutes
    feed.scripts = [_close, _close, stays_up]
    sleeps = Sleeps(clock, stop_after=3)
    # When watch reconnects after each
    _watch(feed, sleeps, ping_interval=0.05)
    # Then the wait after the long one is back to 1 s
    assert sleeps.delays == [1, 2, 1]


def test_pings_keep_the_connection_and_pongs_stay_out_of_stdout(feed, clock):
    pings: list[str] = []

    def answers_a_ping(connection: ServerConnection) -> None:
        pings.append(str(connection.recv(timeout=5)))
        connection.send(json.dumps(PONG))
        connection.send(json.dumps(ACCEPTED))
        _close(connection)

    feed.scripts = [answers_a_ping]
    _, out = _watch(feed, Sleeps(clock, stop_after=1), ping_interval=0.1)
    assert [json.loads(ping) for ping in pings] == [{"action": "ping"}]
    assert [json.loads(line)["type"] for line in out.splitlines()] == ["punch.accepted"]


def test_a_connection_that_never_answers_a_ping_is_dropped_and_opened_again(feed, clock, capsys):
    def silent(connection: ServerConnection) -> None:
        try:
            while True:
                connection.recv(timeout=5)
        except Exception:  # noqa: S110 - the client went away, as it should
            pass

    feed.scripts = [silent]
    _watch(feed, Sleeps(clock, stop_after=1), ping_interval=0.1)
    assert "no answer to a ping" in capsys.readouterr().err
    assert len(feed.connections) == 1
