"""What `python -m local_stack` prints once it is up: where each part listens, and how to use it. Programs
that start a stack on free ports (port 0) read the ports it took from here."""

import json
import re
import subprocess
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from local_stack.stack import LocalStack

UP = "attendance-sync local stack is up"


def banner(stack: LocalStack) -> str:
    config = stack.config
    assert stack.resolver
    punch = {
        "deviceId": "DEV001",
        "userId": "EMP789",
        "timestamp": datetime.now().replace(microsecond=0).isoformat(),
        "type": "in",
    }
    paths = sorted(
        {
            event["Properties"]["Path"]
            for function in stack.functions.values()
            for event in function.events.values()
            if event["Type"] == "HttpApi"
        }
    )
    routes = textwrap.fill(", ".join(paths), width=100, initial_indent=" " * 14, subsequent_indent=" " * 14)
    return f"""
{UP}
  Dashboard   {config.api_url}/    open it in a browser and sign in with the API key below
  HTTP API    {config.api_url}    {len(paths)} paths (docs/openapi.json has the contract):
{routes}
  AWS (moto)  {config.aws_url}    aws --endpoint-url {config.aws_url} --region us-east-1, any credentials
  Mock CRM    {config.crm_url}/crm/attendance
  Live feed   {config.ws_url}    @connections API {config.ws_management_url} (posts to clients)
  API key     {config.api_key}
  Punch queue {stack.resolver.refs["PunchQueue"]}
  DLQ         {stack.resolver.refs["PunchDeadLetterQueue"]}

Send a punch:
  curl -s -X POST {config.api_url}/punches -H 'Authorization: Bearer {config.api_key}' \\
    -H 'Content-Type: application/json' -d '{json.dumps(punch)}'
See it arrive at the CRM:
  curl -s {config.crm_url}/crm/attendance
Watch punches arrive as they happen:
  .venv/bin/attendance watch  (or the dashboard's Live page)

Ctrl-C stops everything.
"""


@dataclass(frozen=True)
class StackUrls:
    api: str
    aws: str
    crm: str
    ws: str
    ws_management: str


_URLS = re.compile(
    r"^  HTTP API +(?P<api>\S+) .*"
    r"^  AWS \(moto\) +(?P<aws>\S+) .*"
    r"^  Mock CRM +(?P<crm>\S+)/crm/attendance$.*"
    r"^  Live feed +(?P<ws>\S+) +@connections API (?P<ws_management>\S+) ",
    re.MULTILINE | re.DOTALL,
)


def urls_in_banner(output: str) -> StackUrls | None:
    """The URLs a stack's banner gives, once it has printed it."""
    found = _URLS.search(output[output.find(UP) :]) if UP in output else None
    return StackUrls(**found.groupdict()) if found else None


def wait_for_banner(
    process: subprocess.Popen, output: Callable[[], str], limit_seconds: float | None
) -> StackUrls | None:
    """The URLs of a stack started as `process`, once its `output` (so far) shows the banner; None if the
    process ends first or `limit_seconds` pass (None: no limit)."""
    give_up = time.monotonic() + limit_seconds if limit_seconds is not None else None
    while not (urls := urls_in_banner(output())):
        if process.poll() is not None or (give_up is not None and time.monotonic() > give_up):
            return None
        time.sleep(0.2)
    return urls
