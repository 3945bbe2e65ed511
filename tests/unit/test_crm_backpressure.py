"""Back-pressure from the CRM, without AWS: Retry-After read, the pacing of invocations with a fake clock,
and how each target judges a rate limit."""

import random
from datetime import UTC, datetime

import httpx
import pytest

from attendance.delivery.backpressure import (
    DEFAULT_RATE_LIMIT_SECONDS,
    MARGIN,
    MAX_INTERVAL_SECONDS,
    CallPacer,
    pacing_interval,
    queue_delay,
    retry_after_seconds,
)
from attendance.delivery.crm import CrmClient
from attendance.delivery.outcome import Verdict, rate_limit_wait
from attendance.delivery.secrets import CrmSecret
from attendance.delivery.targets import TARGETS
from tests.unit.test_crm_error_shapes import PUNCH

NOW = datetime(2026, 11, 30, 8, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("120", 120),
        (" 7 ", 7),
        ("0", 0),
        ("Mon, 30 Nov 2026 08:01:30 GMT", 90),  # IMF-fixdate
        ("Monday, 30-Nov-26 08:00:45 GMT", 45),  # obsolete RFC 850
        ("Mon Nov 30 08:00:10 2026", 10),  # obsolete asctime
        ("Mon, 30 Nov 2026 07:59:00 GMT", 0),  # already past: go ahead
        (None, None),
        ("", None),
        ("soon", None),
        ("-5", None),
        ("1.5", None),  # delta-seconds are whole
    ],
)
def test_retry_after_is_seconds_or_an_http_date(header, seconds):
    assert retry_after_seconds(header, NOW) == seconds


@pytest.mark.parametrize(("seconds", "delay"), [(0, 0), (0.2, 1), (59.01, 60), (900, 900), (3600, 900)])
def test_a_wait_becomes_whole_seconds_within_what_sqs_delays(seconds, delay):
    assert queue_delay(seconds) == delay


@pytest.mark.parametrize(
    ("status", "headers", "wait"),
    [
        (429, {"Retry-After": "12"}, 12),
        (429, {}, DEFAULT_RATE_LIMIT_SECONDS),  # too many requests, whatever it says of when
        (429, {"Retry-After": "whenever"}, DEFAULT_RATE_LIMIT_SECONDS),
        (503, {"Retry-After": "Mon, 30 Nov 2026 08:00:20 GMT"}, 20),
        (503, {}, None),  # an outage, not a rate limit: an attempt like any 5xx
        (500, {"Retry-After": "5"}, None),
        (200, {"Retry-After": "5"}, None),
    ],
)
def test_which_answers_are_rate_limits(status, headers, wait):
    assert rate_limit_wait(httpx.Response(status, headers=headers), NOW) == wait


