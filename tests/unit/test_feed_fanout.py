"""Fan-out: every connection gets what its rooms want, in order; a dead or slow one holds up nobody else."""

import threading
from datetime import UTC, datetime, timedelta

from attendance.domain.records import PunchRecord
from attendance.feed.changes import PunchChange, punch_events
from attendance.feed.connections import FeedConnection
from attendance.feed.fanout import FanoutService, Posted
from tests.unit.test_feed_events import PUNCH

NOW = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


def accepted(device: str, user: str = "EMP1") -> list:
    punch = PUNCH.model_copy(update={"log_id": f"{device}:{user}", "device_id": device, "user_id": user})
    return punch_events(PunchChange(NOW, None, PunchRecord(punch=punch, status="pending")))


def connection(connection_id: str, *rooms: str, devices: frozenset[str] | None = None) -> FeedConnection:
    return FeedConnection(
        connection_id=connection_id,
        key_id="k",
        rooms=frozenset(rooms),
        devices=devices,
        connected_at=NOW,
        expires_at=NOW + timedelta(hours=2),
    )


class Directory:
    def __init__(self, *connections: FeedConnection) -> None:
        self.connections = {c.connection_id: c for c in connections}

    def all(self) -> list[FeedConnection]:
        return list(self.connections.values())

    def delete(self, connection_id: str) -> None:
        del self.connections[connection_id]


class Recorder:
    """A management API that records posts, answers Gone for `gone`, and can hold one connection back."""

    def __init__(self, gone: set[str] = frozenset(), hold: str | None = None, others: int = 0) -> None:
        self.posted: dict[str, list[str]] = {}
        self.gone = gone
        self.hold, self.others_done, self.others = hold, threading.Semaphore(0), others
        self.lock = threading.Lock()

    def post(self, connection_id: str, message: str) -> Posted:
        if connection_id in self.gone:
            return Posted.GONE
        if connection_id == self.hold:
            # released only when every other connection has been served: fails unless they run meanwhile
            for _ in range(self.others):
                if not self.others_done.acquire(timeout=10):
                    return Posted.FAILED
        with self.lock:
            self.posted.setdefault(connection_id, []).append(message)
        if connection_id != self.hold:
            self.others_done.release()
        return Posted.SENT


def test_each_connection_gets_what_its_rooms_and_devices_allow_in_order() -> None:
    directory = Directory(
        connection("everything", "all"),
        connection("door", "device:DOOR"),
        connection("restricted", "all", devices=frozenset({"GATE"})),
        connection("quiet", "deliveries"),
    )
    recorder = Recorder()
    events = accepted("DOOR") + accepted("GATE") + accepted("DOOR", "EMP2")
    report = FanoutService(directory, recorder).send(events)
    assert [len(recorder.posted.get(c, [])) for c in ("everything", "door", "restricted", "quiet")] == [
        3,
        2,
        1,
        0,
    ]
    assert ['"EMP1"' in m for m in recorder.posted["door"]] == [True, False]  # stream order kept
    assert (report.events, report.connections, report.sent, report.gone) == (3, 3, 6, 0)


def test_a_gone_connection_is_removed_and_the_others_are_served() -> None:
    directory = Directory(connection("gone", "all"), connection("alive", "all"))
    report = FanoutService(directory, Recorder(gone={"gone"})).send(accepted("DOOR"))
    assert set(directory.connections) == {"alive"}
    assert (report.sent, report.gone) == (1, 1)


def test_a_slow_connection_does_not_hold_up_the_others() -> None:
    others = [connection(f"c{i}", "all") for i in range(5)]
    recorder = Recorder(hold="slow", others=5)
    report = FanoutService(Directory(connection("slow", "all"), *others), recorder).send(accepted("DOOR"))
    assert report.by_connection["slow"] is Posted.SENT  # it waited for all five others to be served first
    assert report.sent == 6


def test_no_events_reads_no_connections() -> None:
    class Unreadable(Directory):
        def all(self) -> list[FeedConnection]:
            raise AssertionError("read for nothing")

    assert FanoutService(Unreadable(), Recorder()).send([]).connections == 0
