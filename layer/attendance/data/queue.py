"""The punch queue: each message is {"logId": ...}; the worker reads the punch from the table."""

import json
from collections.abc import Sequence
from itertools import batched
from typing import Any

from aws_lambda_powertools import Logger
from botocore.exceptions import BotoCoreError, ClientError

logger = Logger(child=True)
SQS_BATCH_LIMIT = 10


def message_body(log_id: str) -> str:
    """The one message format of the punch queue, and so of its dead-letter queue."""
    return json.dumps({"logId": log_id})


def log_id_in(body: str) -> str:
    """The logId a punch message carries; raises ValueError, KeyError or TypeError for any other body."""
    return str(json.loads(body)["logId"])


class PunchQueue:
    def __init__(self, client: Any, queue_url: str) -> None:
        self._client = client
        self._queue_url = queue_url

    def send(self, log_ids: Sequence[str]) -> list[str]:
        """Queue each logId, ten to a request; returns the ones that could not be queued.

        Never raises: a punch that is stored but not queued stays pending and the sweep queues it.
        """
        unsent: list[str] = []
        for group in batched(log_ids, SQS_BATCH_LIMIT):
            entries = [
                {"Id": str(index), "MessageBody": message_body(log_id)} for index, log_id in enumerate(group)
            ]
            try:
                reply = self._client.send_message_batch(QueueUrl=self._queue_url, Entries=entries)
            except (BotoCoreError, ClientError):
                logger.exception("queue send failed; the sweep will requeue", extra={"logIds": list(group)})
                unsent += group
                continue
            failed = [group[int(entry["Id"])] for entry in reply.get("Failed", [])]
            if failed:
                logger.error("queue refused some messages; the sweep will requeue", extra={"logIds": failed})
            unsent += failed
        return unsent
