"""The SQS event source mapping, locally: long-poll a queue, invoke a handler, delete what succeeded.

Like Lambda's mapping with ReportBatchItemFailures: messages the handler reports as failed (or all of
them, if it raises) are left alone, so they reappear after the visibility timeout and the queue's
redrive policy moves them to the dead-letter queue after maxReceiveCount receives.
"""

import base64
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from local_stack.events import LambdaContext

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


@dataclass(frozen=True)
class PollReport:
    received: int
    succeeded: int
    failed: int


@dataclass
class SqsTrigger:
    sqs: Any
    queue_url: str
    queue_arn: str
    handler: Handler
    batch_size: int = 10
    function_timeout: float = 8.0
    function_name: str = "crm_worker"

    def poll_once(self, wait_seconds: int = 0) -> PollReport:
        reply = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=self.batch_size,
            WaitTimeSeconds=wait_seconds,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        messages = reply.get("Messages", [])
        if not messages:
            return PollReport(0, 0, 0)
        event = sqs_event(messages, self.queue_arn)
        failed = self._invoke(event, {message["MessageId"] for message in messages})
        done = [m for m in messages if m["MessageId"] not in failed]
        if done:
            self.sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)],
            )
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
