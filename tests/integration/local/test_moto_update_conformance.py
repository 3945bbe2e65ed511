"""The patched UpdateItem against moto's own: the same replies, items and stream changes, request by request."""

from typing import Any

import pytest

from local_stack import moto_patches
from tests.integration.local.released_moto import observed_in_fresh_interpreter
from tests.integration.local.update_scenarios import SCENARIOS, parser, run


@pytest.fixture(scope="module")
def released() -> dict[str, Any]:
    """Every scenario on moto as released: in a fresh interpreter, which never imports the patches."""
    return observed_in_fresh_interpreter("tests.integration.local.update_scenarios")


def test_the_released_side_parses_with_moto_own_parser(released):
    # Given the scenarios run in a fresh interpreter
    # Then its UpdateExpression parser was moto's own
    assert released["parser"] == "moto.dynamodb.parsing.expressions.UpdateExpressionParser.make"


@pytest.mark.parametrize("name", SCENARIOS)
def test_patched_updates_conform_to_moto(name, released):
    # Given what moto as released made of the scenario's requests
    expected = released["observed"][name]
    # When the same requests go to moto under the patches, twice (the second time from its caches)
    moto_patches.apply_moto_patches()
    assert parser() == "local_stack.moto_expressions._cached_make.<locals>.cached_make"
    observed = [run(SCENARIOS[name]) for _ in range(2)]
    # Then the replies, errors included, the items left and the stream changes are moto's
    assert observed == [expected, expected]
