"""Correcting a punch of the wrong type in one step: voided with the type it should have had, the worker
removes it from the (mock) CRM through moto's queue and adds the same punch again with that type."""

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from attendance.data.errors import StoreUnavailable
from attendance.data.punch_intake import PunchIntake, StoreResult
from attendance.data.punches import PunchStore
from attendance.data.queue import PunchQueue
from attendance.deliveries.voids import PunchVoids
from attendance.domain.punch import PunchSource, PunchType, SyncStatus, punch_log_id
from functions.deliveries import app as deliveries_app
from tests.integration.http_calls import Reply, call_route
from tests.integration.worker.conftest import (
    READ_KEY,
    crm_view,
    held,
    run_until,
    set_behaviour,
    status_of,
    synced,
)
from tests.punches import dead_letter_queue

EVENING = datetime(2025, 2, 10, 17, 0, tzinfo=UTC)


def correct(
    void: Callable[..., Any], log_id: str, to: str = "out", reason: str = "pressed In on the way out"
):
    return void(log_id, body={"reason": reason, "correctedType": to})


def corrected_id(at: datetime = EVENING, to: PunchType = PunchType.OUT) -> str:
    return punch_log_id("DEV001", "EMP1", at, to)


def delivered(store: PunchStore, log_id: str) -> Callable[[], bool]:
    """Whether the punch is stored (a correction is, once the worker adds it) and delivered."""
    return lambda: (record := store.get(log_id)) is not None and record.status is SyncStatus.SYNCED


def test_a_check_out_recorded_as_a_check_in_is_corrected_in_one_step(
    trigger, enqueue, crm, stored, store: PunchStore, void, in_reports
):
    # Given a day's check-in, and the evening's check-out which the clock recorded as a check-in, delivered
    morning, wrong = enqueue(), enqueue(at=EVENING)
    run_until(trigger, synced(stored, morning, wrong))
    reference = stored(wrong)["crmReference"]

    # When HR voids it with the type it should have had
    reply = correct(void, wrong)

    # Then the API says so, and once the worker is done the CRM holds the check-in and a check-out
    assert reply.status == 202, reply.body
    assert reply.body == {
        "logId": wrong,
        "syncStatus": "voiding",
        "previousStatus": "synced",
        "correctedType": "out",
    }
    right = corrected_id()
    run_until(trigger, delivered(store, right))
    assert status_of(stored, wrong) == "voided"
    assert {key: punch["body"]["type"] for key, punch in held(crm).items()} == {morning: "in", right: "out"}
    assert crm_view(crm)["removed"] == [{"key": wrong, "crmId": reference}]
    # and the reports count the check-out at the same clock and time, added by hand, not the check-in
    assert not in_reports(wrong)
    assert in_reports(right)
    added = store.get(right).punch
    assert (added.device_id, added.instant, added.type, added.source) == (
        "DEV001",
        EVENING,
        PunchType.OUT,
        PunchSource.MANUAL,
    )
    # and the voided punch's history says what was done
    details = [entry["detail"] for entry in store.get(wrong).history]
    assert "voided by an admin (key hr-lead): pressed In on the way out; to be added again as out" in details
    assert details[-1] == f"voided; {reference} removed (HTTP 204) in the CRM; added again as out: {right}"


def test_a_correction_made_before_delivery_sends_only_the_corrected_punch(
    trigger, enqueue, crm, stored, store: PunchStore, void
):
    # Given a wrong punch not yet delivered
    wrong = enqueue(at=EVENING)

    # When it is corrected before the worker gets to it
    assert correct(void, wrong).body["previousStatus"] == "pending"

    # Then the CRM only ever hears of the corrected punch
    run_until(trigger, delivered(store, corrected_id()))
    assert status_of(stored, wrong) == "voided"
    assert list(held(crm)) == [corrected_id()]
    assert crm_view(crm)["requests"] == 1


