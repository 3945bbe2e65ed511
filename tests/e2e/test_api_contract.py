"""The API contract, proven by a fuzzer: schemathesis runs every check over every operation of
docs/openapi.json against the running local stack and finds no failure."""

import json
import time

import pytest

from local_stack.openapi import OPENAPI_PATH
from tests.contract.fuzz_api import fuzz

pytestmark = pytest.mark.e2e
EXAMPLES = 12  # per operation and phase: about a minute on two cores; make fuzz-api runs 300


def test_the_fuzzer_finds_no_contract_violation(local_stack, capsys):
    # Given the running stack, an API key with every scope, a registered clock and terminal
    # When schemathesis runs all its checks over every operation
    result = fuzz(local_stack, EXAMPLES, seed=20261130)
    with capsys.disabled():  # shown in every run, not only on failure
        print(f"\nAPI contract fuzz: {EXAMPLES} examples per operation, {result.seconds:.0f} s")
    # Then it finds no failure, and it really tested every operation
    assert result.exit_code == 0, result.output
    operations = sum(len(methods) for methods in json.loads(OPENAPI_PATH.read_text())["paths"].values())
    assert f"Tested: {operations}" in result.output, result.output
    _wait_until_delivered(local_stack)


def _wait_until_delivered(stack, limit: float = 120) -> None:
    """Accepted fuzz punches reach the mock CRM before the next test resets it."""
    sqs, queue = stack.sqs(), stack.queue_url("PunchQueue")
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    give_up = time.monotonic() + limit
    while time.monotonic() < give_up:
        counts = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=names)["Attributes"]
        if not any(int(counts[name]) for name in names):
            return
        time.sleep(0.5)
