"""The live feed's pure parts: which table changes are events, who sees them, and who may connect."""

from datetime import UTC, datetime, timedelta

import jwt
import pytest

from attendance.domain.devices import Device
from attendance.domain.health import DeviceHealth, DeviceState
from attendance.domain.keys import ApiKey, Scope
from attendance.domain.punch import Punch, PunchSource, PunchType, SyncStatus
from attendance.domain.records import PunchRecord
from attendance.feed.changes import DeviceChange, PunchChange, device_events, punch_events
from attendance.feed.events import EventType, decode, encode
from attendance.feed.rooms import InvalidRooms, rooms_from_query, rooms_of, wants
from attendance.feed.tokens import AUDIENCE, ISSUER, InvalidToken, MissingScope, TokenSigner

AT = datetime(2026, 11, 30, 8, 0, 5, 123000, tzinfo=UTC)
PUNCH = Punch(
    log_id="DEV001:EMP1:1764489600",
    device_id="DEV001",
    user_id="EMP1",
    instant=datetime(2026, 11, 30, 8, 0, tzinfo=UTC),
    local_time="2026-11-30T09:00:00",
    time_zone="Europe/Berlin",
    type=PunchType.IN,
    source=PunchSource.API,
    received_at=AT,
)
KEY = "k" * 64


def record(
    status: SyncStatus = SyncStatus.PENDING, attempts: int = 0, error: str | None = None
) -> PunchRecord:
    return PunchRecord(punch=PUNCH, status=status, attempts=attempts, last_error=error)


def types(events: list) -> list[str]:
    return [event.type.value for event in events]


def test_a_new_punch_is_accepted_with_its_details() -> None:
    (event,) = punch_events(PunchChange(AT, None, record()))
    assert event.type is EventType.PUNCH_ACCEPTED
    message = decode(encode(event))  # what a client reads back is a valid feed message
    assert message.punch.local_time == "2026-11-30T09:00:00"
    assert encode(event).startswith('{"version":1,"at":"2026-11-30T08:00:05.123Z","type":"punch.accepted"')


def test_delivery_outcomes_are_events_and_a_lease_is_not() -> None:
    pending, leased = record(), record()
    assert punch_events(PunchChange(AT, pending, leased)) == []
    delivered = punch_events(PunchChange(AT, pending, record(SyncStatus.SYNCED, 1), crm_reference="CRM-9"))
    assert types(delivered) == ["punch.delivered"]
    assert delivered[0].crm_reference == "CRM-9"
    failed = punch_events(PunchChange(AT, pending, record(SyncStatus.PENDING, 1, "HTTP 503")))
    assert types(failed) == ["punch.failed"]
    assert (failed[0].attempt, failed[0].error, failed[0].final) == (1, "HTTP 503", False)


def test_the_last_failed_attempt_is_a_failure_and_a_dead_letter() -> None:
    before = record(SyncStatus.PENDING, 2, "HTTP 503")
    events = punch_events(PunchChange(AT, before, record(SyncStatus.FAILED, 3, "HTTP 503")))
    assert types(events) == ["punch.failed", "punch.dead_lettered"]
    assert events[0].final is True


def test_a_redrive_and_a_removal_are_not_events() -> None:
    assert (
        punch_events(PunchChange(AT, record(SyncStatus.FAILED, 3, "x"), record(SyncStatus.PENDING, 3, "x")))
        == []
    )
    assert punch_events(PunchChange(AT, record(), None)) == []


def test_an_admins_abandon_is_an_event_with_its_note_and_goes_to_the_deliveries_room() -> None:
    dead = record(SyncStatus.FAILED, 1, "HTTP 417")
    note = {"at": "2026-11-30T08:05:00Z", "status": "abandoned", "detail": "abandoned by an admin (key ops)"}
    abandoned = dead.model_copy(update={"status": SyncStatus.ABANDONED, "history": [note]})
    (event,) = punch_events(PunchChange(AT, dead, abandoned))
    assert (event.type, event.note, event.punch.sync_status) == (
        EventType.PUNCH_ABANDONED,
        "abandoned by an admin (key ops)",
        SyncStatus.ABANDONED,
    )
    assert wants(frozenset({"deliveries"}), rooms_of(event))
    assert decode(encode(event)) == event
    # and a later change of an abandoned punch (none is made today) tells it no second time
    assert punch_events(PunchChange(AT, abandoned, abandoned)) == []


