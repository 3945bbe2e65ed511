"""The Deliveries page, as an admin uses it in a real browser: a punch the CRM refuses is dead-lettered,
shown with its error in words, redriven once the CRM is fixed, and seen delivered without a reload; a punch
the CRM will never take is abandoned."""

import re
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from attendance.data.punch_intake import PunchIntake
from attendance.data.queue import message_body
from attendance.delivery.service import NEVER_DELIVERED, NOT_DEAD_LETTERED
from attendance.delivery.targets import TARGETS
from attendance.stack_names import STACK_PREFIX
from local_stack.running import RunningStack
from local_stack.stack import local_client
from tests.e2e.browser import HeldReplies, sign_in
from tests.e2e.feed_client import next_event, watching
from tests.punches import utc_punch
from tests.unit.test_crm_error_shapes import frappe_417, outcome

pytestmark = pytest.mark.e2e


def confirm(page, row, action: str, *says: str) -> None:
    """The row's `action` button, its confirmation checked to say each of `says`, then confirmed."""
    row.get_by_role("button", name=action).click()
    dialog = page.get_by_role("dialog")
    for words in says:
        expect(dialog).to_contain_text(words)
    dialog.get_by_role("button", name=action, exact=True).click()


def test_a_refused_punch_is_dead_lettered_redriven_and_seen_delivered(page, stack: RunningStack) -> None:
    # Given an admin on the Deliveries page, and a CRM that refuses one employee's punches for good (an
    # employee it does not know yet: 422, dead-lettered at the first attempt)
    user = f"DLQ-{uuid.uuid4().hex[:8]}"
    httpx.post(stack.crm_url + "/crm/_behaviour", json={"failUsers": [user], "status": 422}, timeout=5)
    sign_in(page, stack)
    page.get_by_role("link", name="Deliveries", exact=True).click()
    expect(page.get_by_role("heading", name="Deliveries", level=1)).to_be_visible()
    expect(page.get_by_role("list", name="Punches by delivery status")).to_contain_text("delivered")

    # When a punch of that employee comes in
    log_id = stack.post_punch("DEV001", user)

    # Then it appears among the dead letters as it happens, with the CRM's answer
    row = page.get_by_role("row").filter(has_text=user)
    expect(row).to_contain_text("HTTP 422")
    expect(row).to_contain_text("dead lettered")
    # and the list read from the API says the same after a reload
    page.reload()
    expect(page.locator("#feed-status")).to_have_attribute("data-state", "online")
    expect(row).to_contain_text("HTTP 422")
    expect(row.locator("code")).to_have_attribute("title", log_id)
    expect(row).to_contain_text("not in the directory")  # a PIN the directory does not know either
    # and the queue's own count says what it counts: messages (SQS's, approximate), not punches
    expect(page.get_by_text(re.compile(r"^In the dead-letter queue: [1-9]\d* messages?$"))).to_be_visible()

    # When the admin thinks of redriving them all, the confirmation quotes the CRM's last answers too
    page.get_by_role("button", name="Redrive all").click()
    dialog = page.get_by_role("dialog")
    # (other tests' dead letters share this stack, with other answers: the commonest are quoted, with counts)
    expect(dialog).to_contain_text(
        re.compile(r"Why their last attempts failed: “The CRM [^”]+” \(\d+ punch(es)?\)")
    )
    expect(dialog).to_contain_text("refused again")
    # and they think better of it
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()

    # When the admin redrives it before the CRM knows the employee, the confirmation names the CRM's answer
    confirm(page, row, "Redrive", user, "HTTP 422", "refused again")
    # Then, refused again, the row says the cause wants fixing first
    expect(row).to_contain_text("again: fix the cause of the last error first")

    # When the CRM knows the employee and the admin redrives the punch once more, confirming it
    httpx.post(stack.crm_url + "/crm/_reset", timeout=5).raise_for_status()
    row.get_by_role("button", name="Redrive").click()
    page.get_by_role("dialog").get_by_role("button", name="Redrive", exact=True).click()

    # Then the page says what was redriven, and shows the punch delivered without a reload
    expect(page.get_by_text("Redriven: 1 punch").last).to_be_visible()
    expect(row).to_contain_text("delivered")
    expect(page.get_by_role("status").filter(has_text="Redriven from this page")).to_contain_text(
        "delivered: 1"
    )
    # and the CRM holds it once
    held = httpx.get(stack.crm_url + "/crm/attendance", timeout=5).json()["punches"]
    assert [p["deliveries"] for p in held if p["logId"] == log_id] == [1]
    # and the counts the reload asked for have come (what the screenshot of this page should show)
    expect(page.get_by_role("list", name="Punches by delivery status")).to_contain_text("delivered")


