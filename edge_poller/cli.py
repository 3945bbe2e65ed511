"""`edge-poller`: run, once, check, status, simulate, install-service."""

import argparse
import logging
import logging.handlers
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType

import httpx

from attendance.domain.clock import wall_clock_now
from edge_poller.batch_size import BatchSize
from edge_poller.cloud import CloudClient
from edge_poller.config import DEFAULT_CONFIG, ConfigError, DeviceConfig, PollerConfig, load_config
from edge_poller.health import last_report
from edge_poller.hikvision import HikvisionDevice
from edge_poller.poller import HELD_MEANS, Poller, drift_advice, run_forever
from edge_poller.store import StateDirUnusable, Store
from edge_poller.zkteco import RECORD_BYTES, DeviceError, ZktecoDevice

logger = logging.getLogger("edge_poller")
EXIT_OK, EXIT_FAILED, EXIT_CONFIG, EXIT_BUSY = 0, 1, 2, 3
ONCE_WAIT_SECONDS = 60.0  # how long `once` waits, by default, for another poller's cycle on its state_dir
UNIT_PATH = Path("/etc/systemd/system/edge-poller.service")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return args.command(args)
    except ConfigError as error:
        print(f"configuration error: {error}", file=sys.stderr)
        return EXIT_CONFIG
    except StateDirUnusable as error:
        print(f"state_dir: {error}", file=sys.stderr)
        return EXIT_CONFIG


CONFIG_HELP = "TOML config (default: $EDGE_POLLER_CONFIG or ./edge-poller.toml)"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="edge-poller", description=__doc__)
    parser.add_argument(
        "--config",
        type=Path,
        default=Path(os.environ.get("EDGE_POLLER_CONFIG", DEFAULT_CONFIG)),
        help=CONFIG_HELP,
    )
    # --config after the command too (edge-poller check --config x.toml); given there, it wins
    config_after = argparse.ArgumentParser(add_help=False)
    config_after.add_argument("--config", type=Path, default=argparse.SUPPRESS, help=CONFIG_HELP)
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    def command(name: str, does: str, run: Callable[[argparse.Namespace], int]) -> argparse.ArgumentParser:
        sub = commands.add_parser(
            name,
            help=does,
            description=does[0].upper() + does[1:] + ".",
            parents=[config_after],
        )
        sub.set_defaults(command=run)
        return sub

    command(
        "run", "the service loop: read every device, push, report health, every interval_seconds", cmd_run
    )
    once = command("once", "one pass over the devices, then push, with a summary table", cmd_once)
    once.add_argument("--device", action="append", help="only this device (repeatable)")
    once.add_argument(
        "--since", type=_duration, help="push again everything recorded in this window, e.g. 5h, 2d"
    )
    once.add_argument("--sync-clock", action="store_true", help="set each device's clock to the host's")
    once.add_argument(
        "--wait",
        type=float,
        default=ONCE_WAIT_SECONDS,
        metavar="SECONDS",
        help="wait this long for another poller's cycle on the same state_dir to end (%(default)g s); "
        "exit 3 if it has not",
    )
    command("check", "connect to each device and to the cloud, and report; exit 1 if one fails", cmd_check)
    command(
        "status",
        "per device: last read, last push, outbox depth, last error; the last failed push; the push batch size; "
        "the last health report",
        cmd_status,
    )
    simulate = command(
        "simulate",
        "a simulated ZKTeco device, to try the poller without hardware (or, with --adms, the cloud's ADMS "
        "push and commands)",
        cmd_simulate,
    )
    simulate.add_argument(
        "--adms", metavar="URL", help="be an ADMS push device against the stack at URL instead of a TCP one"
    )
    simulate.add_argument(
        "--poll-seconds",
        type=float,
        default=3.0,
        help="ADMS: seconds between command polls and uploads (%(default)s)",
    )
    simulate.add_argument(
        "--port", type=int, default=4370, help="TCP port to listen on, without --adms (%(default)s)"
    )
    simulate.add_argument(
        "--records", type=int, default=100, help="attendance records it starts with (%(default)s)"
    )
    simulate.add_argument(
        "--serial", default="SIM0001", help="its serial number, by which ADMS knows it (%(default)s)"
    )
    simulate.add_argument(
        "--comm-key", type=int, default=0, help="the communication key a client must send (%(default)s: none)"
    )
    simulate.add_argument(
        "--time-zone",
        default="UTC",
        help="the zone its clock keeps: the one it is registered in (%(default)s)",
    )
    simulate.add_argument(
        "--punch-every", type=float, default=0, help="add a punch every N seconds (0: never)"
    )
    service = command("install-service", "write and enable a systemd unit (Linux)", cmd_install_service)
    service.add_argument("--print", action="store_true", help="only print the unit")
    return parser


