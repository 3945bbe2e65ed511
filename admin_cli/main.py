"""attendance: inspect and operate an attendance-sync stack (the local one, or a deployed one).

Exit codes: 0 done (also when there was nothing to do); 1 not found (a logId not in the DLQ, too), or nothing
redriven; 2 wrong usage or a request the service refuses; 3 the stack or AWS could not be reached.
"""

import getpass
import json
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from functools import cached_property
from http import HTTPStatus
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic.alias_generators import to_camel
from rich.console import Console
from rich.markup import escape
from rich.measure import Measurement
from rich.progress import Progress
from rich.table import Table

from admin_cli.target import Target, TargetError, local_target, stack_target
from admin_cli.watch import feed_access, feed_rooms, watch_feed
from attendance.api import ApiError
from attendance.commands.models import CommandView, PutEmployee, Reboot, RemoveEmployee, ResendLog, SetClock
from attendance.commands.service import CommandService
from attendance.data.api_keys import ApiKeyStore, KeyRevoked
from attendance.data.aws import StoreUnavailable
from attendance.data.commands import CommandStore
from attendance.data.dead_letters import DeadLetterQueue
from attendance.data.device_punches import DevicePunches
from attendance.data.devices import DeviceStore
from attendance.data.employees import EmployeeStore
from attendance.data.holidays import HolidayStore
from attendance.data.leave import LeaveStore
from attendance.data.punch_intake import PunchIntake
from attendance.data.punches import PunchStore
from attendance.data.queue import PunchQueue
from attendance.data.schedules import ScheduleStore
from attendance.deliveries.models import MAX_VOIDS_LISTED, VoidPunch
from attendance.deliveries.service import DeadLetterService
from attendance.deliveries.voids import PunchVoids
from attendance.delivery.corrections import CorrectionCheck
from attendance.devices.models import DeviceRegistration
from attendance.devices.service import DeviceService
from attendance.domain.clock import FIRST_YEAR, LAST_YEAR, InvalidTime, parse_zone
from attendance.domain.devices import DeviceKind
from attendance.domain.employees import Employee, has_left, has_started
from attendance.domain.holidays import Holiday
from attendance.domain.keys import ApiKey, Scope
from attendance.domain.leave import Leave, LeaveKind
from attendance.domain.presence import PresenceStatus
from attendance.domain.punch import Identifier, PunchType, SyncStatus, describe_validation_error, problem_text
from attendance.domain.records import DayPunch, PunchRecord
from attendance.domain.schedule_history import ScheduleVersion, change_day, removal_day
from attendance.domain.timesheet import DEFAULT_SCHEDULE_ID, Schedule, check_shift
from attendance.employees.csv_import import ImportRejected
from attendance.employees.leave import LeaveService
from attendance.employees.models import EmployeeView, LeaveEntry, ScheduleAhead, ScheduleView
from attendance.employees.service import Change, EmployeeService, ImportPlan
from attendance.local_ports import InvalidPort
from attendance.reports.render import as_csv, as_row, daily_report, period_csv, period_rows
from attendance.reports.service import ReportRangeError, ReportService, check_range

EXIT_NOT_FOUND, EXIT_USAGE, EXIT_UNREACHABLE = 1, 2, 3
WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]

app = typer.Typer(help=__doc__, no_args_is_help=True, pretty_exceptions_enable=False)
dlq_app = typer.Typer(help="The dead-letter queue: punches the CRM did not take.", no_args_is_help=True)
keys_app = typer.Typer(help="API keys for devices, webhooks and reports.", no_args_is_help=True)
devices_app = typer.Typer(help="The device registry (ADMS and Hikvision push).", no_args_is_help=True)
command_app = typer.Typer(
    help="Commands for ZKTeco ADMS clocks, fetched on their next poll.", no_args_is_help=True
)
devices_app.add_typer(command_app, name="command")
schedules_app = typer.Typer(help="Work schedules for the reports.", no_args_is_help=True)
holidays_app = typer.Typer(
    help="The company's holidays: no work expected, so no absence in a pay period.", no_args_is_help=True
)
leave_app = typer.Typer(
    help="Employees' leave (vacation, sick, unpaid, other): scheduled days on leave are no absence.",
    no_args_is_help=True,
)
logs_app = typer.Typer(help="Stored punches and their delivery.", no_args_is_help=True)
report_app = typer.Typer(help="Timesheet reports.", no_args_is_help=True)
employees_app = typer.Typer(help="The employee directory and who is in now.", no_args_is_help=True)
for sub, name in (
    (dlq_app, "dlq"),
    (keys_app, "keys"),
    (devices_app, "devices"),
    (schedules_app, "schedules"),
    (holidays_app, "holidays"),
    (leave_app, "leave"),
    (logs_app, "logs"),
    (report_app, "report"),
    (employees_app, "employees"),
):
    app.add_typer(sub, name=name)
console = Console()


@dataclass
class Context:
    local: bool
    stack_name: str | None
    region: str | None
    profile: str | None
    json: bool

    @cached_property
    def target(self) -> Target:
        if self.local or not self.stack_name:
            return local_target()
        return stack_target(self.stack_name, self.region, self.profile)

    def zone(self, given: str | None = None) -> str:
        """A --zone given, else the stack's company zone (DefaultTimeZone), as the functions read it."""
        return given or self.target.default_time_zone

    @cached_property
    def dynamodb(self) -> Any:
        return self.target.client("dynamodb")

    def punches(self) -> PunchStore:
        return PunchStore(self.dynamodb, self.target.punches_table)

    def dead_letters(self) -> DeadLetterQueue:
        target = self.target
        return DeadLetterQueue(
            target.client("sqs"),
            self.dynamodb,
            target.dead_letter_queue_url,
            target.punch_queue_url,
            target.punches_table,
        )

    def dead_letter_service(self) -> DeadLetterService:
        return DeadLetterService(self.punches(), self.dead_letters())

    def voids(self) -> PunchVoids:
        queue = PunchQueue(self.target.client("sqs"), self.target.punch_queue_url)
        return PunchVoids(self.punches(), self.dead_letters(), queue, self._exact_duplicates)

    def _exact_duplicates(self) -> CorrectionCheck:
        """A correction checked for the one duplicate that needs no dedup window: the corrected punch stored
        before (the stack's window is not among its outputs; the worker judges near duplicates)."""
        intake = PunchIntake(self.dynamodb, self.target.punches_table, self.target.dedup_table)
        return CorrectionCheck(intake, window_seconds=0)

    def keys(self) -> ApiKeyStore:
        return ApiKeyStore(self.dynamodb, self.target.api_keys_table)

    def devices(self) -> DeviceStore:
        return DeviceStore(self.dynamodb, self.target.devices_table)

    def device_service(self) -> DeviceService:
        punches = DevicePunches(self.dynamodb, self.target.punches_table)
        commands = CommandStore(self.dynamodb, self.target.commands_table)
        return DeviceService(self.devices(), punches, commands, self.zone())

    def schedules(self) -> ScheduleStore:
        return ScheduleStore(self.dynamodb, self.target.schedules_table)

    def commands(self) -> CommandService:
        # Naive resend_log times are the clock's own; a clock without a zone is read in the company's
        store = CommandStore(self.dynamodb, self.target.commands_table)
        return CommandService(self.devices(), self.directory(), store, self.zone())

    def directory(self) -> EmployeeStore:
        return EmployeeStore(self.dynamodb, self.target.employees_table)

    def employees(self, zone: str | None = None) -> EmployeeService:
        return EmployeeService(
            self.directory(), self.schedules(), self.punches(), self.leave(), self.holidays(), self.zone(zone)
        )

    def holidays(self) -> HolidayStore:
        return HolidayStore(self.dynamodb, self.target.holidays_table)

    def leave(self) -> LeaveStore:
        return LeaveStore(self.dynamodb, self.target.leave_table)

    def leave_service(self) -> LeaveService:
        return LeaveService(self.leave(), self.directory(), self.schedules(), self.holidays())

    def reports(self, zone: str | None = None) -> ReportService:
        return ReportService(
            self.punches(), self.schedules(), self.directory(), self.holidays(), self.leave(), self.zone(zone)
        )


