"""Back-pressure from the CRM through the real worker: a rate limit is waited out on a new message without
spending an attempt, real failures still dead-letter after three, and concurrent workers keep together
to CrmMaxRatePerSecond."""

import dataclasses
import math
import threading
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import boto3

from attendance.data.punches import record_from_item
from attendance.feed.changes import PunchChange, punch_events
from functions.crm_worker import app as worker_app
from functions.crm_worker.app import SAFETY_SECONDS
from local_stack.sqs_trigger import SqsTrigger
from tests.integration.permissions import calls_made
from tests.integration.worker.conftest import crm_view, held, run_until, set_behaviour, synced
from tests.unit.test_crm_backpressure import busiest_second


def requeues(calls: list[tuple[str, str, dict[str, Any]]]) -> list[dict[str, Any]]:
    """The punch queue messages the worker sent (its only SendMessage calls)."""
    return [params for service, operation, params in calls if operation == "SendMessage"]


def crm_requests(crm) -> int:
    return crm_view(crm)["requests"]


def poll_until_called(trigger: SqsTrigger, crm) -> None:
    """Work the queue until the CRM has had one more request."""
    before = crm_requests(crm)
    run_until(trigger, lambda: crm_requests(crm) > before)


def test_a_rate_limited_punch_waits_on_a_new_message_and_is_delivered_once_with_no_attempt_spent(
    trigger, enqueue, crm, stored, dead_letters, stack
):
    # Given a CRM that answers the first two calls with 429 and Retry-After: 2
    set_behaviour(crm, failFirst=2, status=429, retryAfter="2")
    log_id = enqueue()
    pending = record_from_item(
        boto3.client("dynamodb").get_item(TableName=stack.refs["PunchesTable"], Key={"logId": {"S": log_id}})[
            "Item"
        ]
    )
    # When the worker meets the first 429
    with calls_made() as calls:
        worker_app.dependencies.cache_clear()
        report = trigger.poll_once(wait_seconds=1)
    # Then its message is acknowledged and the punch queued anew, 2 s later, with no attempt spent
    assert (report.received, report.succeeded) == (1, 1)
    [requeued] = requeues(calls)
    assert requeued["QueueUrl"] == stack.refs["PunchQueue"]
    assert requeued["DelaySeconds"] == 2
    assert requeued["MessageAttributes"]["attempts"]["StringValue"] == "0"
    record = stored(log_id)
    assert (record["syncStatus"], record["attempts"]) == ("pending", 0)
    assert "HTTP 429" in record["lastError"]
    assert "no attempt spent" in record["lastError"]
    assert "leaseUntil" not in record  # so the new message can take the punch at once
    # and the live feed has nothing to say of it: no punch.failed for a mere rate limit
    after = record_from_item(
        boto3.client("dynamodb").get_item(TableName=stack.refs["PunchesTable"], Key={"logId": {"S": log_id}})[
            "Item"
        ]
    )
    assert punch_events(PunchChange(datetime.now(UTC), pending, after)) == []
    # and the new message is not there before its delay
    assert trigger.poll_once().received == 0
    # When the worker goes on
    run_until(trigger, synced(stored, log_id))
    # Then the CRM holds it once, after three calls of which two were rate limited
    assert held(crm)[log_id]["deliveries"] == 1
    assert crm_view(crm)["attempts"] == {log_id: 3}
    record = stored(log_id)
    assert record["attempts"] == 1  # the delivery; the rate limits spent none
    assert [entry["status"] for entry in record["history"]] == ["pending", "pending", "synced"]
    assert all("rate limited" in entry["detail"] for entry in record["history"][:2])
    assert dead_letters() == []
    assert trigger.poll_once().received == 0  # nothing left behind


def test_real_failures_between_rate_limits_still_dead_letter_after_three(
    trigger, enqueue, crm, stored, dead_letters
):
    # Given a CRM failing for real three times, and rate limiting in between
    log_id = enqueue()
    for status in (500, 429, 500, 503, 500):
        set_behaviour(crm, failRate=1, status=status, retryAfter="1")
        poll_until_called(trigger, crm)
    # Then the third real failure dead-lettered the punch at once, whatever new message carried it
    assert dead_letters() == [log_id]
    record = stored(log_id)
    assert (record["syncStatus"], record["attempts"]) == ("failed", 3)
    assert "HTTP 500" in record["lastError"]
    assert [entry["status"] for entry in record["history"]] == ["pending"] * 4 + ["failed"]
    # and the punch queue holds nothing more of it
    time.sleep(1.2)
    assert trigger.poll_once(wait_seconds=1).received == 0
    assert crm_view(crm)["attempts"] == {log_id: 5}


def test_retry_after_as_an_http_date_sets_the_delay(trigger, enqueue, crm, stored):
    # Given a 503 saying when to come back, as a date three seconds ahead
    when = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=4)
    set_behaviour(crm, failFirst=1, status=503, retryAfter=format_datetime(when, usegmt=True))
    log_id = enqueue()
    with calls_made() as calls:
        worker_app.dependencies.cache_clear()
        started = datetime.now(UTC)
        trigger.poll_once(wait_seconds=1)
        finished = datetime.now(UTC)
    [requeued] = requeues(calls)
    # until that date, to the second, from whenever in the poll the answer came (a busy machine is slow)
    earliest, latest = ((when - moment).total_seconds() for moment in (finished, started))
    assert math.floor(earliest) <= requeued["DelaySeconds"] <= math.ceil(latest)
    record = stored(log_id)
    assert (record["syncStatus"], record["attempts"]) == ("pending", 0)
    run_until(trigger, synced(stored, log_id))
    assert datetime.now(UTC) >= when - timedelta(seconds=1)
    assert stored(log_id)["attempts"] == 1


