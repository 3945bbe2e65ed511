"""Pushing punches to the ingest endpoint (gzip batches of up to 500) and device health reports; explicit
timeouts, the key never logged."""

import enum
import gzip
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx


class PushFailed(Exception):
    """The batch was not answered for; everything stays in the outbox."""

    def __init__(self, message: str, overloaded: bool = False, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.overloaded = overloaded  # a smaller batch may get through where this one did not
        self.retry_after = retry_after  # too many requests: the same batch may go after this many seconds


# Refusals an admin lifts in the cloud (enables the device, lets the key send for it): such a punch is held
# and sent again, never given up like a punch that is wrong in itself.
LIFTABLE_REFUSALS = frozenset({"device_disabled", "device_not_allowed"})


@dataclass(frozen=True)
class ItemOutcome:
    status: str  # accepted | duplicate | rejected | retry
    log_id: str | None
    reason: str | None
    code: str | None = None  # a rejection's code, e.g. invalid_punch or device_disabled

    @property
    def held(self) -> bool:
        """Refused for now, for a reason an admin can lift: keep it and send it again later."""
        return self.status == "rejected" and self.code in LIFTABLE_REFUSALS

    @property
    def delivered(self) -> bool:
        """Accepted and duplicate both mean the cloud has the punch."""
        return self.status in ("accepted", "duplicate")

    @property
    def retry(self) -> bool:
        """Not stored: the cloud ran short of time before reaching it; send it again later."""
        return self.status == "retry"


@dataclass(frozen=True)
class PushAnswer:
    outcomes: list[ItemOutcome]  # in the order of the punches sent
    retry_after: float  # seconds to wait before sending the retry items again (0 when there are none)

    @property
    def retries(self) -> int:
        return sum(outcome.retry for outcome in self.outcomes)


class HealthAnswer(enum.Enum):
    ACCEPTED = "accepted"
    NOT_REGISTERED = "not registered"  # 404: the cloud does not know this device ID
    REFUSED = "refused"  # the key or the body: sending the same again would be refused again
    FAILED = "failed"  # unreachable, timeout, 5xx: worth trying again next cycle


@dataclass(frozen=True)
class HealthOutcome:
    answer: HealthAnswer
    detail: str = ""


DEFAULT_RETRY_AFTER_SECONDS = 2.0  # when a partial answer names no wait
# Answers that say the batch was too much for the cloud at that moment (a 500 is also what a function
# that ran out of time gives through API Gateway)
_OVERLOADED = {413, 500, 502, 503, 504}
HEALTH_TIMEOUT_SECONDS = 10.0  # a report is small; a slow cloud must not hold up the next read for long
_GZIP = {"Content-Encoding": "gzip"}


class CloudClient:
    def __init__(self, base_url: str, api_key: str, timeout_seconds: float) -> None:
        self._base = base_url.rstrip("/")
        self._url = self._base + "/punches"
        self._timeout = timeout_seconds
        self._health_timeout = min(HEALTH_TIMEOUT_SECONDS, timeout_seconds)
        self._http = httpx.Client(
            timeout=httpx.Timeout(timeout_seconds, connect=min(10.0, timeout_seconds)),
            headers={
                "Authorization": f"Bearer {api_key}",
                "Content-Type": "application/json",
                "User-Agent": "attendance-sync-edge-poller",
            },
        )
        self.requests = 0

    def push(self, punches: list[dict[str, Any]]) -> PushAnswer:
        body = gzip.compress(json.dumps({"punches": punches}).encode())
        self.requests += 1
        try:
            response = self._http.post(self._url, content=body, headers=_GZIP)
        except httpx.TimeoutException as error:
            # No connection at all is no sign of load; a request sent and not answered in time is
            connected = not isinstance(error, httpx.ConnectTimeout)
            raise PushFailed(
                f"no answer in {self._timeout:g} s ({type(error).__name__})", connected
            ) from error
        except (httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError) as error:
            # Connected, then dropped mid-request: the server (or a proxy) gave up on it
            raise PushFailed(f"connection lost mid-push: {type(error).__name__}: {error}", True) from error
        except httpx.HTTPError as error:
            raise PushFailed(f"cloud unreachable: {type(error).__name__}: {error}") from error
        if response.status_code == httpx.codes.TOO_MANY_REQUESTS:
            # Too many requests (our key's rate, or the API's throttle), not too big a batch: a smaller
            # one would only mean more requests
            raise PushFailed(
                f"cloud answered HTTP 429: {response.text[:200]}",
                retry_after=_retry_after(response.headers.get("Retry-After")),
            )
        if response.status_code != httpx.codes.OK:
            raise PushFailed(
                f"cloud answered HTTP {response.status_code}: {response.text[:200]}",
                response.status_code in _OVERLOADED,
            )
        try:
            document = response.json()
            results = document.get("results", [])
            outcomes = [
                ItemOutcome(r["status"], r.get("logId"), r.get("reason") or r.get("error"), r.get("error"))
                for r in sorted(results, key=lambda r: r["index"])
            ]
        except (ValueError, AttributeError, KeyError, TypeError) as error:
            # a proxy's or a captive portal's page, say: nothing says what the cloud did with the batch
            raise PushFailed(f"the answer is not the API's: {_not_the_api(response)}") from error
        if len(outcomes) != len(punches):
            raise PushFailed("cloud answered with a different number of results")
        wait = 0.0
        if any(outcome.retry for outcome in outcomes):
            wait = _retry_after(document.get("retryAfter"), response.headers.get("Retry-After"))
        return PushAnswer(outcomes, wait)

    def check(self) -> str:
        """Does the endpoint answer and take our key? The API checks the key before the body, so an empty
        batch (refused, storing nothing) is a 401 or 403 for a key it does not take."""
        try:
            response = self._http.post(self._url, content=gzip.compress(b'{"punches": []}'), headers=_GZIP)
        except httpx.HTTPError as error:
            return f"unreachable: {error}"
        code = response.status_code
        if code in (httpx.codes.UNAUTHORIZED, httpx.codes.FORBIDDEN):
            return f"reachable, but the API key is refused (HTTP {code}: {response.text[:200]})"
        if code == httpx.codes.NOT_FOUND:
            return f"reachable, but {self._url} is no punch endpoint (HTTP 404): check cloud_url"
        if response.is_server_error:
            return f"reachable, but failing (HTTP {code}); try again later"
        try:
            response.json()
        except ValueError:
            return f"reachable, but the answer is not the API's: {_not_the_api(response)}"
        return "reachable, API key accepted"

    def report_health(self, device_id: str, report: dict[str, Any]) -> HealthOutcome:
        """POST /devices/{deviceId}/health: 202 is the only answer that means the cloud has the report."""
        self.requests += 1
        try:
            response = self._http.post(
                f"{self._base}/devices/{quote(device_id, safe='')}/health",
                json=report,
                timeout=self._health_timeout,
            )
        except httpx.HTTPError as error:
            return HealthOutcome(HealthAnswer.FAILED, f"cloud unreachable: {type(error).__name__}: {error}")
        detail = f"HTTP {response.status_code}: {response.text[:200]}"
        if response.status_code == httpx.codes.ACCEPTED:
            return HealthOutcome(HealthAnswer.ACCEPTED)
        if response.status_code == httpx.codes.NOT_FOUND:
            return HealthOutcome(HealthAnswer.NOT_REGISTERED, detail)
        if response.is_client_error and response.status_code != httpx.codes.TOO_MANY_REQUESTS:
            return HealthOutcome(HealthAnswer.REFUSED, detail)
        return HealthOutcome(HealthAnswer.FAILED, detail)

    def close(self) -> None:
        self._http.close()


def _not_the_api(response: httpx.Response) -> str:
    """What came back instead of the API's JSON, for the person who must find what stands in the way."""
    kind = response.headers.get("Content-Type", "no content type")
    return (
        f"HTTP {response.status_code}, {kind}: {response.text[:80]!r} (a proxy or a login page between this"
        " office and the cloud? check cloud_url)"
    )


def _retry_after(*candidates: object) -> float:
    """The first wait given in seconds (the body's retryAfter, then the Retry-After header)."""
    for value in candidates:
        try:
            seconds = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            continue  # absent, or an HTTP date
        if 0 <= seconds < float("inf"):
            return seconds
    return DEFAULT_RETRY_AFTER_SECONDS