@app.callback()
def main(
    ctx: typer.Context,
    local: Annotated[
        bool, typer.Option("--local", help="the stack `make run` started (the default)")
    ] = False,
    stack_name: Annotated[str | None, typer.Option(help="a deployed stack, found by its outputs")] = None,
    region: Annotated[str | None, typer.Option(help="AWS region of the stack")] = None,
    profile: Annotated[str | None, typer.Option(help="AWS profile")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    ctx.obj = Context(local, stack_name, region, profile, as_json)


def run() -> None:
    """The console script: AWS and stack problems become a message and exit code 3, a port variable that
    holds no port exit code 2 (usage), not a traceback."""
    try:
        app()
    except (TargetError, StoreUnavailable) as error:
        _fail(error, EXIT_UNREACHABLE)
    except InvalidPort as error:
        _fail(error, EXIT_USAGE)


def _fail(error: Exception, exit_code: int) -> NoReturn:
    Console(stderr=True).print(f"[red]error:[/red] {escape(str(error))}")
    sys.exit(exit_code)


def _zone(text: str) -> str:
    """A --zone option's value: an IANA zone or an offset, or the command's usage error."""
    try:
        parse_zone(text)
    except InvalidTime as error:
        raise typer.BadParameter(str(error)) from None
    return text


PIPED_WIDTH = 1000


def _show(ctx: typer.Context, rows: list[dict[str, Any]], title: str, empty: str) -> None:
    """Rows as JSON (keys in camelCase, as the API's) or as a table (headers in words)."""
    if ctx.obj.json:
        print(json.dumps(rows, indent=2, default=str))
        return
    if not rows:
        console.print(empty)
        return
    table = Table(title=title)
    for column in rows[0]:
        # An ID keeps to one line, to be copied, unless the terminal is too narrow for it: then it wraps
        # rather than lose characters, as every other column does.
        widest = max(len(_cell(row.get(column))) for row in rows) if column.endswith("Id") else None
        table.add_column(_in_words(column), overflow="fold", min_width=widest)
    for row in rows:
        table.add_row(*(_cell(value) for value in row.values()))
    _print_table(table)


def _print_table(table: Table) -> None:
    """In a terminal, at its width, lines running on rather than losing what is past its edge when it is
    too narrow for the IDs; into a pipe or a file, as wide as the cells (a terminal's width of 80 would fold
    every cell, and `grep` would find nothing)."""
    if console.is_terminal:
        console.print(table, crop=False)
        return
    wide = Console(width=PIPED_WIDTH)
    Console(width=Measurement.get(wide, wide.options, table).maximum).print(table, crop=False)


def _in_words(key: str) -> str:
    """punchTime (or punch_time) -> punch time; an ID's name (logId, keyId) stays as it is, as the API names it."""
    if key.endswith("Id"):
        return key
    return re.sub(r"(?<=[a-z])([A-Z])", lambda upper: " " + upper[1].lower(), key).replace("_", " ")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple | set | frozenset):
        return ", ".join(str(item) for item in value)
    return str(value)


def _record_row(record: PunchRecord, names: dict[str, str] | None = None) -> dict[str, Any]:
    """A punch as the tables show it; with `names` (the directory's, by userId) its employee's name too."""
    punch = record.punch
    return {
        "logId": punch.log_id,
        "user": punch.user_id,
        **({"name": names.get(punch.user_id)} if names is not None else {}),
        "device": punch.device_id,
        "punchTime": punch.timestamp_with_offset,
        "type": punch.type.value,
        "status": record.status.value,
        "attempts": record.attempts,
        "lastError": _current_error(record.status, record.last_error),
    }


def _current_error(status: str, last_error: str | None) -> str | None:
    """A punch's last error while it matters: once it is delivered, an earlier attempt's error is history
    (its attempts say it took more than one)."""
    return None if status == SyncStatus.SYNCED else last_error


def _camel_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {to_camel(key): _camel_keys(item) for key, item in value.items()}
    return [_camel_keys(item) for item in value] if isinstance(value, list) else value


def _progress(ctx: typer.Context) -> Progress:
    """A spinner for long work, on a terminal only: piped or with --json, it would leave a blank line."""
    return Progress(console=console, transient=True, disable=ctx.obj.json or not console.is_terminal)


def _done(ctx: typer.Context, message: str, payload: dict[str, Any]) -> None:
    if ctx.obj.json:
        print(json.dumps(payload, indent=2, default=str))
    else:
        console.print(message)


# dlq


def _dead_letters_done(ctx: typer.Context, verb: str, done: list[str], missing: list[str]) -> None:
    missed = f"; not in the DLQ: {', '.join(missing)}" if missing else ""
    _done(ctx, f"{verb}: {len(done)}{missed}", {verb: done, "notInDlq": missing})


# A dead letter of a stored punch with no error: the worker took its message as many times as the queue allows
# and never recorded an outcome, so the reason is in its logs.
NO_OUTCOME = "none recorded: no attempt finished (the worker failed to start, ran out of time or stopped); see its logs"


@dlq_app.command("list")
def dlq_list(ctx: typer.Context) -> None:
    """Every dead-lettered punch, the latest punch first: logId, user (and their name), device, punch time,
    attempts, last error, when it died."""
    entries = ctx.obj.dead_letter_service().entries()
    names = ctx.obj.directory().names_of({entry.record.punch.user_id for entry in entries if entry.record})
    rows = []
    for entry in entries:
        record = entry.record
        row = _record_row(record, names) if record else {"logId": entry.log_id, "status": "not in the table"}
        if record and not row["lastError"] and not ctx.obj.json:
            row["lastError"] = NO_OUTCOME
        row["died"] = entry.dead_lettered_at
        rows.append(row)
    _show(ctx, rows, "Dead-lettered punches", "The dead-letter queue is empty.")


@dlq_app.command("show")
def dlq_show(ctx: typer.Context, log_id: str) -> None:
    """The full record of a punch and its delivery history."""
    _show_record(ctx, log_id)


@dlq_app.command("redrive")
def dlq_redrive(
    ctx: typer.Context,
    log_ids: Annotated[list[str] | None, typer.Argument(help="logIds to redrive")] = None,
    all_: Annotated[
        bool, typer.Option("--all", help="redrive every dead-lettered punch (an empty DLQ: done, exit 0)")
    ] = False,
) -> None:
    """Back to the punch queue with status pending: the worker tries each again, with as many attempts as a
    new punch gets."""
    if bool(log_ids) == all_:
        raise typer.BadParameter(
            "give logIds or --all, not both" if all_ else "give the logIds to redrive, or --all"
        )
    with _progress(ctx) as progress:
        task = progress.add_task("redriving", total=None)
        result = ctx.obj.dead_letter_service().redrive(
            None if all_ else set(log_ids or []), lambda n: progress.update(task, completed=n)
        )
    _dead_letters_done(ctx, "redriven", result.redriven, result.not_in_dlq)
    if result.not_in_dlq or not (result.redriven or all_):  # --all on an empty DLQ did all there was
        raise typer.Exit(EXIT_NOT_FOUND)


@dlq_app.command("abandon")
def dlq_abandon(
    ctx: typer.Context, log_ids: Annotated[list[str], typer.Argument(help="logIds to abandon")]
) -> None:
    """Out of the DLQ for good, marked abandoned (kept in the table, still in the reports): for punches the
    CRM will never take. The CRM never gets them."""
    with _progress(ctx) as progress:
        task = progress.add_task("abandoning", total=None)
        result = ctx.obj.dead_letter_service().abandon(
            set(log_ids), _cli_user(), lambda n: progress.update(task, completed=n)
        )
    _dead_letters_done(ctx, "abandoned", result.abandoned, result.not_in_dlq)
    if result.not_in_dlq:
        raise typer.Exit(EXIT_NOT_FOUND)


@dlq_app.command("purge")
def dlq_purge(ctx: typer.Context, yes: Annotated[bool, typer.Option("--yes", help="really")] = False) -> None:
    """Empty the DLQ for good: its punches are marked abandoned (kept in the table, in the reports) and the CRM
    never gets them; none can be redriven afterwards. During a CRM outage, redrive instead."""
    if not yes:
        raise typer.BadParameter(
            "purging abandons every dead-lettered punch for good (the CRM never gets them; no redrive "
            "afterwards): add --yes"
        )
    with _progress(ctx) as progress:
        task = progress.add_task("purging", total=None)
        done = ctx.obj.dead_letters().purge(_cli_user(), lambda n: progress.update(task, completed=n))
    _done(ctx, f"purged: {len(done)} punches marked abandoned", {"abandoned": done})


# keys


RATE_LIMIT_OPTION = typer.Option(
    min=0,
    help="requests a second the key may send to POST /punches and /device/punch; 0: no limit "
    "(default: the stack's ClientRateLimit)",
)


def _key_name(text: str) -> str:
    """A --name value: who or what uses the key, as the list shows it; never blank."""
    if not text.strip():
        raise typer.BadParameter('give who or what uses the key, e.g. "front door"')
    return text.strip()


def _device_ids(text: str) -> frozenset[str]:
    """A --devices value: at least one device ID, comma-separated. An empty list is refused, not read as "any
    device": a script whose list came out empty must not make a key for every device."""
    ids = frozenset(part.strip() for part in text.split(","))
    if ids <= {""}:
        raise typer.BadParameter("give at least one device ID; leave --devices out for a key for any device")
    try:
        return frozenset(TypeAdapter(Identifier).validate_python(device) for device in ids)
    except ValidationError as error:
        raise typer.BadParameter(f"device IDs: {describe_validation_error(error)}") from None


@keys_app.command("create")
def keys_create(
    ctx: typer.Context,
    name: Annotated[str, typer.Option(parser=_key_name, help="who or what uses the key")],
    devices: Annotated[
        frozenset[str] | None,
        typer.Option(parser=_device_ids, metavar="IDS", help="limit to these device IDs, comma-separated"),
    ] = None,
    scope: Annotated[
        list[Scope] | None,
        typer.Option(help="ingest (default), reports, read (devices, employees, presence) and/or admin"),
    ] = None,
    rate_limit: Annotated[int | None, RATE_LIMIT_OPTION] = None,
) -> None:
    """A new API key, printed once."""
    raw, key = ctx.obj.keys().create(name, frozenset(scope or [Scope.INGEST]), devices, rate_limit=rate_limit)
    _done(
        ctx,
        f"key {key.key_id} for {name!r}, {_rate(key.rate_limit)} (shown once, store it now):\n{raw}",
        {
            "keyId": key.key_id,
            "key": raw,
            "scopes": sorted(key.scopes),
            "devices": sorted(devices) if devices is not None else None,
            "rateLimit": key.rate_limit,
        },
    )


def _rate(rate_limit: int | None) -> str:
    if rate_limit is None:
        return "the stack's default rate limit"
    return "no rate limit" if rate_limit == 0 else f"at most {rate_limit} ingest requests a second"


@keys_app.command("set-rate-limit")
def keys_set_rate_limit(
    ctx: typer.Context,
    key_id: str,
    rate_limit: Annotated[int | None, RATE_LIMIT_OPTION] = None,
) -> None:
    """Change a key's request limit (without --rate-limit: back to the stack's default); it applies from
    the key's next request. A revoked key's is refused (exit 2): it sends nothing."""
    try:
        changed = ctx.obj.keys().set_rate_limit(key_id, rate_limit)
    except KeyRevoked:
        _refused(
            ctx,
            "key_revoked",
            f"{key_id} is revoked: it sends nothing, so a limit would change nothing",
            EXIT_USAGE,
        )
    if not changed:
        _not_found(ctx, f"no key {key_id}")
    _done(ctx, f"{key_id}: {_rate(rate_limit)}", {"changed": True, "keyId": key_id, "rateLimit": rate_limit})


@keys_app.command("list")
def keys_list(ctx: typer.Context) -> None:
    """Every key (never the key itself)."""
    rows = [_key_row(key, in_words=not ctx.obj.json) for key in ctx.obj.keys().list()]
    _show(ctx, rows, "API keys", "No API keys.")


def _key_row(key: ApiKey, in_words: bool) -> dict[str, Any]:
    """A key as the list shows it. JSON keeps one type a field, as keys create prints them: devices null for
    any device; rateLimit null for the stack's default, 0 for none."""
    devices = sorted(key.devices) if key.devices is not None else None
    rate: int | str | None = key.rate_limit
    if in_words:
        rate = "default" if key.rate_limit is None else (key.rate_limit or "none")
    return {
        "keyId": key.key_id,
        "name": key.name,
        "scopes": sorted(key.scopes),
        "devices": "any" if in_words and devices is None else devices,
        "rateLimit": rate,
        "revoked": key.revoked,
        "created": key.created_at.isoformat(timespec="seconds"),
    }


@keys_app.command("revoke")
def keys_revoke(ctx: typer.Context, key_id: str) -> None:
    """Revoke a key; it stops working on the next request."""
    if not ctx.obj.keys().revoke(key_id):
        _not_found(ctx, f"no key {key_id}")
    _done(ctx, f"revoked {key_id}", {"revoked": True, "keyId": key_id})


# devices


@devices_app.command("add")
def devices_add(
    ctx: typer.Context,
    device_id: Annotated[str, typer.Option("--id", help="the deviceId its punches carry")],
    kind: Annotated[DeviceKind, typer.Option(help="zkteco or hikvision")],
    zone: Annotated[str, typer.Option(parser=_zone, help="IANA time zone of the device's clock")],
    serial: Annotated[
        str | None, typer.Option(help="serial number (ZKTeco ADMS identifies devices by it)")
    ] = None,
    default_type: Annotated[PunchType, typer.Option(help="type for punches without a state")] = PunchType.IN,
    name: Annotated[str | None, typer.Option(help="for people: 'Front door'")] = None,
    site: Annotated[str | None, typer.Option(help="where it hangs, e.g. berlin-hq")] = None,
    silent_after: Annotated[int, typer.Option(help="minutes without contact before it is silent")] = 15,
) -> None:
    """Register a device; a Hikvision terminal gets its push URL (shown once)."""
    registration = _valid(
        DeviceRegistration,
        device_id=device_id,
        kind=kind,
        serial=serial,
        time_zone=zone,
        default_type=default_type,
        name=name,
        site=site,
        silent_after_minutes=silent_after,
    )
    registered = _device_call(
        ctx, lambda service: service.register(registration, _cli_user(), _now(), ctx.obj.target.api_url)
    )
    if registered.push_url:
        _done(
            ctx,
            f"registered {device_id}; push URL (shown once):\n{registered.push_url}",
            {"deviceId": device_id, "pushUrl": registered.push_url},
        )
        return
    _done(ctx, f"registered {device_id} (ADMS serial {serial})", {"deviceId": device_id, "serial": serial})


@devices_app.command("list")
def devices_list(ctx: typer.Context) -> None:
    """Every registered device with its state (online, silent, never_seen, disabled)."""
    rows = [
        {
            "id": d.device_id,
            "kind": d.kind.value,
            "serial": d.serial,
            "zone": d.time_zone,
            "state": d.state.value,
            "lastSeen": d.last_seen_at,
            "via": d.via,
            "defaultType": d.default_type.value,
        }
        for d in _device_call(ctx, lambda service: service.list(_now()))
    ]
    _show(ctx, rows, "Devices", "No devices registered.")


@devices_app.command("disable")
def devices_disable(ctx: typer.Context, device_id: str) -> None:
    """Refuse the device's punches from now on."""
    _device_call(ctx, lambda service: service.disable(device_id, _cli_user(), _now()))
    _done(ctx, f"disabled {device_id}", {"disabled": True, "deviceId": device_id})


@devices_app.command("remove")
def devices_remove(ctx: typer.Context, device_id: str) -> None:
    """Remove a disabled device from the registry, with its commands; its punches stay in the reports.
    An enabled device is refused (exit 2): disable it first."""
    removed = _device_call(ctx, lambda service: service.remove(device_id, _cli_user(), _now()))
    _done(
        ctx,
        f"removed {device_id} and its {removed.commands_removed} command(s); its punches stay",
        {"removed": True, "deviceId": device_id, "commandsRemoved": removed.commands_removed},
    )


@devices_app.command("new-push-url")
def devices_new_push_url(ctx: typer.Context, device_id: str) -> None:
    """Give a Hikvision terminal a new push URL (shown once); its old URL is refused from now on."""
    replaced = _device_call(
        ctx, lambda service: service.replace_push_url(device_id, _cli_user(), _now(), ctx.obj.target.api_url)
    )
    _done(
        ctx,
        f"new push URL for {device_id} (shown once; the old one is refused from now on):\n{replaced.push_url}",
        {"deviceId": device_id, "pushUrl": replaced.push_url},
    )


def _valid[ModelT: BaseModel](model: type[ModelT], **values: Any) -> ModelT:
    """The same checks as the HTTP API's, as a usage error."""
    try:
        return model.model_validate(values)
    except ValidationError as error:
        raise typer.BadParameter(_problems(error)) from None


def _problems(error: ValidationError) -> str:
    """Each problem with the value it is about, in words (grace minutes: ...), not pydantic's dump."""
    return "; ".join(
        f"{_in_words(str(problem['loc'][0]))}: {problem_text(problem)}"
        if problem["loc"]
        else problem_text(problem)
        for problem in error.errors()
    )


def _device_call[ResultT](ctx: typer.Context, call: Callable[[DeviceService], ResultT]) -> ResultT:
    """A call to the device service, whose refusals (unknown device, taken ID, bad zone) end the command."""
    return _service_call(ctx, lambda: call(ctx.obj.device_service()))


def _calendar_day(text: str) -> date:
    """A --date option's value: a day as YYYY-MM-DD, or the command's usage error."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a date: give YYYY-MM-DD") from None


def _now() -> datetime:
    return datetime.now(UTC)


# devices command

DeviceArgument = Annotated[str, typer.Argument(help="the clock's deviceId")]
ExpiresIn = Annotated[int | None, typer.Option(help="minutes the clock has to fetch it (default: a day)")]


def _queue(ctx: typer.Context, device_id: str, model: type[BaseModel], **values: Any) -> None:
    """Queue a command through the same service as POST /devices/{deviceId}/commands."""
    request = _valid(model, **{key: value for key, value in values.items() if value is not None})
    service = ctx.obj.commands()
    queued = _service_call(ctx, lambda: service.queue(device_id, request, _cli_user()))
    view = CommandView.of(queued, service.now())
    _done(
        ctx,
        f"queued {view.kind} for {device_id}: command {view.command_id}, {view.command!r} (expires {view.expires_at})",
        view.model_dump(mode="json"),
    )


def _refused(ctx: typer.Context, code: str, message: str, exit_code: int) -> NoReturn:
    """Ends the command with a refusal as the API words it: to stderr for people, to stdout as {"error",
    "message"} with --json, where a script reads every answer."""
    if ctx.obj.json:
        print(json.dumps({"error": code, "message": message}, indent=2))
    else:
        Console(stderr=True).print(message, highlight=False)
    raise typer.Exit(exit_code)


def _not_found(ctx: typer.Context, message: str) -> NoReturn:
    _refused(ctx, "not_found", message, EXIT_NOT_FOUND)


def _service_call[ResultT](ctx: typer.Context, call: Callable[[], ResultT]) -> ResultT:
    """A service's refusals (an unknown device, employee or punch, a bad range, ...) end the command: exit 1
    for what does not exist, 2 for the rest."""
    try:
        return call()
    except ApiError as refused:
        exit_code = EXIT_NOT_FOUND if refused.status == HTTPStatus.NOT_FOUND else EXIT_USAGE
        _refused(ctx, refused.code, refused.message, exit_code)


@command_app.command("put-employee")
def command_put_employee(
    ctx: typer.Context,
    device_id: DeviceArgument,
    user: Annotated[str, typer.Argument(help="the employee's userId (their PIN on the clock)")],
    name: Annotated[str | None, typer.Option(help="default: the name in the employee directory")] = None,
    expires_in: ExpiresIn = None,
) -> None:
    """Add an employee to the clock, or change their name on it."""
    _queue(
        ctx, device_id, PutEmployee, kind="put_employee", userId=user, name=name, expiresInMinutes=expires_in
    )


@command_app.command("remove-employee")
def command_remove_employee(
    ctx: typer.Context, device_id: DeviceArgument, user: str, expires_in: ExpiresIn = None
) -> None:
    """Delete an employee from the clock."""
    _queue(ctx, device_id, RemoveEmployee, kind="remove_employee", userId=user, expiresInMinutes=expires_in)


@command_app.command("resend-log")
def command_resend_log(
    ctx: typer.Context,
    device_id: DeviceArgument,
    start: Annotated[str, typer.Option("--from", help="ISO 8601; without an offset, the clock's own time")],
    end: Annotated[str, typer.Option("--to", help="ISO 8601, not before --from")],
    expires_in: ExpiresIn = None,
) -> None:
    """Make the clock upload its attendance log of a range again (dedup absorbs what is already stored)."""
    _queue(
        ctx,
        device_id,
        ResendLog,
        kind="resend_log",
        expiresInMinutes=expires_in,
        **{"from": start, "to": end},
    )


@command_app.command("set-clock")
def command_set_clock(ctx: typer.Context, device_id: DeviceArgument, expires_in: ExpiresIn = None) -> None:
    """Set the clock to the current time of its registered zone (the time when it fetches the command)."""
    _queue(ctx, device_id, SetClock, kind="set_clock", expiresInMinutes=expires_in)


@command_app.command("reboot")
def command_reboot(ctx: typer.Context, device_id: DeviceArgument, expires_in: ExpiresIn = None) -> None:
    """Restart the clock."""
    _queue(ctx, device_id, Reboot, kind="reboot", expiresInMinutes=expires_in)


@command_app.command("list")
def command_list(ctx: typer.Context, device_id: DeviceArgument) -> None:
    """The clock's commands, newest first: pending, sent, done, failed (with its code) or expired."""
    service = ctx.obj.commands()
    commands = _service_call(ctx, lambda: service.history(device_id))
    now = service.now()
    rows = [
        {
            "id": view.command_id,
            "kind": view.kind.value,
            "status": view.status.value,
            "return": view.return_code,
            "created": view.created_at,
            "sent": view.sent_at,
            "finished": view.finished_at,
            "by": view.queued_by,
            "command": view.command,
        }
        for view in (CommandView.of(command, now) for command in commands)
    ]
    _show(ctx, rows, f"Commands for {device_id}", f"No commands for {device_id}.")


# schedules


def _effective_day(text: str) -> date:
    """A --from option's value: a day as YYYY-MM-DD in the calendar's years, or the command's usage error."""
    day = _calendar_day(text)
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise typer.BadParameter(f"{text!r} is not in the years {FIRST_YEAR} to {LAST_YEAR}")
    return day


UserArgument = Annotated[str | None, typer.Argument(help="employee (userId); omit with --default")]
DefaultOption = Annotated[bool, typer.Option("--default", help="the schedule of everyone without one")]
FromOption = Annotated[
    date | None,
    typer.Option(
        "--from",
        parser=_effective_day,
        metavar="YYYY-MM-DD",
        help="the first day it applies (default: today in the schedule's zone); the days before keep theirs",
    ),
]


def _schedule_id(user: str | None, default: bool) -> str:
    if bool(user) == default:
        raise typer.BadParameter("give a userId or --default")
    return user or DEFAULT_SCHEDULE_ID


def _schedule_name(user_id: str) -> str:
    return "default" if user_id == DEFAULT_SCHEDULE_ID else user_id


@schedules_app.command("set")
def schedules_set(
    ctx: typer.Context,
    user: UserArgument = None,
    default: DefaultOption = False,
    days: Annotated[str | None, typer.Option(help="mon-fri, or a list such as mon,wed,fri")] = None,
    start: Annotated[str | None, typer.Option(help="shift start, HH:MM")] = None,
    end: Annotated[str | None, typer.Option(help="shift end, HH:MM (before start: crosses midnight)")] = None,
    grace: Annotated[int | None, typer.Option(help="grace minutes for late and early")] = None,
    zone: Annotated[str | None, typer.Option(parser=_zone, help="IANA time zone or offset")] = None,
    since: FromOption = None,
) -> None:
    """Set an employee's schedule, or the default one, from a day on: the days before keep the schedule that
    held on them (a day before a later change replaces what held from it on). The options not given are kept
    from the schedule holding on that day (without one: mon-fri, 09:00-17:00, grace 5, the stack's
    DefaultTimeZone)."""
    user_id = _schedule_id(user, default)
    schedule = _schedule_over(ctx, user_id, since, days, start, end, grace, zone)
    since = since or change_day(schedule, _now(), ctx.obj.zone())
    ctx.obj.schedules().change(user_id, schedule, since)
    grace_minutes = schedule.grace_minutes
    _done(
        ctx,
        f"{_schedule_name(user_id)}: {_days_label(schedule.days)} {schedule.label()}, grace {grace_minutes} min, "
        f"from {since}",
        {"userId": user_id, "schedule": schedule.model_dump(mode="json"), "effectiveFrom": since.isoformat()},
    )


@schedules_app.command("remove")
def schedules_remove(
    ctx: typer.Context, user: UserArgument = None, default: DefaultOption = False, since: FromOption = None
) -> None:
    """Remove an employee's schedule from a day on (they follow the default again), or the default (then
    whoever has no schedule of their own is judged neither late nor early, and their work day is the calendar
    day). The days before keep the schedule that held on them."""
    user_id = _schedule_id(user, default)
    label = f"schedule of {user}" if user else "default schedule"
    store = ctx.obj.schedules()
    since = since or removal_day(store.history(user_id), _now(), ctx.obj.zone())
    before, after = store.change(user_id, None, since)
    if after == before:
        _not_found(ctx, f"no {label} from {since}")
    _done(
        ctx,
        f"removed the {label} from {since}",
        {"removed": True, "userId": user_id, "effectiveFrom": since.isoformat()},
    )


def _schedule(days: str, start: str, end: str, grace: int, zone: str) -> Schedule:
    try:
        check_shift(time.fromisoformat(start), time.fromisoformat(end))
        return Schedule(
            days=_days(days),
            start=time.fromisoformat(start),
            end=time.fromisoformat(end),
            grace_minutes=grace,
            time_zone=zone,
        )
    except ValidationError as error:
        raise typer.BadParameter(_problems(error)) from None
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None


def _days(text: str) -> frozenset[int]:
    """Weekdays and ranges, e.g. mon-fri or sun-thu (a range runs on round the week's end)."""
    chosen: set[int] = set()
    for part in text.lower().split(","):
        first, dash, last = part.strip().partition("-")
        if first not in WEEKDAYS or (dash and last not in WEEKDAYS):
            raise ValueError(f"days: use {', '.join(WEEKDAYS)} and ranges such as mon-fri or sun-thu")
        start, end = WEEKDAYS.index(first), WEEKDAYS.index(last or first)
        chosen.update(day % 7 for day in range(start, end + 1 if end >= start else end + 8))
    return frozenset(chosen)


def _days_label(days: frozenset[int]) -> str:
    return ",".join(WEEKDAYS[day] for day in sorted(days)) or "no work days"


@schedules_app.command("list")
def schedules_list(ctx: typer.Context) -> None:
    """Every schedule as it is from its latest change on, and since when ("always": before history was kept)."""
    rows = [
        {"user": "(default)" if user == DEFAULT_SCHEDULE_ID else user, **_version_row(history.latest)}
        for user, history in sorted(ctx.obj.schedules().all().items())
        if history.latest
    ]
    _show(ctx, rows, "Schedules", "No schedules.")


@schedules_app.command("show")
def schedules_show(ctx: typer.Context, user: UserArgument = None, default: DefaultOption = False) -> None:
    """An employee's schedule (or the default) over time, the latest first: from when and until when each
    version held."""
    user_id = _schedule_id(user, default)
    history = ctx.obj.schedules().history(user_id)
    if history.latest is None:
        _not_found(ctx, f"no schedule of {_schedule_name(user_id)}")
    rows = [_version_row(history.latest) | {"until": None}]
    rows += [_version_row(version) | {"until": until.isoformat()} for version, until in history.earlier()]
    _show(ctx, rows, f"Schedule of {_schedule_name(user_id)}", "")


def _version_row(version: ScheduleVersion) -> dict[str, Any]:
    """A schedule version as a row: a removal has no shift (the default applied)."""
    schedule = version.schedule
    return {
        "days": _days_label(schedule.days) if schedule else "removed",
        "shift": f"{schedule.start:%H:%M}-{schedule.end:%H:%M}" if schedule else None,
        "grace": schedule.grace_minutes if schedule else None,
        "zone": schedule.time_zone if schedule else None,
        "from": version.since.isoformat() if version.since else "always",
    }


# holidays

DayArgument = Annotated[date, typer.Argument(parser=_calendar_day, metavar="DATE", help="YYYY-MM-DD")]
YearOption = Annotated[
    int | None,
    typer.Option(
        help="the calendar year (default: this one, in the stack's DefaultTimeZone)",
        min=FIRST_YEAR,
        max=LAST_YEAR,
    ),
]


def _this_year(ctx: typer.Context) -> int:
    return datetime.now(parse_zone(ctx.obj.zone())).year


@holidays_app.command("list")
def holidays_list(ctx: typer.Context, year: YearOption = None) -> None:
    """A year's holidays, in date order."""
    year = year or _this_year(ctx)
    rows = [holiday.model_dump(mode="json") for holiday in ctx.obj.holidays().in_year(year)]
    _show(ctx, rows, f"Holidays {year}", f"No holidays in {year}.")


@holidays_app.command("add")
def holidays_add(
    ctx: typer.Context,
    on: DayArgument,
    name: Annotated[str, typer.Argument(help="what it is, as people will read it")],
) -> None:
    """Add a holiday, or rename the one on that date."""
    holiday = _valid(Holiday, date=on.isoformat(), name=name)
    replaced = ctx.obj.holidays().put(holiday, _cli_user())
    verb = f"renamed {replaced.name!r} to" if replaced else "added"
    _done(ctx, f"{verb} {holiday.name!r} on {on}", holiday.model_dump(mode="json") | {"added": not replaced})


@holidays_app.command("remove")
def holidays_remove(ctx: typer.Context, on: DayArgument) -> None:
    """Remove a holiday: that day is a work day again for whoever's schedule has it."""
    removed = ctx.obj.holidays().delete(on)
    if removed is None:
        _not_found(ctx, f"no holiday on {on}")
    _done(ctx, f"removed {removed.name!r} on {on}", {"removed": True, **removed.model_dump(mode="json")})


# leave

LeaveUser = Annotated[str, typer.Argument(metavar="USER_ID", help="the employee (userId)")]


@leave_app.command("list")
def leave_list(ctx: typer.Context, user_id: LeaveUser, year: YearOption = None) -> None:
    """An employee's leaves with a day in the year, by first day, with the scheduled days each takes (what an
    allowance counts), and the year's by kind."""
    year = year or _this_year(ctx)
    found = _service_call(ctx, lambda: ctx.obj.leave_service().in_year(user_id, year))
    rows = [leave.model_dump(mode="json") if ctx.obj.json else _leave_row(leave) for leave in found.leave]
    _show(ctx, rows, f"Leave of {user_id} {year}", f"No leave of {user_id} in {year}.")
    if ctx.obj.json:
        return
    if found.scheduled_days and any(found.scheduled_days.values()):
        taken = ", ".join(f"{days} {kind}" for kind, days in found.scheduled_days.items() if days)
        console.print(f"Scheduled days on leave in {year}: {taken}", highlight=False)
    if found.vacation_days_left is not None:
        console.print(
            f"Vacation allowance {found.vacation_days_per_year} days a year: {found.vacation_days_left} left in {year}",
            highlight=False,
        )


# An option's value that clears what it sets
CLEARS = '"" for none'


@leave_app.command("add")
def leave_add(
    ctx: typer.Context,
    user_id: LeaveUser,
    start: Annotated[
        date, typer.Option("--from", parser=_calendar_day, help="the first day away, YYYY-MM-DD")
    ],
    kind: Annotated[LeaveKind, typer.Option(help="what kind of leave")],
    end: Annotated[
        date | None,
        typer.Option(
            "--to",
            parser=_calendar_day,
            help="the last day away (inclusive); default: the leave's it changes, else --from",
        ),
    ] = None,
    note: Annotated[
        str | None,
        typer.Option(
            help=f"for whoever reads the list (not on reports); default: the leave's it changes ({CLEARS})"
        ),
    ] = None,
) -> None:
    """Record an employee's leave, or change the one that starts on its first day (at most a year long): what
    is not given of it is kept."""
    changed = next(
        (found for found in ctx.obj.leave().of_user(user_id, start, start) if found.start == start), None
    )
    end = end or (changed.end if changed else start)
    note = (changed.note if changed else None) if note is None else (note or None)
    leave = _valid(Leave, user_id=user_id, start=start.isoformat(), end=end.isoformat(), kind=kind, note=note)
    added = _service_call(ctx, lambda: ctx.obj.leave_service().save(leave, _cli_user()))
    verb = "recorded" if added else "changed to"
    _done(ctx, f"{verb} {_leave_label(leave)}", leave.model_dump(mode="json") | {"added": added})


@leave_app.command("remove")
def leave_remove(
    ctx: typer.Context,
    user_id: LeaveUser,
    start: Annotated[
        date, typer.Argument(parser=_calendar_day, metavar="FROM", help="its first day, YYYY-MM-DD")
    ],
) -> None:
    """Remove an employee's leave: its scheduled days count again, as work or absence."""
    removed = ctx.obj.leave_service().remove(user_id, start)
    if removed is None:
        _not_found(ctx, f"no leave of {user_id} from {start}")
    _done(ctx, f"removed {_leave_label(removed)}", {"removed": True, **removed.model_dump(mode="json")})


def _leave_label(leave: Leave) -> str:
    """vacation leave for ANNA from 2025-07-28 to 2025-08-08 (or on 2025-12-03, for one day)."""
    days = f"on {leave.start}" if leave.start == leave.end else f"from {leave.start} to {leave.end}"
    return f"{leave.kind} leave for {leave.user_id} {days}"


def _leave_row(leave: LeaveEntry) -> dict[str, Any]:
    """A leave as the table shows it: the JSON is the API's."""
    return {
        "from": leave.start,
        "to": leave.end,
        "days": (leave.end - leave.start).days + 1,
        "scheduled days": leave.scheduled_days,
        "kind": leave.kind.value,
        "note": leave.note,
    }


# logs


def _show_record(ctx: typer.Context, log_id: str) -> None:
    record = ctx.obj.punches().get(log_id)
    if record is None:
        _not_found(ctx, f"no punch {log_id}")
    if ctx.obj.json:  # keys in camelCase, as the API's and every other --json output's
        print(json.dumps(_camel_keys(record.model_dump(mode="json", by_alias=True)), indent=2))
        return
    for key, value in _record_row(record).items():
        console.print(f"[bold]{key:>11}[/bold]  {_cell(value)}")
    console.print(f"[bold]{'local time':>11}[/bold]  {record.punch.local_time} ({record.punch.time_zone})")
    console.print(
        f"[bold]{'source':>11}[/bold]  {record.punch.source.value}, received {record.punch.received_at}"
    )
    for entry in record.history or []:
        console.print(f"{'':>13}{entry.get('at')}  {entry.get('status'):9} {entry.get('detail', '')}")


@logs_app.command("show")
def logs_show(ctx: typer.Context, log_id: str) -> None:
    """One punch: its record and delivery history."""
    _show_record(ctx, log_id)


@logs_app.command("void")
def logs_void(
    ctx: typer.Context,
    log_id: str,
    reason: Annotated[str, typer.Option("--reason", help='why, for its history: e.g. "a test punch"')],
    corrected_type: Annotated[
        PunchType | None,
        typer.Option("--corrected-type", help="the type it should have had: added again with it once voided"),
    ] = None,
) -> None:
    """Void a punch that should not count (a test punch, one punched twice by mistake): the worker removes
    its record from the CRM, and it leaves every report. It stays in the table with the reason in its
    history; `logs show` follows it to voided. With --corrected-type (a check-out the clock recorded as a
    check-in), the worker then adds the same punch again with that type; `logs show` tells how it went."""
    request = _valid(VoidPunch, reason=reason, correctedType=corrected_type)
    voids = ctx.obj.voids()
    accepted = _service_call(
        ctx, lambda: voids.void(log_id, request.reason, _cli_user(), request.corrected_type)
    )
    message = f"voiding {log_id} (was {accepted.previous_status}): the worker removes it from the CRM"
    if accepted.corrected_type:
        message += f", then adds it again as {accepted.corrected_type}"
    _done(ctx, message, accepted.model_dump(by_alias=True, mode="json"))


@logs_app.command("voids")
def logs_voids(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option(min=1, max=MAX_VOIDS_LISTED, help="how many, at most")] = 50,
) -> None:
    """The punches voided by an admin, latest first: who voided each and why, the type it was added again
    with (if it was of the wrong type), and how the void went."""
    voids = ctx.obj.voids().latest(limit).voids
    shown = (
        "logId",
        "userId",
        "localTime",
        "type",
        "syncStatus",
        "voidedBy",
        "reason",
        "correctedType",
        "outcome",
    )
    rows = [{name: view.model_dump(by_alias=True, mode="json")[name] for name in shown} for view in voids]
    _show(ctx, rows, "Voided punches", "No punch has been voided.")


