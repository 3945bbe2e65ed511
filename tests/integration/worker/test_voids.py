"""Voiding a punch: the deliveries API asks, the worker removes its record from the (mock) CRM through moto's
queue, and the punch leaves every report; the CRM failing, refusing, and a delivery racing the void."""

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from attendance.data.punch_intake import StoreOutcome
from attendance.data.queue import PunchQueue
from attendance.delivery.service import NEVER_DELIVERED, NOT_DEAD_LETTERED
from attendance.domain.punch import PunchType, SyncStatus
from attendance.ingest.sweep import sweep
from local_stack.template import Resolver
from tests.integration.worker.conftest import (
    READ_KEY,
    crm_view,
    held,
    put_secret,
    run_until,
    set_behaviour,
    status_of,
    synced,
)
from tests.punches import punch_intake


def test_a_delivered_punch_voided_leaves_the_crm_and_every_report(
    trigger, enqueue, crm, stored, store, void, stack: Resolver, in_reports
):
    # Given a punch the CRM took, and another of the same day
    log_id, kept = enqueue(), enqueue(kind=PunchType.OUT)
    run_until(trigger, synced(stored, log_id, kept))
    reference = stored(log_id)["crmReference"]
    assert in_reports(log_id)

    # When an admin voids it
    reply = void(log_id, "punched twice by mistake")

    # Then the API says it is being voided, and the worker removes it from the CRM
    assert reply.status == 202, reply.body
    assert reply.body == {"logId": log_id, "syncStatus": "voiding", "previousStatus": "synced"}
    run_until(trigger, lambda: status_of(stored, log_id) == "voided")
    assert set(held(crm)) == {kept}
    assert crm_view(crm)["removed"] == [{"key": log_id, "crmId": reference}]
    # and it is out of every report, kept in the table with who voided it and why
    assert not in_reports(log_id)
    assert in_reports(kept)
    record = store.get(log_id)
    assert record.status is SyncStatus.VOIDED
    assert record.punch.instant == datetime(2025, 2, 10, 8, 0, tzinfo=UTC)
    details = [entry["detail"] for entry in record.history]
    assert "voided by an admin (key hr-lead): punched twice by mistake" in details
    assert details[-1] == f"voided; {reference} removed (HTTP 204) in the CRM"
    # and the device sending it again does not bring it back: its dedup claim stays
    again = punch_intake(stack).add(record.punch, 60, timedelta(days=1), datetime.now(UTC))
    assert again.outcome is StoreOutcome.DUPLICATE
    # and voiding it twice is refused, naming its status
    twice = void(log_id)
    assert (twice.status, twice.body["error"]) == (409, "already_voided")
    assert "voided already" in twice.body["message"]


def test_a_punch_voided_before_delivery_never_reaches_the_crm(
    trigger, enqueue, crm, stored, store, void, in_reports
):
    # Given a punch queued but not yet delivered
    log_id = enqueue()

    # When an admin voids it before the worker gets to it
    reply = void(log_id)
    assert reply.body["previousStatus"] == "pending"

    # Then both its messages are worked and the CRM never hears of it
    run_until(trigger, lambda: status_of(stored, log_id) == "voided")
    run_until(trigger, lambda: trigger.poll_once().received == 0)
    assert crm_view(crm)["requests"] == 0
    assert store.get(log_id).history[-1]["detail"] == NEVER_DELIVERED
    assert not in_reports(log_id)


def test_a_dead_letter_voided_leaves_the_dead_letter_queue(
    trigger, enqueue, crm, stored, void, stack: Resolver
):
    # Given a punch the CRM refused for good, in the dead-letter queue
    log_id = enqueue(user="UNKNOWN-9")
    run_until(trigger, lambda: status_of(stored, log_id) == "failed")

    # When an admin voids it
    assert void(log_id).body["previousStatus"] == "failed"

    # Then its dead letter is gone, so no redrive can send it, and it is voided without a CRM call
    depth = boto3.client("sqs").get_queue_attributes(
        QueueUrl=stack.refs["PunchDeadLetterQueue"], AttributeNames=["ApproximateNumberOfMessages"]
    )
    assert depth["Attributes"]["ApproximateNumberOfMessages"] == "0"
    run_until(trigger, lambda: status_of(stored, log_id) == "voided")
    assert crm_view(crm)["requests"] == 1  # the refused delivery only


