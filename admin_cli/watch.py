"""`attendance watch`: the live feed in a terminal, a line per event, or each event's JSON for scripts.

A short-lived token from `POST {api}/auth/token` opens the WebSocket; a dropped connection (API Gateway
closes idle ones after 10 minutes and every one after 2 hours) is opened again with a backoff, and with a
new token when the old one is about to expire.
"""

import json
import os
import random
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any, TextIO
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx
import typer
from rich.console import Console
from rich.markup import escape
from rich.text import Text
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI
from websockets.http11 import Response
from websockets.sync.client import ClientConnection, connect

from admin_cli.target import local_api_url
from attendance.domain.clock import InvalidTime, parse_zone

EXIT_OK, EXIT_USAGE, EXIT_UNREACHABLE = 0, 2, 3
LOCAL_API_KEY = "local-dev-key"  # the key the local stack creates (LOCAL_API_KEY)
PING_INTERVAL = 300.0  # well inside API Gateway's 10 idle minutes
RENEW_BEFORE = timedelta(seconds=60)  # a token this close to expiry may expire during the handshake
STEADY_AFTER = timedelta(seconds=60)  # a connection that lived this long was healthy: back off from 1 s again
HTTP_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
NAMES_TIMEOUT = httpx.Timeout(2.0, connect=1.0)  # a name is a nicety: never hold the feed's lines up long
OPEN_TIMEOUT, CLOSE_TIMEOUT = 10.0, 5.0
CONTROL_REPLIES = frozenset({"subscribed", "pong"})
_PING = json.dumps({"action": "ping"})
_COLOURS = {
    "punch.accepted": "cyan",
    "punch.delivered": "green",
    "punch.failed": "yellow",
    "punch.dead_lettered": "bold red",
    "punch.abandoned": "magenta",
    "punch.voided": "dim",
    "punch.void_refused": "bold red",
    "device.state": "magenta",
}


class KeyRefused(Exception):
    """/auth/token refused the API key (401 or 403): retrying cannot help."""


class RoomsRefused(Exception):
    """The feed refused the rooms asked for (400)."""


class NoFeed(Exception):
    """The API has no live feed, or named one that cannot be used."""


class FeedUnavailable(Exception):
    """The API or the feed cannot be reached right now: worth another try."""


@dataclass(frozen=True)
class FeedAccess:
    api_url: str
    api_key: str = field(repr=False)


@dataclass(frozen=True)
class FeedToken:
    token: str = field(repr=False)
    expires_at: datetime
    url: str


def feed_access(
    api_url: str | None, api_key: str | None, local: bool, deployed_api_url: Callable[[], str]
) -> FeedAccess:
    """The HTTP API and key to ask for tokens; the local stack's own when nothing else is given."""
    if api_key is None:
        if not local:
            raise typer.BadParameter(
                "give a key with read or admin scope (attendance keys create --name watch --scope read), "
                "or set ATTENDANCE_API_KEY",
                param_hint="--api-key",
            )
        api_key = os.environ.get("LOCAL_API_KEY", LOCAL_API_KEY)
    url = api_url or (local_api_url() if local else deployed_api_url())
    if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc:
        raise typer.BadParameter(f"not an http(s) URL: {url}", param_hint="--api-url")
    return FeedAccess(url.rstrip("/"), api_key)


def feed_rooms(devices: Iterable[str], users: Iterable[str], deliveries: bool) -> list[str]:
    """The rooms to join; none means the room `all`."""
    rooms = [f"device:{device}" for device in devices] + [f"user:{user}" for user in users]
    if any(not room.partition(":")[2] or "," in room for room in rooms):
        raise typer.BadParameter("device and user IDs must be non-empty and without commas")
    if deliveries:
        rooms.append("deliveries")
    return list(dict.fromkeys(rooms))


