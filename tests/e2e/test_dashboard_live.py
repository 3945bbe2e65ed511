"""The dashboard's Live page in a real browser: punches posted over HTTP appear without a reload, and
their delivery status changes in place."""

import re
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from playwright.sync_api import expect

from local_stack.running import RunningStack
from local_stack.running import wait_for as wait_until
from tests.e2e.browser import SCREENSHOTS, HeldReplies, call, sign_in
from tests.e2e.feed_client import next_event, watching
from tests.e2e.test_dashboard_devices import register_clock
from tests.e2e.today import past_the_first_minutes_of_today

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def send(stack: RunningStack, method: str, path: str, body: dict) -> httpx.Response:
    return httpx.request(
        method,
        stack.api_url + path,
        headers={"Authorization": f"Bearer {stack.api_key}"},
        json=body,
        timeout=15,
    )


def open_live(page, stack: RunningStack) -> None:
    sign_in(page, stack)
    expect(page.get_by_role("heading", name="Live", level=1)).to_be_visible()
    # the state of record is read (today's punches, counts and who is in) before anything is posted
    expect(page.get_by_text("Loading today's counts…")).to_have_count(0)
    expect(page.get_by_text("Loading who is in…")).to_have_count(0)
    expect(page.get_by_text("Loading today's punches…")).to_have_count(0)


TABLE = "Today's punches, latest on top"


def test_a_punch_appears_without_a_reload_then_turns_delivered(page, stack: RunningStack) -> None:
    suffix = uuid.uuid4().hex[:8]
    user, device, name = f"LIVE-{suffix}", f"LIVEDEV-{suffix}", f"Lena Live {suffix}"
    added = send(stack, "PUT", f"/employees/{user}", {"name": name, "department": "Ops"})
    assert added.status_code in (200, 201), added.text
    # Given an admin on the Live page
    open_live(page, stack)
    url = page.url
    # When a clock sends a punch over HTTP
    past_the_first_minutes_of_today(2)
    log_id = stack.post_punch(device, user, datetime.now(UTC) - timedelta(minutes=1))
    # Then its row appears at the top of the table, with the employee's name, without a reload ...
    table = page.get_by_role("table", name=TABLE)
    row = table.get_by_role("row").filter(has_text=name)
    expect(row).to_be_visible()
    expect(page.locator(f'tr[data-key="{log_id}"]')).to_have_class(re.compile(r"\bfresh\b"))
    expect(row).to_contain_text(user)
    expect(row).to_contain_text(device)
    # ... and turns delivered once the CRM took it, in place
    expect(row.get_by_text("delivered", exact=True)).to_be_visible()
    expect(table.get_by_role("row").filter(has_text=name)).to_have_count(1)
    # and the person is in now, counted today
    who = page.get_by_role("region", name="Who is in now")
    expect(who.get_by_text(name)).to_be_visible()
    expect(page.get_by_text("No punches yet today.")).to_be_hidden()
    assert page.url == url  # no navigation, no reload
    assert page.evaluate("() => performance.getEntriesByType('navigation').length") == 1
    page.screenshot(path=SCREENSHOTS / "live-desktop.png", full_page=True)
    # When they clock out, they leave the list
    stack.post_punch(device, user, kind="out")
    expect(table.get_by_role("row").filter(has_text=name)).to_have_count(2)
    expect(who.get_by_text(name)).to_have_count(0)
    # At phone width the table reads as cards (the fixture saves that screenshot)
    page.set_viewport_size({"width": 390, "height": 844})
    expect(row.get_by_text("delivered", exact=True)).to_have_count(2)
    # and the header takes two short rows, not a screen's fifth: name and session, then every page's
    # link on one line, the feed's state still read out in full
    assert page.locator("header.top").evaluate("e => e.offsetHeight") <= 100
    links = page.get_by_role("navigation", name="Main").get_by_role("link")
    edges = links.evaluate_all(
        "links => links.map(a => a.getBoundingClientRect()).map(r => [r.left, r.right])"
    )
    assert len(edges) == 5
    assert all(left >= 0 and right <= 390 for left, right in edges), edges
    expect(page.get_by_role("status").filter(has_text="Live feed:")).to_have_text("Live feed: connected")
    page.screenshot(path=SCREENSHOTS / "live-phone.png", full_page=True)