def test_a_worker_dying_before_the_void_is_recorded_makes_the_correction_once(
    trigger, enqueue, crm, stored, store: PunchStore, void, monkeypatch: pytest.MonkeyPatch
):
    # Given a delivered wrong punch, corrected, and a worker that dies (the table unreachable) right after
    # it stored the corrected punch, before it marked the wrong one voided
    wrong = enqueue(at=EVENING)
    run_until(trigger, synced(stored, wrong))
    finish_void = PunchStore.finish_void
    deaths = []

    def dies_once(self: PunchStore, *arguments: Any) -> bool:
        if not deaths:
            deaths.append(arguments)
            raise StoreUnavailable("the table did not answer")
        return finish_void(self, *arguments)

    monkeypatch.setattr(PunchStore, "finish_void", dies_once)
    correct(void, wrong)

    # When the void's message comes back and is worked again
    run_until(trigger, lambda: status_of(stored, wrong) == "voided")
    run_until(trigger, delivered(store, corrected_id()))

    # Then the correction was made once: one corrected punch, delivered once, and the wrong one gone
    assert deaths
    assert list(held(crm)) == [corrected_id()]
    assert held(crm)[corrected_id()]["deliveries"] == 1
    assert store.get(wrong).history[-1]["detail"].endswith(f"added again as out: {corrected_id()}")


def test_a_crm_refusing_the_removal_makes_no_correction(
    trigger, enqueue, crm, stored, store: PunchStore, void
):
    # Given a delivered wrong punch, and a CRM that will not delete it
    wrong = enqueue(user="EMP-LOCKED", at=EVENING)
    run_until(trigger, synced(stored, wrong))
    set_behaviour(crm, failUsers=["EMP-LOCKED"], status=403)

    # When it is corrected
    correct(void, wrong)
    run_until(trigger, lambda: status_of(stored, wrong) != "voiding")

    # Then it stays delivered and counted, nothing is added, and no correction is left pending on it
    record = store.get(wrong)
    assert record.status is SyncStatus.SYNCED
    assert record.corrected_type is None
    assert store.get(punch_log_id("DEV001", "EMP-LOCKED", EVENING, PunchType.OUT)) is None
    assert list(held(crm)) == [wrong]


def test_a_correction_the_table_cannot_take_yet_is_made_on_a_later_try(
    trigger, enqueue, stored, store: PunchStore, void, monkeypatch: pytest.MonkeyPatch
):
    # Given a wrong punch corrected, and a table that refuses the corrected punch once (throttled)
    wrong = enqueue(at=EVENING)
    add = PunchIntake.add
    refusals = []

    def refuses_once(self: PunchIntake, *arguments: Any, **options: Any) -> StoreResult:
        if not refusals:
            refusals.append(arguments)
            raise StoreUnavailable("throughput exceeded")
        return add(self, *arguments, **options)

    monkeypatch.setattr(PunchIntake, "add", refuses_once)
    assert correct(void, wrong).status == 202

    # When the worker voids it
    run_until(trigger, delivered(store, corrected_id()))

    # Then the void waited for the correction, with the reason in its history, and finished on a later try
    assert len(refusals) == 1
    history = [entry["detail"] for entry in store.get(wrong).history]
    assert "adding it again as out: throughput exceeded" in history
    assert history[-1] == f"voided before the CRM had it: no call; added again as out: {corrected_id()}"
    assert status_of(stored, wrong) == "voided"


@pytest.mark.parametrize(
    ("to", "status", "error"),
    [("in", 422, "invalid_correction"), ("sideways", 400, "invalid_request"), ("", 400, "invalid_request")],
)
def test_a_correction_to_no_other_type_is_refused(enqueue, stored, void, to, status, error):
    wrong = enqueue(at=EVENING)
    reply = correct(void, wrong, to)
    assert (reply.status, reply.body["error"]) == (status, error), reply.body
    assert status_of(stored, wrong) == "pending"
    assert "correctedType" not in stored(wrong)


def test_a_correction_that_would_be_a_duplicate_is_refused_before_anything_changes(
    trigger, enqueue, stored, store: PunchStore, void, monkeypatch: pytest.MonkeyPatch
):
    # Given a check-in corrected to a check-out, which was a mistake too
    wrong = enqueue(at=EVENING)
    correct(void, wrong)
    run_until(trigger, delivered(store, corrected_id()))

    # When HR corrects the check-out back to a check-in
    back = correct(void, corrected_id(), "in")

    # Then it is refused, since that check-in is the voided punch, stored once for good; nothing changes
    assert (back.status, back.body["error"]) == (409, "correction_duplicate"), back.body
    assert wrong in back.body["message"]
    assert status_of(stored, corrected_id()) == "synced"

    # And given a window raised since (600 s) and a check-out stored two minutes after a check-in
    monkeypatch.setenv("DEDUP_WINDOW_SECONDS", "600")
    deliveries_app.dependencies.cache_clear()
    check_in = enqueue(user="EMP2", at=EVENING)
    enqueue(user="EMP2", at=EVENING + timedelta(minutes=2), kind=PunchType.OUT)
    # When the check-in is corrected to a check-out, which the raised window makes a near duplicate
    near = correct(void, check_in)
    # Then that is refused too, naming the punch beside it
    assert (near.status, near.body["error"]) == (409, "correction_duplicate"), near.body
    assert "near duplicate" in near.body["message"]
    assert status_of(stored, check_in) == "pending"


