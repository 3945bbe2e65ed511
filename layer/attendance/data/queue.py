"""The punch queue: each message is {"logId": ...}; the worker reads the punch from the table.

A punch whose delivery is put off (the CRM asked to wait) gets a new message rather than a longer
visibility timeout: SQS counts every receive of a message, and the queue's redrive policy would
dead-letter a punch that was only ever told to wait. The failed attempts it has spent ride in a message
attribute, so the body keeps the queue's one format and a redrive from the dead-letter queue (a fresh
message) starts counting again.
"""

import json
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from itertools import batched
from typing import Any

from aws_lambda_powertools import Logger
from botocore.exceptions import BotoCoreError, ClientError

logger = Logger(child=True)
SQS_BATCH_LIMIT = 10
_PARALLEL_SENDS = 8  # botocore's default connection pool holds ten
ATTEMPTS_ATTRIBUTE = "attempts"


def message_body(log_id: str) -> str:
    """The one message format of the punch queue, and so of its dead-letter queue."""
    return json.dumps({"logId": log_id})


def attempts_in(message_attributes: dict[str, Any] | None) -> int:
    """The failed attempts a punch queue record (of Lambda's SQS event) says its punch had before it."""
    attribute = (message_attributes or {}).get(ATTEMPTS_ATTRIBUTE) or {}
    value = attribute.get("stringValue") or "0"  # as Lambda's SQS event has it
    try:
        return max(0, int(value))
    except ValueError:
        return 0


def log_id_in(body: str) -> str:
    """The logId a punch message carries; raises ValueError, KeyError or TypeError for any other body."""
    return str(json.loads(body)["logId"])


class PunchQueue:
    def __init__(self, client: Any, queue_url: str) -> None:
        self._client = client
        self._queue_url = queue_url

    def send(self, log_ids: Sequence[str]) -> list[str]:
        """Queue each logId, ten to a request, several requests at once; returns the ones that could not
        be queued (a 500-punch batch is 50 requests: one after another they would eat its time).

        Never raises: a punch that is stored but not queued stays pending and the sweep queues it.
        """
        groups = list(batched(log_ids, SQS_BATCH_LIMIT))
        if len(groups) <= 1:
            return [log_id for group in groups for log_id in self._send_group(group)]
        with ThreadPoolExecutor(max_workers=min(_PARALLEL_SENDS, len(groups))) as pool:
            return [log_id for unsent in pool.map(self._send_group, groups) for log_id in unsent]

    def _send_group(self, group: tuple[str, ...]) -> list[str]:
        entries = [
            {"Id": str(index), "MessageBody": message_body(log_id)} for index, log_id in enumerate(group)
        ]
        try:
            reply = self._client.send_message_batch(QueueUrl=self._queue_url, Entries=entries)
        except (BotoCoreError, ClientError):
            logger.exception("queue send failed; the sweep will requeue", extra={"logIds": list(group)})
            return list(group)
        failed = [group[int(entry["Id"])] for entry in reply.get("Failed", [])]
        if failed:
            logger.error("queue refused some messages; the sweep will requeue", extra={"logIds": failed})
        return failed

    def send_later(self, log_id: str, delay_seconds: int, attempts: int) -> bool:
        """Queue the punch again, visible after delay_seconds (0-900), with the attempts it has spent;
        False when SQS refused."""
        try:
            self._client.send_message(
                QueueUrl=self._queue_url,
                MessageBody=message_body(log_id),
                DelaySeconds=delay_seconds,
                MessageAttributes={ATTEMPTS_ATTRIBUTE: {"DataType": "Number", "StringValue": str(attempts)}},
            )
        except (BotoCoreError, ClientError):
            logger.exception("could not queue a deferred punch again", extra={"logId": log_id})
            return False
        return True
