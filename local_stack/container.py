"""One Lambda execution environment: `python -m local_stack.container`, started by the local stack.

The process imports its function's handler once (the cold start), then runs one invocation at a time:
an event arrives as a JSON line on stdin, the result (or the error) leaves as a JSON line on the pipe
named by LOCAL_RESULT_FD. The handler's logs go to stdout and stderr, as they go to CloudWatch on AWS.
Like Lambda, the environment holds its function's variables and no other function's, and a result must
be JSON.
"""

import importlib
import json
import os
import signal
import sys
import traceback
from collections.abc import Callable
from typing import Any, BinaryIO

from local_stack.chaos import Chaos
from local_stack.events import LambdaContext

Handler = Callable[[dict[str, Any], Any], Any]


def main() -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group: the stack stops us
    results = os.fdopen(int(os.environ["LOCAL_RESULT_FD"]), "wb")
    try:
        Chaos.from_environment().install()  # before the handler creates its clients
        handler = load_handler(os.environ["LOCAL_HANDLER"])
    except Exception as error:  # the function cannot start: say why, as Lambda's Runtime.ImportModuleError
        traceback.print_exc()
        _write(results, {"errorType": "Runtime.ImportModuleError", "errorMessage": repr(error)})
        return 1
    _write(results, {"ready": True})
    name, timeout = os.environ["AWS_LAMBDA_FUNCTION_NAME"], float(os.environ["LOCAL_TIMEOUT"])
    for line in sys.stdin.buffer:
        reply = invoke(handler, json.loads(line), LambdaContext(name, timeout))
        try:
            _write(results, reply)
        except (TypeError, ValueError) as error:  # Lambda, too, returns only what serialises to JSON
            _write(results, {"errorType": "Runtime.MarshalError", "errorMessage": str(error)})
    return 0


def load_handler(dotted: str) -> Handler:
    module_name, function_name = dotted.rsplit(".", 1)
    return getattr(importlib.import_module(module_name), function_name)


def invoke(handler: Handler, event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        return {"result": handler(event, context)}
    except Exception as error:
        traceback.print_exc()  # Lambda logs an unhandled error's stack trace
        return {"errorType": type(error).__name__, "errorMessage": str(error)}


def _write(results: BinaryIO, message: dict[str, Any]) -> None:
    results.write(json.dumps(message).encode() + b"\n")
    results.flush()


if __name__ == "__main__":
    sys.exit(main())