def entry(status: SyncStatus, detail: str) -> dict[str, str]:
    return {"at": "2026-11-30T08:05:00Z", "status": status.value, "detail": detail}


def test_a_void_is_one_event_when_it_is_done_with_the_admins_reason() -> None:
    # Given a delivered punch an admin voided, whose delivery ran into the void
    synced = record(SyncStatus.SYNCED, 1)
    asked = entry(SyncStatus.VOIDING, "voided by an admin (key hr): a test punch")
    raced = entry(SyncStatus.VOIDING, "delivered (crm-1) as it was voided; to be removed from the CRM")
    voiding = synced.model_copy(update={"status": SyncStatus.VOIDING, "history": [asked]})
    still_voiding = voiding.model_copy(update={"history": [asked, raced]})
    done = entry(SyncStatus.VOIDED, "voided; crm-1 removed (HTTP 204) in the CRM")
    voided = voiding.model_copy(update={"status": SyncStatus.VOIDED, "history": [asked, raced, done]})

    # Then asking and the race are no news, and the end is one event with the reason and how it ended
    assert punch_events(PunchChange(AT, synced, voiding)) == []
    assert punch_events(PunchChange(AT, voiding, still_voiding)) == []
    (event,) = punch_events(PunchChange(AT, still_voiding, voided))
    assert (event.type, event.reason, event.note, event.punch.sync_status) == (
        EventType.PUNCH_VOIDED,
        "voided by an admin (key hr): a test punch",
        "voided; crm-1 removed (HTTP 204) in the CRM",
        SyncStatus.VOIDED,
    )
    assert not wants(frozenset({"deliveries"}), rooms_of(event))
    assert wants(frozenset({"user:EMP1"}), rooms_of(event))
    assert decode(encode(event)) == event


def test_a_crm_refusing_a_void_is_trouble_and_not_a_second_delivery() -> None:
    voiding = record(SyncStatus.VOIDING, 1).model_copy(
        update={"history": [entry(SyncStatus.VOIDING, "voided by an admin (key hr): dup")]}
    )
    refusal = "the CRM would not remove it: HTTP 403"
    back = voiding.model_copy(update={"status": SyncStatus.SYNCED, "last_error": refusal})
    (event,) = punch_events(PunchChange(AT, voiding, back))
    assert (event.type, event.error) == (EventType.PUNCH_VOID_REFUSED, refusal)
    assert wants(frozenset({"deliveries"}), rooms_of(event))


DEVICE = Device(device_id="DEV001", name="Front door", silent_after_minutes=15)
ZONE = "Europe/Berlin"  # the company's, for a device registered without a zone of its own


def test_device_state_changes_are_events_and_heartbeats_are_not() -> None:
    seen_long_ago = DeviceHealth(last_seen_at=AT - timedelta(hours=1))
    seen_now = DeviceHealth(last_seen_at=AT)
    registered = device_events(DeviceChange(AT, None, (DEVICE, DeviceHealth())), ZONE)
    assert [(e.device.state, e.device.previous_state) for e in registered] == [(DeviceState.NEVER_SEEN, None)]
    back = device_events(DeviceChange(AT, (DEVICE, seen_long_ago), (DEVICE, seen_now)), ZONE)
    assert [(e.device.state, e.device.previous_state) for e in back] == [
        (DeviceState.ONLINE, DeviceState.SILENT)
    ]
    heartbeat = DeviceHealth(last_seen_at=AT - timedelta(minutes=1))
    assert device_events(DeviceChange(AT, (DEVICE, heartbeat), (DEVICE, seen_now)), ZONE) == []
    disabled = DEVICE.model_copy(update={"enabled": False})
    (off,) = device_events(DeviceChange(AT, (DEVICE, seen_now), (disabled, seen_now)), ZONE)
    assert (off.device.state, off.device.previous_state) == (DeviceState.DISABLED, DeviceState.ONLINE)


