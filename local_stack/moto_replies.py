"""DynamoDB and DynamoDB Streams replies written as JSON directly: the same JSON moto's serializer writes.

moto turns every reply into JSON with a generic serializer that walks each value through the botocore
model, looking up several aliases per key. For DynamoDB that is most of a request's CPU: a GetRecords
carrying full old and new images, or an item read, spends far longer being serialised than being served.
The replies are plain dicts already in wire format (AttributeValues, strings, numbers). A compiled plan
per operation checks each value against the model as moto's serializer reads it and keeps it as it is,
converting only what moto converts (timestamps, blobs, doubles, members left out when None); json.dumps
then writes the body. Whatever the plan cannot vouch for (objects, unknown types, aliases, errors) goes
to moto's serializer, unchanged.

The server keeps connections alive: werkzeug's development server closes every connection after one
reply, so each SDK request opened a new connection and the server started a new thread for it.

JSON-protocol requests (DynamoDB, DynamoDB Streams, SQS: the action in an X-Amz-Target header, the
parameters in a JSON body, always to the endpoint's root) go straight to the handler moto's Flask app
would pick for them. Finding it anew for every request (sniffing the service from the request, Flask's
request context and routing, the CORS hook) cost as much as serving most requests. The choice depends
only on the service and region of the request's signature, so it is made once for each of them by moto's
own dispatcher and Flask app; the reply is then built as that app builds it, CORS headers included.
Requests that could be answered differently (a browser's Origin, a query string, another path or method,
no signature) take the Flask app as before. The handlers also stop listing their class's methods with
inspect and re-deriving the method name of an action on every request: both are cached.
"""

import base64
import errno
import functools
import io
import json
import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any, ClassVar

