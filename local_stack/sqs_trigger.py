"""The SQS event source mapping, locally: long-poll a queue, invoke a handler, delete what succeeded.

Like Lambda's mapping with ReportBatchItemFailures: messages the handler reports as failed (or all of
them, if it raises) are left alone, so they reappear after the visibility timeout and the queue's
redrive policy moves them to the dead-letter queue after maxReceiveCount receives.

The queue is read through a QueueReader: over the API with an SQS client, or, when moto runs in this
process, straight from its backend (same messages, without a round trip through HTTP and JSON).
"""

import base64
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from moto.backends import get_backend
from moto.sqs.models import Message

from local_stack.events import LambdaContext

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


# ReceiveMessage's system attributes with AttributeNames ["All"], in the order moto answers them.
_SYSTEM_ATTRIBUTES: tuple[tuple[str, Callable[[Message], Any]], ...] = (
    ("SenderId", lambda m: m.sender_id),
    ("SentTimestamp", lambda m: str(m.sent_timestamp)),
    ("ApproximateReceiveCount", lambda m: str(m.approximate_receive_count)),
    ("ApproximateFirstReceiveTimestamp", lambda m: str(m.approximate_first_receive_timestamp)),
    ("MessageDeduplicationId", lambda m: m.deduplication_id),
    ("MessageGroupId", lambda m: m.group_id),
    ("AWSTraceHeader", lambda m: (m.system_attributes.get("AWSTraceHeader") or {}).get("StringValue")),
    ("SequenceNumber", lambda m: m.sequence_number),
)


@runtime_checkable
class QueueReader(Protocol):
    """What a mapping does with its queue."""

    def receive(self, queue_url: str, count: int, wait_seconds: int) -> list[dict[str, Any]]:
        """Up to `count` messages, as ReceiveMessage answers them with every attribute and message
        attribute, after waiting up to `wait_seconds` for the first; each receive counts, and one past
        the redrive policy's maxReceiveCount moves the message to the dead-letter queue instead."""
        ...

    def delete(self, queue_url: str, receipt_handles: list[str]) -> None: ...


@dataclass(frozen=True)
class Boto3QueueReader:
    """Through the SQS API, with an SQS client."""

    client: Any

    def receive(self, queue_url: str, count: int, wait_seconds: int) -> list[dict[str, Any]]:
        reply = self.client.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=count,
            WaitTimeSeconds=wait_seconds,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        return reply.get("Messages", [])

    def delete(self, queue_url: str, receipt_handles: list[str]) -> None:
        self.client.delete_message_batch(
            QueueUrl=queue_url,
            Entries=[{"Id": str(i), "ReceiptHandle": handle} for i, handle in enumerate(receipt_handles)],
        )


class MotoQueueReader:
    """Straight from moto's backend in this process, through the methods its server calls (so with the
    same locks, long poll and patches), answering what its ReceiveMessage would."""

    def __init__(self, account_id: str, region: str) -> None:
        self._backend = get_backend("sqs")[account_id][region]

    @classmethod
    def for_queue(cls, queue_arn: str) -> "MotoQueueReader":
        _arn, _partition, _service, region, account_id, _name = queue_arn.split(":", 5)
        return cls(account_id, region)

    def receive(self, queue_url: str, count: int, wait_seconds: int) -> list[dict[str, Any]]:
        name = _queue_name(queue_url)
        visibility_timeout = self._backend.get_queue(name).visibility_timeout  # the queue's: none asked
        messages = self._backend.receive_message(name, count, wait_seconds, visibility_timeout, ["All"])
        return [_received(message) for message in messages]

    def delete(self, queue_url: str, receipt_handles: list[str]) -> None:
        self._backend.delete_message_batch(
            _queue_name(queue_url),
            [{"Id": str(i), "ReceiptHandle": handle} for i, handle in enumerate(receipt_handles)],
        )


def _queue_name(queue_url: str) -> str:
    return queue_url.rsplit("/", 1)[-1]  # as moto reads a QueueUrl


def _received(message: Message) -> dict[str, Any]:
    """A message as ReceiveMessage answers it (moto's reply, as a client parses it)."""
    received: dict[str, Any] = {
        "MessageId": message.id,
        "ReceiptHandle": message.receipt_handle,
        "MD5OfBody": message.body_md5,
        "Body": message.body,
    }
    if message.message_attributes:
        received["MessageAttributes"] = message.message_attributes  # moto received a copy: ours
        received["MD5OfMessageAttributes"] = message.attribute_md5
    attributes = ((name, value(message)) for name, value in _SYSTEM_ATTRIBUTES)
    received["Attributes"] = {name: value for name, value in attributes if value is not None}
    return received


def queue_reader(sqs: Any) -> QueueReader:
    """A QueueReader as it is, an SQS client wrapped in one."""
    return sqs if isinstance(sqs, QueueReader) else Boto3QueueReader(sqs)


@dataclass(frozen=True)
class PollReport:
    received: int
    succeeded: int
    failed: int


@dataclass
class SqsTrigger:
    sqs: Any  # a QueueReader, or an SQS client to read through
    queue_url: str
    queue_arn: str
    handler: Handler
    batch_size: int = 10
    function_timeout: float = 8.0
    function_name: str = "crm_worker"
    reader: QueueReader = field(init=False)

    def __post_init__(self) -> None:
        self.reader = queue_reader(self.sqs)

    def poll_once(self, wait_seconds: int = 0) -> PollReport:
        messages = self.reader.receive(self.queue_url, self.batch_size, wait_seconds)
        if not messages:
            return PollReport(0, 0, 0)
        event = sqs_event(messages, self.queue_arn)
        failed = self._invoke(event, {message["MessageId"] for message in messages})
        done = [m for m in messages if m["MessageId"] not in failed]
        if done:
            self.reader.delete(self.queue_url, [message["ReceiptHandle"] for message in done])
        return PollReport(len(messages), len(done), len(failed))

    def _invoke(self, event: dict[str, Any], all_ids: set[str]) -> set[str]:
        """The messageIds the invocation failed: those reported, or all when the function raised."""
        try:
            result = self.handler(event, LambdaContext(self.function_name, self.function_timeout)) or {}
        except Exception:
            return all_ids
        return {failure["itemIdentifier"] for failure in result.get("batchItemFailures", [])}


def sqs_event(messages: list[dict[str, Any]], queue_arn: str) -> dict[str, Any]:
    """The event Lambda's SQS mapping builds from received messages."""
    return {"Records": [_record(message, queue_arn) for message in messages]}


def _record(message: dict[str, Any], queue_arn: str) -> dict[str, Any]:
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": message.get("Attributes", {}),
        "messageAttributes": {
            name: _attribute(value) for name, value in message.get("MessageAttributes", {}).items()
        },
        "md5OfBody": hashlib.md5(message["Body"].encode()).hexdigest(),  # noqa: S324 - SQS's own checksum
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": "us-east-1",
    }


def _attribute(value: dict[str, Any]) -> dict[str, Any]:
    """A message attribute as Lambda puts it in the event: lowerCamel keys, empty lists included."""
    attribute = {"stringListValues": [], "binaryListValues": [], "dataType": value["DataType"]}
    if "StringValue" in value:
        attribute["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        attribute["binaryValue"] = base64.b64encode(value["BinaryValue"]).decode()
    return attribute
