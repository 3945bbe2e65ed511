"""The dashboard's Devices pages, as a person uses them in a real browser."""

import re
import time
import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import expect

from attendance.data.api_keys import ApiKeyStore
from attendance.data.punches import iso
from attendance.domain.keys import Scope
from local_stack.running import RunningStack
from local_stack.stack import local_client
from tests.e2e.browser import HeldReplies, call, register_clock, sign_in
from tests.e2e.feed_client import next_event, watching

pytestmark = pytest.mark.e2e


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8].upper()}"


def last_seen_long_ago(stack: RunningStack, device_id: str) -> None:
    """The device's record as it is when the device was last heard from two hours ago: a silence
    without waiting out its threshold (a minute at the shortest)."""
    local_client("dynamodb", stack.aws_url).update_item(
        TableName="attendance-sync-DevicesTable",
        Key={"deviceId": {"S": device_id}},
        UpdateExpression="SET lastSeenAt = :seen, via = :via",
        ExpressionAttributeValues={
            ":seen": {"S": iso(datetime.now(UTC) - timedelta(hours=2))},
            ":via": {"S": "adms"},
        },
    )


def row(page, key: str):
    return page.locator(f'tr[data-key="{key}"]')


@pytest.mark.console_allows(r"status of 422")  # the browser's own line for the refused command
def test_device_states_live_updates_and_queueing_a_command(page, stack: RunningStack) -> None:
    # Given a clock never heard from and one last heard from two hours ago (silent after a minute)
    waiting = register_clock(stack)
    silent = register_clock(stack, silentAfterMinutes=1, name="Back door")
    last_seen_long_ago(stack, silent)

    # When an admin opens Devices
    sign_in(page, stack)
    page.get_by_role("link", name="Devices", exact=True).click()
    expect(page.get_by_role("heading", name="Devices", level=1)).to_be_visible()

    # Then each shows its state in words
    expect(row(page, waiting).get_by_text("never seen")).to_be_visible()
    expect(row(page, silent).get_by_text("silent", exact=True)).to_be_visible()
    expect(row(page, silent)).to_contain_text("Back door")

    # When the first one reports (a poller's health report with its clock drift), the row follows live
    call(stack, "POST", f"/devices/{waiting}/health", {"via": "http", "clockDriftSeconds": 4})
    expect(row(page, waiting).get_by_text("online")).to_be_visible()
    expect(row(page, waiting)).to_contain_text("+4 s")

    # When the admin opens its page (an employee of the directory about to punch on it)
    named = unique("E2E-DASH-N")
    call(stack, "PUT", f"/employees/{named}", {"name": "Nadia Named"})
    row(page, waiting).get_by_role("link", name=waiting).click()
    expect(page.get_by_role("heading", name=f"Device {waiting}", level=1)).to_be_visible()
    expect(page.get_by_text("No commands were queued for this device.")).to_be_visible()
    expect(page.get_by_text("No punches from this device yet.")).to_be_visible()

    # Then a punch from it appears in its recent punches as it arrives
    user = unique("E2E-DASH-U")
    now = datetime.now(UTC).replace(microsecond=0).isoformat()
    call(stack, "POST", "/punches", {"deviceId": waiting, "userId": user, "timestamp": now, "type": "in"})
    punches = page.get_by_role("table", name=f"Recent punches of {waiting}")
    expect(punches.get_by_role("link", name=user)).to_be_visible()
    expect(punches.get_by_role("row").filter(has_text=user)).to_contain_text("not in the directory")
    # and its delivery follows live, in the words the Live and Deliveries pages use (the API says synced)
    expect(punches.get_by_text("delivered", exact=True)).to_be_visible()
    # and a punch of an employee in the directory shows their name, the ID under it
    call(stack, "POST", "/punches", {"deviceId": waiting, "userId": named, "timestamp": now, "type": "in"})
    expect(punches.get_by_role("link", name="Nadia Named")).to_be_visible()
    expect(punches.get_by_role("row").filter(has_text="Nadia Named")).to_contain_text(named)
    # and an admin voids that one from here, with a reason: it turns voided once it has left the CRM
    nadia = punches.get_by_role("row").filter(has_text="Nadia Named")
    expect(nadia.get_by_text("delivered", exact=True)).to_be_visible()
    nadia.get_by_role("button", name=re.compile("^Void ")).click()
    expect(page.get_by_role("dialog")).to_contain_text("Void Nadia Named's in punch")
    page.get_by_role("dialog").get_by_label("Reason").fill("punched on the wrong clock")
    page.get_by_role("dialog").get_by_role("button", name="Void").click()
    expect(nadia.get_by_text("voided", exact=True)).to_be_visible()
    expect(nadia.get_by_role("button", name=re.compile("^Void"))).to_have_count(0)
    # and once the first one is added to the directory, their next punch names them, without a reload
    call(stack, "PUT", f"/employees/{user}", {"name": "Una Unlisted"})
    earlier = (
        (datetime.now(UTC) - timedelta(minutes=5)).replace(microsecond=0).isoformat()
    )  # not a near duplicate
    call(stack, "POST", "/punches", {"deviceId": waiting, "userId": user, "timestamp": earlier, "type": "in"})
    expect(punches.get_by_role("link", name="Una Unlisted")).to_have_count(2)
    expect(punches.get_by_text("not in the directory")).to_have_count(0)

    # When the admin queues a clock sync, then it is in the command history, pending
    page.get_by_label("Command", exact=True).select_option(label="Sync the clock to the current time")
    page.get_by_role("button", name="Queue command").click()
    history = page.get_by_role("table", name=f"Command history of {waiting}, newest first")
    expect(history).to_contain_text("set clock")
    expect(history.get_by_text("pending")).to_be_visible()

    # and a range that runs backwards is refused with the API's own reason
    page.get_by_label("Command", exact=True).select_option("resend_log")
    page.get_by_label("From (the clock's time)").fill("2026-01-02T10:00")
    page.get_by_label("To (the clock's time)").fill("2026-01-01T10:00")
    page.get_by_role("button", name="Queue command").click()
    expect(page.get_by_role("alert")).to_be_visible()
    expect(history.get_by_role("row")).to_have_count(2)  # the header and the one clock sync

    # When the admin puts every employee on the clock, one of them past their last working day
    gone = unique("E2E-DASH-L")
    yesterday = (datetime.now(UTC).date() - timedelta(days=1)).isoformat()  # the stack's zone is UTC
    call(stack, "PUT", f"/employees/{gone}", {"name": "Lou Left", "leftOn": yesterday})
    page.get_by_label("Command", exact=True).select_option("put_employee")
    # (the field says how they are put: as normal users, so an administrator on the clock becomes one)
    expect(page.get_by_label("Employee IDs")).to_have_accessible_description(re.compile("as a normal user"))
    page.get_by_label("Every employee in the directory").check()
    page.get_by_role("button", name="Queue command").click()
    # Then those who work here are queued, and the one who left is not
    expect(page.get_by_text("commands queued: the clock fetches")).to_be_visible()
    expect(history).to_contain_text(f"PIN={named}")
    expect(history).not_to_contain_text(f"PIN={gone}")


