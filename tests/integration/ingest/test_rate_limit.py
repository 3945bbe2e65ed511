"""Per-key request limits on the ingest routes: one key's flood gets 429s, the other keys go on."""

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import boto3
import pytest

from attendance.data.api_keys import ApiKeyStore
from attendance.data.request_counts import RequestCounts
from attendance.domain.keys import Scope
from attendance.rate_limiter import KeyRateLimiter
from functions.ingest import app as ingest_app
from tests.integration.ingest.conftest import IngestApi, punch

FLOODER, NEIGHBOUR = "flooding-key", "neighbour-key"


class FrozenClock:
    """Seconds since the epoch, moved by the test only."""

    def __init__(self) -> None:
        self.now = 1_767_225_600.25

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(ingest_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> FrozenClock:
    """The handler's own dependencies, with the limiter on a clock the test moves."""
    clock = FrozenClock()
    built = ingest_app.dependencies()
    counts = RequestCounts(boto3.client("dynamodb"), ingest_env["REQUEST_COUNTS_TABLE"])
    limited = replace(built, limiter=KeyRateLimiter(counts, int(ingest_env["CLIENT_RATE_LIMIT"]), clock))
    monkeypatch.setattr(ingest_app, "dependencies", lambda: limited)
    return clock


@pytest.fixture
def flooder(keys: ApiKeyStore) -> IngestApi:
    keys.create("flooder", frozenset({Scope.INGEST}), raw_key=FLOODER, rate_limit=3)
    return IngestApi(FLOODER)


@pytest.fixture
def neighbour(keys: ApiKeyStore) -> IngestApi:
    keys.create("neighbour", frozenset({Scope.INGEST}), raw_key=NEIGHBOUR)
    return IngestApi(NEIGHBOUR)


def minute_punch(n: int, user: str = "EMP1") -> dict[str, Any]:
    return punch(user=user, at=f"2025-02-10T09:{n:02d}:00")


def test_a_key_over_its_limit_gets_429_with_retry_after_and_nothing_stored(
    clock: FrozenClock, flooder: IngestApi, punches_table: Callable[[], list[dict[str, Any]]]
) -> None:
    # Given a key allowed 3 requests a second
    # When it sends 5 distinct punches within one second
    replies = [flooder.post(minute_punch(n)) for n in range(5)]

    # Then the first 3 are stored and the other 2 are refused, saying why and when to come back
    assert [reply.status for reply in replies] == [202, 202, 202, 429, 429]
    refused = replies[3]
    assert refused.body["error"] == "rate_limited"
    assert "3 requests a second" in refused.body["message"]
    assert refused.headers["Retry-After"] == "1"
    stored = {item["logId"] for item in punches_table()}
    assert stored == {reply.body["logId"] for reply in replies[:3]}


def test_the_next_second_admits_the_key_again(clock: FrozenClock, flooder: IngestApi) -> None:
    # Given a key that used its 3 requests this second
    assert [flooder.post(minute_punch(n)).status for n in range(4)] == [202, 202, 202, 429]

    # When the clock reaches the next second, the refused punch sent again is taken
    clock.now += 1
    assert flooder.post(minute_punch(3)).status == 202


def test_one_keys_flood_leaves_the_other_keys_their_share(
    clock: FrozenClock, flooder: IngestApi, neighbour: IngestApi, ingest_env: dict[str, str]
) -> None:
    # Given a key flooding far beyond its limit in this second
    flood = [flooder.post(minute_punch(n)).status for n in range(12)]

    # When another key (the stack's default limit) sends in the same second
    default_limit = int(ingest_env["CLIENT_RATE_LIMIT"])
    theirs = [neighbour.post(minute_punch(n, user="EMP2")).status for n in range(default_limit)]

    # Then the flood got its 3 and the other key all of its requests
    assert flood.count(202) == 3
    assert flood.count(429) == 9
    assert theirs == [202] * default_limit


def test_a_batch_counts_as_one_request(clock: FrozenClock, flooder: IngestApi) -> None:
    # Given a key allowed 3 requests a second, sending 3 batches of 100 punches in one second
    batches = [[minute_punch(0, user=f"E{b}-{n}") for n in range(100)] for b in range(3)]
    replies = [flooder.post({"punches": batch}) for batch in batches]

    # Then every punch of the 3 batches is taken: the limit is on requests, not punches
    assert [reply.body["accepted"] for reply in replies] == [100, 100, 100]


def test_a_key_with_no_limit_is_never_refused_and_costs_no_count(
    clock: FrozenClock, keys: ApiKeyStore, ingest_env: dict[str, str]
) -> None:
    # Given a key created with no limit (0)
    keys.create("edge", frozenset({Scope.INGEST}), raw_key="unlimited-key", rate_limit=0)
    api = IngestApi("unlimited-key")

    # When it sends many requests in one second, all are taken and no counter is written
    assert {api.post(minute_punch(n)).status for n in range(15)} == {202}
    counters = boto3.client("dynamodb").scan(TableName=ingest_env["REQUEST_COUNTS_TABLE"])["Items"]
    assert counters == []


def test_a_changed_limit_applies_from_the_next_request(
    clock: FrozenClock, keys: ApiKeyStore, flooder: IngestApi
) -> None:
    # Given a key at its limit of 3 in this second
    assert [flooder.post(minute_punch(n)).status for n in range(4)] == [202, 202, 202, 429]

    # When an admin raises its limit to 6, the same second admits it again up to 6 requests
    key_id = keys.find(FLOODER).key_id
    assert keys.set_rate_limit(key_id, 6)
    assert [flooder.post(minute_punch(n)).status for n in range(4, 7)] == [202, 202, 429]

    # And back to the stack's default
    assert keys.set_rate_limit(key_id, None)
    assert keys.find(FLOODER).rate_limit is None


def test_a_counter_store_failure_lets_the_request_through(
    clock: FrozenClock, flooder: IngestApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the request counts table cannot be written
    broken = KeyRateLimiter(RequestCounts(boto3.client("dynamodb"), "no-such-table"), 10, clock)
    built = replace(ingest_app.dependencies(), limiter=broken)
    monkeypatch.setattr(ingest_app, "dependencies", lambda: built)

    # When the key sends beyond its limit, every punch is still taken: a limiter outage stops no punch
    assert {flooder.post(minute_punch(n)).status for n in range(5)} == {202}