def _duration(text: str) -> timedelta:
    match = re.fullmatch(r"(\d+)([mhd])", text.strip())
    if not match:
        raise argparse.ArgumentTypeError("use a number and m, h or d: 30m, 5h, 2d")
    unit = {"m": "minutes", "h": "hours", "d": "days"}[match[2]]
    return timedelta(**{unit: int(match[1])})


def _open(config_path: Path, show_downloads: bool = False) -> tuple[PollerConfig, Poller]:
    config = load_config(config_path)
    store = Store(config.state_dir / "outbox.sqlite3")
    cloud = CloudClient(config.cloud_url, config.api_key.get_secret_value(), config.push_timeout_seconds)
    announce = _announce_download if show_downloads else (lambda name, records: None)
    return config, Poller(config, store, cloud, on_download=announce)


def _announce_download(name: str, records: int) -> None:
    """pyzk reads a log in one call with no progress hook: say what is coming and how big it is."""
    print(f"{name}: downloading {records:,} records ({records * RECORD_BYTES / 1e6:.1f} MB)...", flush=True)


def _setup_logging(state_dir: Path | None, verbose: bool = True) -> None:
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stdout)]
    if state_dir:
        try:
            state_dir.mkdir(parents=True, exist_ok=True)
            log_file = logging.handlers.RotatingFileHandler(
                state_dir / "edge-poller.log", maxBytes=5_000_000, backupCount=5
            )
        except OSError as error:
            raise StateDirUnusable(f"cannot write the log in {state_dir}: {error}") from None
        handlers.append(log_file)
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        handlers=handlers,
        force=True,
        format="%(asctime)s %(levelname)s %(message)s",
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)


def cmd_run(args: argparse.Namespace) -> int:
    config, poller = _open(args.config)
    _setup_logging(config.state_dir)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        logger.info("stopping (signal %d)", signum)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    logger.info(
        "edge poller started: %d devices, every %.0f s, pushing to %s",
        len(config.devices),
        config.interval_seconds,
        config.cloud_url,
    )
    try:
        run_forever(poller, stop)
    finally:
        poller.close()
        logger.info("stopped; %d punches wait in the outbox", poller.store.pending_count())
    return EXIT_OK


def cmd_once(args: argparse.Namespace) -> int:
    config, poller = _open(args.config, show_downloads=True)
    _setup_logging(config.state_dir, verbose=False)
    for name in args.device or []:
        config.device(name)
    try:
        with poller.turn(args.wait, on_wait=lambda holder: _say_waiting(holder, args.wait)) as mine:
            if mine:
                return _one_pass(args, poller)
        print(
            f"{poller.cycle_lock.holder()} kept this state_dir busy for {args.wait:g} s: nothing was read or "
            "pushed; run once again later (or with a longer --wait)"
        )
        return EXIT_BUSY
    finally:
        poller.close()


def _say_waiting(holder: str, wait: float) -> None:
    """The service's cycle (or another once) is under way on this outbox: `once` takes its turn after it."""
    print(
        f"{holder} is reading or pushing with this state_dir; waiting up to {wait:g} s for it...", flush=True
    )


def _one_pass(args: argparse.Namespace, poller: Poller) -> int:
    """Read, push, clear confirmed logs, report health; then the summary. The exit code."""
    reports = poller.read_devices(args.device, args.since, args.sync_clock)
    push = poller.drain(progress=_progress, held_for=timedelta(0))  # asked by hand: held punches go again now
    print()  # ends the progress line before anything is logged
    cleared = [] if push.error else poller.clear_confirmed_logs(force=True)
    poller.health.report()
    print(
        f"{'device':16} {'on device':>9} {'fetched':>8} {'new':>6} {'pushed':>7} {'duplicate':>9} "
        f"{'rejected':>8} {'held':>6}  note"
    )
    for report in reports:
        counts = push.by_device.get(report.name, {})
        note = report.error or ("unchanged" if report.unchanged else "")
        if report.drift_minutes is not None:
            note += f" clock {_minutes(report.drift_minutes)}"
        print(
            f"{report.name:16} {report.records_on_device:9} {report.fetched:8} {report.new:6} "
            f"{counts.get('accepted', 0):7} {counts.get('duplicate', 0):9} {counts.get('rejected', 0):8} "
            f"{counts.get('held', 0):6}  {note}"
        )
    held = _print_held(poller.store)
    pending = poller.store.pending_count()
    for name in cleared:
        print(f"{name}: log cleared on the device (every record confirmed by the cloud)")
    if push.error:
        print(f"push failed: {push.error}; {pending} punches wait in the outbox")
    if push.deferred:
        print(f"push paused: {push.deferred}; {pending} punches wait in the outbox")
    failed = push.error or push.deferred or held or any(report.error for report in reports)
    return EXIT_FAILED if failed else EXIT_OK