@logs_app.command("backfill-index")
def logs_backfill_index(
    ctx: typer.Context,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="count what needs it; change nothing")] = False,
) -> None:
    """Give punches stored by an earlier release their keys in the sharded date index and the undelivered
    index, so reports, the pending sweep, the status counts and the DLQ tools see them. Resumable: run it
    again after an interruption."""
    with _progress(ctx) as progress:
        task = progress.add_task("scanning punches", total=None)
        done = ctx.obj.punches().backfill_index_keys(
            dry_run,
            lambda scanned, found: progress.update(
                task, completed=scanned, description=f"scanned {scanned:,}, {found:,} to index"
            ),
        )
    verb = "would index" if dry_run else "indexed"
    _done(ctx, f"{verb} {done} punches", {"dryRun": dry_run, "indexed": done})


@logs_app.command("stats")
def logs_stats(
    ctx: typer.Context,
    on: Annotated[
        date | None,
        typer.Option("--date", parser=_calendar_day, help="only punches of this local date, YYYY-MM-DD"),
    ] = None,
) -> None:
    """Counts by status (pending, synced, failed, abandoned) and the oldest pending punch."""
    backlog = ctx.obj.punches().backlog(on.isoformat() if on else None)
    counts, oldest = backlog.counts, backlog.oldest_pending
    payload = {
        "date": on.isoformat() if on else None,
        "counts": counts,
        "oldestPending": {"logId": oldest.punch.log_id, "receivedAt": oldest.punch.received_at.isoformat()}
        if oldest
        else None,
    }
    if ctx.obj.json:
        print(json.dumps(payload, indent=2))
        return
    _show(
        ctx,
        [{"status": status, "punches": count} for status, count in counts.items()],
        f"Punches{f' on {on}' if on else ''}",
        "No punches.",
    )
    console.print(
        f"oldest pending: {oldest.punch.log_id} received {oldest.punch.received_at}"
        if oldest
        else "nothing pending"
    )


