"""The local HTTP API throttles each route as the template's stage does: a token bucket per route, API
Gateway's own 429 beyond it, before any function runs."""

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from local_stack.api_server import LocalApiServer
from local_stack.functions import HttpRoute
from local_stack.template import Resolver, load_template, resources_of_type
from local_stack.throttle import ThrottleSettings, TokenBucket, stage_throttle


class CountingFunction:
    def __init__(self) -> None:
        self.invocations = 0

    def invoke(self, event: dict[str, Any]) -> dict[str, Any]:
        self.invocations += 1
        return {"statusCode": 200, "body": "{}"}


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_bucket_serves_its_burst_at_once_then_its_rate():
    # Given a bucket of 2 a second with a burst of 3
    clock = FakeClock()
    bucket = TokenBucket(ThrottleSettings(rate=2, burst=3), clock)
    # When 4 requests come at once, the burst admits 3
    assert [bucket.take() for _ in range(4)] == [True, True, True, False]
    # And half a second later one more, a second after that two, never more than the burst
    clock.now += 0.5
    assert [bucket.take() for _ in range(2)] == [True, False]
    clock.now += 10
    assert [bucket.take() for _ in range(4)] == [True, True, True, False]


@pytest.fixture
def served() -> Iterator[tuple[str, CountingFunction, CountingFunction]]:
    """A local API of two routes, throttled at one request every 10 s with a burst of 3."""
    punches, devices = CountingFunction(), CountingFunction()
    routes = [HttpRoute("POST", "/punches", punches), HttpRoute("GET", "/devices", devices)]
    server = LocalApiServer("127.0.0.1", 0, routes, throttle=ThrottleSettings(rate=0.1, burst=3))
    with ThreadPoolExecutor(1) as serving:
        serving.submit(server.serve_forever)
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}", punches, devices
        finally:
            server.shutdown()
            server.server_close()


def test_a_route_beyond_its_throttle_gets_api_gateways_429_and_the_others_go_on(served):
    url, punches, devices = served
    # When one route gets 5 requests at once
    with httpx.Client(base_url=url, timeout=10) as client:
        flood = [client.post("/punches", json={}) for _ in range(5)]
        other = [client.get("/devices") for _ in range(3)]
    # Then its burst is served and the rest refused by the gateway, without invoking the function
    assert [reply.status_code for reply in flood] == [200, 200, 200, 429, 429]
    assert flood[-1].json() == {"message": "Too Many Requests"}
    assert punches.invocations == 3
    # And the other route has a bucket of its own
    assert [reply.status_code for reply in other] == [200, 200, 200]
    assert devices.invocations == 3


def test_the_local_stack_throttles_as_the_templates_stage():
    # Given the template's HTTP API
    template = load_template()
    [api] = resources_of_type(template, "AWS::Serverless::HttpApi").values()
    defaults = {name: spec["Default"] for name, spec in template["Parameters"].items() if "Default" in spec}
    # Then its throttle is the stage's parameters, at their defaults or as overridden
    assert stage_throttle(api, Resolver(template)) == ThrottleSettings(
        float(defaults["ApiThrottlingRateLimit"]), int(defaults["ApiThrottlingBurstLimit"])
    )
    overridden = Resolver(template, overrides={"ApiThrottlingRateLimit": "5", "ApiThrottlingBurstLimit": "7"})
    assert stage_throttle(api, overridden) == ThrottleSettings(5.0, 7)
