"""The poller: read devices in parallel, incrementally, into the outbox; drain the outbox to the cloud."""

import json
import logging
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from attendance.domain.clock import wall_clock_now
from edge_poller.batch_size import BatchSize
from edge_poller.cloud import CloudClient, PushAnswer, PushFailed
from edge_poller.config import DeviceConfig, PollerConfig
from edge_poller.cycle_lock import CycleLock
from edge_poller.health import HealthReporter
from edge_poller.hikvision import HikvisionDevice
from edge_poller.mapping import DeviceRecord, to_outbox
from edge_poller.read_limits import ReadLimits
from edge_poller.store import Store
from edge_poller.zkteco import DeviceError, ZktecoDevice, download_allowance

logger = logging.getLogger("edge_poller")
DRIFT_CHECK_EVERY = timedelta(hours=1)
HIKVISION_OVERLAP = timedelta(minutes=2)
CLEAR_CHECK_EVERY = timedelta(days=1)
DELIVERED_MEMORY = timedelta(days=400)  # how long delivered punches are remembered to recognise re-read logs
# A partial answer's retryAfter up to this long is waited out within the pass, so a backlog keeps draining
# (and `once` finishes its job); a longer one ends the pass, and no push starts before it has passed.
RETRY_WAIT_LIMIT = 30.0
RATE_LIMIT_HOLD_MIN = 1.0  # a 429 asking for no wait (or "0") still spaces the pushes out
LONGEST_HOLD = 900.0  # no answer (nor a clock that jumped) holds pushes back longer than this
# A log download gets time by its size (see download_allowance), but never more than this: a device that
# claims a huge log, or crawls on without end, is still given up
LONGEST_DOWNLOAD = 3600.0
# Punches the cloud refused for a reason an admin lifts (a disabled device) are sent again this often
HELD_RETRY = timedelta(minutes=10)
# What becomes of them, as the log and `once` say it
HELD_MEANS = (
    f"they are kept here and sent again every {HELD_RETRY.seconds // 60} minutes, and the device's log is not"
    " cleared meanwhile"
)


@dataclass
class DeviceReport:
    name: str
    records_on_device: int = 0
    fetched: int = 0
    new: int = 0
    unchanged: bool = False
    drift_minutes: float | None = None
    error: str | None = None


@dataclass
class PushReport:
    requests: int = 0
    by_device: dict[str, Counter] = field(default_factory=dict)
    error: str | None = None
    deferred: str | None = None  # the cloud asked for time: the rest waits for a later pass

    def count(self, device: str, status: str) -> None:
        self.by_device.setdefault(device, Counter())[status] += 1