# report


UnscheduledZone = Annotated[
    str | None,
    typer.Option(
        parser=_zone, help="zone for employees without a schedule (default: the stack's DefaultTimeZone)"
    ),
]
DepartmentOption = Annotated[
    str | None, typer.Option(help="only this department's employees, as the directory names it (any case)")
]


@report_app.command("daily")
def report_daily(
    ctx: typer.Context,
    on: Annotated[date, typer.Option("--date", parser=_calendar_day, help="YYYY-MM-DD")],
    csv: Annotated[bool, typer.Option("--csv", help="CSV for a spreadsheet")] = False,
    department: DepartmentOption = None,
    zone: UnscheduledZone = None,
) -> None:
    """Everyone's worked time, breaks, overtime, lateness and anomalies on one day, and who was expected
    (by their schedule, not a holiday) and did not come."""
    service = ctx.obj.reports(zone)
    if csv:
        sys.stdout.write(as_csv(service.daily(on, department=department)))
        return
    seen = service.attendance(on, department=department)
    if ctx.obj.json:  # the API's body: the rows, and who was absent or on leave
        print(daily_report(on, seen, None, department).model_dump_json(indent=2))
        return
    _show(
        ctx,
        [as_row(report).model_dump() for report in seen.reports],
        f"Daily report {on}",
        "No punches that day.",
    )
    if seen.absent:
        named = ", ".join(f"{absence.who.name} ({absence.user_id})" for absence in seen.absent)
        console.print(f"Absent: {named}", highlight=False)
    if seen.on_leave:
        named = ", ".join(f"{away.who.name} ({away.user_id}, {away.leave})" for away in seen.on_leave)
        console.print(f"On leave: {named}", highlight=False)


