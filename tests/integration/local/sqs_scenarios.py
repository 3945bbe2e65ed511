"""SQS requests and what moto makes of them, identical whether or not moto is patched.

Each scenario sends its requests to a fresh in-process moto holding a work queue (redriven to a dead-letter
queue after two receives), its dead-letter queue and a FIFO queue, on a clock that moves only when the
scenario says so (moto's SQS reads the time through its models module; both sides patch it there alike).
It observes each reply (or error) and, at the end, every queue's attributes and what a last receive gets.
`python -m tests.integration.local.sqs_scenarios` prints every observation as JSON from a fresh interpreter,
where local_stack was never imported: moto exactly as released.

Receipt handles, message IDs and FIFO sequence numbers are random: they are compared as the order in which they first appeared.
"""

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import boto3
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.sqs import models

START = 1_700_000_000.0
WORK, DEAD, FIFO = "work", "dead", "orders.fifo"
_ALL = ["All"]


class Clock:
    def __init__(self) -> None:
        self.now = START

    def tick(self, seconds: float) -> None:
        self.now += seconds


@contextmanager
def _frozen(clock: Clock) -> Iterator[None]:
    saved = models.unix_time, models.unix_time_millis
    models.unix_time = lambda *_: clock.now  # type: ignore[assignment]
    models.unix_time_millis = lambda *_: clock.now * 1000  # type: ignore[assignment]
    try:
        yield
    finally:
        models.unix_time, models.unix_time_millis = saved


