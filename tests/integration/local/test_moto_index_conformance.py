"""Query and Scan by key against moto's walk over the whole table: the same answers, request by request."""

from collections.abc import Iterator
from typing import Any
from unittest import mock

import pytest
from moto.dynamodb.models.dynamo_type import Item
from moto.dynamodb.models.table import Table

from local_stack import moto_indexes, moto_patches
from tests.integration.local.index_scenarios import SEEDS, run
from tests.integration.local.released_moto import observed_in_fresh_interpreter


@pytest.fixture(scope="module")
def released() -> dict[str, Any]:
    """Every workload on moto as released: in a fresh interpreter, which never imports the patches."""
    return observed_in_fresh_interpreter("tests.integration.local.index_scenarios")


@pytest.fixture
def handed() -> Iterator[list[list[Item] | None]]:
    """moto patched as the tests and the local stack run it; the items each Query was handed (None: all)."""
    moto_patches.apply_moto_patches()
    seen: list[list[Item] | None] = []
    choose = moto_indexes._query_candidates

    def spy(*args: Any) -> list[Item] | None:
        seen.append(choose(*args))
        return seen[-1]

    with mock.patch.object(moto_indexes, "_query_candidates", spy):
        yield seen


@pytest.mark.parametrize("seed", SEEDS)
def test_queries_and_scans_by_key_conform_to_moto(seed, released, handed):
    # Given what moto as released answered to a workload of writes, queries and scans
    expected = released[str(seed)]
    # When the same requests go to moto under the patches
    observed = run(seed)
    # Then the queries were handed only the items that could match, not the table
    assert Table.query is moto_indexes._query
    assert sum(items is not None for items in handed) > 100
    # And every answer, pages, counts, projections and refusals included, is moto's
    assert len(observed) == len(expected)
    for number, (answer, moto_answer) in enumerate(zip(observed, expected, strict=True)):
        assert answer == moto_answer, f"request {number}"
