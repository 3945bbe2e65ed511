"""The live feed's WebSocket API, locally: API Gateway's WebSocket API in front of the template's routes.

Clients connect over WebSocket; `$connect` decides whether the handshake succeeds, each frame goes to
the route its `action` names (else `$default`), and `$disconnect` hears of every close. The functions
post to clients through the `@connections` management API on a port of its own, which boto3's
`apigatewaymanagementapi` client reaches with `endpoint_url`. Events, replies, error frames, close codes,
the idle timeout and the maximum lifetime are API Gateway's.

Unlike API Gateway, frames of one connection reach their routes one at a time, in order: the local feed
stays deterministic. Connections never wait for each other.
"""

import asyncio
import base64
import http
import json
import re
import secrets
import string
import threading
import time
import weakref
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from local_stack.functions import Invocable
from local_stack.template import resources_of_type

ROUTE_SELECTION_EXPRESSION = "$request.body.action"
CONNECT, DISCONNECT, DEFAULT = "$connect", "$disconnect", "$default"
STAGE = "live"
API_ID = "local"
MAX_MESSAGE_BYTES = 128 * 1024  # API Gateway's limit for a message, in and out
OUTBOX_FRAMES = 1024  # frames waiting for a slow client before a post is refused as LimitExceeded
INTEGRATION_TIMEOUT = 30.0  # seconds, API Gateway's 29 s and a little for a cold start
MANAGEMENT_TIMEOUT = 10.0  # seconds a management request waits for the connections' event loop
INVOKERS = 64  # invocations in flight at once, across all connections

# Close codes and the reasons $disconnect reports, as API Gateway sends them.
NORMAL_CLOSE = (1000, "Connection Closed Normally")  # DeleteConnection
GOING_AWAY = (1001, "Going away")  # idle timeout, maximum lifetime
CLIENT_REASONS = {1000: "Connection Closed Normally", 1001: "Going away"}
NO_STATUS_REASON = "Client-side close frame status not set"  # 1005: the client's close had no code
ABNORMAL_REASON = "Connection closed abnormally"  # 1006: the client vanished without a close frame

_ID_ALPHABET = string.ascii_letters + string.digits


class ConnectionGone(Exception):
    """The connection does not exist (any more): API Gateway's GoneException."""


class OutboxFull(Exception):
    """The client does not keep up with what is posted to it: API Gateway's LimitExceededException."""


@dataclass(frozen=True)
class WebSocketRoute:
    key: str
    function: Invocable
    two_way: bool  # the function's reply goes back to the client


def websocket_routes(
    template: dict[str, Any], functions: Mapping[str, Invocable]
) -> dict[str, WebSocketRoute]:
    """Every route of the template's WebSocket API (route key -> route), each with the function its
    integration invokes; two-way when it selects a route response and has one."""
    for logical_id, api in resources_of_type(template, "AWS::ApiGatewayV2::Api").items():
        properties = api["Properties"]
        selection = properties.get("RouteSelectionExpression")
        if properties.get("ProtocolType") == "WEBSOCKET" and selection != ROUTE_SELECTION_EXPRESSION:
            raise ValueError(f"{logical_id}: only {ROUTE_SELECTION_EXPRESSION} selects routes locally")
    integrations = resources_of_type(template, "AWS::ApiGatewayV2::Integration")
    answered = {
        response["Properties"]["RouteId"].get("Ref")
        for response in resources_of_type(template, "AWS::ApiGatewayV2::RouteResponse").values()
    }
    routes = {}
    for logical_id, route in resources_of_type(template, "AWS::ApiGatewayV2::Route").items():
        properties = route["Properties"]
        integration = _named_in(properties["Target"], r"integrations/\$\{(\w+)\}", logical_id)
        uri = integrations[integration]["Properties"]["IntegrationUri"]
        function_id = _named_in(uri, r"\$\{(\w+)\.Arn\}", integration)
        if function_id not in functions:
            raise ValueError(f"{logical_id}: no function {function_id} to invoke")
        two_way = "RouteResponseSelectionExpression" in properties and logical_id in answered
        routes[properties["RouteKey"]] = WebSocketRoute(
            properties["RouteKey"], functions[function_id], two_way
        )
    return routes