def test_an_admin_disables_then_removes_a_clock_registered_by_mistake(page, stack: RunningStack) -> None:
    # Given a clock registered by mistake, whose punches reach the API only from another system
    device_id = register_clock(stack, name="Wrong door")
    now = datetime.now(UTC).replace(microsecond=0).isoformat()
    call(
        stack,
        "POST",
        "/punches",
        {"deviceId": device_id, "userId": unique("E2E-RM"), "timestamp": now, "type": "in"},
    )

    # When an admin opens its page
    sign_in(page, stack)
    page.goto(f"{stack.api_url}/#/devices/{device_id}")
    facts = page.locator(".device-facts")
    # Then it says why it reads never seen while its punches arrive
    expect(facts).to_contain_text("do not count as hearing from it")
    # And it cannot be removed while enabled
    expect(facts).to_contain_text("A device is removed once it is disabled.")
    expect(facts.get_by_role("button", name="Remove")).to_have_count(0)

    # When the admin disables it, confirming
    facts.get_by_role("button", name="Disable").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("Punches it sends are refused from now on")
    dialog.get_by_role("button", name="Disable").click()
    # Then it is disabled, and may be enabled again or removed
    expect(facts.locator(".badge").first).to_have_text("disabled")
    expect(facts.get_by_role("button", name="Enable")).to_be_visible()
    # and it is offered no command, which it would refuse
    expect(page.get_by_text("A disabled device takes no commands: enable it to queue one.")).to_be_visible()
    expect(page.get_by_role("button", name="Queue command")).to_have_count(0)

    # When the admin removes it, confirming what goes and what stays
    facts.get_by_role("button", name="Remove").click()
    expect(dialog).to_contain_text("its punches stay in the reports and the CRM")
    page.screenshot(path="test-results/screenshots/device-remove-confirm.png")
    dialog.get_by_role("button", name="Remove").click()
    # Then the list of devices is shown without it, and the registry no longer knows it
    expect(page.get_by_role("heading", name="Devices", level=1)).to_be_visible()
    expect(page.get_by_text(f"{device_id} (Wrong door) was removed.")).to_be_visible()
    expect(row(page, device_id)).to_have_count(0)
    gone = httpx.get(
        f"{stack.api_url}/devices/{device_id}", headers={"Authorization": f"Bearer {stack.api_key}"}
    )
    assert gone.status_code == 404


