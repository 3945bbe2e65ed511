"""The dashboard's sign-in, as a person uses it in a real browser."""

import pytest
from playwright.sync_api import expect

from local_stack.running import RunningStack
from tests.e2e.browser import sign_in

pytestmark = pytest.mark.e2e


def test_sign_in_then_sign_out_and_the_key_never_in_the_url(page, stack: RunningStack) -> None:
    # When an admin opens the page and signs in with the printed key
    sign_in(page, stack)
    # Then every page is one link away, the live feed is connected, and the key is nowhere in the URL
    for name in ("Live", "Devices", "Employees", "Reports", "Deliveries"):
        expect(page.get_by_role("link", name=name, exact=True)).to_be_visible()
    assert stack.api_key not in page.url
    page.get_by_role("link", name="Devices", exact=True).click()
    expect(page).to_have_url(f"{stack.api_url}/#/devices")
    # and a reload keeps the session (this tab only) ...
    page.reload()
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    # ... until Sign out clears it
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_label("API key")).to_be_visible()
    assert page.evaluate("() => sessionStorage.length") == 0
    expect(page.locator("#feed-status")).to_be_hidden()


@pytest.mark.console_allows(r"status of 401")  # the browser's own line for the refused sign-in
def test_a_wrong_key_is_told_plainly(page, stack: RunningStack) -> None:
    page.goto(stack.api_url + "/")
    page.get_by_label("API key").fill("not-a-key")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("This API key is unknown or revoked.")
    expect(page.get_by_role("navigation", name="Main")).to_be_hidden()


def test_the_page_is_served_with_a_strict_policy_and_no_third_party_code(stack: RunningStack) -> None:
    import httpx

    reply = httpx.get(stack.api_url + "/", timeout=10)
    assert reply.headers["content-type"].startswith("text/html")
    policy = reply.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "connect-src 'self' ws://127.0.0.1:" in policy
    assert "http" not in reply.text.split("<body>")[0].replace("http-equiv", "")  # no CDN links
    script = httpx.get(stack.api_url + "/assets/app.js", timeout=10)
    assert script.headers["content-type"].startswith("text/javascript")
    assert "max-age" in script.headers["cache-control"]
    assert httpx.get(stack.api_url + "/assets/nope.js", timeout=10).status_code == 404
    assert httpx.get(stack.api_url + "/assets/..%2Ftemplate.yaml", timeout=10).status_code in (400, 404)


def test_the_contract_lists_every_file_shipped_and_each_comes_with_a_documented_type(
    stack: RunningStack,
) -> None:
    import json

    import httpx

    from local_stack.template import TEMPLATE_PATH

    root = TEMPLATE_PATH.parent
    operation = json.loads((root / "docs" / "openapi.json").read_text())["paths"]["/assets/{name}"]["get"]
    listed = operation["parameters"][0]["schema"]["enum"]
    shipped = sorted(
        p.name for p in (root / "functions" / "dashboard" / "static").iterdir() if p.suffix != ".html"
    )
    assert listed == shipped
    documented = set(operation["responses"]["200"]["content"])
    for name in listed:
        reply = httpx.get(f"{stack.api_url}/assets/{name}", timeout=10)
        assert reply.status_code == 200, name
        assert reply.headers["content-type"].split(";")[0] in documented, name