@report_app.command("timesheet")
def report_timesheet(
    ctx: typer.Context,
    user_id: str,
    start: Annotated[date, typer.Option("--from", parser=_calendar_day, help="first work day, YYYY-MM-DD")],
    end: Annotated[date, typer.Option("--to", parser=_calendar_day, help="last work day (inclusive)")],
    csv: Annotated[bool, typer.Option("--csv", help="CSV for a spreadsheet")] = False,
    zone: UnscheduledZone = None,
) -> None:
    """One employee's work days, day by day, over at most 31 days (the API's GET /reports/timesheet)."""
    _report_range(start, end, "timesheet")
    service = ctx.obj.reports(zone)
    reports = service.timesheet(user_id, start, end)
    if csv:
        sys.stdout.write(as_csv(reports))
        return
    rows = [as_row(report).model_dump() for report in reports]
    _show(ctx, rows, f"Timesheet of {user_id}, {start} to {end}", "No punches in that range.")


@report_app.command("period")
def report_period(
    ctx: typer.Context,
    start: Annotated[date, typer.Option("--from", parser=_calendar_day, help="first work day, YYYY-MM-DD")],
    end: Annotated[date, typer.Option("--to", parser=_calendar_day, help="last work day (inclusive)")],
    csv: Annotated[bool, typer.Option("--csv", help="CSV for payroll's spreadsheet")] = False,
    department: DepartmentOption = None,
    zone: UnscheduledZone = None,
) -> None:
    """Everyone's totals over a pay period of at most 31 days, one line per employee (GET /reports/period):
    work days, worked, overtime, late, left early, and the days to look at first: those with an anomaly, and
    those with a punch added by hand. Work on a holiday or a day of leave counts as on a day off: all of it
    overtime, never late or early."""
    _report_range(start, end, "pay period")
    service = ctx.obj.reports(zone)
    rows = period_rows(service.period(start, end, department), start, end)
    if csv:
        sys.stdout.write(period_csv(rows))
        return
    shown = [row.model_dump(exclude={"start", "end"}) for row in rows]
    _show(ctx, shown, f"Pay period {start} to {end}", "No punches in that period.")