@pytest.mark.console_allows(r"status of 404")  # the browser's own line: the ID is not in the directory
def test_a_refused_punch_shows_dead_lettered_with_the_reason(page, stack: RunningStack) -> None:
    suffix = uuid.uuid4().hex[:8]
    user, device = f"UNKNOWN-{suffix}", f"LIVEDEV-{suffix}"
    open_live(page, stack)
    stack.post_punch(device, user)
    # An employee the CRM refuses for good: the row names the ID, and its status says it gave up, and why
    row = page.get_by_role("table", name=TABLE).get_by_role("row").filter(has_text=user)
    expect(row).to_contain_text("not in the directory")
    expect(row.get_by_text("dead lettered", exact=True)).to_be_visible()
    # (in words, the CRM's own message kept)
    expect(row.locator(".problem")).to_have_text("The CRM refused the punch (HTTP 422): unknown employee")
    # and the ID leads to its page, where an admin can add it to the directory
    row.get_by_role("link", name=user).click()
    expect(page.get_by_text(f"{user} is not in the directory.")).to_be_visible()


def test_an_admin_voids_a_punch_with_a_reason_and_it_leaves_the_crm_and_the_day(
    page, stack: RunningStack
) -> None:
    suffix = uuid.uuid4().hex[:8]
    user, device, name = f"VOID-{suffix}", f"LIVEDEV-{suffix}", f"Vera Void {suffix}"
    assert send(stack, "PUT", f"/employees/{user}", {"name": name, "department": "Ops"}).status_code == 201
    # Given a test punch the CRM took, on an admin's Live page
    open_live(page, stack)
    past_the_first_minutes_of_today(2)
    log_id = stack.post_punch(device, user, datetime.now(UTC) - timedelta(minutes=1))
    row = page.locator(f'tr[data-key="{log_id}"]')
    expect(row.get_by_text("delivered", exact=True)).to_be_visible()
    who = page.get_by_role("region", name="Who is in now")
    expect(who.get_by_text(name)).to_be_visible()
    # When the admin asks to void it, the dialog wants a reason before it does anything
    row.get_by_role("button", name=re.compile(f"^Void {name}")).click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text(f"Void {name}'s in punch")
    dialog.get_by_role("button", name="Void").click()
    expect(dialog).to_be_visible()
    assert log_id in stack.crm_log_ids()
    dialog.get_by_label("Reason").fill("a test punch")
    dialog.get_by_role("button", name="Void").click()
    # Then the row says so, and turns voided once the feed says the CRM no longer has it
    expect(row.get_by_text("voided", exact=True)).to_be_visible(timeout=30_000)
    expect(row).to_contain_text("a test punch")
    expect(row.get_by_role("button", name=re.compile("^Void"))).to_have_count(0)
    # and, her only punch of the day voided, she is no longer in (the page read who is in again)
    expect(who.get_by_text(name)).to_have_count(0)
    assert log_id not in stack.crm_log_ids()
    page.screenshot(path=SCREENSHOTS / "live-voided.png")
    # and on the next visit it is no longer among today's punches
    page.reload()
    expect(page.get_by_text("Loading today's punches…")).to_have_count(0)
    expect(page.locator(f'tr[data-key="{log_id}"]')).to_have_count(0)


def a_punch_the_crm_keeps(stack: RunningStack) -> tuple[str, str, str]:
    """An employee's punch of today, delivered, that the CRM then refuses to remove: (userId, name, logId)."""
    suffix = uuid.uuid4().hex[:8]
    user, device, name = f"KEPT-{suffix}", f"LIVEDEV-{suffix}", f"Kim Kept {suffix}"
    call(stack, "PUT", f"/employees/{user}", {"name": name})
    past_the_first_minutes_of_today(2)
    log_id = stack.post_punch(device, user, datetime.now(UTC) - timedelta(minutes=1))
    wait_until(lambda: log_id in stack.crm_log_ids(), 60)
    httpx.post(stack.crm_url + "/crm/_behaviour", json={"failUsers": [user], "status": 422}, timeout=5)
    return user, name, log_id


