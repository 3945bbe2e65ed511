"""The HTTP API, locally: every HttpApi route of template.yaml, as API Gateway payload 2.0 events."""

import base64
import json
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from local_stack.events import http_api_event
from local_stack.functions import HttpRoute
from local_stack.throttle import TOO_MANY_REQUESTS, RouteThrottle, ThrottleSettings

MAX_PAYLOAD_BYTES = 10 * 1024 * 1024  # API Gateway HTTP API's limit


class _Handler(BaseHTTPRequestHandler):
    server: "LocalApiServer"
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes: no delayed-ACK wait between

    def log_message(self, format: str, *args: Any) -> None:
        self.server.log(f"{self.command} {self.path} -> {args[1] if len(args) > 1 else ''}")

    def __getattr__(self, name: str) -> Callable[[], None]:
        # Every method reaches the routes, as on API Gateway: the HTTP server would answer an unknown
        # method (TRACE, PATCH, ...) with its own HTML 501 page.
        if name.startswith("do_"):
            return self._dispatch
        raise AttributeError(name)

    def _dispatch(self) -> None:
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_PAYLOAD_BYTES:
            self._send(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, {}, b'{"message":"Request Entity Too Large"}')
            return
        body = self.rfile.read(length) if length else None
        for route in self.server.routes:
            parameters = route.match(self.command, url.path)
            if parameters is not None:
                route_key = f"{route.method.upper()} {route.path}"
                if not self.server.throttle.admits(route_key):
                    self._send(
                        HTTPStatus.TOO_MANY_REQUESTS, {"content-type": "application/json"}, TOO_MANY_REQUESTS
                    )
                    return
                event = http_api_event(
                    self.command,
                    url.path,
                    body,
                    dict(self.headers.items()),
                    query_parameters(url.query),
                )
                event["routeKey"] = route_key
                event["pathParameters"] = parameters or None
                try:
                    result = route.function.invoke(event)
                except Exception as error:  # API Gateway's answer when the function fails
                    self.server.log(f"{self.command} {url.path}: {error}")
                    self._send(
                        HTTPStatus.INTERNAL_SERVER_ERROR,
                        {"content-type": "application/json"},
                        b'{"message":"Internal Server Error"}',
                    )
                    return
                self._respond(result)
                return
        # API Gateway's own answer when no route matches the method and path
        self._send(HTTPStatus.NOT_FOUND, {"content-type": "application/json"}, b'{"message":"Not Found"}')

    def _respond(self, result: dict[str, Any]) -> None:
        body = result.get("body") or ""
        payload = base64.b64decode(body) if result.get("isBase64Encoded") else body.encode()
        headers = {key.lower(): str(value) for key, value in (result.get("headers") or {}).items()}
        self._send(int(result.get("statusCode", 200)), headers, payload)

    def _send(self, status: int, headers: dict[str, str], payload: bytes) -> None:
        self.send_response(status)
        for key, value in headers.items():
            if key not in ("content-length", "connection"):
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)


def query_parameters(query: str) -> dict[str, str] | None:
    """As payload 2.0 has them: a parameter sent more than once arrives as its values joined by commas."""
    values: dict[str, list[str]] = {}
    for name, value in parse_qsl(query, keep_blank_values=True):
        values.setdefault(name, []).append(value)
    return {name: ",".join(each) for name, each in values.items()} or None


class LocalApiServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self,
        host: str,
        port: int,
        routes: list[HttpRoute] | None = None,
        verbose: bool = False,
        throttle: ThrottleSettings | None = None,
    ) -> None:
        """Listens on `port` (0: any free one) at once; `throttle`: the stage's route throttling (None: none).
        Without routes, it serves none until `open_routes`."""
        super().__init__((host, port), _Handler)
        self.routes = routes or []
        self.verbose = verbose
        self.throttle = RouteThrottle(throttle)
        self._serving = False

    @property
    def port(self) -> int:
        return self.server_address[1]

    def open_routes(self, routes: list[HttpRoute], throttle: ThrottleSettings | None) -> None:
        self.routes = routes
        self.throttle = RouteThrottle(throttle)

    def serve_forever(self, poll_interval: float = 0.5) -> None:
        self._serving = True
        super().serve_forever(poll_interval)

    def stop(self) -> None:
        """Stops serving, if it began (shutdown() would wait forever for a loop that never ran), and closes
        the port."""
        if self._serving:
            self.shutdown()
        self.server_close()

    def log(self, line: str) -> None:
        if self.verbose:
            print(json.dumps({"api": line}), flush=True)
