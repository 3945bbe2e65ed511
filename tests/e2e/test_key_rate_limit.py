"""One key floods the running stack's ingest route over HTTP while another sends as usual: the flood is
refused beyond its limit, the other key is never refused, and every punch acknowledged is stored."""

import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from click.testing import Result

from attendance.data.aws import from_item
from local_stack.running import RunningStack, local_client

pytestmark = pytest.mark.e2e

# One request a second: four senders in parallel put two or more into some second however slowly the
# machine serves them (at four, a starved run once served the flood at no more than four a second).
FLOOD_LIMIT = 1
FLOOD_SECONDS = 3.0
# A clock or webhook stuck in a loop: four senders, each at most 10 a second, well within the route's
# throttle (ApiThrottlingRateLimit); a flood beyond that is refused by API Gateway for every caller alike.
FLOOD_PAUSE = 0.1


def punch(user: str, n: int) -> dict:
    at = (datetime.now(UTC) - timedelta(hours=1) + timedelta(minutes=n)).strftime("%Y-%m-%dT%H:%M:%S")
    return {"deviceId": "RL1", "userId": user, "timestamp": at, "type": "in", "timeZone": "UTC"}


def test_a_flooding_key_is_held_to_its_limit_and_the_other_keys_go_on(
    stack: RunningStack, cli: Callable[..., Result]
) -> None:
    # Given a key limited to 1 request a second and a key at the stack's default (10)
    flooder = json.loads(
        cli("--json", "keys", "create", "--name", "loop", "--rate-limit", str(FLOOD_LIMIT)).output
    )
    steady = json.loads(cli("--json", "keys", "create", "--name", "door").output)
    listed = {key["keyId"]: key for key in json.loads(cli("--json", "keys", "list").output)}
    assert (listed[flooder["keyId"]]["rateLimit"], listed[steady["keyId"]]["rateLimit"]) == (
        FLOOD_LIMIT,
        None,
    )
    assert "default" in cli("keys", "list").output  # in words for people: the stack's default

    # When the first floods from four senders for 3 seconds while the second sends 4 a second
    flood: list[httpx.Response] = []
    lock = threading.Lock()
    deadline = time.monotonic() + FLOOD_SECONDS

    def flood_worker(worker: int) -> None:
        with httpx.Client(base_url=stack.api_url, timeout=10) as client:
            n = 0
            while time.monotonic() < deadline:
                reply = client.post(
                    "/punches",
                    json=punch(f"F{worker}", n),
                    headers={"Authorization": f"Bearer {flooder['key']}"},
                )
                with lock:
                    flood.append(reply)
                n += 1
                time.sleep(FLOOD_PAUSE)

    workers = [threading.Thread(target=flood_worker, args=(w,)) for w in range(4)]
    for worker in workers:
        worker.start()
    steady_replies = []
    with httpx.Client(base_url=stack.api_url, timeout=10) as client:
        for n in range(12):
            headers = {"Authorization": f"Bearer {steady['key']}"}
            steady_replies.append(client.post("/punches", json=punch("S1", n), headers=headers))
            time.sleep(0.25)
    for worker in workers:
        worker.join()

    # Then the other key was never refused
    assert [reply.status_code for reply in steady_replies] == [202] * 12
    # And the flood was refused beyond its limit, with a JSON reason and Retry-After
    statuses = Counter(reply.status_code for reply in flood)
    assert set(statuses) <= {202, 429}, statuses
    assert statuses[429] > 0
    # exactly as the counts of each second say: up to the limit taken, the rest refused
    counts = window_counts(stack, flooder["keyId"])
    assert sum(counts) == len(flood)
    assert statuses[202] == sum(min(count, FLOOD_LIMIT) for count in counts), counts
    refused = next(reply for reply in flood if reply.status_code == 429)
    assert refused.headers["Retry-After"] == "1"
    assert refused.json()["error"] == "rate_limited"
    # And every punch acknowledged is stored, none refused is
    taken = {reply.json()["logId"] for reply in flood if reply.status_code == 202}
    stored = stack_log_ids(stack, {f"F{w}" for w in range(4)})
    assert stored == taken

    # When an admin lifts the limit, the same flood is taken in full
    cli("keys", "set-rate-limit", flooder["keyId"], "--rate-limit", "0")
    with httpx.Client(base_url=stack.api_url, timeout=10) as client:
        lifted = [
            client.post(
                "/punches", json=punch("F9", n), headers={"Authorization": f"Bearer {flooder['key']}"}
            )
            for n in range(12)
        ]
    assert {reply.status_code for reply in lifted} == {202}


def window_counts(stack: RunningStack, key_id: str) -> list[int]:
    """The key's request count in each second it was used (read from the stack's counts table)."""
    dynamodb = local_client("dynamodb", stack.aws_url)
    pages = dynamodb.get_paginator("scan").paginate(TableName="attendance-sync-RequestCountsTable")
    items = [from_item(item) for page in pages for item in page["Items"]]
    return [item["requests"] for item in items if item["counter"].startswith(f"{key_id}#")]


def stack_log_ids(stack: RunningStack, users: set[str]) -> set[str]:
    """The logIds of the punches the stack holds for these users (read from its table)."""
    dynamodb = local_client("dynamodb", stack.aws_url)
    pages = dynamodb.get_paginator("scan").paginate(TableName="attendance-sync-PunchesTable")
    items = [from_item(item) for page in pages for item in page["Items"]]
    return {item["logId"] for item in items if item["userId"] in users}