def abandoned_count(page) -> int:
    return int(page.locator(".stat-abandoned strong").inner_text())


def dead_letter_on_the_page(page, stack: RunningStack, prefix: str) -> tuple[str, str, Any]:
    """An admin on the Deliveries page, and a punch the CRM refuses (422) listed there as it dies: its
    user, logId and row."""
    user = f"{prefix}-{uuid.uuid4().hex[:8]}"
    httpx.post(stack.crm_url + "/crm/_behaviour", json={"failUsers": [user], "status": 422}, timeout=5)
    sign_in(page, stack)
    page.get_by_role("link", name="Deliveries", exact=True).click()
    log_id = stack.post_punch("DEV001", user)
    row = page.get_by_role("row").filter(has_text=user)
    expect(row).to_contain_text("dead lettered")
    return user, log_id, row


def test_a_punch_of_a_badge_nobody_holds_is_abandoned_and_never_sent(page, stack: RunningStack) -> None:
    # Given an admin on the Deliveries page, and a punch of a badge nobody holds, which the CRM refuses
    user, log_id, row = dead_letter_on_the_page(page, stack, "STRAY")
    before = abandoned_count(page)

    # When the admin abandons it, the confirmation says what that means, and they confirm
    confirm(page, row, "Abandon", user, "the CRM never gets it", "still counts in the reports")

    # Then the row says abandoned, with nothing left to do on it, and the count went up by one
    expect(row).to_contain_text("abandoned")
    expect(row.get_by_role("button", name="Redrive")).to_be_disabled()
    expect(row.get_by_role("button", name="Abandon")).to_be_disabled()
    expect(page.get_by_text("Abandoned: 1 punch").last).to_be_visible()
    expect(page.locator(".stat-abandoned strong")).to_have_text(str(before + 1))
    # and after a reload it is no longer a dead letter, and the CRM never got it
    page.reload()
    listed = page.locator(".dead-letter-list")
    expect(listed.locator("table, p.empty")).to_have_count(1)  # the list has come
    expect(listed.get_by_role("row").filter(has_text=user)).to_have_count(0)
    letters = httpx.get(
        stack.api_url + "/deliveries/dead-letters",
        headers={"Authorization": f"Bearer {stack.api_key}"},
        timeout=10,
    ).json()["deadLetters"]
    assert log_id not in {letter["logId"] for letter in letters}
    assert log_id not in stack.crm_log_ids()


def test_a_dead_letters_error_reads_as_a_sentence_with_the_crms_answer_for_admins(
    page, stack: RunningStack
) -> None:
    # Given an admin on the Deliveries page, and a CRM that refuses one employee's punches with a JSON body
    user = f"WORDS-{uuid.uuid4().hex[:8]}"
    httpx.post(stack.crm_url + "/crm/_behaviour", json={"failUsers": [user], "status": 422}, timeout=5)
    sign_in(page, stack)
    page.get_by_role("link", name="Deliveries", exact=True).click()

    # When a punch of that employee is dead-lettered
    stack.post_punch("DEV001", user)

    # Then its last error says what happened in a sentence, with the CRM's own message, not its JSON
    row = page.get_by_role("row").filter(has_text=user)
    error = row.locator('td[data-label="Last error"]')
    expect(error).to_contain_text("The CRM refused the punch (HTTP 422): simulated failure")
    raw = error.get_by_text('HTTP 422: {"error": "simulated failure", "status": 422}', exact=True)
    expect(raw).to_be_hidden()
    # and the CRM's raw answer is one click away for the admin
    error.get_by_text("Technical detail").click()
    expect(raw).to_be_visible()
    # and the list read from the API says the same after a reload
    page.reload()
    expect(error).to_contain_text("The CRM refused the punch (HTTP 422): simulated failure")