class Session:
    """A scenario's client, clock and record: every reply kept, handles and IDs by order of appearance."""

    def __init__(self, sqs: Any, clock: Clock) -> None:
        self.sqs, self.clock = sqs, clock
        self.urls = {name: sqs.get_queue_url(QueueName=name)["QueueUrl"] for name in (WORK, DEAD, FIFO)}
        self.handles: list[str] = []  # every receipt handle received, in order
        self.record: list[Any] = []
        self.sent = 0
        self._tokens: dict[str, str] = {}

    def call(self, action: str, queue: str = WORK, **arguments: Any) -> dict[str, Any]:
        try:
            reply = getattr(self.sqs, action)(QueueUrl=self.urls[queue], **arguments)
        except ClientError as error:
            self.record.append([action, "error", error.response["Error"].get("Code")])
            return {}
        reply.pop("ResponseMetadata", None)
        for message in reply.get("Messages", []):
            self.handles.append(message["ReceiptHandle"])
        self.record.append([action, self._tokenised(reply)])
        return reply

    def send(self, count: int, queue: str = WORK, **arguments: Any) -> None:
        """`count` messages in batches of ten, each body new to the scenario."""
        for start in range(0, count, 10):
            ids = range(self.sent + start, self.sent + min(count, start + 10))
            entries = [{"Id": f"m{n}", "MessageBody": f"body {n}", **arguments} for n in ids]
            self.call("send_message_batch", queue, Entries=entries)
        self.sent += count

    def receive(self, count: int = 10, queue: str = WORK, **arguments: Any) -> dict[str, Any]:
        return self.call(
            "receive_message", queue, MaxNumberOfMessages=count, AttributeNames=["All"], **arguments
        )

    def attributes(self) -> None:
        for name in (WORK, DEAD, FIFO):
            self.call("get_queue_attributes", name, AttributeNames=_ALL)

    def _tokenised(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {key: self._token(key, item) for key, item in value.items()}
        if isinstance(value, list):
            return [self._tokenised(item) for item in value]
        return value

    def _token(self, key: str, value: Any) -> Any:
        if key in ("ReceiptHandle", "MessageId", "SequenceNumber") and isinstance(value, str):
            return self._tokens.setdefault(value, f"{key}-{len(self._tokens)}")
        return self._tokenised(value)


def _sends_and_receives(s: Session) -> None:
    s.send(25)
    s.receive(10)
    s.receive(10, VisibilityTimeout=5)
    s.attributes()
    s.clock.tick(6)
    s.receive(10)  # the five-second ones are back, before the last five never received
    s.receive(10)
    s.call("send_message", MessageBody="alone")


def _visibility_changes(s: Session) -> None:
    s.send(12)
    s.receive(10)
    s.call("change_message_visibility", ReceiptHandle=s.handles[0], VisibilityTimeout=0)
    s.call("change_message_visibility", ReceiptHandle=s.handles[1], VisibilityTimeout=100)
    s.call("change_message_visibility", ReceiptHandle="not-a-handle", VisibilityTimeout=10)
    s.call("change_message_visibility", ReceiptHandle=s.handles[2], VisibilityTimeout=43201)
    entries = [
        {"Id": "a", "ReceiptHandle": s.handles[3], "VisibilityTimeout": 0},
        {"Id": "b", "ReceiptHandle": "bad", "VisibilityTimeout": 5},
        {"Id": "c", "ReceiptHandle": s.handles[4], "VisibilityTimeout": 99999},
    ]
    s.call("change_message_visibility_batch", Entries=entries)
    s.attributes()
    s.receive(10)
    s.clock.tick(31)
    s.attributes()
    s.receive(10)


def _deletes(s: Session) -> None:
    s.send(30)
    s.receive(10)
    s.call("delete_message", ReceiptHandle=s.handles[0])
    s.call("delete_message", ReceiptHandle=s.handles[0])  # again: already deleted
    s.call("delete_message", ReceiptHandle="unknown")
    entries = [{"Id": f"d{n}", "ReceiptHandle": s.handles[n]} for n in range(1, 6)]
    entries.append({"Id": "bad", "ReceiptHandle": "nope"})
    s.call("delete_message_batch", Entries=entries)
    s.attributes()
    s.clock.tick(31)
    s.receive(10)  # the four left in flight come back, with new handles
    s.call("delete_message", ReceiptHandle=s.handles[7])  # the old handle of a message received again
    s.call("delete_message_batch", Entries=[{"Id": "x", "ReceiptHandle": s.handles[8]}])
    s.attributes()
    s.call("change_message_visibility", ReceiptHandle=s.handles[7], VisibilityTimeout=0)


def _delays(s: Session) -> None:
    s.send(5, DelaySeconds=10)
    s.send(5)
    s.call("send_message", MessageBody="later", DelaySeconds=3)
    s.attributes()
    s.receive(10)
    s.clock.tick(4)
    s.attributes()
    s.receive(10)
    s.clock.tick(7)
    s.attributes()
    s.receive(10)
    s.call("send_message", MessageBody="too late", DelaySeconds=901)


def _on_the_second(s: Session) -> None:
    s.send(3, DelaySeconds=2)
    s.send(3)
    s.receive(3, VisibilityTimeout=2)
    s.clock.tick(2)  # exactly when the delays and the visibility timeout end
    s.attributes()
    s.receive(10)
    s.clock.tick(0.001)
    s.attributes()
    s.receive(10)


def _redrive(s: Session) -> None:
    s.send(15)
    for _ in range(3):
        s.receive(10, VisibilityTimeout=2)
        s.receive(10, VisibilityTimeout=2)
        s.attributes()
        s.clock.tick(3)
    s.receive(10, queue=DEAD)
    s.call("delete_message", queue=DEAD, ReceiptHandle=s.handles[0])  # a handle from the first queue
    s.call("delete_message", ReceiptHandle=s.handles[0])
    s.attributes()


def _purge(s: Session) -> None:
    s.send(20, DelaySeconds=2)
    s.send(20)
    s.receive(10)
    s.call("purge_queue")
    s.attributes()
    s.call("delete_message", ReceiptHandle=s.handles[0])
    s.send(3)
    s.receive(10)
    s.attributes()


def _retention(s: Session) -> None:
    s.send(5)
    s.clock.tick(30)
    s.send(5)
    s.clock.tick(40)  # the first five are past the sixty seconds the work queue keeps them
    s.receive(10)
    s.attributes()


def _fifo(s: Session) -> None:
    for group, n in [("g1", 0), ("g2", 1), ("g1", 2), ("g1", 3), ("g2", 4)]:
        s.call(
            "send_message", FIFO, MessageBody=f"o{n}", MessageGroupId=group, MessageDeduplicationId=f"d{n}"
        )
    s.call("send_message", FIFO, MessageBody="dup", MessageGroupId="g1", MessageDeduplicationId="d0")
    s.receive(1, FIFO)
    s.receive(10, FIFO)
    s.call("delete_message", FIFO, ReceiptHandle=s.handles[0])
    s.receive(10, FIFO)
    s.attributes()
    s.clock.tick(31)
    s.receive(10, FIFO)


def _backlog(s: Session) -> None:
    s.send(400)
    for round_ in range(8):
        received = s.receive(10, VisibilityTimeout=1 + round_ % 3)
        kept = received.get("Messages", [])[: round_ % 4]
        if kept:
            entries = [{"Id": f"k{n}", "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(kept)]
            s.call("delete_message_batch", Entries=entries)
        s.send(7)
        s.clock.tick(1)
    s.attributes()
    for _ in range(5):
        s.receive(10)
    s.attributes()


SCENARIOS: dict[str, Callable[[Session], None]] = {
    "sends and receives": _sends_and_receives,
    "visibility changes": _visibility_changes,
    "deletes": _deletes,
    "delays": _delays,
    "on the second": _on_the_second,
    "redrive to the dead-letter queue": _redrive,
    "purge": _purge,
    "retention": _retention,
    "fifo": _fifo,
    "backlog": _backlog,
}


def run(scenario: Callable[[Session], None]) -> list[Any]:
    """The scenario's replies on a fresh moto, then every queue's attributes and a last receive of each."""
    clock = Clock()
    with mock_aws(), _frozen(clock):
        sqs = boto3.client("sqs", region_name="us-east-1")
        dead = sqs.create_queue(QueueName=DEAD)["QueueUrl"]
        dead_arn = sqs.get_queue_attributes(QueueUrl=dead, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        redrive = json.dumps({"deadLetterTargetArn": dead_arn, "maxReceiveCount": 2})
        sqs.create_queue(
            QueueName=WORK, Attributes={"RedrivePolicy": redrive, "MessageRetentionPeriod": "60"}
        )
        sqs.create_queue(QueueName=FIFO, Attributes={"FifoQueue": "true"})
        session = Session(sqs, clock)
        scenario(session)
        session.attributes()
        for name in (WORK, DEAD, FIFO):
            session.receive(10, name)
        return session.record


def main() -> None:
    json.dump({"observed": {name: run(scenario) for name, scenario in SCENARIOS.items()}}, sys.stdout)


if __name__ == "__main__":
    main()