def test_a_void_the_crm_refuses_reads_in_words_on_live_and_in_the_days_punches(
    page, stack: RunningStack
) -> None:
    # Given a punch of today the CRM took, and will not give up (it refuses to remove the record)
    user, name, log_id = a_punch_the_crm_keeps(stack)
    # When an admin voids it from the Live page
    open_live(page, stack)
    status = page.locator(f'tr[data-key="{log_id}"] td[data-label="Status"]')
    status.get_by_role("button", name=re.compile(f"^Void {name}")).click()
    page.get_by_role("dialog").get_by_label("Reason").fill("a test punch")
    page.get_by_role("dialog").get_by_role("button", name="Void").click()
    # Then it is delivered again, and says in words that the CRM kept it, its raw answer for admins only
    said = "Not voided: The CRM would not remove it (HTTP 422): simulated failure"
    raw = status.get_by_text('HTTP 422: {"error": "simulated failure", "status": 422}')
    for _ in ("as the feed says it", "as the list read on opening says it"):
        expect(status.get_by_text("delivered", exact=True)).to_be_visible()
        expect(status.get_by_text(said, exact=True)).to_be_visible()
        expect(raw).to_be_hidden()
        page.reload()
        expect(page.get_by_text("Loading today's punches…")).to_have_count(0)
    # and the day's punches on the employee's page say the same, where the void was seemingly forgotten
    page.goto(f"{stack.api_url}/#/employees/{user}")
    day = datetime.now(UTC).date().isoformat()  # the stack's zone is UTC
    days = page.get_by_role("table", name=f"Punches of {user} by day")
    days.get_by_role("button", name=f"The 1 punch of {user} on {day}").click()
    listed = page.get_by_role("table", name=f"The punches of {user} that make up {day}")
    expect(listed.locator('td[data-label="Delivery"]').get_by_text("delivered", exact=True)).to_be_visible()
    expect(listed.locator('td[data-label="Last error"]')).to_contain_text(said)
    assert log_id in stack.crm_log_ids()


def test_a_refusal_the_feed_tells_before_the_voids_reply_comes_stands(page, stack: RunningStack) -> None:
    # Given a punch of today the CRM took and will not give up, on an admin's Live page
    _, name, log_id = a_punch_the_crm_keeps(stack)
    open_live(page, stack)
    status = page.locator(f'tr[data-key="{log_id}"] td[data-label="Status"]')
    # When the admin voids it, and the feed tells the CRM's refusal before the API's reply reaches the page
    held = HeldReplies(page, "**/punches/*/void")
    status.get_by_role("button", name=re.compile(f"^Void {name}")).click()
    page.get_by_role("dialog").get_by_label("Reason").fill("a test punch")
    page.get_by_role("dialog").get_by_role("button", name="Void").click()
    assert held.first("The void").status == 202
    said = "Not voided: The CRM would not remove it (HTTP 422): simulated failure"
    expect(status.get_by_text(said, exact=True)).to_be_visible()
    held.release()
    expect(page.get_by_role("dialog")).to_have_count(0)
    # Then the row keeps the refusal, and offers Void again: the late reply does not mark it as being removed
    expect(page.get_by_text(f"Voiding {name}'s punch")).to_have_count(0)
    expect(status.get_by_text("delivered", exact=True)).to_be_visible()
    expect(status.get_by_text(said, exact=True)).to_be_visible()
    expect(status.get_by_role("button", name=re.compile(f"^Void {name}"))).to_be_visible()
    expect(status.get_by_text("voiding", exact=True)).to_have_count(0)


