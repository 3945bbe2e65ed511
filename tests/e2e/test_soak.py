"""A small chaos soak inside `make test` (`make soak` runs the big one): nothing lost, nothing twice."""

import pytest

from bench.soak import CHAOS, run

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_small_soak_loses_nothing_and_delivers_nothing_twice():
    # ingest dies between a punch's claim and its store in the first two requests that reach a store (the big
    # soak: one in twenty, at random). A run this small makes only a few such requests, and a chance, even
    # one in two, once met none in a full-suite run. Two deaths of each kind at most: unlimited, an edge
    # poller once failed so many pushes in a row that its back-off outlasted the run, its punches unsent.
    chaos = CHAOS | {"LOCAL_CHAOS_CRASH_BEFORE_STORE": "1", "LOCAL_CHAOS_CRASH_LIMIT": "2"}
    figures = run(scale=60, chaos=chaos)
    assert figures["left unread on a clock"] == figures["left unsent in an edge poller's outbox"] == 0, (
        figures
    )
    assert figures["lost"] == 0, figures
    assert figures["delivered twice"] == 0, figures
    assert figures["unique"] > 100, figures
    assert figures["sent"] > figures["unique"], figures  # duplicates were sent and absorbed
    assert figures["delivered"] + figures["dead-lettered"] >= figures["unique"], figures
    assert figures["ingest deaths between a punch's claim and its store"] > 0, figures
