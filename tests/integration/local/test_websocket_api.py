"""The local WebSocket API behaves as API Gateway's: $connect decides the handshake, frames reach their
routes and two-way replies come back, the @connections API posts, describes and deletes connections, and
closes of every kind reach $disconnect. Driven with a real WebSocket client and boto3's client."""

import json
import threading
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from edge_poller.simulator import free_tcp_port
from local_stack.functions import LocalFunction
from local_stack.running import wait_for
from local_stack.stack import local_client
from local_stack.template import load_template
from local_stack.websocket_api import LocalWebSocketApi, WebSocketRoute, websocket_routes

WAIT = 10.0  # seconds a client waits for a frame; generous, the machine may be busy


class Feed:
    """A stand-in connections function: records every event; its answers follow the frames' content."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.release_slow = threading.Event()

    def handle(self, event: dict[str, Any], context: Any) -> dict[str, Any] | None:
        self.events.append(event)
        route = event["requestContext"]["routeKey"]
        if route == "$connect":
            token = (event.get("queryStringParameters") or {}).get("token")
            if token == "broken":
                raise RuntimeError("cannot read the signing key")
            if token != "good":
                return {"statusCode": 401, "body": json.dumps({"error": "unauthorized"})}
            return {"statusCode": 200}
        body = event["body"]
        if route == "subscribe":
            return {"statusCode": 200, "body": json.dumps({"type": "subscribed", **json.loads(body)})}
        if route == "slow":
            self.release_slow.wait(WAIT)
            return {"statusCode": 200, "body": json.dumps({"type": "slow done"})}
        if route == "$default":
            if body == "fail":
                raise ValueError("no good")
            return {"statusCode": 200, "body": json.dumps({"type": "error", "echo": body})}
        return None

    def seen(self, route_key: str) -> list[dict[str, Any]]:
        return [event for event in list(self.events) if event["requestContext"]["routeKey"] == route_key]


ROUTES = {"$connect": False, "$disconnect": False, "subscribe": True, "slow": True, "$default": True}


@pytest.fixture
def feed() -> Feed:
    return Feed()


@pytest.fixture
def start_api(feed: Feed) -> Iterator[Callable[..., LocalWebSocketApi]]:
    started: list[LocalWebSocketApi] = []

    def start(routes: dict[str, bool] = ROUTES, **settings: Any) -> LocalWebSocketApi:
        # One function object per route, as separate functions would be: a slow route holds no other back.
        api = LocalWebSocketApi(
            "127.0.0.1",
            free_tcp_port(),
            free_tcp_port(),
            {
                key: WebSocketRoute(key, LocalFunction(f"Feed-{key}", feed.handle, 5.0, {}), two_way)
                for key, two_way in routes.items()
            },
            log=lambda line: None,
            **settings,
        )
        started.append(api.start())
        return api

    yield start
    for api in started:
        api.stop()


@pytest.fixture
def api(start_api: Callable[..., LocalWebSocketApi]) -> LocalWebSocketApi:
    return start_api()


def management(api: LocalWebSocketApi) -> Any:
    return local_client("apigatewaymanagementapi", api.management_url)


def open_client(api: LocalWebSocketApi, query: str = "token=good") -> ClientConnection:
    return connect(f"{api.url}/?{query}", open_timeout=WAIT, user_agent_header="feed-test/1.0")


def connection_id_of(feed: Feed) -> str:
    return feed.seen("$connect")[-1]["requestContext"]["connectionId"]


def test_connect_is_accepted_with_an_event_that_carries_the_query_string_and_a_connection_id(api, feed):
    # When a client connects with a good token and rooms
    with open_client(api, "token=good&rooms=device:DEV001,deliveries&rooms=all"):
        # Then $connect saw the handshake as API Gateway shows it
        (event,) = feed.seen("$connect")
        context = event["requestContext"]
        assert event["queryStringParameters"] == {"token": "good", "rooms": "all"}
        assert event["multiValueQueryStringParameters"]["rooms"] == ["device:DEV001,deliveries", "all"]
        assert event["headers"]["User-Agent"] == "feed-test/1.0"
        assert event["multiValueHeaders"]["User-Agent"] == ["feed-test/1.0"]
        assert event["isBase64Encoded"] is False
        assert (context["eventType"], context["messageDirection"], context["stage"]) == (
            "CONNECT",
            "IN",
            "live",
        )
        assert len(context["connectionId"]) == 16
        assert context["connectionId"].endswith("=")
        assert context["identity"] == {"sourceIp": "127.0.0.1", "userAgent": "feed-test/1.0"}
        assert context["requestTimeEpoch"] >= context["connectedAt"] > 0
        assert {"requestId", "extendedRequestId", "requestTime", "domainName", "apiId"} <= set(context)
        # (counted once the server has finished the handshake, which the client may see a moment before)
        wait_for(lambda: api.stats().connections_open == 1, limit=5)


def test_connect_refused_by_the_function_fails_the_handshake_with_its_status_and_body(api, feed):
    with pytest.raises(InvalidStatus) as refused:
        open_client(api, "token=stale")
    assert refused.value.response.status_code == 401
    assert json.loads(refused.value.response.body) == {"error": "unauthorized"}
    assert api.stats().connections_open == 0


def test_a_failing_connect_function_fails_the_handshake_with_500(api):
    with pytest.raises(InvalidStatus) as refused:
        open_client(api, "token=broken")
    assert refused.value.response.status_code == 500


def test_a_frame_reaches_its_route_and_the_two_way_reply_comes_back(api, feed):
    with open_client(api) as client:
        # When the client subscribes
        client.send(json.dumps({"action": "subscribe", "rooms": ["user:EMP1"]}))
        # Then the reply is the function's body
        assert json.loads(client.recv(WAIT)) == {
            "type": "subscribed",
            "action": "subscribe",
            "rooms": ["user:EMP1"],
        }
    (event,) = feed.seen("subscribe")
    context = event["requestContext"]
    assert json.loads(event["body"]) == {"action": "subscribe", "rooms": ["user:EMP1"]}
    assert (context["eventType"], context["messageDirection"]) == ("MESSAGE", "IN")
    assert context["connectionId"] == connection_id_of(feed)
    assert context["messageId"]
    assert event["isBase64Encoded"] is False


@pytest.mark.parametrize("frame", ['{"action": "dance"}', "not json", '["subscribe"]', '{"action": 7}'])
def test_a_frame_for_no_route_goes_to_default(api, feed, frame):
    with open_client(api) as client:
        client.send(frame)
        assert json.loads(client.recv(WAIT)) == {"type": "error", "echo": frame}
    assert [event["body"] for event in feed.seen("$default")] == [frame]


def test_a_failing_function_answers_internal_server_error_as_api_gateway_does(api, feed):
    with open_client(api) as client:
        client.send("fail")
        reply = json.loads(client.recv(WAIT))
    assert reply["message"] == "Internal server error"
    assert reply["connectionId"] == connection_id_of(feed)
    assert reply["requestId"] == feed.seen("$default")[0]["requestContext"]["requestId"]


def test_without_a_default_route_an_unknown_action_is_forbidden(start_api, feed):
    api = start_api({"$connect": False, "subscribe": True})
    with open_client(api) as client:
        client.send('{"action": "dance"}')
        reply = json.loads(client.recv(WAIT))
    assert (reply["message"], reply["connectionId"]) == ("Forbidden", connection_id_of(feed))


def test_a_slow_invocation_of_one_connection_does_not_hold_up_another(api, feed):
    with open_client(api) as waiting, open_client(api) as other:
        waiting.send('{"action": "slow"}')
        wait_for(lambda: len(feed.seen("slow")) == 1, WAIT)
        # While the slow route still runs, another connection is answered
        other.send('{"action": "subscribe", "rooms": []}')
        assert json.loads(other.recv(WAIT))["type"] == "subscribed"
        feed.release_slow.set()
        assert json.loads(waiting.recv(WAIT)) == {"type": "slow done"}


def test_post_to_connection_reaches_the_client(api, feed):
    with open_client(api) as client:
        connections = management(api)
        connection_id = connection_id_of(feed)
        connections.post_to_connection(ConnectionId=connection_id, Data=b'{"type": "punch.accepted"}')
        assert client.recv(WAIT) == '{"type": "punch.accepted"}'  # text: the data is UTF-8
        connections.post_to_connection(ConnectionId=connection_id, Data=b"\xff\x00")
        assert client.recv(WAIT) == b"\xff\x00"  # binary: it is not
        with pytest.raises(connections.exceptions.PayloadTooLargeException):
            connections.post_to_connection(ConnectionId=connection_id, Data=b"x" * (128 * 1024 + 1))
    assert api.stats().frames_posted == 2


def test_get_connection_describes_it(api, feed):
    with open_client(api):
        described = management(api).get_connection(ConnectionId=connection_id_of(feed))
    assert described["Identity"] == {"SourceIp": "127.0.0.1", "UserAgent": "feed-test/1.0"}
    assert isinstance(described["ConnectedAt"], datetime)
    assert described["LastActiveAt"] >= described["ConnectedAt"]


def test_delete_connection_closes_it_and_disconnect_is_invoked(api, feed):
    with open_client(api) as client:
        connection_id = connection_id_of(feed)
        connections = management(api)
        # When the server deletes the connection
        connections.delete_connection(ConnectionId=connection_id)
        # Then the client sees a normal close, and the connection is gone
        with pytest.raises(ConnectionClosed) as closed:
            client.recv(WAIT)
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 1000
        with pytest.raises(connections.exceptions.GoneException):
            connections.get_connection(ConnectionId=connection_id)
    wait_for(lambda: len(feed.seen("$disconnect")) == 1, WAIT)
    context = feed.seen("$disconnect")[0]["requestContext"]
    assert (context["connectionId"], context["eventType"]) == (connection_id, "DISCONNECT")
    assert (context["disconnectStatusCode"], context["disconnectReason"]) == (
        1000,
        "Connection Closed Normally",
    )


def test_posting_to_a_client_that_left_raises_gone(api, feed):
    # Given a client that closed its connection
    with open_client(api) as client:
        connection_id = connection_id_of(feed)
        client.close(1001, "navigated away")
    wait_for(lambda: len(feed.seen("$disconnect")) == 1, WAIT)
    # Then $disconnect heard its code and reason, and a post to it is answered Gone
    context = feed.seen("$disconnect")[0]["requestContext"]
    assert (context["disconnectStatusCode"], context["disconnectReason"]) == (1001, "navigated away")
    connections = management(api)
    with pytest.raises(connections.exceptions.GoneException):
        connections.post_to_connection(ConnectionId=connection_id, Data=b"{}")
    with pytest.raises(connections.exceptions.GoneException):
        connections.delete_connection(ConnectionId="NoSuchConnect=")
    assert (api.stats().gone, api.stats().connections_open) == (2, 0)


def assert_closed_going_away(client: ClientConnection, feed: Feed, keep_talking: bool) -> None:
    """The close API Gateway sends an idle or old connection, and the $disconnect it reports."""
    with pytest.raises(ConnectionClosed) as closed:
        talk_until_closed(client, keep_talking)
    assert closed.value.rcvd is not None
    assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (1001, "Going away")
    wait_for(lambda: len(feed.seen("$disconnect")) == 1, WAIT)
    context = feed.seen("$disconnect")[0]["requestContext"]
    assert (context["disconnectStatusCode"], context["disconnectReason"]) == (1001, "Going away")


def talk_until_closed(client: ClientConnection, keep_talking: bool) -> None:
    while True:
        if keep_talking:
            client.send('{"action": "subscribe", "rooms": []}')
        client.recv(WAIT)


def test_an_idle_connection_is_closed_going_away(start_api, feed):
    # Given connections close after one idle second
    api = start_api(idle_seconds=1)
    # When a client says nothing, it is closed
    with open_client(api) as client:
        assert_closed_going_away(client, feed, keep_talking=False)


def test_a_connection_past_its_lifetime_is_closed_going_away_however_busy(start_api, feed):
    # Given connections live one second at most
    api = start_api(max_lifetime_seconds=1)
    # When a client keeps talking, it is closed all the same
    with open_client(api) as client:
        assert_closed_going_away(client, feed, keep_talking=True)


def test_a_port_in_use_fails_the_start(api):
    second = LocalWebSocketApi("127.0.0.1", api.port, free_tcp_port(), {})
    try:
        with pytest.raises(OSError, match="in use"):
            second.start()
    finally:
        second.stop()


def test_the_templates_websocket_routes_invoke_the_connections_function():
    function = LocalFunction("FeedConnectionsFunction", lambda event, context: None, 3.0, {})
    routes = websocket_routes(load_template(), {"FeedConnectionsFunction": function})
    assert {key: route.two_way for key, route in routes.items()} == {
        "$connect": False,
        "$disconnect": False,
        "subscribe": True,
        "unsubscribe": True,
        "$default": True,
    }
    assert all(route.function is function for route in routes.values())