def test_each_error_the_worker_records_reads_as_a_sentence(page, stack: RunningStack) -> None:
    # Given the errors the worker records for a punch, made by its own CRM client (and one it does not)
    recorded = {
        outcome("generic", httpx.Response(503, json={"error": "down for maintenance"})).detail: (
            "The CRM was unavailable (HTTP 503): down for maintenance"
        ),
        outcome("generic", httpx.Response(422, json={"message": "unknown employee", "code": 7})).detail: (
            "The CRM refused the punch (HTTP 422): unknown employee"
        ),
        outcome("generic", httpx.Response(500, text="")).detail: (
            "The CRM failed with an error of its own (HTTP 500)"
        ),
        outcome("generic", httpx.Response(502, text="<html><h1>Bad gateway</h1></html>")).detail: (
            "The CRM was unavailable (HTTP 502)"
        ),
        outcome("generic", httpx.Response(400, json={"error": "x" * 400})).detail: (
            "The CRM refused the punch (HTTP 400)"  # the body cut short: only the raw text has it
        ),
        outcome("frappe", frappe_417("No Employee found for the given employee field value")).detail: (
            "The CRM refused the punch (HTTP 417): No Employee found for the given employee field value"
        ),
        outcome("generic", httpx.ReadTimeout("timed out")).detail: (
            "The CRM did not answer in time (waited 5.0 s)"
        ),
        outcome("generic", httpx.ConnectError("[Errno 111] Connection refused")).detail: (
            "The CRM could not be reached (no connection)"
        ),
        # the note of a rate limit (attendance.delivery.service), which spends no attempt
        'rate limited by the CRM (HTTP 429: {"error": "rate limit exceeded"}); trying again in 2 s, '
        "no attempt spent": "The CRM asked us to wait (HTTP 429): rate limit exceeded; trying again in 2 s, "
        "no attempt spent",
        # and those of a void (attendance.delivery.service): the CRM keeps its record, or not removed yet
        "the CRM would not remove it: "
        + outcome("generic", httpx.Response(422, json={"error": "record locked"})).detail: (
            "The CRM would not remove it (HTTP 422): record locked"
        ),
        "the CRM would not remove it: HTTP 403": "The CRM would not remove it (HTTP 403)",
        "removal from the CRM: "
        + outcome("generic", httpx.Response(503, json={"error": "down for maintenance"})).detail: (
            "Not removed from the CRM yet: the CRM was unavailable (HTTP 503): down for maintenance"
        ),
        outcome("generic", httpx.Response(422, json={"message": "unknown employee"})).detail
        + f"; {NOT_DEAD_LETTERED}": f"The CRM refused the punch (HTTP 422): unknown employee; {NOT_DEAD_LETTERED}",
        "a note of another shape: HTTP 403": "a note of another shape: HTTP 403",
    }
    page.goto(stack.api_url + "/")

    # When the dashboard puts them in words
    said = page.evaluate(
        "async (errors) => {"
        "  const { crmErrorInWords } = await import('/assets/core.js');"
        "  return errors.map((error) => crmErrorInWords(error));"
        "}",
        list(recorded),
    )

    # Then each reads as its sentence, and one of another shape as it is
    assert dict(zip(recorded, said, strict=True)) == recorded


