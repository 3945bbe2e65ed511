"""Handlers for the local stack's execution environments to run: each one behaviour of a Lambda function."""

import os
import time
from typing import Any


def echo(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {
        "pid": os.getpid(),
        "event": event,
        "mine": os.environ.get("ONLY_MINE"),
        "function": context.function_name,
        "remaining_ms": context.get_remaining_time_in_millis(),
        "niceness": os.getpriority(os.PRIO_PROCESS, 0),
    }


def fail(event: dict[str, Any], context: Any) -> None:
    raise ValueError("no good")


def slow(event: dict[str, Any], context: Any) -> dict[str, Any]:
    time.sleep(event["seconds"])
    return {"pid": os.getpid()}


def die(event: dict[str, Any], context: Any) -> None:
    os._exit(3)


def not_json(event: dict[str, Any], context: Any) -> set[int]:
    return {1, 2}