def test_punches_from_before_the_page_opened_are_listed_with_their_status(page, stack: RunningStack) -> None:
    suffix = uuid.uuid4().hex[:8]
    user, device, name = f"EARLY-{suffix}", f"LIVEDEV-{suffix}", f"Edda Early {suffix}"
    assert send(stack, "PUT", f"/employees/{user}", {"name": name, "department": "Ops"}).status_code == 201
    # Given two punches of today, delivered before anyone opened the Live page
    past_the_first_minutes_of_today(4)
    first = stack.post_punch(device, user, datetime.now(UTC) - timedelta(minutes=3))
    second = stack.post_punch(device, user, datetime.now(UTC) - timedelta(minutes=1.5), kind="break_out")
    wait_until(lambda: {first, second} <= stack.crm_log_ids(), 60)
    # When an admin opens it (or comes back to it)
    open_live(page, stack)
    # Then both are listed, newest first, with their delivery status and when they arrived
    rows = page.get_by_role("table", name=TABLE).get_by_role("row").filter(has_text=name)
    expect(rows).to_have_count(2)
    expect(rows.nth(0).get_by_text("break out", exact=True)).to_be_visible()
    expect(rows.nth(1).get_by_text("in", exact=True)).to_be_visible()
    for index in range(2):
        expect(rows.nth(index).get_by_text("delivered", exact=True)).to_be_visible()
        expect(rows.nth(index)).to_contain_text("arrived ")
        expect(rows.nth(index)).not_to_contain_text("before this page opened")
    # and a punch arriving now goes on top, once
    third = stack.post_punch(device, user, kind="break_in")
    expect(rows).to_have_count(3)
    expect(page.locator("tbody tr").first).to_have_attribute("data-key", third)


def test_a_punch_delivered_at_its_second_attempt_reads_delivered_when_the_page_opens(
    page, stack: RunningStack
) -> None:
    # Given a punch of today the CRM took at its second attempt (the first met an outage), before the
    # Live page was opened
    httpx.post(stack.crm_url + "/crm/_behaviour", json={"failFirst": 1, "status": 503}, timeout=5)
    past_the_first_minutes_of_today(2)
    log_id = stack.post_punch(f"LIVEDEV-{uuid.uuid4().hex[:8]}", f"RETRY-{uuid.uuid4().hex[:8]}")
    wait_until(lambda: log_id in stack.crm_log_ids(), 60)
    # When an admin opens the page
    open_live(page, stack)
    # Then the punch reads delivered, the earlier attempt a quiet note, not the outage's error
    status = page.locator(f'tr[data-key="{log_id}"] td[data-label="Status"]')
    expect(status.get_by_text("delivered", exact=True)).to_be_visible()
    expect(status.locator(".muted")).to_have_text("after 2 attempts")
    expect(status).not_to_contain_text("HTTP 503")
    expect(status).not_to_contain_text("unavailable")
    expect(status.locator(".problem, .technical-detail")).to_have_count(0)


def test_a_punch_the_feed_brings_while_the_list_is_read_keeps_what_the_list_knows(
    page, stack: RunningStack
) -> None:
    # Given a punch taken before the page opens, delivered at its second attempt (10 s on) while the page
    # reads the list
    httpx.post(stack.crm_url + "/crm/_behaviour", json={"failFirst": 1, "status": 503}, timeout=5)
    device = f"LIVEDEV-{uuid.uuid4().hex[:8]}"
    with watching(stack, f"device:{device}") as feed:
        log_id = stack.post_punch(device, f"LATE-{uuid.uuid4().hex[:8]}")
        # its arrival already told (under load the feed may tell it only once the page listens)
        assert next_event(feed, "punch.accepted").punch.log_id == log_id
    held = []
    page.route("**/reports/punches?*", lambda route: held.append(route))
    sign_in(page, stack)
    # When its delivery comes from the feed first: the page has only that event, not when it arrived
    row = page.locator(f'tr[data-key="{log_id}"]')
    expect(row.get_by_text("delivered", exact=True)).to_be_visible()
    expect(row).to_contain_text("arrived before this page opened")
    # and then the list answers
    held[0].continue_()
    # Then the row is still one, delivered, and says when the punch arrived
    expect(row).not_to_contain_text("before this page opened")
    expect(row).to_contain_text("arrived ")
    expect(row.get_by_text("delivered", exact=True)).to_be_visible()
    expect(page.locator(f'tr[data-key="{log_id}"]')).to_have_count(1)