def _report_range(start: date, end: date, report: str) -> None:
    try:
        check_range(start, end, report)
    except ReportRangeError as error:
        raise typer.BadParameter(str(error)) from None


@report_app.command("workday")
def report_workday(
    ctx: typer.Context,
    user_id: str,
    on: Annotated[date, typer.Option("--date", parser=_calendar_day, help="the work day, YYYY-MM-DD")],
    zone: UnscheduledZone = None,
) -> None:
    """The punches behind one employee's work day (its row in the daily report), in time order, with their
    delivery status and logIds: what `logs void` takes."""
    service = ctx.obj.reports(zone)
    punches = service.work_day_punches(user_id, on)
    rows = [punch.model_dump(by_alias=True) if ctx.obj.json else _work_day_row(punch) for punch in punches]
    _show(ctx, rows, f"Punches of {user_id}'s work day {on}", "No punches count for that day.")


def _work_day_row(punch: DayPunch) -> dict[str, Any]:
    """What the table shows of a punch; the JSON has all of it."""
    row = punch.model_dump(by_alias=True)
    row["lastError"] = _current_error(punch.sync_status, punch.last_error)
    return {key: row[key] for key in ("logId", "localTime", "type", "deviceId", "syncStatus", "lastError")}


# employees

CompanyZone = Annotated[
    str | None,
    typer.Option(
        "--zone", parser=_zone, help="the company zone, what today is (default: the stack's DefaultTimeZone)"
    ),
]


