"""The local stack as a user runs it (`python -m local_stack`), on free ports, driven over HTTP and SQS."""

from collections.abc import Callable, Iterator

import httpx
import pytest
from click.testing import Result
from typer.testing import CliRunner

from admin_cli.main import app
from local_stack.running import RunningStack, running_local_stack
from tests.e2e.browser import chromium, chromium_installed, page  # noqa: F401 - fixtures for the dashboard tests


@pytest.fixture(scope="session")
def local_stack() -> Iterator[RunningStack]:
    # Scheduled functions every 3 s rather than each rate(): the device check sees a silence at once.
    with running_local_stack("e2e-key", LOCAL_SCHEDULE_SECONDS="3") as stack:
        yield stack


@pytest.fixture
def stack(local_stack: RunningStack) -> RunningStack:
    """A healthy, empty mock CRM for each test, which no earlier test's punch reaches any more."""
    reset = local_stack.crm_url + "/crm/_reset"
    httpx.post(reset, timeout=5).raise_for_status()  # healthy: what is still queued is delivered at once
    local_stack.wait_until_queue_is_empty()
    httpx.post(reset, timeout=5).raise_for_status()  # and empty of it
    return local_stack


@pytest.fixture
def cli(local_stack: RunningStack) -> Callable[..., Result]:
    """`attendance --local ...` against the running stack, through Typer's runner; asserts the exit code."""
    runner = CliRunner()
    environment = {
        "AWS_PORT": local_stack.aws_url.rsplit(":", 1)[1],
        "API_PORT": local_stack.api_url.rsplit(":", 1)[1],
    }

    def run(*args: str, expect: int = 0) -> Result:
        result = runner.invoke(app, ["--local", *args], env=environment)
        assert result.exit_code == expect, result.output + repr(result.exception)
        return result

    return run