def test_names_are_read_for_the_punches_shown_never_the_whole_directory(page, stack: RunningStack) -> None:
    suffix = uuid.uuid4().hex[:8]
    user, device, name = f"LATER-{suffix}", f"LIVEDEV-{suffix}", f"Lars Later {suffix}"
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url))
    # Given the Live page open, and an employee added to the directory after it opened
    open_live(page, stack)
    assert send(stack, "PUT", f"/employees/{user}", {"name": name}).status_code == 201
    # When they punch
    log_id = stack.post_punch(device, user)
    # Then their row names them at once (the page asks the directory for that ID alone)
    row = page.locator(f'tr[data-key="{log_id}"]')
    expect(row.get_by_role("link", name=name)).to_be_visible(timeout=15_000)  # the old page waited up to 30 s
    expect(row).to_contain_text(user)
    names_read = [url for url in asked if "/employee-names?" in url]
    assert any(user in url for url in names_read), names_read
    # and the page never read the whole directory
    assert not [url for url in asked if re.search(r"/employees(\?|$)", url)], asked


def test_a_clock_punch_and_one_added_by_hand_name_their_zone_alike(page, stack: RunningStack) -> None:
    suffix = uuid.uuid4().hex[:8]
    user, name = f"ZONE-{suffix}", f"Zoe Zone {suffix}"
    call(stack, "PUT", f"/employees/{user}", {"name": name})
    # Given an admin on the Live page, and a clock registered without a zone of its own (the stack's is UTC)
    device = register_clock(stack)
    open_live(page, stack)
    past_the_first_minutes_of_today(3)
    # When the clock sends a punch with its offset (+00:00), and an admin adds one by hand at that clock
    at = datetime.now(UTC).replace(microsecond=0)
    clocked = stack.post_punch(device, user, at - timedelta(minutes=2))
    by_hand = {"deviceId": device, "timestamp": (at - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%S")}
    added = call(stack, "POST", f"/employees/{user}/punches", by_hand | {"type": "break_out"}).json()["logId"]
    # Then both name the zone after their time in the same words
    for log_id in (clocked, added):
        shown = page.locator(f'tr[data-key="{log_id}"] td[data-label="Time"]')
        expect(shown).to_contain_text(" UTC")
        expect(shown).not_to_contain_text("+00:00")
    expect(page.locator(f'tr[data-key="{added}"]')).to_contain_text("added by hand")


def test_a_clock_heard_from_while_the_devices_are_read_counts_in_its_new_state(
    page, stack: RunningStack
) -> None:
    # Given a clock never heard from, and an admin opening the Live page, whose devices are read before the
    # clock is heard from and their reply held back
    device = register_clock(stack)
    held = HeldReplies(page, "**/devices")
    sign_in(page, stack)
    before = held.first("the devices")
    states = {d["deviceId"]: d["state"] for d in before.json()["devices"]}
    assert states[device] == "never_seen"
    # When the clock reports, and the feed tells the page before that reply comes
    call(stack, "POST", f"/devices/{device}/health", {"via": "http", "clockDriftSeconds": 4})
    devices = page.get_by_role("region", name="Devices")
    expect(devices.get_by_role("list", name="Device changes")).to_contain_text(f"{device} is now online")
    held.release()
    # Then the devices' summary counts it online, not as the older reply had it
    states[device] = "online"
    by_state: dict[str, int] = {}
    for state in states.values():  # in the order the page counts them: the list's
        by_state[state] = by_state.get(state, 0) + 1
    parts = ", ".join(f"{count} {state.replace('_', ' ')}" for state, count in by_state.items())
    expect(devices).to_contain_text(f"{len(states)} registered: {parts}.")