def _named_in(value: Any, pattern: str, owner: str) -> str:
    """The logical id a `!Sub` (or plain string) names in the place the pattern marks."""
    text = value.get("Fn::Sub") if isinstance(value, dict) else value
    found = re.search(pattern, text) if isinstance(text, str) else None
    if not found:
        raise ValueError(f"{owner}: cannot tell what {value!r} refers to")
    return found.group(1)


@dataclass(frozen=True)
class WebSocketApiStats:
    connections_open: int
    connections_total: int
    frames_posted: int
    gone: int  # management requests answered 410 Gone


@dataclass
class _Connection:
    id: str
    socket: ServerConnection
    host: str
    source_ip: str
    user_agent: str
    connected_at: float = field(default_factory=time.time)
    last_active: float = field(default_factory=time.time)
    outbox: asyncio.Queue[str | bytes] = field(default_factory=lambda: asyncio.Queue(OUTBOX_FRAMES))
    closed_by_server: tuple[int, str] | None = None

    def touch(self) -> None:
        self.last_active = time.time()


class LocalWebSocketApi:
    """A WebSocket API stage: the connections on `port`, the `@connections` API on `management_port`."""

    def __init__(
        self,
        host: str,
        port: int,
        management_port: int,
        routes: Mapping[str, WebSocketRoute],
        idle_seconds: float = 600,
        max_lifetime_seconds: float = 7200,
        log: Callable[[str], None] = lambda line: print(line, flush=True),
    ) -> None:
        self.host = host
        self.port = port
        self.management_port = management_port
        self.routes = dict(routes)
        self.idle_seconds = idle_seconds
        self.max_lifetime_seconds = max_lifetime_seconds
        self.log = log
        self._connections: dict[str, _Connection] = {}  # open ones; touched only on the event loop
        # Accepted by $connect, not yet served; a client that vanishes in between leaves no trace.
        self._handshakes: weakref.WeakKeyDictionary[ServerConnection, _Connection] = (
            weakref.WeakKeyDictionary()
        )
        self._closings: set[asyncio.Task[None]] = set()
        self._invokers = ThreadPoolExecutor(INVOKERS, thread_name_prefix="websocket-invoke")
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: threading.Thread | None = None
        self._server: Server | None = None
        self._management: _ManagementServer | None = None
        self._stopping = False
        self._connections_total = 0
        self._frames_posted = 0
        self._gone = 0

    @property
    def url(self) -> str:
        return f"ws://{self.host}:{self.port}"

    @property
    def management_url(self) -> str:
        return f"http://{self.host}:{self.management_port}"

    def start(self) -> "LocalWebSocketApi":
        """Listens on both ports before it returns (a port of 0 becomes the free one taken); a port in use
        raises OSError."""
        self._loop = asyncio.new_event_loop()
        self._loop_thread = threading.Thread(target=self._loop.run_forever, name="websocket-api", daemon=True)
        self._loop_thread.start()
        self._server = self._on_loop(self._listen())
        self.port = self._server.sockets[0].getsockname()[1]
        self._management = _ManagementServer(self.host, self.management_port, self)
        self.management_port = self._management.server_address[1]
        threading.Thread(
            target=self._management.serve_forever, args=(0.1,), name="websocket-management", daemon=True
        ).start()
        return self

    def stop(self) -> None:
        self._stopping = True  # a stage that goes away does not report each connection's end
        if self._management:
            self._management.shutdown()
            self._management.server_close()
        if self._loop and self._loop_thread:
            if self._server:
                try:
                    self._on_loop(self._close_server())
                except TimeoutError:  # a connection whose invocation still runs
                    self.log("websocket api: stopped with connections still closing")
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._loop_thread.join(timeout=15)
            self._loop.close()
        self._invokers.shutdown(wait=False, cancel_futures=True)

    def stats(self) -> WebSocketApiStats:
        return WebSocketApiStats(
            len(self._connections), self._connections_total, self._frames_posted, self._gone
        )

    # The management API's operations; called from its request threads.

    def post(self, connection_id: str, data: bytes) -> None:
        """Queues the data for the client, as a text frame when it is UTF-8, else as a binary one."""
        try:
            frame: str | bytes = data.decode()
        except UnicodeDecodeError:
            frame = data
        self._on_loop(self._post(connection_id, frame))

    def describe(self, connection_id: str) -> dict[str, Any]:
        return self._on_loop(self._describe(connection_id))

    def disconnect(self, connection_id: str) -> None:
        self._on_loop(self._disconnect(connection_id))

    def _on_loop(self, work: Any) -> Any:
        assert self._loop
        return asyncio.run_coroutine_threadsafe(work, self._loop).result(timeout=MANAGEMENT_TIMEOUT)

    async def _post(self, connection_id: str, frame: str | bytes) -> None:
        connection = self._open_connection(connection_id)
        try:
            connection.outbox.put_nowait(frame)
        except asyncio.QueueFull as full:
            raise OutboxFull(connection_id) from full
        self._frames_posted += 1

    async def _describe(self, connection_id: str) -> dict[str, Any]:
        connection = self._open_connection(connection_id)
        return {
            "connectedAt": _iso(connection.connected_at),
            "lastActiveAt": _iso(connection.last_active),
            "identity": {"sourceIp": connection.source_ip, "userAgent": connection.user_agent},
        }

    async def _disconnect(self, connection_id: str) -> None:
        self._close(self._open_connection(connection_id), NORMAL_CLOSE)

    def _open_connection(self, connection_id: str) -> _Connection:
        connection = self._connections.get(connection_id)
        if connection is None:
            self._gone += 1
            raise ConnectionGone(connection_id)
        return connection

    # The connections, on the event loop.

    async def _listen(self) -> Server:
        return await serve(
            self._serve_connection,
            self.host,
            self.port,
            process_request=self._handshake,
            compression=None,  # API Gateway negotiates no extensions
            open_timeout=INTEGRATION_TIMEOUT,
            ping_interval=None,  # API Gateway answers pings but sends none
            max_size=MAX_MESSAGE_BYTES,  # larger: closed with 1009, as API Gateway does
        )

    async def _close_server(self) -> None:
        assert self._server
        self._server.close()
        await self._server.wait_closed()

    async def _handshake(self, socket: ServerConnection, request: Request) -> Response | None:
        """Runs $connect: a 2xx answer opens the connection, any other refuses the handshake with it."""
        address = socket.remote_address
        connection = _Connection(
            _new_id(),
            socket,
            request.headers.get("Host", f"{self.host}:{self.port}"),
            address[0] if address else "",
            request.headers.get("User-Agent", ""),
        )
        route = self.routes.get(CONNECT)
        if route:
            event = _connect_event(connection, request)
            try:
                result = await self._invoke(route, event)
            except Exception as error:
                self.log(f"websocket {CONNECT} {connection.id}: {error}")
                return _refusal(
                    500, {"content-type": "application/json"}, '{"message": "Internal server error"}'
                )
            status = int(result.get("statusCode", 200)) if isinstance(result, dict) else 200
            if not 200 <= status < 300:
                assert isinstance(result, dict)
                return _refusal(status, result.get("headers") or {}, str(result.get("body") or ""))
        self._handshakes[socket] = connection
        return None

    async def _serve_connection(self, socket: ServerConnection) -> None:
        connection = self._handshakes.pop(socket)
        connection.touch()
        self._connections[connection.id] = connection
        self._connections_total += 1
        helpers = [
            asyncio.create_task(self._send_outbox(connection)),
            asyncio.create_task(self._expire(connection)),
        ]
        try:
            async for message in socket:
                connection.touch()
                await self._route(connection, message)
        except ConnectionClosed:
            pass
        finally:
            for helper in helpers:
                helper.cancel()
            self._connections.pop(connection.id, None)
            await socket.wait_closed()
            if not self._stopping:
                self._report_disconnect(connection)

    async def _route(self, connection: _Connection, message: str | bytes) -> None:
        route = self.routes.get(_selected_key(message, self.routes)) or self.routes.get(DEFAULT)
        request_id = _new_id()
        if route is None:
            await self._reply(connection, _gateway_message("Forbidden", connection, request_id))
            return
        try:
            result = await self._invoke(route, _message_event(connection, route.key, message, request_id))
        except Exception as error:
            self.log(f"websocket {route.key} {connection.id}: {error}")
            await self._reply(connection, _gateway_message("Internal server error", connection, request_id))
            return
        if route.two_way and result is not None:
            body = result.get("body") if isinstance(result, dict) else json.dumps(result)
            if body is not None:
                await self._reply(connection, str(body))

    async def _reply(self, connection: _Connection, frame: str) -> None:
        await connection.outbox.put(frame)  # after what was posted before: one writer, in order

    async def _send_outbox(self, connection: _Connection) -> None:
        """Until cancelled: after the close it drains the outbox, so no reply waits for room forever."""
        while True:
            frame = await connection.outbox.get()
            try:
                await connection.socket.send(frame)  # waits while the client reads slowly
            except ConnectionClosed:
                continue
            connection.touch()

    async def _expire(self, connection: _Connection) -> None:
        """Closes the connection when it has been idle too long or has lived its maximum lifetime."""
        while True:
            deadline = min(
                connection.last_active + self.idle_seconds,
                connection.connected_at + self.max_lifetime_seconds,
            )
            if time.time() >= deadline:
                self._close(connection, GOING_AWAY)
                return
            await asyncio.sleep(deadline - time.time())

    def _close(self, connection: _Connection, cause: tuple[int, str]) -> None:
        """Gone for the management API at once; the closing handshake goes on in the background."""
        connection.closed_by_server = cause
        self._connections.pop(connection.id, None)
        code, reason = cause
        closing = asyncio.create_task(connection.socket.close(code, reason if cause == GOING_AWAY else ""))
        self._closings.add(closing)
        closing.add_done_callback(self._closings.discard)

    def _report_disconnect(self, connection: _Connection) -> None:
        """$disconnect, best effort and in the background, as on API Gateway."""
        route = self.routes.get(DISCONNECT)
        if not route:
            return
        code, reason = connection.closed_by_server or _client_close(connection.socket)
        event = _disconnect_event(connection, code, reason)

        def report() -> None:
            try:
                route.function.invoke(event)
            except Exception as error:
                self.log(f"websocket {DISCONNECT} {connection.id}: {error}")

        self._invokers.submit(report)

    async def _invoke(self, route: WebSocketRoute, event: dict[str, Any]) -> Any:
        """In a thread of its own: an invocation blocks, other connections must not wait for it."""
        assert self._loop
        return await self._loop.run_in_executor(self._invokers, route.function.invoke, event)


