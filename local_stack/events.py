"""Lambda events and contexts as AWS builds them, for calling the real handlers in-process."""

import base64
import time
import uuid
from dataclasses import dataclass, field
from typing import Any


def http_api_event(
    method: str,
    path: str,
    body: bytes | str | None = None,
    headers: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    source_ip: str = "127.0.0.1",
) -> dict[str, Any]:
    """An API Gateway HTTP API (payload 2.0) event. Binary bodies arrive base64-encoded, as on AWS."""
    headers = {key.lower(): value for key, value in (headers or {}).items()}
    raw = body.encode() if isinstance(body, str) else body
    is_text = raw is not None and _is_text(raw, headers)
    now = time.time()
    return {
        "version": "2.0",
        "routeKey": f"{method} {path}",
        "rawPath": path,
        "rawQueryString": "&".join(f"{key}={value}" for key, value in (query or {}).items()),
        "queryStringParameters": query or None,
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "local",
            "domainName": "localhost",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": headers.get("user-agent", ""),
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": f"{method} {path}",
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        "body": None if raw is None else (raw.decode() if is_text else base64.b64encode(raw).decode()),
        "isBase64Encoded": raw is not None and not is_text,
    }


def _is_text(raw: bytes, headers: dict[str, str]) -> bool:
    if headers.get("content-encoding", "identity") not in ("identity", ""):
        return False
    try:
        raw.decode()
    except UnicodeDecodeError:
        return False
    return True


@dataclass
class LambdaContext:
    """What the Lambda runtime passes as `context`, with a real remaining-time clock."""

    function_name: str = "local"
    timeout_seconds: float = 10.0
    memory_limit_in_mb: int = 256
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    _started: float = field(default_factory=time.monotonic)

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:us-east-1:123456789012:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.timeout_seconds - (time.monotonic() - self._started)) * 1000))
