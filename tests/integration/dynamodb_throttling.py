"""BatchGetItem as DynamoDB answers it when throttled: it reads some of the keys asked for and returns the
rest as UnprocessedKeys, for the caller to ask again (moto always reads them all). `throttled_batch_gets`
lets each BatchGetItem of the default session's clients made inside the block read only its first
`processed` keys of each table; moto reads those, and the others come back unprocessed."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3


@contextmanager
def throttled_batch_gets(processed: int) -> Iterator[list[int]]:
    """Yields the number of keys each BatchGetItem asked for, in order."""
    asked: list[int] = []

    def hold_back(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        held = {}
        for table, request in params["RequestItems"].items():
            keys = request["Keys"]
            asked.append(len(keys))
            if len(keys) > processed:
                held[table] = {**request, "Keys": keys[processed:]}
                request["Keys"] = keys[:processed]
        context["held_back"] = held

    def report_unprocessed(parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        if context.get("held_back"):
            parsed["UnprocessedKeys"] = context["held_back"]

    session = boto3._get_default_session()._session  # clients made inside the block carry the hooks
    session.register("before-parameter-build.dynamodb.BatchGetItem", hold_back, unique_id="throttle-hold")
    session.register("after-call.dynamodb.BatchGetItem", report_unprocessed, unique_id="throttle-report")
    try:
        yield asked
    finally:
        session.unregister("before-parameter-build.dynamodb.BatchGetItem", unique_id="throttle-hold")
        session.unregister("after-call.dynamodb.BatchGetItem", unique_id="throttle-report")