def _selected_key(message: str | bytes, routes: Mapping[str, WebSocketRoute]) -> str:
    """`$request.body.action`: the route a JSON object's string `action` names, else `$default`."""
    if isinstance(message, bytes):
        return DEFAULT
    try:
        body = json.loads(message)
    except ValueError:
        return DEFAULT
    action = body.get("action") if isinstance(body, dict) else None
    if isinstance(action, str) and action in routes and action not in (CONNECT, DISCONNECT):
        return action
    return DEFAULT


def _client_close(socket: ServerConnection) -> tuple[int, str]:
    code = socket.close_code or 1006
    if code == 1005:
        return code, NO_STATUS_REASON
    if code == 1006:
        return code, ABNORMAL_REASON
    return code, socket.close_reason or CLIENT_REASONS.get(code, "")


def _gateway_message(message: str, connection: _Connection, request_id: str) -> str:
    """The frame API Gateway itself sends when no route takes a message or the function failed."""
    return json.dumps({"message": message, "connectionId": connection.id, "requestId": request_id})


def _refusal(status: int, headers: Mapping[str, Any], body: str) -> Response:
    """The handshake's answer when $connect refuses: its status, headers and body."""
    payload = body.encode()
    try:
        phrase = http.HTTPStatus(status).phrase
    except ValueError:
        phrase = ""
    response_headers = Headers(
        [
            (name, str(value))
            for name, value in headers.items()
            if name.lower() not in ("content-length", "connection")
        ]
    )
    response_headers["Connection"] = "close"
    response_headers["Content-Length"] = str(len(payload))
    return Response(status, phrase, response_headers, payload)