def fetch_token(http: httpx.Client, access: FeedAccess) -> FeedToken:
    try:
        reply = http.post(
            f"{access.api_url}/auth/token", headers={"Authorization": f"Bearer {access.api_key}"}
        )
    except httpx.HTTPError as error:
        raise FeedUnavailable(f"cannot reach {access.api_url}: {error}") from None
    if reply.status_code in (401, 403):
        raise KeyRefused(
            f"the API key was refused (HTTP {reply.status_code}): {_error_message(reply.content)}"
        )
    if reply.status_code == 404:
        raise NoFeed(f"{access.api_url} has no /auth/token: is the stack older than the live feed?")
    if reply.status_code != 200:
        raise FeedUnavailable(f"POST /auth/token answered HTTP {reply.status_code}")
    try:
        body = reply.json()
        return FeedToken(body["token"], _instant(body["expiresAt"]), body["url"])
    except (ValueError, KeyError, TypeError):
        raise FeedUnavailable("POST /auth/token answered something other than a token") from None


def connect_url(token: FeedToken, rooms: list[str]) -> str:
    """The feed URL with the token and rooms in its query (IDs may hold any character: encoded)."""
    parts = urlsplit(token.url)
    query = [*parse_qsl(parts.query), ("token", token.token)]
    if rooms:
        query.append(("rooms", ",".join(rooms)))
    return urlunsplit(parts._replace(query=urlencode(query, safe=":,")))


def without_query(url: str) -> str:
    """For messages: the query holds the token."""
    return urlunsplit(urlsplit(url)._replace(query=""))


class Backoff:
    """Waits of 1 s doubling up to 30 s; each loses up to a fifth at random so that clients cut off
    together do not all come back in the same second."""

    def __init__(
        self,
        first: float = 1.0,
        cap: float = 30.0,
        jitter: float = 0.2,
        random_fraction: Callable[[], float] = random.random,
    ) -> None:
        self.first, self.cap, self.jitter, self.random_fraction = first, cap, jitter, random_fraction
        self._ceiling = first

    def next_delay(self) -> float:
        ceiling = self._ceiling
        self._ceiling = min(self.cap, ceiling * 2)
        return ceiling * (1 - self.jitter * self.random_fraction())

    def reset(self) -> None:
        self._ceiling = self.first


