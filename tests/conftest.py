"""Shared fixtures: moto as AWS, resources made from template.yaml, handlers called with real events."""

import functools
import logging
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import botocore.loaders
import botocore.session
import pytest
from moto import mock_aws
from typer.testing import CliRunner

from admin_cli import main as cli_main
from admin_cli.target import OUTPUTS, Target
from local_stack.moto_patches import apply_moto_patches
from local_stack.provision import provision
from local_stack.template import Resolver, function_environment, load_template

# Every mock_aws() gives boto3 a new default session, whose loader parsed botocore's JSON data (endpoints,
# partitions, each service's model) again for every test: a quarter of the time of a file of API tests.
# The files do not change within a run, so the sessions of a test process share one loader and its cache,
# as the clients of one session always do.
botocore.session.create_loader = functools.cache(botocore.loaders.create_loader)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The files marked slow first, then the others by their number of tests, most first; each file's tests
    in their order. `make test` hands the workers whole files in this order (--dist loadfile
    --no-loadscope-reorder): by the number of tests alone, the one-test files that take minutes (the
    fuzz, the soak, the rushes) came last, and one of them ended the run while the other workers idled."""
    tests_in = Counter(item.path for item in items)
    items.sort(key=lambda item: (item.get_closest_marker("slow") is None, -tests_in[item.path]))


@pytest.fixture(autouse=True)
def _offline_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials and no endpoint override: nothing in a test can reach real AWS."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")


@pytest.fixture(autouse=True)
def _root_logging_as_it_was() -> Iterator[None]:
    """A command line run in-process (the edge poller's) points the root logger at its stdout, which the
    test closes: later tests' logs would fail on it. Its handlers go when the test does."""
    root = logging.getLogger()
    before, level = set(root.handlers), root.level
    yield
    for handler in root.handlers[:]:
        if handler not in before and not type(handler).__module__.startswith("_pytest"):
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)


@pytest.fixture(scope="session")
def template() -> dict[str, Any]:
    return load_template()


@pytest.fixture
def aws() -> Iterator[None]:
    apply_moto_patches()
    with mock_aws():
        yield


@pytest.fixture
def stack_parameters() -> dict[str, str]:
    """Template parameter overrides for the stack under test; override the fixture to change them."""
    return {}


@pytest.fixture
def stack(aws: None, template: dict[str, Any], stack_parameters: dict[str, str]) -> Resolver:
    return provision(template, boto3.client("dynamodb"), boto3.client("sqs"), parameters=stack_parameters)


@pytest.fixture
def use_function_env(
    stack: Resolver, template: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> Callable[..., dict[str, str]]:
    """Sets a function's environment exactly as the template defines it (plus test overrides)."""

    def apply(logical_id: str, **overrides: str) -> dict[str, str]:
        environment = function_environment(template, logical_id, stack) | overrides
        for name, value in environment.items():
            monkeypatch.setenv(name, value)
        return environment

    return apply


@pytest.fixture
def cli(
    stack: Resolver, stack_parameters: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> Callable[..., Any]:
    """`attendance --local ...` in-process, its target being the moto tables of this test (and its company
    zone the test's DefaultTimeZone)."""
    tables = {
        name: stack.refs[output.removesuffix("Name")]
        for name, output in OUTPUTS.items()
        if output.endswith("TableName")
    }
    target = Target(
        session=boto3.session.Session(),
        endpoint_url=None,
        punch_queue_url=stack.refs["PunchQueue"],
        dead_letter_queue_url=stack.refs["PunchDeadLetterQueue"],
        api_url="http://127.0.0.1:3000",
        default_time_zone=stack_parameters.get("DefaultTimeZone", "UTC"),
        **tables,
    )
    monkeypatch.setattr(cli_main, "local_target", lambda: target)
    runner = CliRunner()

    def run(*args: str, expect: int = 0) -> Any:
        result = runner.invoke(cli_main.app, ["--local", *args])
        assert result.exit_code == expect, result.output + repr(result.exception)
        return result

    return run