def test_a_device_event_carries_the_devices_zone_or_the_companys() -> None:
    # Given a device registered without a zone and one registered in Tokyo's
    tokyo = DEVICE.model_copy(update={"device_id": "DEV002", "time_zone": "Asia/Tokyo"})
    # When each is registered
    (plain,) = device_events(DeviceChange(AT, None, (DEVICE, DeviceHealth())), ZONE)
    (far,) = device_events(DeviceChange(AT, None, (tokyo, DeviceHealth())), ZONE)
    # Then each event names the zone its clock shows: the company's for the one without its own
    assert (plain.device.time_zone, far.device.time_zone) == (ZONE, "Asia/Tokyo")


def test_the_silence_alert_is_the_moment_a_device_goes_silent() -> None:
    quiet = DeviceHealth(last_seen_at=AT - timedelta(hours=1))
    alerted = quiet.model_copy(update={"silent_alerted": True})
    (event,) = device_events(DeviceChange(AT, (DEVICE, quiet), (DEVICE, alerted)), ZONE)
    assert (event.device.state, event.device.previous_state) == (DeviceState.SILENT, DeviceState.ONLINE)


def test_rooms_route_events_and_deliveries_gets_only_trouble() -> None:
    (accepted,) = punch_events(PunchChange(AT, None, record()))
    (failed,) = punch_events(PunchChange(AT, record(), record(SyncStatus.PENDING, 1, "boom")))
    assert rooms_of(accepted) == {"all", "device:DEV001", "user:EMP1"}
    assert wants(frozenset({"deliveries"}), rooms_of(failed))
    assert not wants(frozenset({"deliveries"}), rooms_of(accepted))
    assert not wants(frozenset({"device:DEV002", "user:EMP2"}), rooms_of(accepted))
    assert rooms_from_query(None) == {"all"}
    assert rooms_from_query("device:DEV001,user:EMP1") == {"device:DEV001", "user:EMP1"}
    with pytest.raises(InvalidRooms, match="'kitchen'"):
        rooms_from_query("all,kitchen")


def key(*scopes: Scope, devices: frozenset[str] | None = None) -> ApiKey:
    return ApiKey(key_id="key_1", name="dash", scopes=frozenset(scopes), devices=devices, created_at=AT)


def test_a_token_admits_its_key_until_it_expires() -> None:
    signer = TokenSigner(lambda: KEY, timedelta(minutes=15))
    token, expires = signer.issue(key(Scope.READ, devices=frozenset({"DEV001"})), datetime.now(UTC))
    admitted = signer.verify(token)
    assert (admitted.key_id, admitted.scopes, admitted.devices) == ("key_1", {Scope.READ}, {"DEV001"})
    assert admitted.expires_at == expires
    assert timedelta(minutes=14) < expires - datetime.now(UTC) <= timedelta(minutes=15)


@pytest.mark.parametrize(
    ("claims", "why"),
    [
        ({"exp": -60}, "expired"),
        ({"aud": "someone-else"}, "(?i)audience"),
        ({"iss": "not-us"}, "(?i)issuer"),
    ],
)
def test_tokens_not_for_the_feed_or_out_of_date_are_refused(claims: dict, why: str) -> None:
    now = int(datetime.now(UTC).timestamp())
    payload = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "key_1",
        "iat": now,
        "exp": now + 600,
        "scope": ["read"],
    }
    payload |= {name: now + value if name == "exp" else value for name, value in claims.items()}
    with pytest.raises(InvalidToken, match=why):
        TokenSigner(lambda: KEY).verify(jwt.encode(payload, KEY, algorithm="HS256"))


def test_forged_missing_and_scope_less_tokens_are_refused() -> None:
    signer = TokenSigner(lambda: KEY)
    forged, _ = TokenSigner(lambda: "x" * 64).issue(key(Scope.ADMIN), datetime.now(UTC))
    with pytest.raises(InvalidToken, match="Signature verification failed"):
        signer.verify(forged)
    with pytest.raises(InvalidToken, match="no token"):
        signer.verify(None)
    with pytest.raises(MissingScope):
        signer.issue(key(Scope.INGEST, Scope.REPORTS), datetime.now(UTC))
    now = int(datetime.now(UTC).timestamp())
    ingest_only = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "k",
        "iat": now,
        "exp": now + 60,
        "scope": ["ingest"],
    }
    with pytest.raises(MissingScope):
        signer.verify(jwt.encode(ingest_only, KEY, algorithm="HS256"))
    with pytest.raises(ValueError, match="at most"):
        TokenSigner(lambda: KEY, timedelta(minutes=16))