def _print_held(store: Store) -> int:
    """The punches the cloud refuses for now, by device and reason: how many in all."""
    held = store.held()
    for device, count, reason in held:
        print(f"{device}: {count} punches held, the cloud refuses them for now ({reason}); {HELD_MEANS}")
    return sum(count for _, count, _ in held)


def _minutes(drift: float) -> str:
    """A clock's drift to a tenth of a minute, signed; a drift that rounds to nothing reads +0.0, not -0.0."""
    return f"{round(drift, 1) + 0.0:+.1f} min"


def _progress(done: int, total: int) -> None:
    width = 30
    filled = int(width * done / total) if total else width
    print(f"\rpushing [{'#' * filled}{'.' * (width - filled)}] {done}/{total}", end="", flush=True)


def cmd_check(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    healthy = True
    for device in config.devices:
        if device.driver == "hikvision":
            healthy &= _check_hikvision(device)
            continue
        driver = ZktecoDevice(device)
        try:
            with driver.session() as connection:
                info = driver.info(connection)
        except DeviceError as error:
            print(f"{device.name}: UNREACHABLE {error}")
            healthy = False
            continue
        host_now = wall_clock_now(device.time_zone)
        drift = (info.clock - host_now).total_seconds() / 60
        print(
            f"{device.name}: serial {info.serial}, firmware {info.firmware}, users {info.users}, "
            f"records {info.records}/{info.capacity}, clock {_minutes(drift)}"
            + (f"  (drifting: {drift_advice(drift)})" if abs(drift) > config.clock_drift_warn_minutes else "")
        )
    cloud = CloudClient(config.cloud_url, config.api_key.get_secret_value(), config.push_timeout_seconds)
    verdict = cloud.check()
    print(f"cloud {config.cloud_url}: {verdict}")
    writable = _check_state_dir(config.state_dir)
    return EXIT_OK if healthy and writable and verdict.endswith("accepted") else EXIT_FAILED


def _check_state_dir(state_dir: Path) -> bool:
    """Whether the outbox's directory can be written, said as check says the rest."""
    try:
        state_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=state_dir, prefix=".check-"):
            pass
    except OSError as error:
        print(
            f"state_dir {state_dir}: NOT WRITABLE ({error.strerror or error}): the outbox cannot be kept there"
        )
        return False
    print(f"state_dir {state_dir}: writable")
    return True


def _check_hikvision(device: DeviceConfig) -> bool:
    driver = HikvisionDevice(device)
    try:
        serial = driver.serial()
        today = driver.events(datetime.now(UTC) - timedelta(days=1), datetime.now(UTC))
    except DeviceError as error:
        print(f"{device.name}: UNREACHABLE {error}")
        return False
    finally:
        driver.close()
    print(f"{device.name}: Hikvision serial {serial}, {len(today)} punches in the last 24 h")
    return True


