"""The deliveries API: counts by status, the dead-letter list with each error, redrives and abandons."""

import json
from datetime import UTC, datetime

import boto3
import pytest

from attendance.data.queue import PunchQueue
from attendance.domain.punch import SyncStatus
from functions.deliveries import app as deliveries_app
from tests.integration.deliveries.conftest import INGEST_KEY, READ_KEY
from tests.integration.sqs_polling import false_empty_short_polls

REDRIVE = "/deliveries/dead-letters/redrive"
ABANDON = "/deliveries/dead-letters/abandon"


def test_the_overview_counts_punches_by_status_and_the_dead_letters(api, add_punch, dead_letter):
    # Given two punches waiting for delivery (the older first) and one dead-lettered
    oldest = add_punch("EMP-1", minutes_ago=30)
    add_punch("EMP-2", minutes_ago=10)
    dead_letter("UNKNOWN-1")

    # When someone with the read scope asks how delivery stands
    reply = api("GET", "/deliveries", key=READ_KEY)

    # Then each status is counted, the oldest pending punch named, and the dead letter counted
    assert reply.status == 200, reply.body
    assert reply.body["counts"] == {
        "pending": 2,
        "synced": 0,
        "failed": 1,
        "abandoned": 0,
        "voiding": 0,
        "voided": 0,
    }
    assert reply.body["oldestPending"]["logId"] == oldest
    assert reply.body["oldestPending"]["receivedAt"].endswith("Z")
    assert reply.body["deadLetters"] == 1


def test_nothing_pending_and_an_empty_queue_are_said_plainly(api):
    reply = api("GET", "/deliveries")
    assert reply.body == {
        "counts": {"pending": 0, "synced": 0, "failed": 0, "abandoned": 0, "voiding": 0, "voided": 0},
        "oldestPending": None,
        "deadLetters": 0,
    }
    assert api("GET", "/deliveries/dead-letters").body == {"count": 0, "deadLetters": []}


def test_the_dead_letter_list_shows_each_punch_with_its_error_and_stays_in_the_queue(api, dead_letter):
    # Given a punch refused for good and one that failed three times
    refused = dead_letter("UNKNOWN-2", "HTTP 422: unknown employee")
    tired = dead_letter("EMP-3", "HTTP 503: simulated failure", attempts=3)

    # When a reader lists the dead letters
    reply = api("GET", "/deliveries/dead-letters", key=READ_KEY)

    # Then both are there with their punch, attempts and last error
    assert reply.status == 200, reply.body
    assert reply.body["count"] == 2
    letters = {letter["logId"]: letter for letter in reply.body["deadLetters"]}
    assert letters[refused]["userId"] == "UNKNOWN-2"
    assert (letters[refused]["attempts"], letters[refused]["lastError"]) == (1, "HTTP 422: unknown employee")
    assert (letters[tired]["attempts"], letters[tired]["lastError"]) == (3, "HTTP 503: simulated failure")
    assert letters[tired]["deviceId"] == "DEV-1"
    assert letters[tired]["syncStatus"] == "failed"
    assert letters[tired]["punchTime"].endswith("Z")
    assert letters[tired]["deadLetteredAt"].endswith("Z")
    # and looking took nothing away
    assert api("GET", "/deliveries/dead-letters").body["count"] == 2


def test_dead_letters_are_listed_by_punch_time_the_latest_first_in_the_api_and_the_cli(
    api, dead_letter, cli, stack
):
    # Given three dead letters whose punches happened in another order than they died, and a message whose
    # punch is not in the table
    morning = dead_letter("EMP-1", minutes_ago=300)
    evening = dead_letter("EMP-2", minutes_ago=10)
    noon = dead_letter("EMP-3", minutes_ago=120)
    PunchQueue(boto3.client("sqs"), stack.refs["PunchDeadLetterQueue"]).send(["NOT-IN-TABLE"])
    # When an admin lists them, on the API and with the CLI
    listed = [letter["logId"] for letter in api("GET", "/deliveries/dead-letters").body["deadLetters"]]
    printed = [row["logId"] for row in json.loads(cli("--json", "dlq", "list").output)]
    # Then both list them by punch time, the latest first, the unknown one last
    assert listed == printed == [evening, noon, morning, "NOT-IN-TABLE"]


