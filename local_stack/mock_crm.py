"""A mock HR/CRM: records what it receives, keys it as the real system does, and fails on request.

POST /crm/attendance/punch             generic format; 201 {"id": ...}, 200 for a repeated Idempotency-Key
POST /api/method/<frappe check-in>     Frappe HR (hrms or erpnext path); 417 for a repeated check-in
DELETE /crm/attendance/punch/<id>      generic: remove a punch by the id it was given; 204, 404 unknown
DELETE /api/resource/Employee%20Checkin/<name>  Frappe's REST delete: 202 {"message": "ok"}, 404
                                        DoesNotExistError for a name it does not hold
GET  /crm/attendance                   what it holds, with a delivery count per key
GET  /crm/attendance/count             only the counts (cheap to poll while thousands arrive)
POST /crm/_behaviour                   {"failRate": 0..1, "status": 503, "delayMs": 0, "slowRate": 0..1,
                                        "failFirst": 0, "failUsers": [], "requireToken": null,
                                        "retryAfter": null, "rateLimit": null}
POST /crm/_reset                       forget everything, back to healthy and open to any credential

Each path keys what it holds as the real system does. The generic path keys a punch by its
`Idempotency-Key` header (the logId when absent). Frappe HR has no idempotency key and ignores the
header: it refuses a check-in when the same employee already has one at the same time (to the second),
with HTTP 417, ValidationError, "This employee already has a log with the same timestamp." From version
14 (the hrms path) a check-in's log type is part of that comparison, so an IN and an OUT at the same
second are both kept; before it (the erpnext path) employee and time alone decide. Without an employee
or a timestamp Frappe refuses the check-in (417) before looking further.

The snapshot (GET) lists each held punch under its `key`: the generic path's idempotency key (also
given as `logId`), or for Frappe `<employee>|<YYYY-MM-DD HH:MM:SS>|<log type>` (hrms) or
`<employee>|<YYYY-MM-DD HH:MM:SS>` (erpnext). `deliveries` counts the requests that found it stored or
stored it; `attempts` (per entry, and for every key in the top-level map) counts every request made
with that key, failed ones too.

With requireToken set, a punch without exactly that credential gets 401, as from a real CRM: the generic
path wants `Authorization: Bearer <token>`, the Frappe paths `Authorization: token <token>` (the token
being Frappe's "api_key:api_secret").

A simulated failure (failRate, failFirst, failUsers) carries `Retry-After: <retryAfter>` when that is set
(seconds or an HTTP date, sent as given).

With rateLimit set (requests a second), a punch request beyond that many in the last second (a sliding
window, across all connections, on both paths) gets 429 with `Retry-After`: the whole seconds until the
oldest of them is a second old. Refused requests do not fill the window; the snapshot counts them as
`rateLimited`.

A removal passes the same checks as a punch (the rate limit, the credential, then the planned failures,
failUsers naming the removed punch's user), so a removal can be made to fail for now (5xx) or for good
(say status 403, as from a Frappe user without delete permission). A removed punch leaves what the mock
holds (so sending it again stores it anew, as in Frappe) and is listed under `removed` in the snapshot.

Users whose id starts with UNKNOWN are refused as unknown employees (422 generic, 417 Frappe): a
permanent failure to try the dead-letter path with.

The local stack runs it in a process of its own (`python -m local_stack.mock_crm --port N`, through
MockCrmProcess), so that its answers wait for nobody else's work; tests may serve it in-process
(MockCrmServer(...).start()).
"""

import argparse
import json
import math
import random
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import IO, Any
from urllib.parse import unquote

from pydantic import BaseModel, ConfigDict, Field

from local_stack.cpu import yield_cpu

