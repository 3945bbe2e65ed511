"""The dashboard in a real headless Chromium (Debian's package), driven by Playwright.

Playwright's own browser download cannot be used here (and offices often cannot reach it either), so
it drives the system's Chromium through `executable_path`. Without Chromium the browser tests are
skipped with the reason, except in CI (CI or REQUIRE_BROWSER set), where a skip would hide them: there
they fail.
"""

import os
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from local_stack.running import ROOT, RunningStack

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
# Headless, and quiet: no calls home, which a closed office network (and this one) refuses.
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(os.environ.get("SCREENSHOT_DIR", ROOT / "test-results" / "screenshots"))
WAIT_MS = 30_000  # generous: the machine is shared; nothing here is a timing assertion


def browser_required() -> bool:
    return bool(os.environ.get("CI") or os.environ.get("REQUIRE_BROWSER"))


# Per session, so that a test needing a browser is skipped (or failed) before the session's stack starts.
@pytest.fixture(scope="session")
def chromium_installed() -> None:
    if not CHROMIUM.exists():
        reason = (
            f"Chromium is not installed at {CHROMIUM}: `make test` installs Debian's chromium package "
            "where it can (as root with apt-get); set CHROMIUM=/path/to/chromium to use another"
        )
        if browser_required():
            pytest.fail(reason + " - CI must run the browser tests")
        pytest.skip(reason)


# Per module, not per session: while Playwright's sync API runs, its event loop is the thread's, and
# code under test that calls asyncio.run (the worker's batch processing) would fail after it.
@pytest.fixture(scope="module")
def chromium(chromium_installed: None) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(
    chromium_installed: None, chromium, stack: RunningStack, request: pytest.FixtureRequest
) -> Iterator[object]:
    """A fresh browser tab (desktop size) on the stack; its screenshot is saved when the test ends, and
    an error in the browser's console fails the test (unless the test expects it:
    `@pytest.mark.console_allows(regex)`, e.g. the browser's own line for a refused request)."""
    from playwright.sync_api import expect

    expect.set_options(timeout=WAIT_MS)
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    tab.set_default_timeout(WAIT_MS)
    problems: list[str] = []
    tab.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    tab.on("pageerror", lambda error: problems.append(str(error)))
    yield tab
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    tab.screenshot(path=SCREENSHOTS / f"{_file_name(request.node.name)}.png", full_page=True)
    context.close()
    allowed = [re.compile(m.args[0]) for m in request.node.iter_markers("console_allows")]
    unexpected = [text for text in problems if not any(pattern.search(text) for pattern in allowed)]
    assert unexpected == [], f"errors in the browser console: {unexpected}"


def sign_in(tab: object, stack: RunningStack, key: str | None = None) -> None:
    """Open the dashboard and sign in as a person would: the field labelled "API key", the button."""
    from playwright.sync_api import expect

    tab.goto(stack.api_url + "/")
    tab.get_by_label("API key").fill(key or stack.api_key)
    tab.get_by_role("button", name="Sign in").click()
    expect(tab.get_by_role("navigation", name="Main")).to_be_visible()
    expect(tab.locator("#feed-status")).to_have_attribute("data-state", "online")


def _file_name(test_name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", test_name).strip("-")


def call(stack: RunningStack, method: str, path: str, body: dict | None = None) -> httpx.Response:
    """The API as an admin would call it beside the page (the stack's key), asserting it was not refused."""
    headers = {"Authorization": f"Bearer {stack.api_key}"}
    reply = httpx.request(method, stack.api_url + path, json=body, headers=headers, timeout=15)
    assert reply.status_code < 300, reply.text
    return reply


def register_clock(stack: RunningStack, prefix: str = "E2E-DASH-ZK", **fields: object) -> str:
    """A clock registered as an admin would, under a new ID that starts with `prefix`, with `fields` (name,
    timeZone, silentAfterMinutes, ...); its ID."""
    device_id = f"{prefix}-{uuid.uuid4().hex[:8].upper()}"
    call(stack, "POST", "/devices", {"deviceId": device_id, "kind": "zkteco", "serial": device_id, **fields})
    return device_id


class HeldReplies:
    """The reply to the page's first request matching `pattern`, read from the API when asked but held back
    from the page until `release()`: what a slow reply, read before a change, brings after it. Later
    requests go through."""

    def __init__(self, page: Any, pattern: str) -> None:
        self.page = page
        self._held: list[tuple[Any, Any]] = []
        page.route(pattern, self._hold_first)

    def _hold_first(self, route: Any) -> None:
        if self._held:
            route.continue_()
        else:
            self._held.append((route, route.fetch()))

    def first(self, what: str, limit_seconds: float = 30) -> Any:
        """The first request's reply as the API gave it, once the page asked."""
        for _ in range(int(limit_seconds * 10)):  # the page's requests reach the route while Playwright waits
            if self._held:
                return self._held[0][1]
            self.page.wait_for_timeout(100)
        raise AssertionError(f"{what} were not asked for")

    def release(self) -> None:
        route, reply = self._held[0]
        route.fulfill(response=reply)