# The events API Gateway builds for a WebSocket API's Lambda proxy integration.


def _request_context(connection: _Connection, route_key: str, event_type: str) -> dict[str, Any]:
    now = time.time()
    request_id = _new_id()
    return {
        "routeKey": route_key,
        "eventType": event_type,
        "extendedRequestId": request_id,
        "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
        "messageDirection": "IN",
        "stage": STAGE,
        "connectedAt": int(connection.connected_at * 1000),
        "requestTimeEpoch": int(now * 1000),
        "identity": {"sourceIp": connection.source_ip, "userAgent": connection.user_agent},
        "requestId": request_id,
        "domainName": connection.host,
        "connectionId": connection.id,
        "apiId": API_ID,
    }


def _connect_event(connection: _Connection, request: Request) -> dict[str, Any]:
    """The handshake's headers and query string; a parameter sent twice keeps its last value in
    `queryStringParameters` and all of them in `multiValueQueryStringParameters`."""
    multi_headers: dict[str, list[str]] = {}
    for name, value in request.headers.raw_items():
        if name.lower() not in ("connection", "upgrade"):
            multi_headers.setdefault(name, []).append(value)
    forwarded = {
        "X-Forwarded-For": connection.source_ip,
        "X-Forwarded-Port": "443",
        "X-Forwarded-Proto": "https",
    }
    for name, value in forwarded.items():
        multi_headers.setdefault(name, [value])
    event: dict[str, Any] = {
        "headers": {name: values[-1] for name, values in multi_headers.items()},
        "multiValueHeaders": multi_headers,
        "requestContext": _request_context(connection, CONNECT, "CONNECT"),
        "isBase64Encoded": False,
    }
    query: dict[str, list[str]] = {}
    for name, value in parse_qsl(urlsplit(request.path).query, keep_blank_values=True):
        query.setdefault(name, []).append(value)
    if query:  # API Gateway leaves both out when the URL has no query string
        event["queryStringParameters"] = {name: values[-1] for name, values in query.items()}
        event["multiValueQueryStringParameters"] = query
    return event