def test_a_read_key_sees_no_admin_controls(page, stack: RunningStack) -> None:
    # Given a read-only key, a clock and an employee
    viewer = f"e2e-viewer-{uuid.uuid4().hex}"
    keys = ApiKeyStore(local_client("dynamodb", stack.aws_url), "attendance-sync-ApiKeysTable")
    keys.create("dashboard viewer", frozenset({Scope.READ}), raw_key=viewer)
    device_id = register_clock(stack)
    user = unique("E2E-DASH-U")
    call(stack, "PUT", f"/employees/{user}", {"name": "Vera Viewer", "department": "Ops"})
    now, puncher = datetime.now(UTC).replace(microsecond=0).isoformat(), unique("E2E-DASH-P")
    call(
        stack,
        "POST",
        "/punches",
        {"deviceId": device_id, "userId": puncher, "timestamp": now, "type": "in"},
    )

    # When the viewer, at phone width, opens the device's page and the employee's page
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, stack, key=viewer)
    page.goto(f"{stack.api_url}/#/devices/{device_id}")
    expect(page.get_by_text("No commands were queued for this device.")).to_be_visible()
    # Then neither shows a control only admins may use
    expect(page.get_by_role("button", name="Queue command")).to_have_count(0)
    expect(page.get_by_label("Command", exact=True)).to_have_count(0)
    expect(page.get_by_role("button", name=re.compile("^(Disable|Enable|Remove)$"))).to_have_count(0)
    expect(page.get_by_role("link", name=puncher)).to_be_visible()  # its recent punch is listed
    expect(page.get_by_role("button", name=re.compile("^Void"))).to_have_count(0)
    page.goto(f"{stack.api_url}/#/employees/{user}")
    expect(page.get_by_role("heading", name=f"Vera Viewer ({user})", level=1)).to_be_visible()
    expect(page.get_by_text("No punches in the last 7 days.")).to_be_visible()
    expect(page.get_by_text("No punches from")).to_be_visible()  # this week's timesheet, empty
    expect(page.get_by_role("button", name="Save changes")).to_have_count(0)
    expect(page.get_by_label("Department")).to_have_count(0)
    assert page.locator("form.admin-only, .admin-only form, .admin-only button").count() == 0