def test_concurrent_workers_keep_together_to_the_rate(worker_env, enqueue, crm, stored, dead_letters, stack):
    # Given workers allowed 5 calls a second between two of them (2 each, as whole shares), and a CRM
    # refusing anything beyond 5 a second
    worker_env(CRM_MAX_RATE_PER_SECOND="5", WORKER_MAX_CONCURRENCY="2")
    set_behaviour(crm, rateLimit=5)
    log_ids = [enqueue(user=f"E{n}") for n in range(14)]
    # When two pollers, as the mapping's two concurrent invocations, work the queue at once
    done = synced(stored, *log_ids)
    give_up = time.monotonic() + 30

    def all_done() -> bool:
        try:
            return done()
        except RuntimeError:  # in-process moto read an item while the other poller's thread wrote it
            return False

    def poll() -> None:
        trigger = SqsTrigger(
            boto3.client("sqs"),
            stack.refs["PunchQueue"],
            stack.attributes[("PunchQueue", "Arn")],
            worker_app.lambda_handler,
            batch_size=4,
        )
        while not all_done() and time.monotonic() < give_up:
            if not trigger.poll_once(wait_seconds=0).received:
                time.sleep(0.1)

    pollers = [threading.Thread(target=poll) for _ in range(2)]
    for poller in pollers:
        poller.start()
    for poller in pollers:
        poller.join()
    # Then every punch is delivered once, none dead-lettered, the CRM hardly ever had to refuse one (the
    # workers space their calls' starts; on a loaded machine two arrivals can still bunch into the CRM's
    # sliding second, and such a refusal is waited out at no attempt), and no second saw more than the rate
    # but for the call so refused
    assert done()
    view = crm_view(crm)
    assert all(punch["deliveries"] == 1 for punch in view["punches"])
    assert view["count"] == 14
    assert view["rateLimited"] <= 1
    assert dead_letters() == []
    starts = [at for times in view["attemptTimes"].values() for at in times]
    assert busiest_second(starts) <= 5 + view["rateLimited"]


def test_a_punch_with_no_turn_left_at_the_rate_comes_back_after_its_lease_at_no_cost(
    worker_env, trigger, enqueue, crm, stored
):
    # Given a call every 4.2 s per worker (1 every 2 s over 2 workers, stretched by the margin) and
    # invocations with 8.4 s for their calls: room for the first call (which must end within its
    # interval) if the claim before it takes less than 4.2 s (a loaded machine has taken over 2 s),
    # never for a second one
    worker_env(CRM_MAX_RATE_PER_SECOND="0.5", WORKER_MAX_CONCURRENCY="2")
    short = dataclasses.replace(trigger, function_timeout=8.4 + SAFETY_SECONDS)
    first, second = enqueue("E1"), enqueue("E2")
    # When one invocation gets both: the second call's turn would come too late
    with calls_made() as calls:
        worker_app.dependencies.cache_clear()
        report = short.poll_once(wait_seconds=1)
    # Then one punch is delivered, the other sent back untouched: not called, no note, no attempt,
    # on a message that waits out the lease it was claimed with
    assert (report.received, report.succeeded) == (2, 2)
    assert crm_view(crm)["requests"] == 1
    [delivered] = [log_id for log_id in (first, second) if stored(log_id)["syncStatus"] == "synced"]
    [paced] = {first, second} - {delivered}
    [requeued] = requeues(calls)
    assert requeued["DelaySeconds"] >= 8  # the lease: 8.4 s of calls and 1.5 s of bookkeeping, whole
    assert requeued["MessageAttributes"]["attempts"]["StringValue"] == "0"
    record = stored(paced)
    assert (record["syncStatus"], record["attempts"], record.get("history", [])) == ("pending", 0, [])
    # and it is delivered once its message is back
    run_until(short, synced(stored, paced))
    assert held(crm)[paced]["deliveries"] == 1
    assert stored(paced)["attempts"] == 1


def test_an_invocation_with_no_time_left_for_the_call_spends_no_attempt(trigger, enqueue, crm, stored):
    # Given an invocation whose time is all but gone when it comes to the call (a starved or late one)
    starved = dataclasses.replace(trigger, function_timeout=SAFETY_SECONDS + 0.1)
    log_id = enqueue("E1")
    # When it takes the punch
    with calls_made() as calls:
        report = starved.poll_once(wait_seconds=1)
    # Then the CRM is not called and no attempt is counted: the punch comes back on a message of its own
    assert (report.received, report.succeeded) == (1, 1)
    assert crm_view(crm)["requests"] == 0
    [requeued] = requeues(calls)
    assert requeued["MessageAttributes"]["attempts"]["StringValue"] == "0"
    assert (stored(log_id)["syncStatus"], stored(log_id)["attempts"]) == ("pending", 0)
    # and an invocation with time delivers it, at its first attempt
    run_until(trigger, synced(stored, log_id))
    assert (held(crm)[log_id]["deliveries"], stored(log_id)["attempts"]) == (1, 1)