@pytest.mark.parametrize("target_name", ["generic", "frappe"])
def test_both_targets_judge_a_rate_limit_and_pause_the_rest_of_the_invocation(target_name):
    calls: list[httpx.Request] = []

    def reply(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(429, headers={"Retry-After": "3"}, json={"exc_type": "TooManyRequestsError"})

    clock = FakeClock()
    pacer = CallPacer(0.1, clock.now, clock.sleep)
    with httpx.Client(transport=httpx.MockTransport(reply)) as http:
        crm = CrmClient(TARGETS[target_name]("http://crm.test/x"), CrmSecret(""), http, call_timeout=5)
        first = crm.deliver(PUNCH, lambda: 5.0, pacer)
        # the CRM said 3 s: within a 2 s budget no other call of this invocation is made
        second = crm.deliver(PUNCH, lambda: 2.0, pacer)
    assert (first.verdict, first.retry_after) == (Verdict.RATE_LIMITED, 3)
    assert "HTTP 429" in first.detail
    assert second.verdict is Verdict.PACED
    assert second.retry_after == pytest.approx(3)
    assert len(calls) == 1


@pytest.mark.parametrize(
    ("rate", "concurrency", "interval"),
    [(10, 2, 0.2), (20, 2, 0.1), (10, 3, 1 / 3), (1, 2, 2.0), (0.5, 2, 4.0)],
)
def test_each_invocation_gets_a_whole_share_of_the_rate(rate, concurrency, interval):
    assert pacing_interval(rate, concurrency) == pytest.approx(interval * (1 + MARGIN))


def test_a_rate_of_zero_is_no_pacing():
    assert pacing_interval(0, 2) == 0


class FakeClock:
    def __init__(self, start: float = 0.0) -> None:
        self.at = start
        self.slept: list[float] = []

    def now(self) -> float:
        return self.at

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.at += seconds


def test_a_pacer_spaces_calls_and_refuses_one_that_would_not_fit():
    clock = FakeClock(100.0)
    pacer = CallPacer(0.5, clock.now, clock.sleep)
    assert pacer.acquire(seconds_left=5)  # the first call at once
    assert pacer.acquire(seconds_left=5)
    assert clock.at == 100.5
    assert not pacer.acquire(seconds_left=0.9)  # its turn at 101.0, plus 0.5 after it: too late
    assert clock.at == 100.5  # and nothing waited or taken
    assert pacer.seconds_to_next() == 0.5
    pacer.hold(10)
    assert pacer.seconds_to_next() == 10
    clock.at = 100.6
    pacer.settle()  # waits out the interval after the last call, not the CRM's pause
    assert clock.at == 101.0


def test_a_call_waiting_for_its_turn_gives_it_up_when_the_crm_asks_for_a_pause():
    clock = FakeClock()

    def sleep(seconds: float) -> None:
        pacer.hold(3)  # another call of the batch got a 429 meanwhile
        clock.sleep(seconds)

    pacer = CallPacer(0.5, clock.now, sleep)
    assert pacer.acquire(seconds_left=5)
    assert not pacer.acquire(seconds_left=5)
    assert pacer.seconds_to_next() == pytest.approx(2.5)


def test_a_worker_never_waits_longer_between_calls_than_an_invocation_allows():
    assert pacing_interval(0.01, 10) == pytest.approx(MAX_INTERVAL_SECONDS * (1 + MARGIN))


def test_an_invocation_without_calls_ends_at_once():
    clock = FakeClock()
    CallPacer(0.5, clock.now, clock.sleep).settle()
    assert clock.slept == []


def slot_calls(interval: float, until: float, seed: int, busy: bool = False) -> list[float]:
    """One slot of the mapping: invocations one after another, each pacing a batch of concurrent records
    with its own pacer and settling before it ends; the start of every call made. `busy`: full batches
    one after another, as in a rush."""
    rng = random.Random(seed)
    clock = FakeClock(rng.uniform(0, 1))
    starts: list[float] = []
    while clock.at < until:
        pacer = CallPacer(interval, clock.now, clock.sleep)
        deadline = clock.at + 6.5  # an invocation's time for calls
        for _ in range(10 if busy else rng.randint(1, 10)):  # records start together or a little apart
            clock.at += 0.0 if busy else rng.choice([0.0, 0.0, rng.uniform(0, 0.3)])
            if pacer.acquire(deadline - clock.at):
                starts.append(clock.at)
        clock.at += rng.uniform(0, 0.2)  # the last answers and table writes
        pacer.settle()
        clock.at += 0.0 if busy else rng.choice([0.0, rng.uniform(0, 2)])  # at once, or after a lull
    return starts


def busiest_second(starts: list[float]) -> int:
    """The most call starts in any window [t, t + 1)."""
    starts = sorted(starts)
    most, first = 0, 0
    for last, at in enumerate(starts):
        while starts[first] <= at - 1:
            first += 1
        most = max(most, last - first + 1)
    return most


@pytest.mark.parametrize(("rate", "concurrency"), [(10, 2), (20, 2), (20, 4), (10, 3), (7, 2), (100, 10)])
def test_concurrent_invocations_never_start_more_than_the_rate_in_any_second(rate, concurrency):
    interval = pacing_interval(rate, concurrency)
    for busy in (False, True):
        starts = [at for slot in range(concurrency) for at in slot_calls(interval, 120, slot, busy)]
        assert busiest_second(starts) <= rate
    # and in a rush the CRM gets most of its rate (the rest: each invocation's last answer, between them)
    whole = concurrency * (rate // concurrency)
    assert len(starts) >= 0.8 * whole * 120


@pytest.mark.parametrize(("rate", "concurrency"), [(1, 2), (1, 3), (0.5, 2)])
def test_a_rate_below_the_concurrency_holds_on_average(rate, concurrency):
    interval = pacing_interval(rate, concurrency)
    starts = [at for slot in range(concurrency) for at in slot_calls(interval, 600, seed=slot)]
    assert len(starts) <= rate * 601 + concurrency
    assert busiest_second(starts) <= concurrency
