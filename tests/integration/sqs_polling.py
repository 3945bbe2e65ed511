"""SQS's short polling as AWS documents it: a ReceiveMessage that does not wait asks only a sample of the
queue's servers and may answer empty while the queue holds messages (a "false empty response"). moto always
answers from the whole queue, so code that reads a queue with short polls passes against it and misses
messages on AWS. `false_empty_short_polls` makes every short poll of the default session's clients answer
empty, the worst AWS allows; long polls reach moto as they are."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
from botocore.awsrequest import AWSResponse


@contextmanager
def false_empty_short_polls() -> Iterator[list[int]]:
    """Inside the block, each short-polling ReceiveMessage of a client made in it answers no messages; yields
    the wait times of the receives made (seconds)."""
    waits: list[int] = []

    def note_the_wait(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["wait_seconds"] = params.get("WaitTimeSeconds", 0)  # the template's queues default to 0
        waits.append(context["wait_seconds"])

    def answer_empty(context: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
        if context.get("wait_seconds", 0) > 0:
            return None
        return AWSResponse("https://sqs.local", 200, {}, None), {"Messages": []}

    events = boto3._get_default_session()._session  # clients made inside the block carry the hooks
    events.register("before-parameter-build.sqs.ReceiveMessage", note_the_wait, unique_id="short-poll-wait")
    events.register("before-call.sqs.ReceiveMessage", answer_empty, unique_id="short-poll-empty")
    try:
        yield waits
    finally:
        events.unregister("before-parameter-build.sqs.ReceiveMessage", unique_id="short-poll-wait")
        events.unregister("before-call.sqs.ReceiveMessage", unique_id="short-poll-empty")
