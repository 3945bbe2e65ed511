"""The local stack runs functions as Lambda does: warm environments reused, new ones under load, failures,
timeouts and dying runtimes reported as Lambda reports them, and the environment replaced."""

import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from local_stack.api_server import LocalApiServer
from local_stack.cpu import BACKGROUND_NICENESS
from local_stack.functions import (
    FunctionError,
    FunctionPool,
    FunctionSpec,
    HttpRoute,
    runs_in_background,
)
from local_stack.template import load_template, resources_of_type

HANDLERS = "tests.integration.local.handlers"


def pool(handler: str, concurrency: int = 2, timeout: float = 5.0, **environment: str) -> FunctionPool:
    spec = FunctionSpec("TestFunction", f"{HANDLERS}.{handler}", timeout, environment)
    return FunctionPool(spec, {}, concurrency, dict(os.environ))


@pytest.fixture
def pools() -> Iterator[list[FunctionPool]]:
    started: list[FunctionPool] = []
    yield started
    for function in started:
        function.stop()


def test_a_warm_environment_is_reused_and_holds_the_functions_own_variables(pools):
    # Given a function with a variable of its own
    function = pool("echo", ONLY_MINE="yes")
    pools.append(function)
    # When it is invoked twice, one after the other
    first, second = function.invoke({"n": 1}), function.invoke({"n": 2})
    # Then one environment ran both, with the event, the variable and a Lambda context
    assert first["pid"] == second["pid"] != os.getpid()
    assert (second["event"], second["mine"], second["function"]) == ({"n": 2}, "yes", "TestFunction")
    assert 0 < second["remaining_ms"] <= 5000
    assert function.cold_starts == 1


def test_when_every_environment_is_busy_another_starts_up_to_the_concurrency(pools):
    # Given a function that may run two environments
    function = pool("slow", concurrency=2)
    pools.append(function)
    # When four invocations arrive at once
    with ThreadPoolExecutor(4) as callers:
        replies = list(callers.map(function.invoke, [{"seconds": 0.5}] * 4))
    # Then two environments served them all
    assert len({reply["pid"] for reply in replies}) == 2
    assert function.cold_starts == 2


def test_a_handler_error_is_reported_and_the_environment_stays_warm(pools):
    function = pool("fail", concurrency=1)
    pools.append(function)
    with pytest.raises(FunctionError, match="ValueError: no good"):
        function.invoke({})
    with pytest.raises(FunctionError, match="ValueError: no good"):
        function.invoke({})
    assert function.cold_starts == 1


def test_an_invocation_past_the_timeout_is_stopped_with_its_environment(pools):
    # Given a function with a one-second timeout
    function = pool("slow", concurrency=1, timeout=1.0)
    pools.append(function)
    # When an invocation would run for a minute
    with pytest.raises(FunctionError, match=r"timed out after 1\.00 seconds"):
        function.invoke({"seconds": 60})
    # Then the next invocation gets a fresh environment
    assert function.invoke({"seconds": 0})["pid"]
    assert function.cold_starts == 2


def test_a_runtime_that_dies_is_replaced(pools):
    function = pool("die", concurrency=1)
    pools.append(function)
    with pytest.raises(FunctionError, match="exit status 3"):
        function.invoke({})
    with pytest.raises(FunctionError, match="exit status 3"):
        function.invoke({})
    assert function.cold_starts == 2


def test_a_result_must_be_json(pools):
    function = pool("not_json", concurrency=1)
    pools.append(function)
    with pytest.raises(FunctionError, match=r"Runtime\.MarshalError"):
        function.invoke({})


def test_a_handler_that_cannot_load_fails_at_warm_up(pools):
    function = pool("no_such_handler")
    pools.append(function)
    with pytest.raises(FunctionError, match=r"Runtime\.ImportModuleError"):
        function.warm_up()


def test_the_http_api_answers_500_when_the_function_fails(pools):
    # Given a route to a function whose runtime dies
    function = pool("die", concurrency=1)
    pools.append(function)
    server = LocalApiServer("127.0.0.1", 0, [HttpRoute("POST", "/punches", function)])
    with ThreadPoolExecutor(1) as serving:
        serving.submit(server.serve_forever)
        try:
            # When it is called
            reply = httpx.post(f"http://127.0.0.1:{server.server_address[1]}/punches", json={}, timeout=30)
        finally:
            server.shutdown()
            server.server_close()
    # Then the caller gets API Gateway's answer
    assert (reply.status_code, reply.json()) == (500, {"message": "Internal Server Error"})


def test_event_source_functions_yield_the_cpu_to_those_answering_requests(pools):
    # Given the template's functions
    functions = resources_of_type(load_template(), "AWS::Serverless::Function")
    # Then those only a queue, a stream or a schedule invokes run in the background, the others not
    background = {
        logical_id
        for logical_id, function in functions.items()
        if runs_in_background(function["Properties"].get("Events", {}))
    }
    assert {"CrmWorkerFunction", "FeedFanoutFunction", "PendingSweepFunction"} <= background
    assert not background & {
        "IngestFunction",
        "DevicePushFunction",
        "FeedConnectionsFunction",
        "DashboardFunction",
    }

    # And a background environment runs at a lower CPU priority than a foreground one
    niceness = {}
    for background_function in (False, True):
        spec = FunctionSpec("TestFunction", f"{HANDLERS}.echo", 5.0, {}, background=background_function)
        function = FunctionPool(spec, {}, 1, dict(os.environ))
        pools.append(function)
        niceness[background_function] = function.invoke({})["niceness"]
    assert niceness[True] - niceness[False] == BACKGROUND_NICENESS