def _employee_row(view: EmployeeView, zone: str) -> dict[str, Any]:
    """A directory entry as the tables show it; absent past their last working day reads "left", and before
    their first "starting", as on the dashboard (the JSON keeps the API's status)."""
    last = view.last_punch
    return {
        "userId": view.user_id,
        "name": view.name,
        "department": view.department,
        "startedOn": view.started_on,
        "leftOn": view.left_on,
        "vacation": None
        if view.vacation_days_per_year is None
        else f"{view.vacation_days_per_year} days a year",
        "schedule": _schedule_text(view.schedule, view.next_schedule),
        "status": _status_today(view, zone),
        "lastPunch": f"{last.time} {last.type.value} on {last.device_id}" if last else None,
    }


def _status_today(view: EmployeeView, zone: str) -> str:
    now = datetime.now(UTC)
    if view.status is not PresenceStatus.ABSENT:
        return view.status.value
    if has_left(view.left_on, now, zone):
        return "left"
    if not has_started(view.started_on, now, zone):
        return "starting"
    if view.on_leave:
        return f"on leave ({view.on_leave})"
    # no punch is an absence only on a day the calendar expects them (their schedule's, not a holiday)
    return "absent" if view.expected_today else "not expected"


def _schedule_text(schedule: ScheduleView | None, ahead: ScheduleAhead | None) -> str | None:
    """As the dashboard shows it: the shift, "no work days" for a schedule without any, the default marked;
    then a change saved for later, from its day."""
    now = _shift_text(schedule)
    if ahead is None:
        return now
    return f"{now or 'none'}; from {ahead.effective_from}: {_shift_text(ahead.schedule) or 'none'}"


def _shift_text(schedule: ScheduleView | None) -> str | None:
    if schedule is None:
        return None
    label = schedule.label if schedule.days else f"no work days, {schedule.label}"
    return f"{label} (default)" if schedule.is_default else label


@employees_app.command("list")
def employees_list(ctx: typer.Context, zone: CompanyZone = None) -> None:
    """Every employee: department, schedule, and status now (in, out, on_break, absent, on leave)."""
    zone = ctx.obj.zone(zone)
    views = ctx.obj.employees(zone).directory()
    rows = [view.model_dump(mode="json") if ctx.obj.json else _employee_row(view, zone) for view in views]
    _show(ctx, rows, "Employees", "No employees.")


@employees_app.command("show")
def employees_show(ctx: typer.Context, user_id: str, zone: CompanyZone = None) -> None:
    """One employee: department, schedule, status now and the last punch."""
    zone = ctx.obj.zone(zone)
    view = ctx.obj.employees(zone).get(user_id)
    if view is None:
        _not_found(ctx, f"no employee {user_id}")
    if ctx.obj.json:
        print(view.model_dump_json(indent=2))
        return
    for key, value in _employee_row(view, zone).items():
        console.print(f"[bold]{key:>11}[/bold]  {escape(_cell(value))}", highlight=False)


def _day_or_clear(text: str) -> str:
    """A --started-on or --left-on value: YYYY-MM-DD, or "" to clear it (checked by the directory's model)."""
    if text and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        raise typer.BadParameter(f"{text!r} does not match the format YYYY-MM-DD ({CLEARS})")
    return text


def _whole_or_clear(text: str) -> str:
    """A --vacation-days value: a whole number, or "" to clear it (its range is checked by the model)."""
    if text and not re.fullmatch(r"-?\d+", text):
        raise typer.BadParameter(f"{text!r} is not a whole number ({CLEARS})")
    return text


