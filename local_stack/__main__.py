"""`python -m local_stack` (make run): start everything in the foreground; Ctrl-C stops it."""

import json
import signal
import sys
import textwrap
from datetime import datetime
from types import FrameType

from local_stack.functions import FunctionError
from local_stack.stack import LocalConfig, LocalStack, wait_for_stop


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
attendance-sync local stack is up
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


def main() -> int:
    stack = LocalStack(LocalConfig.from_environment())

    def on_terminate(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_terminate)
    signal.signal(signal.SIGINT, on_terminate)  # also when started in the background, where SIGINT is ignored
    try:
        stack.start()
    except OSError as error:
        print(
            f"could not start: {error} (is another stack running? set API_PORT, AWS_PORT, CRM_PORT, WS_PORT)"
        )
        stack.stop()
        return 1
    except FunctionError as error:  # a handler that does not load: its traceback is printed above
        print(f"could not start: {error}")
        stack.stop()
        return 1
    print(banner(stack), flush=True)
    wait_for_stop(stack)
    return 0


if __name__ == "__main__":
    sys.exit(main())
