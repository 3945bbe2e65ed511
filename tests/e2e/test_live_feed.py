"""The live feed as browsers and terminals use it: real WebSocket clients against the running local stack."""

import asyncio
import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import httpx
import jwt
import pytest
import websockets
from websockets.exceptions import InvalidStatus
from websockets.sync.client import ClientConnection, connect

from attendance.feed.events import decode
from local_stack.running import RunningStack, wait_for
from local_stack.stack import local_client
from tests.e2e.feed_client import WAIT, feed_url, next_event, watching

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def no_event(client: ClientConnection, log_id: str, within: float = 3.0) -> bool:
    """True when nothing about this punch arrives within `within` seconds."""
    give_up = time.monotonic() + within
    while (left := give_up - time.monotonic()) > 0:
        try:
            message = json.loads(client.recv(timeout=left))
        except TimeoutError:
            return True
        if message.get("punch", {}).get("logId") == log_id:
            return False
    return True


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def test_a_punch_reaches_a_watching_client_as_accepted_then_delivered(stack: RunningStack) -> None:
    device, user = unique("DEV"), unique("EMP")
    with watching(stack, f"device:{device}") as client:
        # When a punch is posted over HTTP
        log_id = stack.post_punch(device, user)
        # Then the client sees it arrive, then delivered to the CRM
        accepted = next_event(client, "punch.accepted")
        assert (accepted.punch.log_id, accepted.punch.user_id, accepted.punch.sync_status) == (
            log_id,
            user,
            "pending",
        )
        delivered = next_event(client, "punch.delivered")
        assert (delivered.punch.log_id, delivered.punch.sync_status) == (log_id, "synced")


def test_rooms_filter_what_each_client_sees(stack: RunningStack) -> None:
    device, user, other_user = unique("DEV"), unique("EMP"), unique("EMP")
    with (
        watching(stack, f"device:{device}") as by_device,
        watching(stack, f"user:{other_user}") as by_user,
        watching(stack, "deliveries") as deliveries,
    ):
        mine = stack.post_punch(device, user)
        assert next_event(by_device, "punch.accepted").punch.log_id == mine
        theirs = stack.post_punch(unique("DEV"), other_user)
        assert next_event(by_user, "punch.accepted").punch.log_id == theirs
        assert no_event(by_user, mine)
        assert no_event(by_device, theirs)
        # A punch the CRM refuses for good: the deliveries room hears of it, and of nothing else
        refused = stack.post_punch(device, unique("UNKNOWN"))
        failed = next_event(deliveries, "punch.failed", "punch.dead_lettered")
        assert failed.punch.log_id == refused
        assert next_event(deliveries, "punch.dead_lettered").punch.log_id == refused
        # and of an admin abandoning it, with who did it
        abandon = httpx.post(
            stack.api_url + "/deliveries/dead-letters/abandon",
            json={"logIds": [refused]},
            headers={"Authorization": f"Bearer {stack.api_key}"},
            timeout=30,
        )
        assert abandon.json()["abandoned"] == [refused], abandon.text
        abandoned = next_event(deliveries, "punch.abandoned")
        assert (abandoned.punch.log_id, abandoned.punch.sync_status) == (refused, "abandoned")
        assert abandoned.note.startswith("abandoned by an admin (key ")


def test_a_client_changes_its_rooms_while_connected(stack: RunningStack) -> None:
    device = unique("DEV")
    with watching(stack, "user:nobody") as client:
        client.send(json.dumps({"action": "subscribe", "rooms": [f"device:{device}"]}))
        assert next_event(client, "subscribed").rooms == [f"device:{device}", "user:nobody"]
        log_id = stack.post_punch(device, unique("EMP"))
        assert next_event(client, "punch.accepted").punch.log_id == log_id
        client.send(json.dumps({"action": "subscribe", "rooms": ["kitchen"]}))
        assert next_event(client, "error").error == "invalid_rooms"


def signing_key(stack: RunningStack) -> str:
    """The stack's own key (created by the first sign-in), to make tokens that are genuine but wrong."""
    feed_url(stack)
    ssm = local_client("ssm", stack.aws_url)
    return ssm.get_parameter(Name="/attendance-sync/feed-signing-key", WithDecryption=True)["Parameter"][
        "Value"
    ]


@pytest.mark.parametrize("problem", ["missing", "garbage", "expired", "forged", "audience"])
def test_a_bad_or_expired_token_fails_the_handshake(stack: RunningStack, problem: str) -> None:
    now = int(time.time())
    claims = {"iss": "attendance-sync", "aud": "attendance-sync/feed", "sub": "k", "scope": ["read"]}
    claims |= {"iat": now - 3600, "exp": now - 1800}
    tokens = {
        "missing": "",
        "garbage": "not-a-token",
        "expired": jwt.encode(claims, signing_key(stack), algorithm="HS256"),
        "forged": jwt.encode(claims | {"exp": now + 600}, "x" * 64, algorithm="HS256"),
        "audience": jwt.encode(
            claims | {"exp": now + 600, "aud": "other"}, signing_key(stack), algorithm="HS256"
        ),
    }
    url = feed_url(stack).split("?")[0] + f"?token={quote(tokens[problem])}"
    with pytest.raises(InvalidStatus) as refused:
        connect(url, open_timeout=WAIT).close()
    assert refused.value.response.status_code == 401


