"""The chaos death limit: counted once for the whole stack, across its execution environments' processes."""

import multiprocessing
from concurrent.futures import ProcessPoolExecutor

from local_stack.chaos import Chaos, DeathLedger


def _die_if_allowed(ledger: DeathLedger) -> bool:
    return ledger.may_die("before-store")


def test_a_limit_set_on_the_stack_reaches_every_environment_with_one_ledger():
    # Given the stack started with a limit
    stack = Chaos.from_environment({"LOCAL_CHAOS_CRASH_BEFORE_STORE": "0.5", "LOCAL_CHAOS_CRASH_LIMIT": "2"})
    # When an environment reads the variables the stack gives it
    environment = Chaos.from_environment(stack.environment())
    # Then it counts in the stack's ledger, under the stack's limit
    assert environment == stack
    assert stack.deaths.limit == 2
    assert stack.deaths.directory


def test_environments_racing_to_die_die_no_more_than_the_limit_between_them():
    # Given a limit of two deaths
    ledger = Chaos.from_environment({"LOCAL_CHAOS_CRASH_LIMIT": "2"}).deaths
    # When six processes would die at once
    # (started afresh, as the stack starts its environments: forking this threaded test process could deadlock)
    with ProcessPoolExecutor(max_workers=6, mp_context=multiprocessing.get_context("spawn")) as pool:
        allowed = list(pool.map(_die_if_allowed, [ledger] * 6))
    # Then two may, and the kinds are counted apart
    assert sum(allowed) == 2
    assert ledger.may_die("before-queue")


def test_no_limit_lets_every_death_happen_and_a_limit_of_zero_none():
    assert all(DeathLedger().may_die("before-store") for _ in range(5))
    zero = Chaos.from_environment({"LOCAL_CHAOS_CRASH_LIMIT": "0"})
    assert Chaos.from_environment(zero.environment()).deaths.limit == 0
    assert not zero.deaths.may_die("before-store")