@pytest.mark.console_allows(r"Failed to load resource: net::ERR_FAILED")  # the browser's own line for it
def test_a_page_that_cannot_be_fetched_says_so_and_can_be_tried_again(page, stack: RunningStack) -> None:
    # Given a signed-in admin whose connection drops before the Devices page was first opened
    sign_in(page, stack)
    page.route("**/assets/page-devices.js", lambda route: route.abort())
    # When they open Devices, then the page says the server cannot be reached, in words, and offers a retry
    page.get_by_role("link", name="Devices", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("the server cannot be reached")
    # When the connection is back and they try again, then the page opens
    page.unroute("**/assets/page-devices.js")
    page.get_by_role("button", name="Try again").click()
    expect(page.get_by_role("heading", name="Devices", level=1)).to_be_visible()


def test_times_are_on_the_24_hour_clock_as_the_reports_show_them(page, stack: RunningStack) -> None:
    # Given a clock that reported a punch at 15:04 UTC yesterday
    device = register_clock(stack)
    at = (datetime.now(UTC) - timedelta(days=1)).replace(hour=15, minute=4, second=5, microsecond=0)
    call(
        stack,
        "POST",
        "/punches",
        {"deviceId": device, "userId": unique("E2E-H"), "timestamp": at.isoformat(), "type": "in"},
    )
    # When an admin opens the device's page (the stack's zone is UTC)
    sign_in(page, stack)
    page.goto(f"{stack.api_url}/#/devices/{device}")
    punches = page.get_by_role("table", name=f"Recent punches of {device}")
    # Then its time reads 15:04:05, not 03:04:05 PM
    expect(punches).to_contain_text("15:04:05")
    expect(punches).not_to_contain_text("PM")
    # and the device's own time (here in the same zone) reads exactly as the instant does: one date order
    row = punches.locator("tbody tr").first
    shown = row.locator('td[data-label="Time"]').inner_text()
    expect(row.locator('td[data-label="Device time"]')).to_have_text(shown)


def test_a_log_resend_offers_yesterday_on_the_clock_not_in_the_companys_zone(
    page, stack: RunningStack
) -> None:
    # Given a clock whose date now differs from the company's (UTC): fourteen hours ahead late in UTC's day,
    # twelve behind early in it
    clock_zone = "Pacific/Kiritimati" if datetime.now(UTC).hour >= 11 else "Etc/GMT+12"
    device = register_clock(stack, timeZone=clock_zone)
    yesterday = datetime.now(ZoneInfo(clock_zone)).date() - timedelta(days=1)
    assert yesterday != datetime.now(UTC).date() - timedelta(days=1)
    # When an admin picks its log re-send
    sign_in(page, stack)
    page.goto(f"{stack.api_url}/#/devices/{device}")
    page.get_by_label("Command", exact=True).select_option("resend_log")
    # Then the range offered is yesterday on the clock, in the clock's time its fields ask for
    expect(page.get_by_label("From (the clock's time)")).to_have_value(f"{yesterday}T00:00")
    expect(page.get_by_label("To (the clock's time)")).to_have_value(f"{yesterday}T23:59")


def test_a_clock_heard_from_while_the_list_is_read_is_not_set_back_by_the_older_reply(
    page, stack: RunningStack
) -> None:
    # Given a clock never heard from, and an admin opening Devices, whose list is read before the clock is
    # heard from and its reply held back
    device = register_clock(stack)
    sign_in(page, stack)
    page.wait_for_load_state("networkidle")  # the Live page, where signing in lands, has read its devices
    held = HeldReplies(page, "**/devices")
    page.get_by_role("link", name="Devices", exact=True).click()
    before = held.first("the devices")
    assert {d["deviceId"]: d["state"] for d in before.json()["devices"]}[device] == "never_seen"
    # When the clock reports, and the page, told by the feed of a clock it has not listed, reads the list again
    call(stack, "POST", f"/devices/{device}/health", {"via": "http", "clockDriftSeconds": 4})
    expect(row(page, device).get_by_text("online")).to_be_visible()
    # and the older reply comes after it
    held.release()
    page.wait_for_timeout(1000)  # what that reply would have done by now
    # Then the clock stays online
    expect(row(page, device).get_by_text("online")).to_be_visible()


def test_punches_told_while_the_list_is_read_are_counted_from_one_read_of_their_clock(
    page, stack: RunningStack
) -> None:
    # Given a clock heard from, and an admin opening Devices, whose list is read before the clock's
    # punches come, its reply held back
    device = register_clock(stack)
    call(stack, "POST", f"/devices/{device}/health", {"via": "http", "clockDriftSeconds": 0})
    sign_in(page, stack)
    page.wait_for_load_state("networkidle")  # the Live page, where signing in lands, has read its devices
    reads_of_the_clock: list[str] = []
    page.on(
        "request",
        lambda request: (
            reads_of_the_clock.append(request.url) if request.url.endswith(f"/devices/{device}") else None
        ),
    )
    held = HeldReplies(page, "**/devices")
    page.get_by_role("link", name="Devices", exact=True).click()
    assert (
        next(d for d in held.first("the devices").json()["devices"] if d["deviceId"] == device)[
            "punchesToday"
        ]
        == 0
    )
    # When five people punch at it, and the feed tells the page before that reply comes
    now = datetime.now(UTC).replace(microsecond=0).isoformat()
    with watching(stack, f"device:{device}") as client:
        for person in range(5):
            punch = {
                "deviceId": device,
                "userId": unique(f"E2E-TOLD-{person}"),
                "timestamp": now,
                "type": "in",
            }
            call(stack, "POST", "/punches", punch)
        for _ in range(5):
            next_event(client, "punch.accepted")
    time.sleep(1)  # the page's own feed connection heard them at the same time
    held.release()
    # Then its row counts the five, from the clock's record read once rather than once a punch
    expect(row(page, device).locator('td[data-label="Punches today"]')).to_have_text("5")
    page.wait_for_timeout(1000)  # what more reads would have asked for by now
    assert len(reads_of_the_clock) == 1, reads_of_the_clock


def test_a_clock_heard_from_while_its_page_reads_it_shows_its_new_state(page, stack: RunningStack) -> None:
    # Given a clock never heard from, and an admin opening its page, which reads it before it is heard from,
    # the reply held back
    device = register_clock(stack)
    sign_in(page, stack)
    held = HeldReplies(page, f"**/devices/{device}")
    page.goto(f"{stack.api_url}/#/devices/{device}")
    assert held.first("the device").json()["state"] == "never_seen"
    # When the clock reports, and the feed tells the page before that reply comes
    with watching(stack, f"device:{device}") as client:
        call(stack, "POST", f"/devices/{device}/health", {"via": "http", "clockDriftSeconds": 4})
        next_event(client, "device.state")
    time.sleep(1)  # the page's own feed connection heard it at the same time
    held.release()
    # Then its page says it is online, not what the older reply said
    expect(page.get_by_role("heading", name=f"Device {device}", level=1)).to_be_visible()
    expect(page.locator(".device-facts").get_by_text("online", exact=True)).to_be_visible()