def _message_event(
    connection: _Connection, route_key: str, message: str | bytes, request_id: str
) -> dict[str, Any]:
    context = _request_context(connection, route_key, "MESSAGE") | {"messageId": _new_id()}
    context["requestId"] = request_id  # the one an error frame names
    binary = isinstance(message, bytes)
    return {
        "requestContext": context,
        "body": base64.b64encode(message).decode() if binary else message,
        "isBase64Encoded": binary,
    }


def _disconnect_event(connection: _Connection, code: int, reason: str) -> dict[str, Any]:
    headers = {"Host": connection.host, "X-Forwarded-For": connection.source_ip}
    context = _request_context(connection, DISCONNECT, "DISCONNECT")
    return {
        "headers": headers,
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "requestContext": context | {"disconnectStatusCode": code, "disconnectReason": reason},
        "isBase64Encoded": False,
    }


def _new_id() -> str:
    """Like API Gateway's connection and request ids ("L0SM9cOFvHcCIhw="), without characters a URL
    path would need escaped."""
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(15)) + "="


def _iso(epoch_seconds: float) -> str:
    return (
        time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch_seconds))
        + f".{int(epoch_seconds * 1000) % 1000:03d}Z"
    )


# The `@connections` management API.

_CONNECTION_PATH = re.compile(r"/@connections/([^/]+)/?$")  # after any stage or path prefix


class _ManagementHandler(BaseHTTPRequestHandler):
    server: "_ManagementServer"
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes: no delayed-ACK wait between

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the fan-out posts many times a second."""

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        data = self.rfile.read(length)
        if length > MAX_MESSAGE_BYTES:
            self._error(413, "PayloadTooLargeException", "Message too long")
            return
        self._operate(lambda connection_id: self.server.api.post(connection_id, data), 200)

    def do_GET(self) -> None:
        self._operate(self.server.api.describe, 200)

    def do_DELETE(self) -> None:
        self._operate(self.server.api.disconnect, 204)

    def _operate(self, operation: Callable[[str], Any], status: int) -> None:
        found = _CONNECTION_PATH.search(unquote(urlsplit(self.path).path))
        if not found:
            self._send(404, {"message": "Not Found"}, {"x-amzn-ErrorType": "NotFoundException"})
            return
        try:
            result = operation(found.group(1))
        except ConnectionGone:
            self._error(410, "GoneException", "The connection no longer exists")
            return
        except OutboxFull:
            self._error(429, "LimitExceededException", "The client's buffer is full")
            return
        self._send(status, result)

    def _error(self, status: int, error_type: str, message: str) -> None:
        self._send(status, {"message": message}, {"x-amzn-ErrorType": error_type})

    def _send(self, status: int, body: Any, headers: Mapping[str, str] | None = None) -> None:
        payload = b"" if body is None or status == 204 else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("x-amzn-RequestId", _new_id())
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


class _ManagementServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, host: str, port: int, api: LocalWebSocketApi) -> None:
        super().__init__((host, port), _ManagementHandler)
        self.api = api
