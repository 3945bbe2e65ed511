"""BatchGetItem as DynamoDB answers it when throttled: it reads some of the keys asked for and returns the
rest as UnprocessedKeys, for the caller to ask again (moto always reads them all). `throttled_batch_gets`
lets each BatchGetItem of the default session's clients made inside the block read only its first
`processed` keys of each table; moto reads those, and the others come back unprocessed."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tests.integration.client_hooks import hooked


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

    with hooked(
        {
            "before-parameter-build.dynamodb.BatchGetItem": hold_back,
            "after-call.dynamodb.BatchGetItem": report_unprocessed,
        }
    ):
        yield asked