@employees_app.command("set")
def employees_set(
    ctx: typer.Context,
    user_id: str,
    name: Annotated[str | None, typer.Option(help="full name (needed to add an employee)")] = None,
    department: Annotated[str | None, typer.Option(help=f"department ({CLEARS})")] = None,
    days: Annotated[str | None, typer.Option(help="schedule days: mon-fri, or mon,wed,fri")] = None,
    start: Annotated[str | None, typer.Option(help="schedule shift start, HH:MM")] = None,
    end: Annotated[str | None, typer.Option(help="schedule shift end, HH:MM")] = None,
    grace: Annotated[int | None, typer.Option(help="schedule grace minutes")] = None,
    zone: Annotated[str | None, typer.Option(parser=_zone, help="schedule IANA time zone")] = None,
    schedule_from: Annotated[
        date | None,
        typer.Option(
            parser=_effective_day,
            metavar="YYYY-MM-DD",
            help="the first day the schedule applies (default: today in its zone); the days before keep theirs",
        ),
    ] = None,
    started_on: Annotated[
        str | None,
        typer.Option(
            parser=_day_or_clear,
            metavar="YYYY-MM-DD",
            help=f"their first working day, YYYY-MM-DD: not counted absent before it ({CLEARS})",
        ),
    ] = None,
    left_on: Annotated[
        str | None,
        typer.Option(
            parser=_day_or_clear,
            metavar="YYYY-MM-DD",
            help=f"their last working day, YYYY-MM-DD: not counted absent after it ({CLEARS}: works here)",
        ),
    ] = None,
    vacation_days: Annotated[
        str | None,
        typer.Option(
            parser=_whole_or_clear,
            metavar="DAYS",
            help=f"their vacation allowance a year, in scheduled days, 0-366 ({CLEARS})",
        ),
    ] = None,
) -> None:
    """Add an employee, or change the fields given and keep the rest. With any schedule option, also their
    schedule, from --schedule-from on (the days before keep theirs): the options not given are kept from their
    own schedule holding on that day (without one: mon-fri, 09:00-17:00, grace 5, the stack's DefaultTimeZone)."""
    given = {
        "name": name,
        "department": department,
        "started_on": started_on,
        "left_on": left_on,
        "vacation_days_per_year": int(vacation_days) if vacation_days else vacation_days,
    }
    employee = _employee_with(ctx.obj.directory().get(user_id), user_id, given)
    schedule_given = any(option is not None for option in (days, start, end, grace, zone))
    schedule = (
        _schedule_over(ctx, user_id, schedule_from, days, start, end, grace, zone) if schedule_given else None
    )
    if schedule_from and schedule is None:
        raise typer.BadParameter("--schedule-from goes with the schedule's options (--days, --start, ...)")
    view, added = _service_call(
        ctx, lambda: ctx.obj.employees().save(employee, schedule, _cli_user(), schedule_from)
    )
    _done(
        ctx,
        f"{'added' if added else 'changed'} {user_id}: {view.name}"
        + (f" ({view.department})" if view.department else "")
        + (f", started on {view.started_on}" if view.started_on else "")
        + (f", left on {view.left_on}" if view.left_on else "")
        + (
            f", {view.vacation_days_per_year} vacation days a year"
            if view.vacation_days_per_year is not None
            else ""
        )
        + (f"; schedule {_days_label(schedule.days)} {schedule.label()}" if schedule else "")
        + (f" from {schedule_from}" if schedule_from else ""),
        {"added": added, "employee": view.model_dump(mode="json", exclude={"status", "last_punch"})},
    )


def _employee_with(before: Employee | None, user_id: str, given: dict[str, object]) -> Employee:
    """The directory entry with the options given: an option not given keeps what it was, "" clears it."""
    if before is None and not given["name"]:
        raise typer.BadParameter(f"{user_id} is not in the directory: --name is needed to add them")
    fields = before.model_dump(by_alias=False) if before else {"user_id": user_id}
    changes = {field: None if value == "" else value for field, value in given.items() if value is not None}
    try:
        return Employee.model_validate(fields | changes)
    except ValidationError as error:
        raise typer.BadParameter(describe_validation_error(error)) from None


def _schedule_over(
    ctx: typer.Context,
    user_id: str,
    since: date | None,
    days: str | None,
    start: str | None,
    end: str | None,
    grace: int | None,
    zone: str | None,
) -> Schedule:
    """The schedule the options ask for, what is not given kept from the one of `user_id` (an employee, or
    the default) holding on the day it applies from (not given: today in the company's zone), not from their
    latest, which may be a change saved for later; without one: mon-fri, 09:00-17:00, grace 5, DefaultTimeZone."""
    day = since or _now().astimezone(parse_zone(ctx.obj.zone())).date()
    held = ctx.obj.schedules().history(user_id).on(day) or Schedule(time_zone=ctx.obj.zone())
    return _schedule(
        days or (_days_label(held.days) if held.days else "mon-fri"),
        start or f"{held.start:%H:%M}",
        end or f"{held.end:%H:%M}",
        held.grace_minutes if grace is None else grace,
        zone or held.time_zone,
    )


@employees_app.command("import")
def employees_import(
    ctx: typer.Context,
    file: Annotated[
        Path,
        typer.Argument(
            exists=True,
            dir_okay=False,
            help="CSV with a header row: userId,name[,department][,startedOn][,leftOn][,vacationDaysPerYear]",
        ),
    ],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="show what would change, change nothing")
    ] = False,
) -> None:
    """Add and update employees from CSV (a spreadsheet's CSV export works): every row, or none."""
    try:
        plan = ctx.obj.employees().import_file(file.read_bytes(), dry_run, _cli_user())
    except ImportRejected as rejected:
        problems = [{"line": problem.line, "problem": problem.problem} for problem in rejected.problems]
        if ctx.obj.json:
            print(json.dumps({"imported": False, "problems": problems}, indent=2))
        for problem in rejected.problems:
            typer.echo(str(problem), err=True)
        typer.echo("nothing was imported", err=True)
        raise typer.Exit(2) from None
    _import_summary(ctx, plan, dry_run)


@employees_app.command("export")
def employees_export(ctx: typer.Context) -> None:
    """The directory as CSV on stdout (userId,name,department,startedOn,leftOn,vacationDaysPerYear): edit it in
    a spreadsheet and import it back with `employees import`."""
    sys.stdout.write(ctx.obj.employees().export_file())


def _import_summary(ctx: typer.Context, plan: ImportPlan, dry_run: bool) -> None:
    counts = {"added": len(plan.added), "changed": len(plan.changed), "unchanged": len(plan.unchanged)}
    if ctx.obj.json:
        payload = {
            "dryRun": dry_run,
            **counts,
            "addedIds": [employee.user_id for employee in plan.added],
            "changedIds": [change.after.user_id for change in plan.changed],
        }
        print(json.dumps(payload, indent=2))
        return
    headline = ", ".join(f"{what}: {count}" for what, count in counts.items())
    console.print(("dry run, nothing changed; would be " if dry_run else "") + headline, highlight=False)
    for employee in plan.added:
        console.print(f"  + {employee.user_id}  {employee.name}  {employee.department or ''}", markup=False)
    for change in plan.changed:
        console.print(f"  ~ {change.after.user_id}  {_differences(change)}", markup=False)


def _differences(change: Change) -> str:
    """'department: Sales -> Ops; leftOn: - -> 2026-11-30', in the file's column names."""
    return "; ".join(
        f"{column}: {before or '-'} -> {after or '-'}"
        for column, (before, after) in change.differences().items()
    )


# live feed


@app.command("watch")
def watch(
    ctx: typer.Context,
    device: Annotated[
        list[str] | None, typer.Option(metavar="ID", help="this device's events (repeatable)")
    ] = None,
    user: Annotated[
        list[str] | None, typer.Option(metavar="ID", help="this employee's punches (repeatable)")
    ] = None,
    deliveries: Annotated[
        bool,
        typer.Option(
            "--deliveries", help="failed, dead-lettered and abandoned deliveries, and voids the CRM refused"
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="each event as received, one a line")] = False,
    api_url: Annotated[
        str | None, typer.Option(envvar="ATTENDANCE_API_URL", help="the HTTP API (default: the stack's)")
    ] = None,
    api_key: Annotated[
        str | None,
        typer.Option(envvar="ATTENDANCE_API_KEY", help="read or admin scope (local stack: its own key)"),
    ] = None,
) -> None:
    """Follow the live feed: punches accepted, delivered, failed, and device states (Ctrl-C ends it)."""
    local = ctx.obj.local or not ctx.obj.stack_name
    access = feed_access(api_url, api_key, local, lambda: ctx.obj.target.api_url)
    rooms = feed_rooms(device or [], user or [], deliveries)
    raise typer.Exit(watch_feed(access, rooms, as_json or ctx.obj.json))


def _cli_user() -> str:
    """Who made a change from the CLI, for the directory's changedBy."""
    try:
        return f"cli:{getpass.getuser()}"
    except OSError:
        return "cli"


if __name__ == "__main__":
    run()
