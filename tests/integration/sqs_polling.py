"""SQS as AWS documents it where moto is exact: a ReceiveMessage that does not wait asks only a sample of
the queue's servers and may answer empty while the queue holds messages (a "false empty response"), and a
queue's approximate counts may lag a minute behind the messages sent. moto always answers from the whole
queue with exact counts, so code that trusts either passes against it and misses messages on AWS.
`false_empty_short_polls` makes every short poll of the default session's clients answer empty, the worst
AWS allows; `lagging_counts` has GetQueueAttributes count fewer messages than there are."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from botocore.awsrequest import AWSResponse

from tests.integration.client_hooks import hooked


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

    with hooked(
        {
            "before-parameter-build.sqs.ReceiveMessage": note_the_wait,
            "before-call.sqs.ReceiveMessage": answer_empty,
        }
    ):
        yield waits


@contextmanager
def lagging_counts(behind: int) -> Iterator[None]:
    """Inside the block, GetQueueAttributes of clients made in it counts `behind` fewer visible messages
    (never below 0), as a count not yet caught up with the latest sends."""

    def undercount(parsed: dict[str, Any], **_: Any) -> None:
        attributes = parsed.get("Attributes", {})
        if "ApproximateNumberOfMessages" in attributes:
            counted = int(attributes["ApproximateNumberOfMessages"])
            attributes["ApproximateNumberOfMessages"] = str(max(0, counted - behind))

    with hooked({"after-call.sqs.GetQueueAttributes": undercount}):
        yield