def test_frappe_check_ins_are_deleted_through_its_rest_api(trigger, enqueue, crm, stored, worker_env, void):
    # Given the Frappe target, which wants its token on every call, and a check-in it took
    put_secret("api-key:api-secret")
    set_behaviour(crm, requireToken="api-key:api-secret")
    worker_env(CRM_TARGET="frappe", CRM_URL=crm.url)
    log_id = enqueue(user="EMP-F")
    run_until(trigger, synced(stored, log_id))
    name = stored(log_id)["crmReference"]
    assert name.startswith("EMP-CKIN-")

    # When it is voided
    void(log_id)
    run_until(trigger, lambda: status_of(stored, log_id) == "voided")

    # Then Frappe no longer holds the check-in, and the same check-in could be sent anew
    assert held(crm) == {}
    assert [removed["crmId"] for removed in crm_view(crm)["removed"]] == [name]
    assert (
        stored(log_id)["history"][-1]["detail"]
        == f'voided; {name} removed (HTTP 202: {{"message": "ok"}}) in the CRM'
    )


def test_a_crm_failing_for_now_is_tried_again_and_then_by_the_sweep(
    trigger, enqueue, crm, stored, store, void, stack, in_reports
):
    # Given a delivered punch, and a CRM that then fails every request
    log_id = enqueue()
    run_until(trigger, synced(stored, log_id))
    set_behaviour(crm, failRate=1, status=503)

    # When it is voided, its message is tried on each receive and, on the last, acknowledged (never the DLQ)
    void(log_id)
    run_until(trigger, lambda: crm_view(crm)["requests"] == 1 + 3)
    run_until(trigger, lambda: trigger.poll_once().received == 0)
    record = store.get(log_id)
    assert record.status is SyncStatus.VOIDING
    assert (
        record.last_error == 'removal from the CRM: HTTP 503: {"error": "simulated failure", "status": 503}'
    )
    assert in_reports(log_id)  # still counted: it is still in the CRM

    # Then the sweep queues it again once the CRM is back, and it is voided
    set_behaviour(crm, failRate=0)
    queues = [
        PunchQueue(boto3.client("sqs"), stack.refs[name]) for name in ("PunchQueue", "PunchDeadLetterQueue")
    ]
    result = sweep(store, *queues, datetime.now(UTC) + timedelta(hours=1), timedelta(minutes=15))
    assert result.requeued == 1
    run_until(trigger, lambda: status_of(stored, log_id) == "voided")
    assert held(crm) == {}


def test_a_crm_refusing_the_removal_leaves_the_punch_delivered(
    trigger, enqueue, crm, stored, store, void, in_reports
):
    # Given a delivered punch, and a CRM that will not delete it (no delete permission)
    log_id = enqueue(user="EMP-LOCKED")
    run_until(trigger, synced(stored, log_id))
    set_behaviour(crm, failUsers=["EMP-LOCKED"], status=403)

    # When it is voided
    void(log_id)
    run_until(trigger, lambda: status_of(stored, log_id) != "voiding")

    # Then it stays delivered and counted, with the refusal to read, and the CRM still holds it
    record = store.get(log_id)
    assert record.status is SyncStatus.SYNCED
    assert record.last_error.startswith("the CRM would not remove it: HTTP 403")
    assert in_reports(log_id, "EMP-LOCKED")
    assert log_id in held(crm)
    # and it can be voided again once the CRM allows it
    set_behaviour(crm, failUsers=[])
    assert void(log_id).status == 202
    run_until(trigger, lambda: status_of(stored, log_id) == "voided")