def cmd_status(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    store = Store(config.state_dir / "outbox.sqlite3")
    print(
        f"{'device':16} {'last read':25} {'last push':25} {'outbox':>6} {'held':>6} {'rejected':>8}  last error"
    )
    for status in store.statuses([d.name for d in config.devices]):
        print(
            f"{status.name:16} {status.last_read_at or 'never':25} {status.last_push_at or 'never':25} "
            f"{status.pending:6} {status.held:6} {status.rejected:8}  {status.last_error or ''}"
        )
    _print_held(store)
    for device, punch, reason in store.rejected():
        print(f"rejected from {device}: {punch} ({reason})")
    _print_push_failure(store)
    size = BatchSize(config.push_batch_min, config.push_batch_size, store.batch_size())
    print(
        f"push batch size: {size.current} (adapts between push_batch_min {size.minimum} "
        f"and push_batch_size {size.maximum})"
    )
    _print_health(config, store)
    return EXIT_OK


def _print_push_failure(store: Store) -> None:
    failure = store.last_push_failure()
    if failure is None:
        print("cloud push: no failed push outstanding")
        return
    print(
        f"cloud push: last failed {failure.at.isoformat()}: {failure.reason} "
        f"({store.pending_count()} punches wait in the outbox; this clears when a push gets through)"
    )


def _print_health(config: PollerConfig, store: Store) -> None:
    if not config.health_reports:
        print("health reports: off")
        return
    print(
        f"health reports (as edge:{config.poller_name}, at least every {config.health_interval_seconds:.0f} s):"
    )
    for device in config.devices:
        record = store.health(device.name)
        report = last_report(record)
        sent = (
            f"sent {record.sent_at.isoformat()}: {_summary(report)}"
            if record and record.sent_at and report
            else "never sent"
        )
        refused = (
            f"; last refused {record.refused_at.isoformat()}: {record.refused_reason}"
            if record and record.refused_at
            else ""
        )
        print(f"  {device.name + ':':17} {sent}{refused}")


def _summary(report: dict[str, object]) -> str:
    drift = report.get("clockDriftSeconds")
    return ", ".join(
        [
            f"last read {report.get('lastReadAt') or 'never'}",
            f"clock {'unknown' if drift is None else f'{drift:+d} s'}",
            f"outbox {report.get('outboxDepth')}",
            f"model {report.get('model') or '?'}",
            f"firmware {report.get('firmware') or '?'}",
            f"error {report.get('lastError') or 'none'}",
        ]
    )


def cmd_simulate(args: argparse.Namespace) -> int:
    from edge_poller.simulator import AdmsClock, DeviceState, ZkSimulator  # only this command needs it

    device = DeviceState(serial=args.serial, comm_key=args.comm_key, time_zone=args.time_zone)
    device.fill(args.records)
    simulator: AdmsClock | ZkSimulator
    if args.adms:
        simulator = AdmsClock(args.adms, device, args.poll_seconds, on_command=_announce_command)
        try:
            simulator.start()
        except httpx.HTTPError as error:
            print(f"ADMS handshake with {args.adms} failed: {error}", file=sys.stderr)
            return EXIT_FAILED
        where = f"in ADMS push mode against {args.adms} (polling every {args.poll_seconds:g} s)"
    else:
        simulator = ZkSimulator(device, host="127.0.0.1", port=args.port).start()
        where = f"on 127.0.0.1:{simulator.port} (comm key {args.comm_key})"
    print(
        f"simulated ZKTeco {args.serial} {where} with {args.records} records, zone {args.time_zone}; "
        "Ctrl-C stops it",
        flush=True,
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    users = sorted(device.users) or ["1000"]
    count = 0
    while not stop.wait(args.punch_every or 3600):
        if args.punch_every:
            device.punch(users[count % len(users)], punch=count % 2)
            count += 1
    simulator.stop()
    return EXIT_OK


def _announce_command(command_id: str, command: str, return_code: int) -> None:
    print(f"command {command_id}: {command!r} -> Return={return_code}", flush=True)


def unit_text(config_path: Path) -> str:
    executable = shutil.which("edge-poller") or f"{sys.executable} -m edge_poller"
    return f"""[Unit]
Description=attendance-sync edge poller (reads time clocks, pushes punches to the cloud)
Wants=network-online.target
After=network-online.target

[Service]
ExecStart={executable} --config {config_path.resolve()} run
WorkingDirectory={config_path.resolve().parent}
Restart=always
RestartSec=10
# exit 2 is a configuration to fix (its message is in the journal), not a failure a restart mends
RestartPreventExitStatus=2
KillSignal=SIGTERM
TimeoutStopSec=60

[Install]
WantedBy=multi-user.target
"""


def cmd_install_service(args: argparse.Namespace) -> int:
    load_config(args.config)  # refuse to install a service that cannot start
    unit = unit_text(args.config)
    if args.print:
        print(unit, end="")
        return EXIT_OK
    if not shutil.which("systemctl"):
        print("systemctl not found: this command is for Linux with systemd (see the README for Windows)")
        return EXIT_FAILED
    UNIT_PATH.write_text(unit)
    for command in (["systemctl", "daemon-reload"], ["systemctl", "enable", "--now", "edge-poller"]):
        subprocess.run(command, check=True)  # noqa: S603 - fixed arguments
    print(f"installed {UNIT_PATH} and started it; logs: journalctl -u edge-poller -f")
    return EXIT_OK
