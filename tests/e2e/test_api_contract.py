"""The API contract, proven by a fuzzer: schemathesis runs every check over every operation of
docs/openapi.json against the running local stack and finds no failure."""

import json
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from attendance.stack_names import STACK_PREFIX
from local_stack.openapi import OPENAPI_PATH
from local_stack.stack import local_client
from tests.contract.fuzz_api import fuzz

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
EXAMPLES = 8  # per operation and phase, beside the other tests; make fuzz-api runs 300


def test_the_fuzzer_finds_no_contract_violation(local_stack, capsys):
    # Given the running stack, an API key with every scope, a registered clock and terminal
    # When schemathesis runs all its checks over every operation
    with devices_kept_as_they_are(local_stack):
        result = fuzz(local_stack, EXAMPLES, seed=20261130)
    with capsys.disabled():  # shown in every run, not only on failure
        print(f"\nAPI contract fuzz: {EXAMPLES} examples per operation, {result.seconds:.0f} s")
    # Then it finds no failure, and it really tested every operation
    assert result.exit_code == 0, result.output
    operations = sum(len(methods) for methods in json.loads(OPENAPI_PATH.read_text())["paths"].values())
    assert f"Tested: {operations}" in result.output, result.output
    local_stack.wait_until_queue_is_empty(limit=120)  # the accepted fuzz punches reach the CRM now


@contextmanager
def devices_kept_as_they_are(stack) -> Iterator[None]:
    """The device registry as it was before the block: the fuzz registers, changes and disables devices
    with the IDs of the contract's examples (DEV001), which the other tests on this shared stack send as."""
    dynamodb, table = local_client("dynamodb", stack.aws_url), f"{STACK_PREFIX}-DevicesTable"

    def registry() -> dict[str, dict]:
        pages = dynamodb.get_paginator("scan").paginate(TableName=table)
        return {item["deviceId"]["S"]: item for page in pages for item in page["Items"]}

    before = registry()
    try:
        yield
    finally:
        for device_id, item in registry().items():
            if device_id not in before:
                dynamodb.delete_item(TableName=table, Key={"deviceId": item["deviceId"]})
            elif item != before[device_id]:
                dynamodb.put_item(TableName=table, Item=before[device_id])
