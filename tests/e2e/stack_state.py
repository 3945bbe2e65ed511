"""What a test changes in the shared stack's tables, put back as it was for the tests after it."""

from collections.abc import Iterator
from contextlib import contextmanager

from attendance.stack_names import STACK_PREFIX
from local_stack.running import RunningStack
from local_stack.stack import local_client


@contextmanager
def kept_as_it_is(stack: RunningStack, logical_id: str, key: str) -> Iterator[None]:
    """A table as it was before the block (of one key attribute, `key`): items added are deleted, items
    changed or deleted are put back."""
    dynamodb, table = local_client("dynamodb", stack.aws_url), f"{STACK_PREFIX}-{logical_id}"

    def items() -> dict[str, dict]:
        pages = dynamodb.get_paginator("scan").paginate(TableName=table)
        return {item[key]["S"]: item for page in pages for item in page["Items"]}

    before = items()
    try:
        yield
    finally:
        after = items()
        for name, item in after.items():
            if name not in before:
                dynamodb.delete_item(TableName=table, Key={key: item[key]})
        for name, item in before.items():
            if after.get(name) != item:
                dynamodb.put_item(TableName=table, Item=item)
