"""The patched SQS queues against moto's own: the same replies, counts and deliveries, request by request."""

from typing import Any

import pytest
from moto.sqs.models import Queue

from local_stack import moto_patches
from tests.integration.local.released_moto import observed_in_fresh_interpreter
from tests.integration.local.sqs_scenarios import SCENARIOS, run


@pytest.fixture(scope="module")
def released() -> dict[str, Any]:
    """Every scenario on moto as released: in a fresh interpreter, which never imports the patches."""
    return observed_in_fresh_interpreter("tests.integration.local.sqs_scenarios")


def test_the_released_side_keeps_messages_in_moto_own_list(released):
    # Given the scenarios ran in a fresh interpreter (so moto's Queue there was its own)
    assert released["observed"]
    # When the patches are applied here
    moto_patches.apply_moto_patches()
    # Then a queue's messages live in the store, found by receipt handle
    assert type(Queue("probe", region="us-east-1", account_id="123456789012")._messages).__name__ == "_Store"


@pytest.mark.parametrize("name", SCENARIOS)
def test_patched_queues_conform_to_moto(name, released):
    # Given what moto as released made of the scenario's requests
    expected = released["observed"][name]
    # When the same requests go to moto under the patches
    moto_patches.apply_moto_patches()
    observed = run(SCENARIOS[name])
    # Then every reply, error, count and delivery is moto's
    assert observed == expected
