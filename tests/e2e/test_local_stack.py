"""End to end through `python -m local_stack`: HTTP in, SQS in the middle, the mock CRM out."""

import itertools
import json
import os
import time
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest

from local_stack.running import wait_for

pytestmark = pytest.mark.e2e


def now_minus(minutes: int) -> str:
    return (datetime.now() - timedelta(minutes=minutes)).replace(microsecond=0).isoformat()


def post(stack, body: dict, path: str = "/punches") -> httpx.Response:
    headers = {"Authorization": f"Bearer {stack.api_key}"}
    return httpx.post(stack.api_url + path, json=body, headers=headers, timeout=10)


def test_the_stack_and_its_processes_run_in_a_session_of_their_own(stack):
    # Given the stack these tests run against, started as the tests start it
    # When its processes are looked up: the stack, its functions' environments and the mock CRM
    processes = all_processes()
    children = [pid for pid, stat in processes.items() if stat["parent"] == stack.process_id]
    # Then they share one session, not the test run's, so the CPU is shared between the two as between two
    # programs, and the stack's background environments yield only to its own API
    assert len(children) >= 2
    sessions = {processes[pid]["session"] for pid in [stack.process_id, *children]}
    assert sessions == {stack.process_id}
    assert os.getsid(0) != stack.process_id


def all_processes() -> dict[int, dict[str, int]]:
    """Each running process's parent and session, from /proc/<pid>/stat (whose 2nd field may hold spaces)."""
    processes = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue  # a process that ended meanwhile
        processes[int(entry.name)] = {"parent": int(fields[1]), "session": int(fields[3])}
    return processes


def test_a_posted_punch_reaches_the_crm(stack):
    reply = post(stack, {"deviceId": "DEV001", "userId": "E2E-1", "timestamp": now_minus(1), "type": "in"})
    assert reply.status_code == 202
    log_id = reply.json()["logId"]
    wait_for(lambda: stack.crm_held()["count"] == 1)
    [held] = stack.crm_held()["punches"]
    assert (held["logId"], held["deliveries"], held["authorization"]) == (log_id, 1, "Bearer local-crm-token")


def test_a_duplicate_does_not_reach_the_crm_again(stack):
    punch = {"deviceId": "DEV001", "userId": "E2E-2", "timestamp": now_minus(2), "type": "in"}
    first = post(stack, punch)
    wait_for(lambda: stack.crm_held()["count"] == 1)
    again = post(stack, punch, path="/device/punch")
    assert (again.status_code, again.json()["logId"]) == (409, first.json()["logId"])
    time.sleep(2)  # give a wrongly queued duplicate the time it would need to arrive
    assert stack.crm_held()["requests"] == 1


def test_with_the_crm_failing_a_punch_is_dead_lettered_after_three_attempts_10_s_apart(stack):
    httpx.post(stack.crm_url + "/crm/_behaviour", json={"failRate": 1, "status": 503}, timeout=5)
    log_id = post(
        stack, {"deviceId": "DEV001", "userId": "E2E-3", "timestamp": now_minus(3), "type": "out"}
    ).json()["logId"]
    sqs = stack.sqs()
    dlq = stack.queue_url("PunchDeadLetterQueue")
    dead: list[str] = []

    def dead_lettered() -> bool:
        messages = sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10, WaitTimeSeconds=1).get(
            "Messages", []
        )
        for message in messages:
            sqs.delete_message(QueueUrl=dlq, ReceiptHandle=message["ReceiptHandle"])
        dead.extend(json.loads(m["Body"])["logId"] for m in messages)
        return log_id in dead

    wait_for(dead_lettered, limit=90)
    view = stack.crm_held()
    assert view["attempts"] == {log_id: 3}
    assert view["count"] == 0
    times = view["attemptTimes"][log_id]
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert all(gap >= 9.5 for gap in gaps), gaps  # the visibility timeout, not a speed figure


@pytest.mark.parametrize("method", ["TRACE", "PATCH", "DELETE", "GET", "PUT", "OPTIONS"])
def test_any_method_on_a_route_gets_a_json_405_naming_the_allowed_ones(stack, method):
    # Given a route that takes POST only; When another method is sent
    reply = httpx.request(method, stack.api_url + "/punches", timeout=10)
    # Then the function behind the route answers 405 in JSON, with Allow, as on API Gateway
    assert reply.status_code == 405
    assert reply.headers["allow"] == "POST"
    assert reply.json()["error"] == "method_not_allowed"


@pytest.mark.parametrize("method", ["TRACE", "GET", "POST", "HEAD"])
def test_an_unknown_route_gets_api_gateways_json_404(stack, method):
    reply = httpx.request(method, stack.api_url + "/no/such/route", timeout=10)
    assert reply.status_code == 404
    assert reply.headers["content-type"] == "application/json"
    if method != "HEAD":
        assert reply.json() == {"message": "Not Found"}


def test_a_repeated_query_parameter_arrives_joined_by_commas(stack):
    # Given a parameter sent twice, which payload 2.0 hands over as "a,b"
    headers = {"Authorization": f"Bearer {stack.api_key}"}
    reply = httpx.get(
        stack.api_url + "/reports/daily?date=2025-02-10&date=2025-02-11", headers=headers, timeout=10
    )
    # Then it is no date, and the 400 says so
    assert reply.status_code == 400
    assert reply.json()["details"][0]["field"] == "date"