def test_an_ingest_only_key_gets_no_feed_token(stack: RunningStack) -> None:
    reply = httpx.post(stack.api_url + "/auth/token", headers={"Authorization": "Bearer nope"}, timeout=10)
    assert (reply.status_code, reply.json()["error"]) == (401, "unauthorized")


def test_a_client_that_vanished_is_removed_on_the_next_send(stack: RunningStack) -> None:
    # Given a connection API Gateway never reported closed ($disconnect is best effort)
    dynamodb = local_client("dynamodb", stack.aws_url)
    table = next(name for name in dynamodb.list_tables()["TableNames"] if "FeedConnections" in name)
    ghost = {
        "connectionId": {"S": "GhostConn0001="},
        "keyId": {"S": "key_ghost"},
        "rooms": {"SS": ["all"]},
        "connectedAt": {"S": datetime.now(UTC).isoformat()},
        "expiresAt": {"N": str(int(time.time()) + 3600)},
    }
    dynamodb.put_item(TableName=table, Item=ghost)
    with watching(stack) as alive:
        # When the next punch is fanned out
        log_id = stack.post_punch(unique("DEV"), unique("EMP"))
        # Then the live client has it, and the vanished one is gone from the table
        assert next_event(alive, "punch.accepted").punch.log_id == log_id
        wait_for(
            lambda: (
                "Item" not in dynamodb.get_item(TableName=table, Key={"connectionId": ghost["connectionId"]})
            ),
            WAIT,
        )


def test_a_hundred_clients_all_receive_one_punch(stack: RunningStack) -> None:
    device = unique("DEV")
    url = feed_url(stack, f"device:{device}")

    async def watch_all() -> list[str]:
        clients = [await websockets.connect(url, open_timeout=120) for _ in range(100)]
        try:
            log_id = await asyncio.to_thread(stack.post_punch, device, unique("EMP"))
            received = await asyncio.gather(*(first_accepted(client) for client in clients))
            assert set(received) == {log_id}
            return received
        finally:
            await asyncio.gather(*(client.close() for client in clients))

    async def first_accepted(client: Any) -> str:
        while True:
            message = decode(await asyncio.wait_for(client.recv(), WAIT))
            if message.type.value == "punch.accepted":
                return message.punch.log_id

    assert len(asyncio.run(watch_all())) == 100


def test_a_new_device_is_announced_in_its_room(stack: RunningStack) -> None:
    device = unique("DEV")
    with watching(stack, f"device:{device}") as client:
        reply = httpx.post(
            stack.api_url + "/devices",
            headers={"Authorization": f"Bearer {stack.api_key}"},
            json={"deviceId": device, "kind": "zkteco", "serial": unique("SN"), "name": "Side door"},
            timeout=15,
        )
        assert reply.status_code == 201, reply.text
        state = next_event(client, "device.state")
        assert (state.device.device_id, state.device.state, state.device.previous_state) == (
            device,
            "never_seen",
            None,
        )
        assert state.device.time_zone == "UTC"  # registered without a zone: the stack's default


def test_ingest_and_delivery_carry_on_when_the_fan_out_fails_every_time(stack: RunningStack) -> None:
    # Given a fan-out that fails on every batch with news: its connections table is gone
    dynamodb = local_client("dynamodb", stack.aws_url)
    table = next(name for name in dynamodb.list_tables()["TableNames"] if "FeedConnections" in name)
    description = dynamodb.describe_table(TableName=table)["Table"]
    dynamodb.delete_table(TableName=table)
    failures = stack.sqs()
    failure_queue = stack.queue_url("FeedFailureQueue")
    try:
        # When a punch comes in
        log_id = stack.post_punch(unique("DEV"), unique("EMP"))
        # Then it is delivered to the CRM all the same
        wait_for(lambda: log_id in stack.crm_log_ids(), WAIT)
        # and the batch the fan-out gave up on is in the on-failure queue, after its retries
        record = wait_for_message(failures, failure_queue, "PunchesTable")
        assert record["requestContext"]["condition"] == "RetryAttemptsExhausted"
        assert record["responseContext"]["functionError"] == "Unhandled"
    finally:
        dynamodb.create_table(
            TableName=table,
            AttributeDefinitions=description["AttributeDefinitions"],
            KeySchema=description["KeySchema"],
            BillingMode="PAY_PER_REQUEST",
        )


def wait_for_message(sqs: Any, queue_url: str, table: str) -> dict[str, Any]:
    """The first on-failure record of `table`'s stream; records of other streams (a device an earlier test
    registered may turn silent while the fan-out fails) are taken off the queue and passed over."""
    give_up = time.monotonic() + WAIT
    while time.monotonic() < give_up:
        reply = sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=1)
        for message in reply.get("Messages", []):
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
            record = json.loads(message["Body"])
            if record["DDBStreamBatchInfo"]["streamArn"].split("/")[1].endswith(table):
                return record
    raise AssertionError(f"no failure of {table}'s stream reached the on-failure queue")