GENERIC_PATH = "/crm/attendance/punch"
FRAPPE_DOCTYPE = "Employee Checkin"
FRAPPE_RESOURCE = f"/api/resource/{FRAPPE_DOCTYPE}/"
FRAPPE_METHOD = ".hr.doctype.employee_checkin.employee_checkin.add_log_based_on_employee_field"
# hrms from version 14 on, whose duplicate check takes the log type in; erpnext before, whose does not
FRAPPE_PATHS = tuple(f"/api/method/{module}{FRAPPE_METHOD}" for module in ("hrms", "erpnext"))


class Behaviour(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    fail_rate: float = Field(default=0.0, ge=0, le=1, alias="failRate")
    status: int = Field(default=503, ge=400, le=599)
    delay_ms: int = Field(default=0, ge=0, le=60_000, alias="delayMs")
    fail_first: int = Field(default=0, ge=0, alias="failFirst")
    fail_users: list[str] = Field(default_factory=list, alias="failUsers")
    slow_rate: float = Field(default=0.0, ge=0, le=1, alias="slowRate")  # share delayed by delayMs (0: all)
    require_token: str | None = Field(
        default=None, min_length=1, alias="requireToken"
    )  # None: any credential
    retry_after: str | None = Field(default=None, min_length=1, alias="retryAfter")  # on simulated failures
    rate_limit: float | None = Field(default=None, gt=0, alias="rateLimit")  # requests a second; None: any


def frappe_checkin_key(body: dict[str, Any], with_log_type: bool) -> str | None:
    """What Frappe compares to find a check-in it already has: the employee (the mock's employees are
    their attendance device IDs) and the time to the second, with the log type from version 14 on. None:
    the employee or the timestamp is missing, which Frappe refuses outright."""
    employee, timestamp = body.get("employee_field_value"), body.get("timestamp")
    if not employee or not timestamp:
        return None
    parts = [str(employee), _frappe_time(str(timestamp))]
    if with_log_type:
        parts.append(str(body.get("log_type") or ""))  # no log type matches only no log type
    return "|".join(parts)


def _frappe_time(timestamp: str) -> str:
    """Frappe drops the microseconds before it compares, so 09:16:00.000000 is 09:16:00."""
    try:
        moment = datetime.fromisoformat(timestamp)
    except ValueError:
        return timestamp
    return moment.replace(microsecond=0).strftime("%Y-%m-%d %H:%M:%S")


@dataclass
class Received:
    key: str  # the generic path's idempotency key, or Frappe's check-in key
    body: dict[str, Any]
    headers: dict[str, str]
    crm_id: str
    frappe: bool
    deliveries: int = 1
    first_at: float = field(default_factory=time.time)


@dataclass
class CrmState:
    behaviour: Behaviour = field(default_factory=Behaviour)
    held: dict[str, Received] = field(default_factory=dict)  # by key, as each path keys punches
    removed: list[Received] = field(default_factory=list)  # taken out by a DELETE, oldest first
    issued: int = 0  # ids given so far: a removal must not make the next id repeat one
    attempts: dict[str, int] = field(default_factory=dict)  # every request per key, failed ones too
    attempt_times: dict[str, list[float]] = field(default_factory=dict)
    requests: int = 0
    rate_limited: int = 0
    admitted: deque[float] = field(default_factory=deque)  # times of the last second's admitted requests
    lock: threading.Lock = field(default_factory=threading.Lock)

    def over_rate(self, now: float) -> float | None:
        """Seconds until a request would be admitted, or None: this one is admitted (and counted)."""
        with self.lock:
            limit = self.behaviour.rate_limit
            if limit is None:
                return None
            while self.admitted and self.admitted[0] <= now - 1:
                self.admitted.popleft()
            if len(self.admitted) >= limit:
                self.rate_limited += 1
                return self.admitted[0] + 1 - now
            self.admitted.append(now)
            return None

    def counts(self) -> dict[str, int]:
        with self.lock:
            return {"count": len(self.held), "requests": self.requests, "rateLimited": self.rate_limited}

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            punches = [
                {
                    "key": r.key,
                    **({} if r.frappe else {"logId": r.key}),
                    "deliveries": r.deliveries,
                    "attempts": self.attempts.get(r.key, 0),
                    "crmId": r.crm_id,
                    "receivedAt": r.first_at,
                    "body": r.body,
                    "authorization": r.headers.get("authorization", ""),
                }
                for r in self.held.values()
            ]
            return {
                "count": len(punches),
                "requests": self.requests,
                "rateLimited": self.rate_limited,
                "attempts": dict(self.attempts),
                "attemptTimes": {key: list(times) for key, times in self.attempt_times.items()},
                "punches": punches,
                "removed": [{"key": r.key, "crmId": r.crm_id} for r in self.removed],
            }


class _Handler(BaseHTTPRequestHandler):
    server: "MockCrmServer"
    protocol_version = "HTTP/1.1"
    # A reply is two writes (headers, then body): with Nagle's algorithm the body waits for the client's
    # delayed ACK of the headers, some 40 ms on every request of a kept-alive connection.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the local stack prints its own summary."""

    def do_GET(self) -> None:
        path = self.path.split("?")[0]
        if path == "/crm/attendance":
            self._reply(HTTPStatus.OK, self.server.state.snapshot())
        elif path == "/crm/attendance/count":
            self._reply(HTTPStatus.OK, self.server.state.counts())
        else:
            self._reply(HTTPStatus.NOT_FOUND, {"error": "not found"})

    def do_POST(self) -> None:
        path = self.path.split("?")[0]
        body = self._body()
        if path == "/crm/_reset":
            self.server.reset()
            self._reply(HTTPStatus.OK, {"reset": True})
        elif path == "/crm/_behaviour":
            self._set_behaviour(body)
        elif path == GENERIC_PATH or path in FRAPPE_PATHS:
            self._punch(body, path)
        else:
            self._reply(HTTPStatus.NOT_FOUND, {"error": "not found"})

    def do_DELETE(self) -> None:
        path = unquote(self.path.split("?")[0])
        frappe = path.startswith(FRAPPE_RESOURCE)
        if not frappe and not path.startswith(GENERIC_PATH + "/"):
            self._reply(HTTPStatus.NOT_FOUND, {"error": "not found"})
            return
        crm_id = path.rpartition("/")[2]
        state = self.server.state
        with state.lock:
            state.requests += 1
            found = next((r for r in state.held.values() if r.crm_id == crm_id and r.frappe == frappe), None)
        user = str(found.body.get("employee_field_value" if frappe else "userId", "")) if found else ""
        if not self._admitted(frappe, user):
            return
        if found is None:
            missing = f"{FRAPPE_DOCTYPE} {crm_id} not found"
            refusal = (
                {"exc_type": "DoesNotExistError", "exception": missing} if frappe else {"error": missing}
            )
            self._reply(HTTPStatus.NOT_FOUND, refusal)
            return
        with state.lock:
            if state.held.pop(found.key, None):
                state.removed.append(found)
        if frappe:
            self._reply(HTTPStatus.ACCEPTED, {"message": "ok"})
        else:
            self._reply(HTTPStatus.NO_CONTENT, None)

    def _set_behaviour(self, body: Any) -> None:
        """The fields sent change; the others are kept."""
        if not isinstance(body, dict):
            self._reply(HTTPStatus.BAD_REQUEST, {"error": "a JSON object of the fields to change expected"})
            return
        state = self.server.state
        try:
            with state.lock:
                merged = state.behaviour.model_dump(by_alias=True) | body
                state.behaviour = Behaviour.model_validate(merged)
        except ValueError as error:
            self._reply(HTTPStatus.BAD_REQUEST, {"error": str(error)})
            return
        self._reply(HTTPStatus.OK, state.behaviour.model_dump(by_alias=True))

    def _punch(self, body: Any, path: str) -> None:
        if not isinstance(body, dict):
            self._reply(HTTPStatus.BAD_REQUEST, {"error": "JSON object expected"})
            return
        frappe = path in FRAPPE_PATHS
        if frappe:  # Frappe has no idempotency key: the header is ignored
            key = frappe_checkin_key(body, with_log_type=path == FRAPPE_PATHS[0])
        else:
            key = self.headers.get("Idempotency-Key") or str(body.get("logId", ""))
        user = str(body.get("employee_field_value" if frappe else "userId", ""))
        self._count(key or "")
        if not self._admitted(frappe, user):
            return
        if key is None:
            self._frappe_refusal("ValidationError", "'employee_field_value' and 'timestamp' are required.")
        elif user.startswith("UNKNOWN"):
            self._refuse_unknown(frappe)
        else:
            self._record(key, body, frappe)

    def _admitted(self, frappe: bool, user: str) -> bool:
        """The checks every request passes, in a real CRM's order: the rate limit, the credential, then (the
        mock's own) a planned failure and the delay; False when one has answered already."""
        state = self.server.state
        wait = state.over_rate(time.monotonic())
        if wait is not None:
            retry_after = str(max(1, math.ceil(wait)))
            self._reply(
                HTTPStatus.TOO_MANY_REQUESTS, {"error": "rate limit exceeded"}, {"Retry-After": retry_after}
            )
            return False
        if not self._authorized(frappe):
            self._refuse_credentials(frappe)
            return False
        failure = self._planned_failure(user)
        behaviour = state.behaviour
        if behaviour.delay_ms and (not behaviour.slow_rate or random.random() < behaviour.slow_rate):  # noqa: S311
            time.sleep(behaviour.delay_ms / 1000)
        if failure:
            retry_after = {"Retry-After": behaviour.retry_after} if behaviour.retry_after else {}
            self._reply(failure, {"error": "simulated failure", "status": failure}, retry_after)
            return False
        return True

    def _count(self, key: str) -> None:
        state = self.server.state
        with state.lock:
            state.requests += 1
            state.attempts[key] = state.attempts.get(key, 0) + 1
            state.attempt_times.setdefault(key, []).append(time.time())

    def _authorized(self, frappe: bool) -> bool:
        """Checked before anything else, as a real CRM does; each path with its own (case-blind) scheme."""
        required = self.server.state.behaviour.require_token
        scheme, _, credential = (self.headers.get("Authorization") or "").partition(" ")
        expected = "token" if frappe else "bearer"
        return required is None or (scheme.lower() == expected and credential == required)

    def _refuse_credentials(self, frappe: bool) -> None:
        if frappe:  # Frappe's AuthenticationError
            self._reply(HTTPStatus.UNAUTHORIZED, {"exc_type": "AuthenticationError"})
        else:
            self._reply(HTTPStatus.UNAUTHORIZED, {"error": "invalid or missing token"})

    def _planned_failure(self, user: str) -> int | None:
        state = self.server.state
        with state.lock:
            behaviour = state.behaviour
            if behaviour.fail_first > 0:
                state.behaviour = behaviour.model_copy(update={"fail_first": behaviour.fail_first - 1})
                return behaviour.status
            if user in behaviour.fail_users or random.random() < behaviour.fail_rate:  # noqa: S311
                return behaviour.status
        return None

    def _refuse_unknown(self, frappe: bool) -> None:
        if frappe:
            self._frappe_refusal("DoesNotExistError", "No Employee found for the given employee field value")
        else:
            self._reply(HTTPStatus.UNPROCESSABLE_ENTITY, {"error": "unknown employee"})

    def _record(self, key: str, body: dict[str, Any], frappe: bool) -> None:
        state = self.server.state
        with state.lock:
            held = state.held.get(key)
            if held:
                held.deliveries += 1
            else:
                state.issued += 1
                crm_id = f"{'EMP-CKIN' if frappe else 'crm'}-{state.issued:05d}"
                headers = {k.lower(): v for k, v in self.headers.items()}
                state.held[key] = Received(key, body, headers, crm_id, frappe)
        if held and frappe:
            self._frappe_refusal(
                "ValidationError", "This employee already has a log with the same timestamp."
            )
        elif held:
            self._reply(HTTPStatus.OK, {"id": held.crm_id, "duplicate": True})
        elif frappe:
            self._reply(HTTPStatus.OK, {"message": {"name": state.held[key].crm_id}})
        else:
            self._reply(HTTPStatus.CREATED, {"id": state.held[key].crm_id})

    def _frappe_refusal(self, exc_type: str, message: str) -> None:
        """Frappe's answer to a failed check: 417, its messages JSON-encoded twice in `_server_messages`."""
        messages = json.dumps([json.dumps({"message": message})])
        self._reply(HTTPStatus.EXPECTATION_FAILED, {"exc_type": exc_type, "_server_messages": messages})

    def _body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            return json.loads(raw) if raw else {}
        except ValueError:
            return None

    def _reply(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        payload = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)


class MockCrmServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # a worker opens a connection per thread at once; 5 would drop (and delay) some

    def __init__(self, host: str = "127.0.0.1", port: int = 5001) -> None:
        super().__init__((host, port), _Handler)
        self.state = CrmState()

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that gave up before the answer (a worker's timeout against a slow CRM) is what a real
        CRM sees too, and no error of ours: not worth the traceback socketserver would print."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)

    def reset(self) -> None:
        with self.state.lock:
            self.state.behaviour = Behaviour()
            self.state.held.clear()
            self.state.attempts.clear()
            self.state.attempt_times.clear()
            self.state.requests = 0
            self.state.rate_limited = 0
            self.state.admitted.clear()

    def start(self) -> "MockCrmServer":
        threading.Thread(target=self.serve_forever, name="mock-crm", daemon=True).start()
        return self


class MockCrmProcess:
    """The mock CRM in a process of its own. It ends with stop(), or as soon as the process that started it
    ends, however that ends: it serves until its standard input, a pipe from here, closes."""

    def __init__(self, host: str = "127.0.0.1", port: int = 5001) -> None:
        """Starts the process; start() waits until it serves."""
        self._process = subprocess.Popen(  # noqa: S603 - this module, on the stack's own host and port
            [sys.executable, "-m", "local_stack.mock_crm", "--host", host, "--port", str(port)],
            cwd=Path(__file__).resolve().parents[1],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        yield_cpu(self._process.pid)  # an outside system only the worker calls: nobody waits on it
        self.url = ""

    def start(self) -> "MockCrmProcess":
        """Once it serves; OSError (as from binding in-process) when it cannot."""
        assert self._process.stdout
        line = self._process.stdout.readline().strip()
        if not line.startswith("serving "):
            self.stop()
            raise OSError(f"mock CRM: {line or f'exited with status {self._process.returncode}'}")
        self.url = line.removeprefix("serving ")
        return self

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def stop(self) -> None:
        pipes: tuple[IO[str] | None, ...] = (self._process.stdin, self._process.stdout)
        for pipe in pipes:
            if pipe and not pipe.closed:
                pipe.close()
        try:
            self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="The mock CRM, until standard input closes.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5001)
    options = parser.parse_args(argv)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group: the stack stops us
    try:
        server = MockCrmServer(options.host, options.port)
    except OSError as error:
        print(error, flush=True)
        return 1
    server.start()
    try:
        print(f"serving {server.url}", flush=True)
    except BrokenPipeError:  # the stack gave up starting before it read this: nothing to serve
        sys.stdout = None  # type: ignore[assignment] - and no second complaint when Python exits
    else:
        sys.stdin.buffer.read()  # EOF: the stack stopped us, or ended without a word
    server.shutdown()
    server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