def test_each_note_of_a_void_reads_as_a_sentence(page, stack: RunningStack) -> None:
    # Given the notes the worker leaves in a voided punch's history (and one it does not)
    removal = TARGETS["generic"]("http://crm.test/x").judge_removal
    removed = removal(httpx.Response(204)).detail
    gone = removal(httpx.Response(404, json={"error": "no such punch"})).detail
    recorded = {
        "voided by an admin (key ops): a test punch": "Being removed from the CRM",
        "voided by an admin (key ops): pressed In; on the way out; to be added again as break_out": (
            "Being removed from the CRM, then added again as break out"
        ),
        f"voided; 17 {removed} in the CRM; added again as break_out: {'0a1b' * 8}": (
            "Removed from the CRM (its record 17); added again as break out"
        ),
        f"voided; 17 {gone} in the CRM": "The CRM had no record 17 any more: nothing to remove",
        f"{NEVER_DELIVERED}; not added again as out: it would be a near duplicate of 0a1b": (
            "Voided before the CRM had it: no call; not added again as out: it would be a near duplicate of 0a1b"
        ),
        "removal from the CRM: CRM did not answer within 5.0 s": (
            "Not removed from the CRM yet: the CRM did not answer in time (waited 5.0 s)"
        ),
        "Something else": "Something else",
    }
    page.goto(stack.api_url + "/")

    # When the dashboard puts them in words
    said = page.evaluate(
        "async (notes) => {"
        "  const { voidNoteInWords } = await import('/assets/core.js');"
        "  return notes.map((note) => voidNoteInWords(note));"
        "}",
        list(recorded),
    )

    # Then each reads as its sentence
    assert dict(zip(recorded, said, strict=True)) == recorded


def test_dead_letters_are_listed_by_punch_time_the_latest_first(page, stack: RunningStack) -> None:
    # Given an admin on the Deliveries page, and a CRM that refuses three employees' punches for good
    users = [f"ORDER-{name}-{uuid.uuid4().hex[:6]}" for name in ("A", "B", "C")]
    httpx.post(stack.crm_url + "/crm/_behaviour", json={"failUsers": users, "status": 422}, timeout=5)
    sign_in(page, stack)
    page.get_by_role("link", name="Deliveries", exact=True).click()
    listed = page.get_by_role("table", name=re.compile("^Dead-lettered punches"))
    rows = listed.get_by_role("row").filter(has_text="ORDER-")

    # When the latest punch dies first, then one of an hour before it, then another of that same time
    now = datetime.now(UTC).replace(microsecond=0)
    punches = [(users[0], now - timedelta(hours=1)), (users[1], now - timedelta(hours=2))]
    punches.append((users[2], now - timedelta(hours=2)))
    for count, (user, at) in enumerate(punches, start=1):
        stack.post_punch("DEV001", user, at)
        expect(rows).to_have_count(count)
        time.sleep(1.1)  # the API keeps when a punch died to the second: each dies in a second of its own

    # Then they are listed by punch time, the latest first, as the table's caption says; of the two of the
    # same time, the one that died last first
    expect(listed).to_have_accessible_name(re.compile(r"by punch time, the latest first$"))
    in_order = [users[0], users[2], users[1]]
    for index, user in enumerate(in_order):
        expect(rows.nth(index)).to_contain_text(user)
    # and the list read from the API is in the same order after a reload
    page.reload()
    expect(rows).to_have_count(3)
    for index, user in enumerate(in_order):
        expect(rows.nth(index)).to_contain_text(user)