def test_an_unknown_or_voided_punch_is_refused_as_a_plain_void_is(enqueue, void):
    assert correct(void, "no-such-punch").status == 404
    log_id = enqueue()
    assert void(log_id).status == 202
    again = correct(void, log_id)
    assert (again.status, again.body["error"]) == (409, "already_voided")


def test_the_voids_are_listed_latest_first_with_who_why_and_how_it_went(
    trigger, enqueue, crm, stored, store: PunchStore, void
):
    # Given a test punch voided, then a punch of the wrong type corrected, and a void still in progress
    test_punch, wrong, pending = enqueue(user="EMP9"), enqueue(at=EVENING), enqueue(user="EMP8")
    run_until(trigger, synced(stored, test_punch, wrong, pending))
    void(test_punch, "a test punch")
    run_until(trigger, lambda: status_of(stored, test_punch) == "voided")
    time.sleep(1)  # voids are ordered by when each was asked for, to the second
    correct(void, wrong)
    run_until(trigger, delivered(store, corrected_id()))
    time.sleep(1)
    set_behaviour(crm, failRate=1, status=503)
    void(pending, "badged for a colleague")
    trigger.poll_once(wait_seconds=0)

    # When anyone with a read key lists the voids
    listed = list_voids()

    # Then they are there, latest first, each with who voided it, why, and how it went
    assert listed.status == 200, listed.body
    voids = listed.body["voids"]
    assert [entry["logId"] for entry in voids] == [pending, wrong, test_punch]
    assert voids[0] | {"outcome": "…"} == {
        "logId": pending,
        "userId": "EMP8",
        "deviceId": "DEV001",
        "punchTime": stored(pending)["punchTime"],
        "localTime": stored(pending)["localTime"],
        "timeZone": "UTC",
        "type": "in",
        "syncStatus": "voiding",
        "voidedBy": "key hr-lead",
        "reason": "badged for a colleague",
        "correctedType": None,
        "voidedAt": None,
        "outcome": "…",
    }
    assert voids[0]["outcome"].startswith("removal from the CRM: HTTP 503")
    corrected = voids[1]
    assert (corrected["syncStatus"], corrected["reason"], corrected["correctedType"]) == (
        "voided",
        "pressed In on the way out",
        "out",
    )
    assert corrected["voidedAt"] is not None
    assert corrected["outcome"].endswith(f"added again as out: {corrected_id()}")
    assert voids[2]["reason"] == "a test punch"
    # and a limit keeps to the latest
    assert [entry["logId"] for entry in list_voids(limit="2").body["voids"]] == [pending, wrong]


@pytest.mark.parametrize(
    ("key", "limit", "status"),
    [(None, "5", 401), (READ_KEY, "0", 400), (READ_KEY, "201", 400), (READ_KEY, "x", 400)],
)
def test_a_voids_listing_is_refused_plainly(void, key, limit, status):
    reply = list_voids(key=key, limit=limit)
    assert reply.status == status, reply.body
    assert reply.body["error"]


def list_voids(key: str | None = READ_KEY, limit: str | None = None) -> Reply:
    query = {"limit": limit} if limit else None
    return call_route(deliveries_app.lambda_handler, "GET", "/deliveries/voids", key, query=query)


def test_a_correction_to_a_punch_voided_before_is_noted_not_made(
    trigger, enqueue, stored, store: PunchStore, void, stack
):
    # Given a check-in corrected to a check-out
    wrong = enqueue(at=EVENING)
    correct(void, wrong)
    run_until(trigger, delivered(store, corrected_id()))
    # When the check-out is voided to be a check-in again by a caller that cannot judge it first
    unchecked = PunchVoids(
        store, dead_letter_queue(stack), PunchQueue(boto3.client("sqs"), stack.refs["PunchQueue"])
    )
    unchecked.void(corrected_id(), "back again", "cli alice", PunchType.IN)
    run_until(trigger, lambda: status_of(stored, corrected_id()) == "voided")
    # Then that check-in, the punch voided before, is not brought back, and the history says so
    assert status_of(stored, wrong) == "voided"
    assert (
        store.get(corrected_id())
        .history[-1]["detail"]
        .endswith(f"not added again as in: that punch ({wrong}) was voided before")
    )
