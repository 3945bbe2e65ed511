"""POST /punches with one punch: stored once, queued once, answered 202 or 409."""

from tests.integration.ingest.conftest import punch


def test_accepted_punch_is_stored_pending_and_queued(api, punches_table, queued):
    # Given a punch in the shape clients of the earlier middleware send
    # When it is posted
    reply = api.post(punch())
    # Then it is accepted with a logId, stored pending with UTC and local time, and its logId is queued
    assert reply.status == 202
    assert reply.body["status"] == "accepted"
    [stored] = punches_table()
    assert stored["logId"] == reply.body["logId"]
    assert stored["userId"] == "EMP789"
    assert stored["deviceId"] == "DEV001"
    assert stored["punchTime"] == "2025-02-10T09:16:00Z"
    assert stored["localTime"] == "2025-02-10T09:16:00"
    assert stored["timeZone"] == "UTC"
    assert stored["type"] == "in"
    assert stored["source"] == "api"
    assert stored["syncStatus"] == "pending"
    assert stored["attempts"] == 0
    assert "receivedAt" in stored
    assert queued() == [reply.body["logId"]]


def test_device_punch_alias_behaves_the_same(api, punches_table, queued):
    reply = api.post(punch(), path="/device/punch")
    assert reply.status == 202
    assert punches_table()[0]["source"] == "device"
    assert queued() == [reply.body["logId"]]
    # And the same punch through /punches is the same punch
    again = api.post(punch())
    assert (again.status, again.body["logId"]) == (409, reply.body["logId"])


def test_optional_fields_are_kept(api, punches_table):
    reply = api.post(punch() | {"verifyMode": 15, "source": "edge", "deviceName": "ignored"})
    assert reply.status == 202
    [stored] = punches_table()
    assert (stored["verifyMode"], stored["source"]) == ("15", "edge")
    assert "deviceName" not in stored


def test_a_client_cannot_mark_its_punch_added_by_hand(api, punches_table, queued):
    # Given an ingest key; When it sends a punch, alone and in a batch, claiming the admin's "manual" source
    alone = api.post(punch() | {"source": "manual"})
    batch = api.post({"punches": [punch(user="B") | {"source": "manual"}, punch(user="C")]})
    # Then each is refused naming the field (manual would count as added by hand and stand beside a voided
    # punch), the batch's other punch is taken, and no manual punch is stored
    assert (alone.status, alone.body["details"][0]["field"]) == (400, "punch.source")
    assert [result["status"] for result in batch.body["results"]] == ["rejected", "accepted"]
    assert "source" in batch.body["results"][0]["reason"]
    assert [(stored["userId"], stored["source"]) for stored in punches_table()] == [("C", "api")]


def test_values_are_taken_exactly_as_the_contract_states(api, punches_table):
    # Given punches whose type is not in lower case, or whose IDs carry spaces
    # When they are posted
    shouted = api.post(punch(kind="BREAK_OUT"))
    padded = api.post(punch(user=" EMP789 "))
    # Then each is refused naming the field, and nothing is stored
    assert (shouted.status, shouted.body["details"][0]["field"]) == (400, "punch.type")
    assert (padded.status, padded.body["details"][0]["field"]) == (400, "punch.userId")
    assert punches_table() == []


def test_same_punch_always_has_the_same_log_id(api, queued):
    first = api.post(punch())
    second = api.post(punch())
    assert second.status == 409
    assert second.body == {
        "status": "duplicate",
        "logId": first.body["logId"],
        "reason": "this punch was already received",
        "duplicateKind": "same_punch",
    }
    assert queued() == [first.body["logId"]]


def test_the_same_instant_written_with_an_offset_is_the_same_punch(api):
    first = api.post(punch(at="2025-02-10T09:16:00Z"))
    second = api.post(punch(at="2025-02-10T10:16:00+01:00"))
    assert second.status == 409
    assert second.body["logId"] == first.body["logId"]


def test_metrics_count_accepted_and_duplicates(api, capsys):
    api.post(punch())
    api.post(punch())
    emitted = capsys.readouterr().out
    assert '"PunchesAccepted"' in emitted
    assert '"PunchesDuplicate"' in emitted
