"""Every parser that takes outside input, fuzzed: never an unhandled exception, always a 2xx/4xx with a
JSON or protocol-correct body, and nothing stored for rejected input."""

import gzip
import json

from hypothesis import given
from hypothesis import strategies as st

from functions.device_push import app as push_app
from functions.ingest import app as ingest_app
from tests.fuzz.conftest import KEY, SERIAL, invoke

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
field_values = st.one_of(
    st.text(max_size=40),
    st.integers(),
    st.none(),
    st.booleans(),
    st.lists(st.integers(), max_size=2),
    st.sampled_from(
        [
            "in",
            "OUT",
            "break_out",
            "2025-02-10T09:16:00",
            "2025-02-10T09:16:00+05:30",
            "DEV001",
            "EMP 1",
            "9999-12-31T23:59:59",
            "0001-01-01T00:00:00",
            "2025-13-45T99:99:99",
            "",
            "\x00",
        ]
    ),
)
punches = st.fixed_dictionaries(
    {},
    optional={
        "deviceId": field_values,
        "userId": field_values,
        "timestamp": field_values,
        "type": field_values,
        "verifyMode": field_values,
        "source": field_values,
        "extra": json_values,
    },
)
documents = st.one_of(
    punches,
    st.fixed_dictionaries({"punches": st.lists(punches, max_size=6)}),
    json_values,
    st.fixed_dictionaries({"punches": json_values}),
)


def check_ingest_reply(reply: dict, before: int, after: int) -> None:
    status = reply["statusCode"]
    assert status in (200, 202, 400, 403, 409, 413, 415), reply
    body = json.loads(reply["body"])
    if status == 200:
        assert after - before == body["accepted"]
        assert len(body["results"]) == body["received"]
    elif status == 202:
        assert after - before == 1
    else:
        assert after == before  # nothing stored for rejected input
        assert body.get("error") or body.get("status") == "duplicate"


@given(document=documents, compress=st.booleans())
def test_punch_json_and_batches(world, stored, document, compress):
    raw = json.dumps(document).encode()
    headers = {"content-type": "application/json", "authorization": f"Bearer {KEY}"}
    if compress:
        raw, headers = gzip.compress(raw), headers | {"content-encoding": "gzip"}
    before = stored()
    reply = invoke(ingest_app, "/punches", raw, headers)
    check_ingest_reply(reply, before, stored())


@given(
    raw=st.binary(max_size=300),
    encoding=st.sampled_from(["", "gzip", "br", "GZIP", "identity"]),
    content_type=st.sampled_from(
        [
            "application/json",
            "text/plain",
            "",
            "application/json; charset=latin-1",
            "application/vnd.api+json",
        ]
    ),
)
def test_arbitrary_bytes_headers_and_gzip(world, stored, raw, encoding, content_type):
    headers = {"content-type": content_type, "authorization": f"Bearer {KEY}"}
    if encoding:
        headers["content-encoding"] = encoding
    before = stored()
    reply = invoke(ingest_app, "/punches", raw, headers)
    check_ingest_reply(reply, before, stored())


adms_lines = st.lists(
    st.one_of(
        st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=60),
        st.builds(
            lambda pin, day, state, verify: f"{pin}\t2025-02-{day:02d} 09:00:00\t{state}\t{verify}\t\t0\t0",
            st.text(alphabet="0123456789AB -", min_size=0, max_size=8),
            st.integers(1, 28),
            st.sampled_from(["0", "1", "5", "255", "x", ""]),
            st.integers(0, 20),
        ),
    ),
    max_size=8,
)
queries = st.fixed_dictionaries(
    {},
    optional={
        "SN": st.sampled_from([SERIAL, "", "NOPE", "FUZZ-SN\x00"]),
        "table": st.sampled_from(["ATTLOG", "attlog", "OPERLOG", "", "x" * 50]),
        "Stamp": st.text(max_size=10),
    },
)


@given(lines=adms_lines, query=queries, newline=st.sampled_from(["\r\n", "\n"]))
def test_adms_bodies_and_query_strings(world, stored, lines, query, newline):
    before = stored()
    reply = invoke(
        push_app, "/iclock/cdata", newline.join(lines).encode(), {"content-type": "text/plain"}, query
    )
    status, text = reply["statusCode"], reply["body"]
    assert status in (200, 400, 403), reply
    assert reply["headers"]["Content-Type"].startswith("text/plain")
    if status == 200 and text.startswith("OK: "):
        assert stored() - before <= int(text.removeprefix("OK: "))
    else:
        assert text == "OK" or text.startswith("ERROR")
        assert stored() == before


hik_detail = st.fixed_dictionaries(
    {},
    optional={
        "majorEventType": st.one_of(st.just(5), field_values),
        "subEventType": st.one_of(st.just(38), field_values),
        "employeeNoString": field_values,
        "attendanceStatus": field_values,
        "currentVerifyMode": field_values,
    },
)
hik_events = st.one_of(
    st.fixed_dictionaries(
        {"eventType": st.sampled_from(["AccessControllerEvent", "heartBeat", "x"])},
        optional={"dateTime": field_values, "AccessControllerEvent": st.one_of(hik_detail, json_values)},
    ),
    json_values,
)


def check_hikvision_reply(reply: dict, before: int, after: int) -> None:
    assert reply["statusCode"] in (200, 400, 403), reply
    body = json.loads(reply["body"])
    if reply["statusCode"] == 200:
        assert body["result"] in ("accepted", "duplicate", "rejected", "ignored")
        assert after - before == (1 if body["result"] == "accepted" else 0)
    else:
        assert after == before


@given(document=hik_events)
def test_hikvision_json(world, stored, document):
    before = stored()
    reply = invoke(
        push_app,
        f"/hikvision/events/{world['token']}",
        json.dumps(document).encode(),
        {"content-type": "application/json"},
        path_parameters={"token": world["token"]},
    )
    check_hikvision_reply(reply, before, stored())


@given(
    document=hik_events,
    name=st.sampled_from(["AccessControllerEvent", "event_log", "Picture", ""]),
    boundary=st.sampled_from(["b0undary", "x"]),
    garbage=st.binary(max_size=80),
    declare=st.booleans(),
)
def test_hikvision_multipart(world, stored, document, name, boundary, garbage, declare):
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
        + json.dumps(document).encode()
        + b"\r\n"
        + garbage
        + f"\r\n--{boundary}--\r\n".encode()
    )
    content_type = f"multipart/form-data; boundary={boundary}" if declare else "multipart/form-data"
    before = stored()
    reply = invoke(
        push_app,
        f"/hikvision/events/{world['token']}",
        body,
        {"content-type": content_type},
        path_parameters={"token": world["token"]},
    )
    check_hikvision_reply(reply, before, stored())