@pytest.fixture
def voided_during_delivery(trigger, enqueue, crm, void) -> Callable[..., str]:
    """A punch (enqueue's arguments) voided by an admin while the (slow) CRM answers its delivery; its
    logId, once that delivery is over."""

    def punch_voided(**punch: Any) -> str:
        set_behaviour(crm, delayMs=1500)
        log_id = enqueue(**punch)
        delivering = threading.Thread(target=trigger.poll_once)
        delivering.start()
        run_until(trigger, lambda: crm_view(crm)["requests"] == 1, limit_seconds=10)
        assert void(log_id).body["previousStatus"] == "pending"
        delivering.join()
        set_behaviour(crm, delayMs=0)
        return log_id

    return punch_voided


def test_a_void_during_the_punchs_own_delivery_removes_what_that_delivery_sent(
    trigger, crm, stored, voided_during_delivery
):
    # Given a CRM slow enough to void the punch while its delivery waits for the answer
    # When an admin voids it then
    log_id = voided_during_delivery()

    # Then the delivery's answer is kept for the removal, and the void's message, which waited out the
    # delivery's lease, removes it from the CRM
    record = stored(log_id)
    assert record["syncStatus"] == "voiding"
    reference = record["crmReference"]
    assert (
        record["history"][-1]["detail"]
        == f"delivered ({reference}) as it was voided; to be removed from the CRM"
    )
    run_until(trigger, lambda: status_of(stored, log_id) == "voided")
    assert held(crm) == {}
    assert crm_view(crm)["removed"] == [{"key": log_id, "crmId": reference}]


@pytest.mark.parametrize(
    ("arguments", "status", "error"),
    [
        ({"log_id": "no-such-punch"}, 404, "not_found"),
        ({"reason": "   "}, 400, "invalid_request"),
        ({"reason": "\u0085\u00a0\u3000"}, 400, "invalid_request"),  # Unicode's white space: blank too
        ({"reason": "x" * 201}, 400, "invalid_request"),
        ({"body": {"reason": "ok", "also": 1}}, 400, "invalid_request"),
        ({"body": "[]"}, 400, "invalid_request"),
        ({"key": READ_KEY}, 403, "forbidden"),
        ({"log_id": "has space"}, 400, "invalid_request"),
        ({"content_type": "text/plain"}, 415, "unsupported_media_type"),
    ],
)
def test_bad_voids_are_refused_and_change_nothing(enqueue, stored, void, arguments, status, error):
    log_id = enqueue()
    arguments = {"log_id": log_id} | arguments
    reply = void(arguments.pop("log_id"), **arguments)
    assert (reply.status, reply.body["error"]) == (status, error), reply.body
    assert status_of(stored, log_id) == "pending"


def test_a_delivery_failing_for_good_as_the_void_comes_is_not_dead_lettered(
    trigger, crm, stored, stack: Resolver, voided_during_delivery
):
    # Given a punch the CRM refuses for good (an unknown employee), voided while the CRM answers
    log_id = voided_during_delivery(user="UNKNOWN-9")

    # Then the refusal is noted and nothing goes to the dead-letter queue, whose alarm would otherwise fire
    # for a punch that no longer counts
    record = stored(log_id)
    assert record["syncStatus"] == "voiding"
    assert record["history"][-1]["detail"].endswith(f"; {NOT_DEAD_LETTERED}")
    assert "leaseUntil" not in record  # the void's message need not wait for it
    depth = boto3.client("sqs").get_queue_attributes(
        QueueUrl=stack.refs["PunchDeadLetterQueue"],
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )
    assert set(depth["Attributes"].values()) == {"0"}
    # and the void finishes without a removal: the CRM never had it
    run_until(trigger, lambda: status_of(stored, log_id) == "voided")
    assert stored(log_id)["history"][-1]["detail"] == NEVER_DELIVERED
    assert crm_view(crm)["requests"] == 1  # the refused delivery only