import moto.core.responses
from botocore.exceptions import ClientError
from botocore.model import OperationModel, Shape, StructureShape
from flask import Flask, Response
from moto import settings
from moto.core.responses import ActionResult, BaseResponse
from moto.core.serialize import (
    AttributePickerContext,
    JSONSerializer,
    TimestampSerializer,
    XFormedAttributePicker,
    get_serializer_class,
)
from moto.core.utils import convert_to_flask_response, get_service_model, method_names_from_class
from moto.dynamodb.responses import DynamoHandler, DynamoResult
from moto.dynamodbstreams.responses import DynamoDBStreamsHandler
from moto.moto_api import recorder
from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.moto_server.werkzeug_app import (
    BackendRequest,
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.exceptions import HTTPException, InternalServerError
from werkzeug.serving import make_server

Convert = Callable[[Any], Any]
Reply = tuple[int, dict[str, str], str]

_HANDLERS = (DynamoHandler, DynamoDBStreamsHandler)
_PLAIN_RESULTS = (ActionResult, DynamoResult)  # not Paginated/Empty results: those do more than serialise
_MISSING = object()
_log = logging.getLogger(__name__)


class _Unvouched(Exception):
    """A value the plan cannot serialise exactly as moto would: moto's serializer takes the reply."""


def install() -> None:
    """Idempotent: DynamoDB and Streams replies take the direct path where it is exact; handlers find
    their action's method without listing their class again."""
    for handler in _HANDLERS:
        if not getattr(handler.serialized, "_direct", False):
            handler.serialized = _serialized_directly(handler.serialized)  # type: ignore[method-assign]
    responses: Any = moto.core.responses
    if responses.method_names_from_class is method_names_from_class:
        responses.method_names_from_class = _MethodNames.of
        # A pure function of the action's name, which comes from a small set.
        responses.camelcase_to_underscores = functools.lru_cache(maxsize=4096)(
            responses.camelcase_to_underscores
        )


class _MethodNames:
    """A class's function names as inspect lists them, listed once; a name not found is looked up afresh
    (a method added later is found, as before)."""

    _known: ClassVar[dict[type, "_MethodNames"]] = {}

    def __init__(self, owner: type) -> None:
        self._owner = owner
        self._names = frozenset(method_names_from_class(owner))

    @classmethod
    def of(cls, owner: type) -> "_MethodNames":
        names = cls._known.get(owner)
        if names is None:
            names = cls._known[owner] = cls(owner)
        return names

    def __contains__(self, name: object) -> bool:
        if name in self._names:
            return True
        self._names = frozenset(method_names_from_class(self._owner))
        return name in self._names


def _serialized_directly(generic: Callable[[BaseResponse, ActionResult], Reply]) -> Callable[..., Reply]:
    def serialized(handler: BaseResponse, action_result: ActionResult) -> Reply:
        reply = direct_reply(handler, action_result)
        return generic(handler, action_result) if reply is None else reply

    serialized._direct = True  # type: ignore[attr-defined]
    serialized.generic = generic  # type: ignore[attr-defined]
    return serialized


_plans: dict[tuple[str, str, str], Callable[[Any], Reply] | None] = {}


def direct_reply(handler: BaseResponse, action_result: ActionResult) -> Reply | None:
    """The reply as moto's serializer would mean it, or None where only that serializer can write it."""
    result = action_result.result
    if (
        type(action_result) not in _PLAIN_RESULTS
        or type(result) is not dict
        or handler.RESPONSE_KEY_PATH_TO_TRANSFORMER
    ):
        return None
    service_model = get_service_model(handler.boto3_service_name)
    protocol = handler.determine_response_protocol(service_model)
    key = (service_model.service_name, handler._get_action(), protocol)
    if key not in _plans:
        _plans[key] = _plan_for(service_model.operation_model(key[1]), protocol)
    plan = _plans[key]
    if plan is None:
        return None
    try:
        status, headers, body = plan(result)
    except _Unvouched:
        return None
    headers.update(handler.response_headers)
    return status, headers, body


def _plan_for(operation: OperationModel, protocol: str) -> Callable[[Any], Reply] | None:
    """The whole reply of one operation, or None when only moto's serializer can write it."""
    output = operation.output_shape
    serializer_class = get_serializer_class(operation.service_model.service_name, protocol)
    if serializer_class is not JSONSerializer or operation.has_event_stream_output or output is None:
        return None
    serializer = JSONSerializer(operation_model=operation, pretty_print=settings.PRETTIFY_RESPONSES)
    status = operation.http.get("responseCode", JSONSerializer.DEFAULT_RESPONSE_CODE)
    content_type = serializer._get_protocol_specific_content_type()
    indent = 4 if settings.PRETTIFY_RESPONSES else None
    convert = _Compiler().structure(output)  # type: ignore[arg-type]

    def reply(result: Any) -> Reply:
        return status, {"Content-Type": content_type}, json.dumps(convert(result), indent=indent)

    return reply


class _Compiler:
    """Converters per shape, following moto's JSON serializer rule by rule (moto.core.serialize)."""

    def __init__(self) -> None:
        self._structures: dict[str, Convert] = {}

    def convert(self, shape: Shape) -> Convert:
        kind = shape.type_name
        if kind == "structure":
            return self.structure(shape)  # type: ignore[arg-type]
        if kind == "list":
            return self._list(shape)
        if kind == "map":
            return self._map(shape)
        if kind == "string":
            return _exactly(str)
        if kind == "boolean":
            return _exactly(bool)
        if kind in ("integer", "long"):
            return _exactly(int)
        if kind in ("float", "double"):
            return _double
        if kind == "timestamp":
            return _timestamp(shape)
        if kind == "blob":
            return _blob
        return _unvouched

    def structure(self, shape: StructureShape) -> Convert:
        # Structures recur (AttributeValue holds maps and lists of AttributeValues): one converter per
        # name, bound late so the recursion closes.
        name = shape.name
        if name not in self._structures:
            members: dict[str, Convert] = {}
            self._structures[name] = _structure(shape, members)
            members.update({key: self.convert(member) for key, member in shape.members.items()})
        return self._structures[name]

    def _list(self, shape: Any) -> Convert:
        convert_item = self.convert(shape.member)

        def convert(value: Any) -> Any:
            if type(value) is not list:
                raise _Unvouched
            converted = [convert_item(item) for item in value]
            return value if all(new is old for new, old in zip(converted, value, strict=True)) else converted

        return convert

    def _map(self, shape: Any) -> Convert:
        convert_value = self.convert(shape.value)

        def convert(value: Any) -> Any:
            if type(value) is not dict:
                raise _Unvouched
            converted = {}
            for key, item in value.items():
                if type(key) is not str or not key:  # moto writes a structure under "" into the map itself
                    raise _Unvouched
                converted[key] = convert_value(item)
            return value if all(converted[key] is item for key, item in value.items()) else converted

        return convert


def _structure(shape: StructureShape, members: dict[str, Convert]) -> Convert:
    """A dict read as moto's attribute picker reads it, member by member; None members are left out."""
    if shape.is_document_type or any("name" in member.serialization for member in shape.members.values()):
        return _unvouched
    lookups = {key: _keys_moto_tries(shape, key) for key in shape.members}
    # Each member is found under its own name alone unless another member's name is among its aliases.
    plain = all(set(keys) & set(shape.members) == {key} for key, keys in lookups.items())
    aliases = {alias for keys in lookups.values() for alias in keys} - set(shape.members)

    def convert(value: Any) -> Any:
        if type(value) is not dict:
            raise _Unvouched
        if plain and not aliases.intersection(value):
            picked: Iterable[tuple[str, Any]] = value.items()
            unchanged = value.keys() <= members.keys()
        else:
            picked = ((key, _pick(value, keys)) for key, keys in lookups.items())
            unchanged = False
        converted = {}
        for key, item in picked:
            convert_member = members.get(key)
            if convert_member is None or item is None or item is _MISSING:
                unchanged = False
                continue
            converted[key] = new = convert_member(item)
            unchanged = unchanged and new is item
        return value if unchanged else converted

    return convert


def _keys_moto_tries(shape: StructureShape, key: str) -> tuple[str, ...]:
    """The keys moto's picker looks up, in order, for one member of a dict."""
    member = shape.members[key]
    member.parent = shape  # type: ignore[attr-defined]  # as moto's serializer sets it before picking
    context = AttributePickerContext(obj={}, key=key, shape=member)
    return tuple(XFormedAttributePicker().get_possible_keys(context))


def _pick(value: dict[str, Any], keys: tuple[str, ...]) -> Any:
    return next((value[key] for key in keys if key in value), _MISSING)


def _exactly(kind: type) -> Convert:
    def convert(value: Any) -> Any:
        if type(value) is not kind:
            raise _Unvouched
        return value

    return convert


def _double(value: Any) -> float:
    if type(value) is float:
        return value
    if type(value) is int:
        return float(value)
    raise _Unvouched


def _timestamp(shape: Shape) -> Convert:
    serializer = TimestampSerializer(JSONSerializer.DEFAULT_TIMESTAMP_FORMAT)
    timestamp_format = shape.serialization.get("timestampFormat", serializer.default_format)
    return lambda value: serializer._convert_timestamp_to_str(value, timestamp_format)


def _blob(value: Any) -> str:
    if type(value) is str:
        value = value.encode(JSONSerializer.DEFAULT_ENCODING)
    elif type(value) is not bytes:
        raise _Unvouched
    return base64.b64encode(value).strip().decode(JSONSerializer.DEFAULT_ENCODING)


def _unvouched(value: Any) -> Any:
    raise _Unvouched


class KeepAliveMotoServer(ThreadedMotoServer):
    """moto's threaded server, keeping each connection open for the client's next request."""

    _failure: OSError | None = None

    def start(self) -> None:
        """As moto's, but a port it cannot listen on raises OSError here, where moto's would wait forever."""
        super().start()
        if self._failure is not None:
            raise self._failure

    def _server_entry(self) -> None:
        app = DomainDispatcherApplication(create_backend_app)
        try:
            self._server = make_server(
                self._ip_address, self._port, app, True, request_handler=_KeepAliveHandler
            )
        except SystemExit:  # werkzeug's way of failing to bind, which in this thread would only end it
            self._failure = OSError(errno.EADDRINUSE, f"moto could not listen on port {self._port}")
            self._server_ready_event.set()
            return
        self._server.json_routes = _JsonRoutes(app)  # type: ignore[attr-defined]
        self._server_ready_event.set()
        self._server.serve_forever()


class _KeepAliveHandler(MotoRequestHandler):
    """Replies framed by a Content-Length, the request read to its end: the connection can carry the next one.

    werkzeug closes the connection after every reply because it cannot tell where an unread request body
    ends; here the body is read whole before the application sees it, and the reply is sent whole.
    Requests whose body has no length up front (chunked) keep werkzeug's way.
    """

    protocol_version = "HTTP/1.1"
    # A reply goes out as soon as it is written: with the connection kept open, Nagle's algorithm would hold
    # its last segment until the client acknowledged the previous one.
    disable_nagle_algorithm = True

    def run_wsgi(self) -> None:
        expect = self.headers.get("Expect", "").lower().strip(" \t")
        if (
            expect not in ("", "100-continue")
            or "chunked" in self.headers.get("Transfer-Encoding", "").lower()
        ):
            super().run_wsgi()  # werkzeug closes the connection after this reply
            return
        if expect:
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")  # as werkzeug does, before reading the body
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.environ = environ = self.make_environ()
        environ["wsgi.input"] = io.BytesIO(body)
        try:
            app = self.server.json_routes.route(environ) or self.server.app  # type: ignore[attr-defined]
            status, headers, payload = _call(app, environ)
        except Exception:
            _log.exception("moto failed on %s %s", self.command, self.path)
            status, headers, payload = _call(InternalServerError(), environ)
            self.close_connection = True
        code, _, message = status.partition(" ")
        self.send_response(int(code), message)
        head = self.command == "HEAD"  # a HEAD reply keeps the length of what a GET would send
        for name, value in headers:
            if head or name.lower() not in ("content-length", "transfer-encoding", "connection"):
                self.send_header(name, value)
        if not head and int(code) >= 200 and int(code) not in (204, 304):
            self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if not head:
            self.wfile.write(payload)
        self.wfile.flush()


# The JSON protocols' targets: such a request names its action in a header and carries no query string.
_JSON_TARGETS = ("DynamoDB_20120810.", "DynamoDBStreams_20120810.", "AmazonSQS.")
_JSON_BACKENDS = frozenset({"dynamodb", "dynamodbstreams", "sqs"})
# Request headers that change what moto's app adds to a reply (CORS).
_CORS_REQUEST_HEADERS = ("HTTP_ORIGIN", "HTTP_ACCESS_CONTROL_REQUEST_PRIVATE_NETWORK")


class _JsonRoutes:
    """For each service and region a JSON request is signed for: the route moto's Flask app takes."""

    def __init__(self, dispatcher: DomainDispatcherApplication) -> None:
        self._dispatcher = dispatcher
        self._routes: dict[str, _JsonRoute | None] = {}
        self._lock = threading.Lock()

    def route(self, environ: dict[str, Any]) -> "_JsonRoute | None":
        """The direct route for this request, or None when it must go through the Flask app."""
        if (
            environ["REQUEST_METHOD"] != "POST"
            or environ.get("PATH_INFO") != "/"
            or environ.get("QUERY_STRING")
            or not environ.get("HTTP_AUTHORIZATION")
            or not environ.get("HTTP_X_AMZ_TARGET", "").startswith(_JSON_TARGETS)
            or any(name in environ for name in _CORS_REQUEST_HEADERS)
        ):
            return None
        # The app moto's dispatcher would pick: for a signed request to the root, a function of this host.
        host = self._dispatcher.infer_service_region_host(environ, "/")
        if host is None:
            return None
        route = self._routes.get(host, _MISSING)
        if route is _MISSING:
            with self._lock:
                route = self._routes[host] = _JsonRoute.of(self._dispatcher.get_application(environ), environ)
        return route  # type: ignore[return-value]


class _JsonRoute:
    """One JSON service's handler, answering as moto's Flask app does (convert_to_flask_response, then
    the app's after-request hooks: the CORS headers, the same for every POST to the root without an Origin)."""

    def __init__(self, view: convert_to_flask_response, added_headers: list[tuple[str, str]]) -> None:
        self._view = view
        self._added_headers = added_headers

    @classmethod
    def of(cls, app: Flask, environ: dict[str, Any]) -> "_JsonRoute | None":
        if getattr(app, "service", None) not in _JSON_BACKENDS:
            return None
        try:
            endpoint, _ = app.url_map.bind_to_environ(environ).match("/", "POST")
        except HTTPException:  # no rule for the root: the app answers (with its error) as before
            return None
        view = app.view_functions.get(endpoint)
        if not isinstance(view, convert_to_flask_response):
            return None
        with app.test_request_context("/", method="POST"):
            blank = list(Response().headers)
            hooked = list(app.process_response(Response()).headers)
        if hooked[: len(blank)] != blank:
            return None
        return cls(view, hooked[len(blank) :])

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        # What convert_to_flask_response does with Flask's request, on the same kind of request object.
        request = BackendRequest(environ)
        try:
            recorder._record_request(request)
            try:
                reply = self._view.callback(request, request.raw_url, dict(request.headers))
            except ClientError as error:
                reply = 400, {}, error.response["Error"]["Message"]
            status, headers, content = reply if len(reply) == 3 else (200, {}, reply)
            response = Response(response=content, status=status, headers=headers)
        except HTTPException as error:  # Flask answers with the error itself
            response = Response.force_type(error, environ)  # type: ignore[arg-type]
        if response.headers.get("Access-Control-Allow-Origin") is None:  # set by the handler: CORS keeps it
            for name, value in self._added_headers:
                response.headers.add(name, value)
        return response(environ, start_response)


def _call(app: Any, environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes]:
    """Run a WSGI application to the end: its status, its headers and its whole body."""
    started: list[Any] = []
    chunks: list[bytes] = []

    def start_response(
        status: str, headers: list[tuple[str, str]], exc_info: Any = None
    ) -> Callable[[bytes], None]:
        started[:] = [status, headers]
        return chunks.append

    result = app(environ, start_response)
    try:
        chunks.extend(result)
    finally:
        if hasattr(result, "close"):
            result.close()
    return started[0], started[1], b"".join(chunks)