def test_redriving_one_queues_it_again_and_leaves_the_others(api, dead_letter, punches, punch_queue):
    # Given two dead letters
    chosen = dead_letter("EMP-4")
    other = dead_letter("EMP-5")

    # When an admin redrives one of them, and a logId that is not dead-lettered
    reply = api("POST", REDRIVE, body={"logIds": [chosen, "no-such-punch"]})

    # Then that one is pending and queued again, the other stays, and the unknown one is named
    assert reply.status == 200, reply.body
    assert reply.body == {"redriven": [chosen], "notInDlq": ["no-such-punch"]}
    assert punches.get(chosen).status.value == "pending"
    assert punch_queue() == [chosen]
    assert [letter["logId"] for letter in api("GET", "/deliveries/dead-letters").body["deadLetters"]] == [
        other
    ]


def test_redriving_all_empties_the_queue(api, dead_letter, punches, punch_queue):
    log_ids = {dead_letter(f"EMP-ALL-{n}") for n in range(3)}

    reply = api("POST", REDRIVE, body={"all": True})

    assert reply.status == 200, reply.body
    assert set(reply.body["redriven"]) == log_ids
    assert reply.body["notInDlq"] == []
    assert set(punch_queue()) == log_ids
    assert {punches.get(log_id).status.value for log_id in log_ids} == {"pending"}
    assert api("GET", "/deliveries").body["deadLetters"] == 0


def test_abandoning_one_takes_it_out_for_good_and_leaves_the_others(api, dead_letter, punches, punch_queue):
    # Given two dead letters, one of a badge nobody holds
    stray = dead_letter("EMP-STRAY", error="HTTP 417: No Employee found for the given employee field value")
    other = dead_letter("EMP-8")

    # When an admin abandons it, and a logId that is not dead-lettered
    reply = api("POST", ABANDON, body={"logIds": [stray, "no-such-punch"]})

    # Then it left the queue, is kept as abandoned with who did it, and was not queued for the CRM
    assert reply.status == 200, reply.body
    assert reply.body == {"abandoned": [stray], "notInDlq": ["no-such-punch"]}
    record = punches.get(stray)
    assert record.status.value == "abandoned"
    assert record.history[-1]["detail"] == "abandoned by an admin (key ops)"
    assert punch_queue() == []
    # and the other is still dead-lettered, and the counts say so
    assert [letter["logId"] for letter in api("GET", "/deliveries/dead-letters").body["deadLetters"]] == [
        other
    ]
    counts = api("GET", "/deliveries").body["counts"]
    assert (counts["failed"], counts["abandoned"]) == (1, 1)


def test_abandoning_all_empties_the_queue_and_a_punch_delivered_meanwhile_stays_delivered(
    api, dead_letter, punches, punch_queue
):
    # Given two dead letters, one of them delivered after all (a timed-out invocation's call went through)
    failed, delivered = dead_letter("EMP-ALL-A"), dead_letter("EMP-ALL-B")
    punches.record_delivery(delivered, datetime.now(UTC), SyncStatus.SYNCED, "delivered")

    reply = api("POST", ABANDON, body={"all": True})

    assert reply.body == {"abandoned": [failed], "notInDlq": []}
    assert (punches.get(failed).status, punches.get(delivered).status) == (
        SyncStatus.ABANDONED,
        SyncStatus.SYNCED,
    )
    assert api("GET", "/deliveries").body["deadLetters"] == 0
    assert punch_queue() == []


@pytest.mark.parametrize("path", [REDRIVE, ABANDON])
def test_only_an_admin_may_redrive_or_abandon(api, dead_letter, path):
    log_id = dead_letter("EMP-6")

    assert api("POST", path, key=READ_KEY, body={"all": True}).status == 403
    assert api("POST", path, key=INGEST_KEY, body={"logIds": [log_id]}).status == 403
    assert api("POST", path, key=None, body={"all": True}).status == 401
    # and nothing was done
    assert api("GET", "/deliveries/dead-letters").body["deadLetters"][0]["syncStatus"] == "failed"


