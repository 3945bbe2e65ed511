"""Signing in to the live feed and keeping a connection's rooms, as API Gateway drives the functions."""

import time

import jwt

from tests.integration.feed.conftest import ADMIN_KEY, EDGE_KEY, INGEST_KEY, READ_KEY


def test_a_read_key_gets_a_short_lived_token_and_the_feed_url(get_token, feed_env) -> None:
    # When a dashboard signs in with its read key
    status, body = get_token(READ_KEY)
    # Then it gets a token for at most 15 minutes, and where to connect
    assert status == 200
    assert body["url"] == feed_env["FEED_URL"]
    claims = jwt.decode(body["token"], options={"verify_signature": False})
    assert claims["aud"] == "attendance-sync/feed"
    assert claims["scope"] == ["read"]
    assert 0 < claims["exp"] - time.time() <= 15 * 60
    assert body["expiresAt"] == time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(claims["exp"]))


def test_no_key_or_an_ingest_only_key_gets_no_token(get_token) -> None:
    assert get_token(None)[0] == 401
    assert get_token("not-a-key")[0] == 401
    status, body = get_token(INGEST_KEY)
    assert (status, body["error"]) == (403, "forbidden")
    assert get_token(ADMIN_KEY, method="GET")[0] == 405


def test_a_valid_token_connects_with_its_rooms_and_a_ttl(get_token, ws, connection_item) -> None:
    token = get_token(READ_KEY)[1]["token"]
    # When the browser connects asking for two rooms
    status, _ = ws("$connect", "c-1", query={"token": token, "rooms": "device:DEV001,user:EMP1"})
    # Then the connection is kept with its rooms, and expires by TTL after API Gateway's 2-hour limit
    assert status == 200
    item = connection_item("c-1")
    assert item["rooms"] == {"device:DEV001", "user:EMP1"}
    assert 2 * 3600 <= int(item["expiresAt"]) - time.time() <= 2 * 3600 + 600
    # and without rooms it is in `all`
    assert ws("$connect", "c-2", query={"token": token})[0] == 200
    assert connection_item("c-2")["rooms"] == {"all"}


def test_missing_forged_and_bad_room_connections_are_refused_and_not_kept(
    get_token, ws, connection_item
) -> None:
    token = get_token(READ_KEY)[1]["token"]
    assert ws("$connect", "c-1", query=None)[0] == 401
    forged = jwt.encode(
        {"sub": "key_x", "aud": "attendance-sync/feed", "iss": "attendance-sync"}, "guess" * 8
    )
    status, body = ws("$connect", "c-2", query={"token": forged})
    assert (status, body["type"], body["error"]) == (401, "error", "unauthorized")
    status, body = ws("$connect", "c-3", query={"token": token, "rooms": "all,canteen"})
    assert (status, body["error"]) == (400, "invalid_rooms")
    assert "canteen" in body["message"]
    assert [connection_item(c) for c in ("c-1", "c-2", "c-3")] == [None, None, None]


def test_a_key_for_some_devices_sees_only_their_events(get_token, ws, connection_item) -> None:
    token = get_token(EDGE_KEY)[1]["token"]
    assert ws("$connect", "c-1", query={"token": token})[0] == 200
    assert connection_item("c-1")["devices"] == ["DEV001"]


def test_subscribe_unsubscribe_ping_and_nonsense(get_token, ws, connection_item) -> None:
    token = get_token(ADMIN_KEY)[1]["token"]
    ws("$connect", "c-1", query={"token": token})
    status, reply = ws("subscribe", "c-1", {"action": "subscribe", "rooms": ["deliveries", "device:DEV9"]})
    assert (status, reply["type"], reply["rooms"]) == (
        200,
        "subscribed",
        ["all", "deliveries", "device:DEV9"],
    )
    status, reply = ws("unsubscribe", "c-1", {"action": "unsubscribe", "rooms": ["all", "device:DEV9"]})
    assert reply["rooms"] == ["deliveries"]
    assert connection_item("c-1")["rooms"] == {"deliveries"}
    assert ws("$default", "c-1", {"action": "ping"})[1]["type"] == "pong"
    status, reply = ws("$default", "c-1", "not json")
    assert (status, reply["type"], reply["error"]) == (400, "error", "invalid_request")
    status, reply = ws("subscribe", "c-1", {"action": "subscribe", "rooms": ["kitchen"]})
    assert (status, reply["error"]) == (400, "invalid_rooms")
    assert connection_item("c-1")["rooms"] == {"deliveries"}


def test_disconnect_forgets_and_an_unknown_connection_is_told_to_reconnect(
    get_token, ws, connection_item
) -> None:
    token = get_token(READ_KEY)[1]["token"]
    ws("$connect", "c-1", query={"token": token})
    assert ws("$disconnect", "c-1")[0] == 200
    assert connection_item("c-1") is None
    status, reply = ws("subscribe", "c-1", {"action": "subscribe", "rooms": ["all"]})
    assert (status, reply["error"]) == (410, "unknown_connection")


def test_before_the_first_sign_in_no_token_can_be_valid(ws, connection_item) -> None:
    # No key has been created yet (the first sign-in creates it): a token is refused, not a 5xx
    forged = jwt.encode(
        {"sub": "key_x", "aud": "attendance-sync/feed", "iss": "attendance-sync"}, "guess" * 8
    )
    status, body = ws("$connect", "c-1", query={"token": forged})
    assert (status, body["error"]) == (401, "unauthorized")
    assert connection_item("c-1") is None
