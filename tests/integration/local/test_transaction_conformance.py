"""The patched TransactWriteItems against moto's own: the same replies and the same items, request by request."""

from collections.abc import Iterator
from typing import Any
from unittest import mock

import pytest

from local_stack import moto_patches
from tests.integration.local.released_moto import observed_in_fresh_interpreter
from tests.integration.local.transaction_scenarios import SCENARIOS, moto_transactions, run


@pytest.fixture(scope="module")
def released() -> dict[str, Any]:
    """Every scenario on moto as released: in a fresh interpreter, which never imports the patches."""
    return observed_in_fresh_interpreter("tests.integration.local.transaction_scenarios")


@pytest.fixture
def patch_actions() -> Iterator[mock.MagicMock]:
    """moto patched as the tests and the local stack run it; a spy on each action the patches carry out."""
    moto_patches.apply_moto_patches()
    with mock.patch.object(moto_patches, "_write_one", wraps=moto_patches._write_one) as spy:
        yield spy


def test_the_released_side_runs_moto_own_transactions(released):
    # Given the scenarios run in a fresh interpreter
    # Then its TransactWriteItems was moto's own
    assert released["transactions"] == "moto.dynamodb.models.DynamoDBBackend.transact_write_items"


@pytest.mark.parametrize("name", SCENARIOS)
def test_patched_transactions_conform_to_moto(name, released, patch_actions):
    # Given what moto as released made of the scenario's transactions
    expected = released["observed"][name]
    # When the same requests go to moto under the patches
    observed = run(SCENARIOS[name])
    # Then the patches carried out every action of every transaction
    assert moto_transactions() == "local_stack.moto_patches._transact_write_items"
    assert patch_actions.call_count == sum(reply["actions"] for reply in observed["replies"])
    # And the outcomes, the replies with their cancellation reasons, and the items left are moto's
    assert observed == expected
