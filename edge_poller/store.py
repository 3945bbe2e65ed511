"""The durable outbox and per-device cursors, in SQLite (WAL, synchronous=FULL: survives kill -9 and power cuts).

A read is committed in one transaction: its new punches into the outbox and the device's cursor. A punch
leaves the outbox only when the cloud has answered for it: delivered rows stay (with their logId) so a
re-read log is recognised, and rejected rows are kept aside with the reason. Rows the cloud refused for a
reason an admin can lift (a disabled device) are held: sent again from time to time, and never counted
as confirmed, so the device's log is not cleared while they wait. The push batch size the
poller adapted to and the cloud's last "retry after" are kept too: a restart neither begins again with
batches the cloud could not take nor pushes sooner than it asked. The last failed push (when, and why in
words) is kept until a push gets through, for `edge-poller status` to show during an outage.
"""

import json
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    device TEXT NOT NULL,
    record_key TEXT NOT NULL UNIQUE,
    record_time TEXT NOT NULL,
    punch_json TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    log_id TEXT,
    reason TEXT,
    created_at TEXT NOT NULL,
    done_at TEXT
);
CREATE INDEX IF NOT EXISTS outbox_by_state ON outbox (state, id);
CREATE TABLE IF NOT EXISTS devices (
    name TEXT PRIMARY KEY,
    serial TEXT,
    record_count INTEGER NOT NULL DEFAULT 0,
    last_record_key TEXT,
    last_read_at TEXT,
    last_push_at TEXT,
    last_error TEXT,
    last_error_at TEXT
);
CREATE TABLE IF NOT EXISTS poller_state (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS health_reports (
    device TEXT PRIMARY KEY,
    report_json TEXT,
    sent_at TEXT,
    refused_reason TEXT,
    refused_at TEXT
);
"""


@dataclass(frozen=True)
class Cursor:
    record_count: int
    last_record_key: str | None
    serial: str | None


@dataclass(frozen=True)
class NewRecord:
    record_key: str
    record_time: str
    punch_json: str
    rejected_reason: str | None = None  # invalid before it ever left: kept aside, never pushed


@dataclass(frozen=True)
class DeviceStatus:
    name: str
    last_read_at: str | None
    last_push_at: str | None
    pending: int
    rejected: int
    delivered: int
    last_error: str | None
    held: int = 0


@dataclass(frozen=True)
class HealthRecord:
    """The last health report the cloud accepted, and the last refusal since (both None if none)."""

    report_json: str | None
    sent_at: datetime | None
    refused_reason: str | None
    refused_at: datetime | None


@dataclass(frozen=True)
class PushFailure:
    """The last push the cloud did not answer for, kept until one gets through."""

    at: datetime
    reason: str


def _parse_time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _now() -> str:
    return _ago(timedelta(0))


def _ago(age: timedelta) -> str:
    """That long before now, as the outbox's times are written."""
    return (datetime.now(UTC) - age).isoformat(timespec="seconds")


class StateDirUnusable(Exception):
    """The outbox's directory cannot be created or written: nothing can be buffered."""


class Store:
    def __init__(self, path: Path) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as error:
            raise StateDirUnusable(
                f"cannot keep the outbox in {path.parent}: {error}; the user the poller runs as must be able "
                "to create and write files there (state_dir in the config)"
            ) from None
        self._lock = threading.Lock()

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                if self._db.in_transaction:  # SQLite rolls back itself on some errors (a full disk)
                    self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def cursor(self, device: str) -> Cursor:
        with self._lock:
            row = self._db.execute(
                "SELECT record_count, last_record_key, serial FROM devices WHERE name = ?", (device,)
            ).fetchone()
        return Cursor(*row) if row else Cursor(0, None, None)

    def save_serial(self, device: str, serial: str) -> None:
        with self._transaction() as db:
            db.execute(
                "INSERT INTO devices (name, serial) VALUES (?, ?) "
                "ON CONFLICT (name) DO UPDATE SET serial = excluded.serial",
                (device, serial),
            )

    def record_read(self, device: str, records: Sequence[NewRecord], count: int, last_key: str | None) -> int:
        """Add what was read to the outbox and move the cursor, atomically; returns how many were new."""
        now = _now()
        with self._transaction() as db:
            before = db.total_changes
            db.executemany(
                "INSERT OR IGNORE INTO outbox (device, record_key, record_time, punch_json, created_at, state, reason) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        device,
                        r.record_key,
                        r.record_time,
                        r.punch_json,
                        now,
                        "rejected" if r.rejected_reason else "pending",
                        r.rejected_reason,
                    )
                    for r in records
                ],
            )
            added = db.total_changes - before
            db.execute(
                "INSERT INTO devices (name, record_count, last_record_key, last_read_at, last_error) "
                "VALUES (?, ?, ?, ?, NULL) ON CONFLICT (name) DO UPDATE SET record_count = excluded.record_count, "
                "last_record_key = excluded.last_record_key, last_read_at = excluded.last_read_at, last_error = NULL",
                (device, count, last_key, now),
            )
        return added

    def requeue(self, keys: Sequence[str]) -> int:
        """Push these again even though the cloud has them (a backfill window), and any of them held; cloud
        dedup absorbs what it has."""
        with self._transaction() as db:
            return db.executemany(
                "UPDATE outbox SET state = 'pending' WHERE record_key = ? AND state IN ('delivered', 'held')",
                [(k,) for k in keys],
            ).rowcount

    def release_held(self, held_for: timedelta) -> int:
        """Rows held at least `held_for` back to pending, to be sent again: how many."""
        with self._transaction() as db:
            return db.execute(
                "UPDATE outbox SET state = 'pending' WHERE state = 'held' AND done_at <= ?", (_ago(held_for),)
            ).rowcount

    def touch_read(self, device: str) -> None:
        """A read that found nothing new."""
        with self._transaction() as db:
            db.execute(
                "INSERT INTO devices (name, last_read_at) VALUES (?, ?) ON CONFLICT (name) DO UPDATE "
                "SET last_read_at = excluded.last_read_at, last_error = NULL",
                (device, _now()),
            )

    def record_error(self, device: str, error: str) -> None:
        with self._transaction() as db:
            db.execute(
                "INSERT INTO devices (name, last_error, last_error_at) VALUES (?, ?, ?) ON CONFLICT (name) "
                "DO UPDATE SET last_error = excluded.last_error, last_error_at = excluded.last_error_at",
                (device, error[:500], _now()),
            )

    def pending_batch(self, limit: int) -> list[tuple[int, str, str]]:
        """Oldest first: (id, device, punch_json)."""
        with self._lock:
            return self._db.execute(
                "SELECT id, device, punch_json FROM outbox WHERE state = 'pending' ORDER BY id LIMIT ?",
                (limit,),
            ).fetchall()

    def settle(
        self,
        delivered: Sequence[tuple[int, str]],
        rejected: Sequence[tuple[int, str]],
        held: Sequence[tuple[int, str]] = (),
    ) -> None:
        """The cloud's answer: (id, logId) delivered, (id, reason) rejected or held."""
        now = _now()
        with self._transaction() as db:
            db.executemany(
                "UPDATE outbox SET state = 'delivered', log_id = ?, done_at = ? WHERE id = ?",
                [(log_id, now, row_id) for row_id, log_id in delivered],
            )
            for state, rows in (("rejected", rejected), ("held", held)):
                db.executemany(
                    "UPDATE outbox SET state = ?, reason = ?, done_at = ? WHERE id = ?",
                    [(state, reason, now, row_id) for row_id, reason in rows],
                )
            devices = (
                {
                    row[0]
                    for row in db.execute(
                        f"SELECT DISTINCT device FROM outbox WHERE id IN ({','.join('?' * len(delivered))})",  # noqa: S608
                        [row_id for row_id, _ in delivered],
                    )
                }
                if delivered
                else set()
            )
            db.executemany("UPDATE devices SET last_push_at = ? WHERE name = ?", [(now, d) for d in devices])

    def batch_size(self) -> int | None:
        """The push batch size the poller last settled on (None before its first change)."""
        value = self._state("batch_size")
        return int(value) if value else None

    def save_batch_size(self, size: int) -> None:
        self._save_state("batch_size", str(size))

    def pushes_held_until(self) -> datetime | None:
        """When the cloud last asked for time before the next push (a partial answer's retryAfter)."""
        return _parse_time(self._state("no_push_before"))

    def hold_pushes_until(self, at: datetime) -> None:
        self._save_state("no_push_before", at.isoformat())

    def push_failed(self, reason: str) -> None:
        failure = {"at": _now(), "reason": reason[:500]}
        self._save_state("last_push_failure", json.dumps(failure))

    def push_got_through(self) -> None:
        """The cloud answered a push: an outage is over. A read first, so a healthy push costs no write."""
        if self._state("last_push_failure") is not None:
            with self._transaction() as db:
                db.execute("DELETE FROM poller_state WHERE name = 'last_push_failure'")

    def last_push_failure(self) -> PushFailure | None:
        value = self._state("last_push_failure")
        if value is None:
            return None
        failure = json.loads(value)
        return PushFailure(datetime.fromisoformat(failure["at"]), failure["reason"])

    def _state(self, name: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM poller_state WHERE name = ?", (name,)).fetchone()
        return row[0] if row else None

    def _save_state(self, name: str, value: str) -> None:
        with self._transaction() as db:
            db.execute(
                "INSERT INTO poller_state (name, value) VALUES (?, ?) "
                "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                (name, value),
            )

    def all_settled(self, keys: Sequence[str]) -> bool:
        """Every one of these records is delivered to the cloud or kept aside here: none lives only on the device."""
        settled = 0
        with self._lock:
            for start in range(0, len(keys), 500):
                chunk = keys[start : start + 500]
                settled += self._db.execute(
                    f"SELECT COUNT(*) FROM outbox WHERE state IN ('delivered', 'rejected') "  # noqa: S608
                    f"AND record_key IN ({','.join('?' * len(chunk))})",
                    chunk,
                ).fetchone()[0]
        return settled == len(keys)

    def pending_count(self) -> int:
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM outbox WHERE state = 'pending'").fetchone()[0]

    def forget_delivered_before(self, cutoff: timedelta) -> int:
        """Delivered rows are kept to recognise re-read logs; past this age a log is long cleared."""
        with self._transaction() as db:
            return db.execute(
                "DELETE FROM outbox WHERE state = 'delivered' AND done_at < ?", (_ago(cutoff),)
            ).rowcount

    def statuses(self, names: Sequence[str]) -> list[DeviceStatus]:
        with self._lock:
            rows = {
                row[0]: row
                for row in self._db.execute(
                    "SELECT name, last_read_at, last_push_at, last_error FROM devices"
                )
            }
            counts: dict[tuple[str, str], int] = {
                (device, state): n
                for device, state, n in self._db.execute(
                    "SELECT device, state, COUNT(*) FROM outbox GROUP BY device, state"
                )
            }
        return [
            DeviceStatus(
                name,
                rows.get(name, (None,) * 4)[1],
                rows.get(name, (None,) * 4)[2],
                counts.get((name, "pending"), 0),
                counts.get((name, "rejected"), 0),
                counts.get((name, "delivered"), 0),
                rows.get(name, (None,) * 4)[3],
                counts.get((name, "held"), 0),
            )
            for name in names
        ]

    def read_states(self) -> dict[str, tuple[str | None, str | None, str | None]]:
        """Per device: (last successful read, last error or None since a good read, serial)."""
        with self._lock:
            return {
                name: (last_read_at, last_error, serial)
                for name, last_read_at, last_error, serial in self._db.execute(
                    "SELECT name, last_read_at, last_error, serial FROM devices"
                )
            }

    def pending_by_device(self) -> dict[str, int]:
        with self._lock:
            return dict(
                self._db.execute(
                    "SELECT device, COUNT(*) FROM outbox WHERE state = 'pending' GROUP BY device"
                )
            )

    def health(self, device: str) -> HealthRecord | None:
        with self._lock:
            row = self._db.execute(
                "SELECT report_json, sent_at, refused_reason, refused_at FROM health_reports WHERE device = ?",
                (device,),
            ).fetchone()
        if row is None:
            return None
        return HealthRecord(row[0], _parse_time(row[1]), row[2], _parse_time(row[3]))

    def health_accepted(self, device: str, report_json: str, at: datetime) -> None:
        """The cloud took this report: it is the one later reports are compared with; a refusal is over."""
        with self._transaction() as db:
            db.execute(
                "INSERT INTO health_reports (device, report_json, sent_at) VALUES (?, ?, ?) ON CONFLICT (device) "
                "DO UPDATE SET report_json = excluded.report_json, sent_at = excluded.sent_at, "
                "refused_reason = NULL, refused_at = NULL",
                (device, report_json, at.isoformat(timespec="seconds")),
            )

    def health_refused(self, device: str, reason: str, at: datetime) -> None:
        with self._transaction() as db:
            db.execute(
                "INSERT INTO health_reports (device, refused_reason, refused_at) VALUES (?, ?, ?) "
                "ON CONFLICT (device) DO UPDATE SET refused_reason = excluded.refused_reason, "
                "refused_at = excluded.refused_at",
                (device, reason[:500], at.isoformat(timespec="seconds")),
            )

    def held(self) -> list[tuple[str, int, str]]:
        """Per device and reason: how many punches are held."""
        with self._lock:
            return self._db.execute(
                "SELECT device, COUNT(*), reason FROM outbox WHERE state = 'held' GROUP BY device, reason"
            ).fetchall()

    def rejected(self) -> list[tuple[str, str, str]]:
        with self._lock:
            return self._db.execute(
                "SELECT device, punch_json, reason FROM outbox WHERE state = 'rejected'"
            ).fetchall()