@pytest.mark.parametrize("path", ["/deliveries", "/deliveries/dead-letters"])
def test_reading_needs_the_read_or_admin_scope(api, path):
    assert api("GET", path, key=INGEST_KEY).status == 403
    assert api("GET", path, key=None).status == 401
    assert api("GET", path, key="no-such-key").status == 401


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"logIds": ["a"], "all": True},
        {"all": False},
        {"all": 1},
        {"logIds": []},
        {"logIds": "abc"},
        {"logIds": ["has space"]},
        {"logIds": [f"id-{n}" for n in range(101)]},
        {"logids": ["a"]},
        [],
        "null",
    ],
)
@pytest.mark.parametrize("path", [REDRIVE, ABANDON])
def test_a_choice_that_is_not_exactly_logIds_or_all_is_refused(api, dead_letter, body, path):
    log_id = dead_letter("EMP-7")

    reply = api("POST", path, body=body)

    assert (reply.status, reply.body["error"]) == (400, "invalid_request"), reply.body
    assert "DeadLetter" not in reply.body["message"]  # the contract's words, not the code's model names
    assert api("GET", "/deliveries/dead-letters").body["deadLetters"][0]["logId"] == log_id


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, 'body: give either "logIds" (a list of the punches\' logIds) or "all": true, not both'),
        (
            {"logIds": ["a"], "all": True},
            'body: give either "logIds" (a list of the punches\' logIds) or "all": true, not both',
        ),
        ({"all": False}, "all: must be true"),
        ({"logIds": []}, "logIds: List should have at least 1 item after validation, not 0"),
    ],
)
def test_a_refused_choice_names_the_fields_of_the_choice_it_makes(api, body, message):
    # Given a body that makes no choice, both, or one with a wrong value
    # When it is sent to redrive
    reply = api("POST", REDRIVE, body=body)
    # Then the message names the problem with the choice made, not every choice's missing fields
    assert reply.body["message"] == message


@pytest.mark.parametrize("path", [REDRIVE, ABANDON])
def test_a_choice_must_be_json(api, path):
    assert api("POST", path, body="all=true", content_type="application/x-www-form-urlencoded").status == 415
    assert api("POST", path, body="{", content_type="application/json").body["error"] == "invalid_json"


def test_other_methods_are_refused_with_allow(api):
    reply = api("DELETE", "/deliveries/dead-letters")
    assert (reply.status, reply.body["error"]) == (405, "method_not_allowed")
    assert api("GET", REDRIVE).status == 405
    assert api("PUT", ABANDON).status == 405


def test_the_list_and_redrive_all_miss_no_letter_when_short_polls_come_back_empty(
    api, dead_letter, punch_queue
):
    # Given three dead letters, and SQS answering short polls as AWS may: empty, though the queue holds them
    log_ids = {dead_letter(f"EMP-POLL-{n}") for n in range(3)}
    with false_empty_short_polls() as waits:
        deliveries_app.dependencies.cache_clear()  # clients made now, as SQS answers now
        # When an admin lists the dead letters, then redrives them all
        listed = api("GET", "/deliveries/dead-letters")
        redriven = api("POST", REDRIVE, body={"all": True})
    # Then every one was listed and every one redriven
    assert {letter["logId"] for letter in listed.body["deadLetters"]} == log_ids
    assert set(redriven.body["redriven"]) == log_ids
    assert set(punch_queue()) == log_ids
    assert waits[0] >= 1  # a long poll first: what the queue counted is read from every server


def test_a_dead_letter_the_worker_never_finished_is_listed_saying_why_it_has_no_error(add_punch, cli, stack):
    # Given a stored punch whose message was dead-lettered with no attempt's outcome recorded (the worker took
    # it as many times as the queue allows, and failed to start each time, say)
    log_id = add_punch("EMP-NOSTART")
    PunchQueue(boto3.client("sqs"), stack.refs["PunchDeadLetterQueue"]).send([log_id])
    # When an admin lists the dead letters
    table, data = cli("dlq", "list").output, json.loads(cli("--json", "dlq", "list").output)
    # Then the table says why there is no error, and where to look; the JSON keeps the API's null
    assert (
        "none recorded: no attempt finished (the worker failed to start, ran out of time or stopped); see its logs"
        in (" ".join(table.split()))
    )
    assert [(row["logId"], row["attempts"], row["lastError"]) for row in data] == [(log_id, 0, None)]