class Names:
    """The directory's names of the employees the feed shows, each read by ID (GET /employee-names) when it
    first appears and kept. An ID the directory lacked, or whose name could not be read, is asked again
    after ASK_AGAIN seconds (it may have been added meanwhile); until then the line shows the ID alone."""

    ASK_AGAIN = 60.0

    def __init__(
        self, http: httpx.Client, access: FeedAccess, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._http, self._access, self._clock = http, access, clock
        self._known: dict[str, tuple[str | None, float]] = {}  # userId -> (name, when read)

    def __call__(self, user_id: str) -> str | None:
        name, read_at = self._known.get(user_id, (None, -self.ASK_AGAIN))
        if name is None and self._clock() - read_at >= self.ASK_AGAIN:
            name = self._read(user_id)
            self._known[user_id] = (name, self._clock())
        return name

    def _read(self, user_id: str) -> str | None:
        try:
            reply = self._http.get(
                f"{self._access.api_url}/employee-names",
                params={"userId": user_id},
                headers={"Authorization": f"Bearer {self._access.api_key}"},
                timeout=NAMES_TIMEOUT,
            )
            return reply.json()["names"].get(user_id) if reply.status_code == 200 else None
        except (httpx.HTTPError, ValueError, KeyError, TypeError, AttributeError):
            return None  # names are a nicety: the line keeps the ID


class EventPrinter:
    """Events to stdout (a line each, or their JSON exactly as received); everything else to stderr."""

    def __init__(
        self,
        as_json: bool,
        out: TextIO,
        status: Console,
        name_of: Callable[[str], str | None] = lambda _: None,
    ) -> None:
        self.as_json, self.out, self.status, self.name_of = as_json, out, status, name_of
        self.console = Console(file=out, highlight=False, soft_wrap=True)

    def show(self, frame: str) -> None:
        try:
            message = json.loads(frame)
        except ValueError:
            message = None
        if not isinstance(message, dict):
            self.status.print(f"skipped a frame that is not a JSON object: {frame[:200]}", markup=False)
            return
        kind = message.get("type")
        if kind in CONTROL_REPLIES:
            return
        if kind == "error":
            self.status.print(f"the feed refused a request: {message.get('message')}", markup=False)
            return
        if self.as_json:
            # One object per line even if a server ever pretty-printed one
            self.out.write((frame if "\n" not in frame else json.dumps(message)) + "\n")
            self.out.flush()
            return
        punch = message.get("punch")
        user_id = punch.get("userId") if isinstance(punch, dict) else None
        self.console.print(describe(message, self.name_of(user_id) if isinstance(user_id, str) else None))


def describe(message: dict[str, Any], name: str | None = None) -> Text:
    """`2026-11-30 10:00:07 CET  punch.delivered  DEV001  user Anna Berg (EMP1)  in  at 2026-11-30T10:00:05 ...`
    (`name`: the punch's employee as the directory has it; the ID alone without one)."""
    kind = str(message.get("type", "?"))
    punch, device = message.get("punch"), message.get("device")
    if isinstance(punch, dict):
        zone, body = _zone(punch.get("timeZone")), _punch_text(kind, punch, message, name)
    elif isinstance(device, dict):
        zone = _zone(device.get("timeZone"))
        body = _device_text(device, zone)
    else:
        rest = {key: value for key, value in message.items() if key not in ("type", "version", "at")}
        zone, body = UTC, json.dumps(rest, default=str)
    return Text.assemble(
        (_when(message.get("at"), zone), "dim"), "  ", (f"{kind:<19}", _COLOURS.get(kind, "")), "  ", body
    )


def _punch_text(kind: str, punch: dict[str, Any], message: dict[str, Any], name: str | None) -> str:
    who = f"{name} ({punch.get('userId')})" if name else punch.get("userId")
    where = f"{punch.get('deviceId')}  user {who}  {punch.get('type')}"
    local = f"at {punch.get('localTime')} {punch.get('timeZone') or ''}".rstrip()
    if kind == "punch.failed":
        final = ", final" if message.get("final") else ""
        outcome = f"failed (attempt {message.get('attempt')}{final}): {message.get('error')}"
    elif kind == "punch.dead_lettered":
        outcome = f"dead-lettered: {message.get('error')}"
    elif kind == "punch.abandoned":
        outcome = str(message.get("note"))
    elif kind == "punch.voided":
        outcome = f"{message.get('reason')}; {message.get('note')}"
    elif kind == "punch.void_refused":
        outcome = f"not voided: {message.get('error')}"
    elif punch.get("crmReference"):
        outcome = f"{punch.get('syncStatus')} (CRM {punch['crmReference']})"
    else:
        outcome = str(punch.get("syncStatus"))
    return f"{where}  {local}  {outcome}"


def _device_text(device: dict[str, Any], zone: tzinfo) -> str:
    label = ", ".join(str(part) for part in (device.get("name"), device.get("site")) if part)
    named = f"{device.get('deviceId')}" + (f" ({label})" if label else "")
    change = f"{device.get('previousState') or '-'} -> {device.get('state')}"
    seen = device.get("lastSeenAt")
    return f"{named}  {change}  last seen {_when(seen, zone) if seen else 'never'}"


def _when(at: Any, zone: tzinfo) -> str:
    try:
        return _instant(str(at)).astimezone(zone).strftime("%Y-%m-%d %H:%M:%S %Z")
    except ValueError:
        return str(at)


def _zone(name: Any) -> tzinfo:
    """The punch's or device's zone, an IANA name or an offset as clocks are registered with; UTC for none we
    know (an event from before devices carried theirs)."""
    try:
        return parse_zone(str(name)) if name else UTC
    except InvalidTime:
        return UTC


def _instant(text: str) -> datetime:
    instant = datetime.fromisoformat(text)
    return instant if instant.tzinfo else instant.replace(tzinfo=UTC)


def _error_message(body: bytes) -> str:
    try:
        return str(json.loads(body)["message"])
    except (ValueError, KeyError, TypeError):
        return body[:200].decode("utf-8", "replace") or "no details"


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Feed:
    """Keeps one connection to the feed open, again and again, until Ctrl-C or a refusal."""

    access: FeedAccess
    rooms: list[str]
    printer: EventPrinter
    status: Console
    http: httpx.Client
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], datetime] = _utc_now
    backoff: Backoff = field(default_factory=Backoff)
    ping_interval: float = PING_INTERVAL
    _token: FeedToken | None = field(default=None, init=False, repr=False)

    def run(self) -> None:
        while True:
            try:
                why = self._connect_and_stream()
            except FeedUnavailable as problem:
                why = str(problem)
            delay = self.backoff.next_delay()
            self.status.print(f"{why}; reconnecting in {delay:.1f} s", markup=False)
            self.sleep(delay)

    def _connect_and_stream(self) -> str:
        url = connect_url(self._fresh_token(), self.rooms)
        connection = self._open(url)
        opened_at = self.clock()
        with connection:
            rooms = ", ".join(self.rooms) or "all"
            self.status.print(f"connected to {without_query(url)} (rooms: {rooms})", markup=False)
            why = self._stream(connection)
        if self.clock() - opened_at >= STEADY_AFTER:
            self.backoff.reset()
        return why

    def _open(self, url: str) -> ClientConnection:
        try:
            # Keepalive is our own ping action: it is what API Gateway counts as activity
            return connect(url, open_timeout=OPEN_TIMEOUT, close_timeout=CLOSE_TIMEOUT, ping_interval=None)
        except InvalidStatus as refused:
            raise self._refusal(refused.response) from None
        except InvalidURI:
            raise NoFeed(f"the API named an unusable feed URL: {without_query(url)}") from None
        except (OSError, InvalidHandshake) as error:
            raise FeedUnavailable(f"cannot connect to {without_query(url)}: {error}") from None

    def _fresh_token(self) -> FeedToken:
        if self._token is None or self._token.expires_at - self.clock() <= RENEW_BEFORE:
            self._token = fetch_token(self.http, self.access)
        return self._token

    def _refusal(self, response: Response) -> Exception:
        if response.status_code in (401, 403):
            self._token = None  # expired or revoked: the next attempt asks for a new one
            return FeedUnavailable(f"the feed refused the token (HTTP {response.status_code})")
        if response.status_code == 400:
            return RoomsRefused(f"the feed refused the rooms: {_error_message(response.body or b'')}")
        return FeedUnavailable(f"the feed answered HTTP {response.status_code}")

    def _stream(self, connection: ClientConnection) -> str:
        """Prints frames until the connection ends; says why it ended."""
        ping_due = time.monotonic() + self.ping_interval
        answered = True
        try:
            while True:
                try:
                    frame = connection.recv(timeout=max(0.0, ping_due - time.monotonic()))
                except TimeoutError:
                    if not answered:
                        return "no answer to a ping: the connection is gone"
                    connection.send(_PING)
                    answered, ping_due = False, time.monotonic() + self.ping_interval
                    continue
                answered = True
                self.printer.show(frame if isinstance(frame, str) else frame.decode("utf-8", "replace"))
        except ConnectionClosed as closed:
            code = f"code {closed.rcvd.code}" if closed.rcvd else "no close frame"
            return f"connection closed ({code})"


def watch_feed(
    access: FeedAccess,
    rooms: list[str],
    as_json: bool,
    *,
    out: TextIO | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], datetime] = _utc_now,
    backoff: Backoff | None = None,
    ping_interval: float = PING_INTERVAL,
) -> int:
    """Follows the feed until Ctrl-C (exit 0); a refused key or rooms exit 2, an API without a feed 3."""
    status = Console(stderr=True, highlight=False, soft_wrap=True)
    with httpx.Client(timeout=HTTP_TIMEOUT) as http:
        printer = EventPrinter(as_json, out or sys.stdout, status, Names(http, access))
        feed = Feed(access, rooms, printer, status, http, sleep, clock, backoff or Backoff(), ping_interval)
        try:
            feed.run()
        except KeyboardInterrupt:
            return EXIT_OK
        except (KeyRefused, RoomsRefused) as refused:
            status.print(f"[red]error:[/red] {escape(str(refused))}")
            return EXIT_USAGE
        except NoFeed as missing:
            status.print(f"[red]error:[/red] {escape(str(missing))}")
            return EXIT_UNREACHABLE
    return EXIT_OK