class Poller:
    def __init__(
        self,
        config: PollerConfig,
        store: Store,
        cloud: CloudClient,
        device_factory: Callable[[DeviceConfig], ZktecoDevice] = ZktecoDevice,
        on_download: Callable[[str, int], None] = lambda name, records: None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.config = config
        self.store = store
        self.cloud = cloud
        self.health = HealthReporter(config, store, cloud, now)
        self._device_factory = device_factory
        self._on_download = on_download  # told before a full log download: it can take a while
        self._pool = ThreadPoolExecutor(max_workers=max(4, len(config.devices)), thread_name_prefix="device")
        self._busy: set[str] = set()
        self._busy_lock = threading.Lock()
        self._read_limits = ReadLimits()
        self._drift_checked: dict[str, float] = {}
        self._clear_checked: dict[str, float] = {}
        self.cycle_lock = CycleLock(config.state_dir)
        self.batch_size = BatchSize(config.push_batch_min, config.push_batch_size, store.batch_size())
        self._no_push_before = self._stored_hold()

    def _stored_hold(self) -> float:
        """When the cloud last asked pushes to wait until, in monotonic time."""
        held = self.store.pushes_held_until()  # kept across restarts; monotonic time is not
        remaining = (held - datetime.now(UTC)).total_seconds() if held else 0.0
        return time.monotonic() + min(max(0.0, remaining), LONGEST_HOLD)

    @contextmanager
    def turn(
        self,
        wait: float,
        stop: threading.Event | None = None,
        on_wait: Callable[[str], None] = lambda holder: None,
    ) -> Iterator[bool]:
        """This poller's turn at the state_dir for one cycle (see CycleLock): yields whether it got it
        within `wait` seconds. Another poller may have moved the push state kept there meanwhile (the batch
        size, the cloud's hold): taken up before this one pushes."""
        with self.cycle_lock.held(wait, stop, on_wait) as mine:
            if mine:
                stored = self.store.batch_size()
                if stored is not None and stored != self.batch_size.current:
                    self.batch_size = BatchSize(self.batch_size.minimum, self.batch_size.maximum, stored)
                self._no_push_before = max(self._no_push_before, self._stored_hold())
            yield mine

    def read_devices(
        self, names: Sequence[str] | None = None, since: timedelta | None = None, sync_clock: bool = False
    ) -> list[DeviceReport]:
        """Read every enabled device at once; a dead or hanging one never holds up the others."""
        devices = [d for d in self.config.devices if d.enabled and (names is None or d.name in names)]
        futures: dict[Future[DeviceReport], str] = {}
        for device in devices:
            with self._busy_lock:
                if device.name in self._busy:
                    continue  # still stuck in an earlier read
                self._busy.add(device.name)
            # a few requests' worth until the device says how big its log is
            self._read_limits.start(device.name, device.timeout_seconds * 4 + 5)
            futures[self._pool.submit(self._read_guarded, device, since, sync_clock)] = device.name
        done, stuck = self._read_limits.wait(futures)
        reports = [future.result() for future in done]
        for future in stuck:
            name = futures[future]
            limit = self._read_limits.seconds(name)
            logger.error("device %s did not finish its read in %.0f s; moving on", name, limit)
            error = f"read still running after {limit:.0f} s"
            self.store.record_error(name, error)
            reports.append(DeviceReport(name, error=error))
        return sorted(reports, key=lambda report: report.name)

    def _read_guarded(self, device: DeviceConfig, since: timedelta | None, sync_clock: bool) -> DeviceReport:
        try:
            return self.read_device(device, since, sync_clock)
        except DeviceError as error:
            logger.warning("device %s: %s", device.name, error)
            self.store.record_error(device.name, str(error))
            self.health.forget_identity(device.name)
            return DeviceReport(device.name, error=str(error))
        except sqlite3.Error as error:  # the disk is full, say: what was read stays on the device
            logger.error(
                "device %s: read, but not kept: the outbox cannot be written (%s)", device.name, error
            )
            return DeviceReport(device.name, error=f"the outbox cannot be written: {error}")
        finally:
            with self._busy_lock:
                self._busy.discard(device.name)

    def read_device(
        self, device: DeviceConfig, since: timedelta | None = None, sync_clock: bool = False
    ) -> DeviceReport:
        if device.driver == "hikvision":
            return self._read_hikvision(device, since)
        report = DeviceReport(device.name)
        driver = self._device_factory(device)
        cursor = self.store.cursor(device.name)
        with driver.session() as connection:
            device_id = device.device_id or cursor.serial
            if device_id is None:
                device_id = driver.serial(connection)
                self.store.save_serial(device.name, device_id)
            report.drift_minutes = self._check_clock(device, connection, sync_clock)
            if not self.health.knows_identity(device.name):  # once per process: not on every idle cycle
                self.health.observe_identity(device.name, *driver.identity(connection))
            report.records_on_device = driver.record_count(connection)
            if since is None and report.records_on_device == cursor.record_count:
                report.unchanged = True
                self.store.touch_read(device.name)
                return report
            self._on_download(device.name, report.records_on_device)
            allowance = download_allowance(report.records_on_device, device.timeout_seconds)
            self._read_limits.extend(device.name, min(allowance, LONGEST_DOWNLOAD))
            records = driver.records(connection)
        report.fetched = len(records)
        report.new = self._take(
            device, device_id, records, cursor.record_count, cursor.last_record_key, since
        )
        logger.info("device %s: %d records, %d new", device.name, len(records), report.new)
        return report

    def _read_hikvision(self, device: DeviceConfig, since: timedelta | None) -> DeviceReport:
        """Terminals answer searches by time: ask for the window since the last event seen (a little
        overlap for events written late); the outbox drops what it already has."""
        report = DeviceReport(device.name)
        cursor = self.store.cursor(device.name)
        driver = HikvisionDevice(device)
        try:
            device_id = device.device_id or cursor.serial
            if device_id is None or not self.health.knows_identity(device.name):  # once per process
                serial, model, firmware = driver.device_info()
                self.health.observe_identity(device.name, model, firmware)
                if device_id is None:
                    device_id = serial
                    self.store.save_serial(device.name, device_id)
            now = datetime.now(UTC)
            if since is not None:
                start = now - since
            elif cursor.last_record_key:
                start = datetime.fromisoformat(cursor.last_record_key) - HIKVISION_OVERLAP
            else:
                start = now - timedelta(days=device.backfill_days)
            records = driver.events(start, now)
        finally:
            driver.close()
        outbox = to_outbox(records, device, device_id)
        if since is not None:
            self.store.requeue([item.record_key for item in outbox])
        newest = max((record.timestamp for record in records), default=None)
        if cursor.last_record_key and (
            newest is None or datetime.fromisoformat(cursor.last_record_key) > newest
        ):
            newest = datetime.fromisoformat(cursor.last_record_key)
        report.fetched = report.records_on_device = len(records)
        report.new = self.store.record_read(device.name, outbox, 0, newest.isoformat() if newest else None)
        return report

    def _take(
        self,
        device: DeviceConfig,
        device_id: str,
        records: list[DeviceRecord],
        count: int,
        last_key: str | None,
        since: timedelta | None,
    ) -> int:
        """Put the records not read before into the outbox, and move the cursor, in one transaction."""
        outbox = to_outbox(records, device, device_id)
        keys = [record.record_key for record in outbox]
        if since is not None:
            start = wall_clock_now(device.time_zone) - since
            chosen = [item for item, record in zip(outbox, records, strict=True) if record.timestamp >= start]
            self.store.requeue([item.record_key for item in chosen])
        elif 0 < count <= len(keys) and keys[count - 1] == last_key:
            chosen = outbox[count:]  # the log grew: only the tail is new
        else:
            if count:
                logger.warning(
                    "device %s: log was cleared or replaced (%d records, was %d)",
                    device.name,
                    len(keys),
                    count,
                )
            chosen = outbox  # first read, or a cleared/replaced log: the outbox skips what it already has
        return self.store.record_read(device.name, chosen, len(keys), keys[-1] if keys else None)

    def _check_clock(self, device: DeviceConfig, connection: object, sync_clock: bool) -> float | None:
        due = (
            time.monotonic() - self._drift_checked.get(device.name, -1e9) >= DRIFT_CHECK_EVERY.total_seconds()
        )
        if not (due or sync_clock):
            return None
        self._drift_checked[device.name] = time.monotonic()
        host_now = wall_clock_now(device.time_zone)
        drift = (connection.get_time() - host_now).total_seconds() / 60  # type: ignore[attr-defined]
        self.health.observe_drift(device.name, 0 if sync_clock else round(drift * 60))
        if sync_clock:
            connection.set_time(wall_clock_now(device.time_zone))  # type: ignore[attr-defined]
            logger.info("device %s: clock set (was %+.1f min off)", device.name, drift)
        elif abs(drift) > self.config.clock_drift_warn_minutes:
            logger.warning(
                "device %s: clock is %+.1f min off the host's; %s", device.name, drift, drift_advice(drift)
            )
        return drift

    def clear_confirmed_logs(self, force: bool = False) -> list[str]:
        """For devices with clear_after_days: once a day, clear the log if it holds records older than that
        and the cloud has confirmed every record on it. The device is disabled meanwhile, so no punch
        can arrive between the check and the clear. Returns the names of the devices cleared."""
        cleared = []
        for device in self.config.devices:
            if not (device.enabled and device.clear_after_days and device.driver == "zkteco"):
                continue
            last = self._clear_checked.get(device.name, -1e9)
            if not force and time.monotonic() - last < CLEAR_CHECK_EVERY.total_seconds():
                continue
            self._clear_checked[device.name] = time.monotonic()
            try:
                if self._clear_if_confirmed(device):
                    cleared.append(device.name)
            except DeviceError as error:
                logger.warning("device %s: could not check for clearing: %s", device.name, error)
        return cleared

    def _clear_if_confirmed(self, device: DeviceConfig) -> bool:
        driver = self._device_factory(device)
        cursor = self.store.cursor(device.name)
        device_id = device.device_id or cursor.serial
        with driver.session() as connection:
            connection.disable_device()
            try:
                records = driver.records(connection)
                limit = wall_clock_now(device.time_zone) - timedelta(days=device.clear_after_days or 0)
                if not records or device_id is None or records[0].timestamp > limit:
                    return False
                if not self.store.all_settled([record.key(device_id) for record in records]):
                    logger.info("device %s: not clearing, some records are not confirmed yet", device.name)
                    return False
                connection.clear_attendance()
                self.store.record_read(device.name, [], 0, None)
                logger.info("device %s: cleared %d confirmed records", device.name, len(records))
                return True
            finally:
                connection.enable_device()

    def drain(
        self,
        progress: Callable[[int, int], None] | None = None,
        stop: threading.Event | None = None,
        held_for: timedelta = HELD_RETRY,
    ) -> PushReport:
        """Push the outbox, oldest first, batch by batch, until it is empty, the cloud fails, the cloud
        asks for more time than RETRY_WAIT_LIMIT, or `stop` is set. Items answered "retry" stay pending and,
        being the oldest, lead the next push; punches held at least `held_for` go again."""
        report = PushReport()
        released = self.store.release_held(held_for)
        if released:
            logger.info("sending %d held punches again", released)
        total = self.store.pending_count()
        done = 0
        pause = stop or threading.Event()
        while not pause.is_set() and (batch := self.store.pending_batch(self.batch_size.current)):
            wait = self._no_push_before - time.monotonic()
            if wait > RETRY_WAIT_LIMIT:
                report.deferred = f"the cloud asked for {wait:.0f} s before the next push"
                break
            if wait > 0 and pause.wait(wait):
                break  # stopping
            started = time.monotonic()
            try:
                answer = self.cloud.push([json.loads(punch) for _, _, punch in batch])
            except PushFailed as error:
                if error.retry_after is not None:  # too many requests: the same batch, later
                    hold = max(error.retry_after, RATE_LIMIT_HOLD_MIN)
                    logger.info("the cloud asked for fewer requests; next push in %g s", hold)
                    self._hold_pushes(hold)
                    continue
                report.error = str(error)
                self.store.push_failed(report.error)
                logger.warning(
                    "push of %d failed, %d punches wait in the outbox: %s",
                    len(batch),
                    self.store.pending_count(),
                    error,
                )
                if error.overloaded:
                    before = self.batch_size.current
                    self.batch_size.shrink()
                    self._resized(before, str(error).split(":")[0])
                break
            report.requests += 1
            self.store.push_got_through()
            self._settle(batch, answer, report, time.monotonic() - started)
            settled = len(batch) - answer.retries
            done += settled
            if progress:
                progress(done, max(total, done))
            before = self.batch_size.current
            if not answer.retries:
                self.batch_size.clean(len(batch))
                self._resized(before, f"{self.batch_size.grow_after} full batches in a row answered in full")
                continue
            self.batch_size.shrink()
            self._resized(before, f"the cloud answered for {settled} of {len(batch)} in its time")
            self._hold_pushes(answer.retry_after)
            if not settled:  # nothing got through: leave it to the next pass rather than spin here
                report.deferred = f"the cloud answered for none of {len(batch)} punches in its time"
                break
        return report

    def _hold_pushes(self, seconds: float) -> None:
        """No push before `seconds` from now, in this pass or after a restart."""
        hold = min(seconds, LONGEST_HOLD)
        self._no_push_before = time.monotonic() + hold
        self.store.hold_pushes_until(datetime.now(UTC) + timedelta(seconds=hold))

    def _settle(
        self, batch: list[tuple[int, str, str]], answer: PushAnswer, report: PushReport, seconds: float
    ) -> None:
        delivered, rejected, held = [], [], []
        held_why: set[tuple[str, str]] = set()  # (device, reason): one warning each
        for (row_id, device, _), outcome in zip(batch, answer.outcomes, strict=True):
            report.count(device, "held" if outcome.held else outcome.status)
            if outcome.delivered:
                delivered.append((row_id, outcome.log_id or ""))
            elif outcome.held:
                held.append((row_id, outcome.reason or "refused for now"))
                held_why.add((device, outcome.reason or "refused for now"))
            elif not outcome.retry:  # a retry item stays pending, as if never sent
                rejected.append((row_id, outcome.reason or "rejected"))
                logger.error("device %s: punch rejected by the cloud: %s", device, outcome.reason)
        self.store.settle(delivered, rejected, held)
        for device, reason in sorted(held_why):
            logger.warning(
                "device %s: punches held, the cloud refuses them for now (%s); %s", device, reason, HELD_MEANS
            )
        counts = Counter("held" if outcome.held else outcome.status for outcome in answer.outcomes)
        logger.info(
            "pushed %d punches in %.1f s: %d accepted, %d duplicate, %d rejected, %d held, %d to retry%s",
            len(batch),
            seconds,
            counts["accepted"],
            counts["duplicate"],
            counts["rejected"],
            counts["held"],
            counts["retry"],
            f" after {answer.retry_after:g} s" if counts["retry"] else "",
        )

    def _resized(self, before: int, why: str) -> None:
        """A new batch size is kept in the store (a restart starts from it) and logged: a shrink as a
        warning, since it means the cloud is struggling."""
        after = self.batch_size.current
        if after == before:
            return
        self.store.save_batch_size(after)
        logger.log(
            logging.WARNING if after < before else logging.INFO,
            "push batch size %d -> %d (bounds %d..%d): %s",
            before,
            after,
            self.batch_size.minimum,
            self.batch_size.maximum,
            why,
        )

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        self.cloud.close()
        self.cycle_lock.close()


def drift_advice(minutes: float) -> str:
    """What to do about a clock this far off. Off by whole hours, the zone is wrong on one side (the
    device's time_zone, or the clock's summer-time setting): setting the clock would make it show the
    wrong time to the people punching, and the punches' times would stay wrong."""
    hours = round(minutes / 60)
    if hours and abs(minutes - hours * 60) <= 2:
        return (
            f"{abs(hours)} h off: check the device's time_zone in the config and the clock's summer-time"
            " setting before --sync-clock"
        )
    return "run once --sync-clock to set it"


class Backoff:
    """Waits between failed pushes: 5 s, doubling to 5 minutes while nothing gets through; reset by a
    success. A pass that pushed some batches before one failed found the cloud up: it waits the first
    step again, so that a cloud failing now and then (a function that died, a timeout) is not treated
    like one that is down."""

    def __init__(self, first: float = 5, longest: float = 300) -> None:
        self.first, self.longest = first, longest
        self.delay = 0.0
        self.next_try = 0.0

    def ready(self) -> bool:
        return time.monotonic() >= self.next_try

    def failed(self, progressed: bool = False) -> None:
        self.delay = min(self.longest, self.delay * 2 if self.delay and not progressed else self.first)
        self.next_try = time.monotonic() + self.delay

    def succeeded(self) -> None:
        self.delay, self.next_try = 0.0, 0.0


def run_forever(poller: Poller, stop: threading.Event) -> None:
    """The service loop: read every interval, push when the backoff allows; each cycle in its turn at the
    state_dir, waiting up to an interval for another poller's."""
    backoff = Backoff()
    state_dir, wait = poller.config.state_dir, poller.config.interval_seconds

    def say_waiting(holder: str) -> None:
        logger.info("%s is reading or pushing with the outbox in %s; waiting for its turn", holder, state_dir)

    while not stop.is_set():
        started = time.monotonic()
        try:
            with poller.turn(wait, stop, on_wait=say_waiting) as mine:
                if mine:
                    _cycle(poller, backoff, stop)
                elif not stop.is_set():
                    holder = poller.cycle_lock.holder()
                    logger.warning(
                        "%s kept the outbox in %s busy for %.0f s; trying again", holder, state_dir, wait
                    )
        except sqlite3.Error as error:
            # A full disk, say: the service stays up (a restart would only read the devices again) and
            # tries again next cycle; what was read stays on the devices meanwhile
            logger.error(
                "the outbox in %s cannot be written: %s; trying again", poller.config.state_dir, error
            )
        stop.wait(max(0.0, poller.config.interval_seconds - (time.monotonic() - started)))


def _cycle(poller: Poller, backoff: Backoff, stop: threading.Event) -> None:
    """One round: read, push when the backoff allows, report health, forget what is long delivered."""
    poller.read_devices()
    if backoff.ready():
        report = poller.drain(stop=stop)
        if report.error:
            backoff.failed(progressed=report.requests > 0)
        else:
            backoff.succeeded()
            poller.clear_confirmed_logs()
    poller.health.report()  # after the push: a report never holds up punches
    poller.store.forget_delivered_before(DELIVERED_MEMORY)
