"""The API contract, proven by a fuzzer: schemathesis runs every check over every operation of
docs/openapi.json against the running local stack and finds no failure."""

import json

import pytest

from local_stack.openapi import OPENAPI_PATH
from tests.contract.fuzz_api import fuzz
from tests.e2e.stack_state import kept_as_it_is

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
EXAMPLES = 8  # per operation and phase, beside the other tests; make fuzz-api runs 300


def test_the_fuzzer_finds_no_contract_violation(local_stack, capsys):
    # Given the running stack, an API key with every scope, a registered clock and terminal
    # When schemathesis runs all its checks over every operation
    # (the device registry and the schedules as they were after it: the fuzz registers, changes and disables
    # devices with the IDs of the contract's examples (DEV001), which the other tests on this shared stack
    # send as, and sets the company's default schedule, which every employee without their own follows)
    with (
        kept_as_it_is(local_stack, "DevicesTable", "deviceId"),
        kept_as_it_is(local_stack, "SchedulesTable", "userId"),
    ):
        result = fuzz(local_stack, EXAMPLES, seed=20261130)
    with capsys.disabled():  # shown in every run, not only on failure
        print(f"\nAPI contract fuzz: {EXAMPLES} examples per operation, {result.seconds:.0f} s")
    # Then it finds no failure, and it really tested every operation
    assert result.exit_code == 0, result.output
    operations = sum(len(methods) for methods in json.loads(OPENAPI_PATH.read_text())["paths"].values())
    assert f"Tested: {operations}" in result.output, result.output
    local_stack.wait_until_queue_is_empty(limit=120)  # the accepted fuzz punches reach the CRM now