def test_a_punch_dead_lettered_while_the_list_is_read_stays_listed(page, stack: RunningStack) -> None:
    # Given the Deliveries page reading the dead letters, the list as it was before a punch dies (held back)
    user = f"RACE-{uuid.uuid4().hex[:6]}"
    httpx.post(stack.crm_url + "/crm/_behaviour", json={"failUsers": [user], "status": 422}, timeout=5)
    held = HeldReplies(page, "**/deliveries/dead-letters")
    sign_in(page, stack)
    page.get_by_role("link", name="Deliveries", exact=True).click()
    listed = page.get_by_role("table", name=re.compile("^Dead-lettered punches"))
    rows = listed.get_by_role("row").filter(has_text=user)
    # When the punch dies, and the feed tells the page before the list's reply comes
    stack.post_punch("DEV001", user)
    expect(rows).to_have_count(1)
    held.first("the dead letters")
    held.release()
    # Then the reply read before it died does not take it off the list
    expect(page.get_by_text("Loading the dead letters")).to_have_count(0)
    expect(listed).to_be_visible()
    expect(rows).to_have_count(1)
    time.sleep(1)  # what a reply replacing the list would have done by now
    expect(rows).to_have_count(1)


def test_a_punch_abandoned_while_the_list_is_read_again_stays_abandoned(page, stack: RunningStack) -> None:
    # Given a dead letter on the Deliveries page
    _, log_id, row = dead_letter_on_the_page(page, stack, "RACE-AB")
    counted = abandoned_count(page)
    # When the admin refreshes the list, its reply read while the punch was still a dead letter (held back)
    held = HeldReplies(page, "**/deliveries/dead-letters")
    page.get_by_role("button", name="Refresh").click()
    before = held.first("the dead letters")
    # and another admin abandons the punch, which the feed tells the page before that reply comes
    with watching(stack, "deliveries") as client:
        abandoned = httpx.post(
            stack.api_url + "/deliveries/dead-letters/abandon",
            json={"logIds": [log_id]},
            headers={"Authorization": f"Bearer {stack.api_key}"},
            timeout=30,
        )
        assert abandoned.status_code == 200, abandoned.text
        assert next_event(client, "punch.abandoned").punch.log_id == log_id
    # (the page's counts, read again when the feed tells it of an abandon, say it heard)
    expect(page.locator(".stat-abandoned strong")).to_have_text(str(counted + 1))
    assert log_id in {letter["logId"] for letter in before.json()["deadLetters"]}
    held.release()
    # Then the row says abandoned, with nothing left to do on it, not what the older reply said
    expect(page.get_by_text("Loading the dead letters")).to_have_count(0)
    expect(row).to_contain_text("abandoned")
    expect(row.get_by_role("button", name="Redrive")).to_be_disabled()


def test_a_dead_letter_the_worker_never_finished_says_why_it_has_no_error(page, stack: RunningStack) -> None:
    # Given a stored punch whose message the worker took as many times as the queue allows and never finished
    # (it failed to start, say): stored as ingest stores it, its message in the dead-letter queue, no outcome
    user = f"NOSTART-{uuid.uuid4().hex[:6]}"
    punch = utc_punch(user, datetime.now(UTC).replace(microsecond=0), device="DEV001")
    dynamodb = local_client("dynamodb", stack.aws_url)
    PunchIntake(dynamodb, f"{STACK_PREFIX}-PunchesTable", f"{STACK_PREFIX}-DedupTable").add(
        punch, 0, timedelta(days=1), datetime.now(UTC)
    )
    stack.sqs().send_message(
        QueueUrl=stack.queue_url("PunchDeadLetterQueue"), MessageBody=message_body(punch.log_id)
    )
    # When an admin opens Deliveries
    sign_in(page, stack)
    page.get_by_role("link", name="Deliveries", exact=True).click()
    # Then its row says that no attempt was finished, and where the reason is
    row = page.get_by_role("row").filter(has_text=user)
    expect(row.locator(".last-error")).to_have_text(
        "None recorded: the worker never finished an attempt (it failed to start, ran out of time or stopped "
        "before the CRM answered). Its logs say why."
    )
    # And once it is abandoned, it is out of the way of the other tests' dead letters
    confirm(page, row, "Abandon", user)
    expect(row).to_contain_text("abandoned")
