"""Without Chromium the dashboard's browser tests skip and say why; in CI they fail instead of hiding."""

import os
import subprocess
import sys

from local_stack.running import ROOT

ONE_BROWSER_TEST = "tests/e2e/test_dashboard_session.py::test_a_wrong_key_is_told_plainly"


def run_without_chromium(**settings: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k not in ("CI", "REQUIRE_BROWSER")}
    environment |= {"CHROMIUM": "/nonexistent/chromium"} | settings
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", ONE_BROWSER_TEST],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_machine_without_chromium_skips_with_the_reason() -> None:
    result = run_without_chromium()
    assert result.returncode == 0, result.stdout
    assert "1 skipped" in result.stdout
    assert "Chromium is not installed" in result.stdout


def test_ci_fails_when_the_browser_tests_cannot_run() -> None:
    result = run_without_chromium(REQUIRE_BROWSER="1")
    assert result.returncode != 0
    assert "CI must run the browser tests" in result.stdout
