"""attendance: inspect and operate an attendance-sync stack (the local one, or a deployed one).

Exit codes: 0 done; 1 not found or nothing to do; 2 wrong usage; 3 the stack or AWS could not be reached.
"""

import json
import sys
from dataclasses import dataclass
from datetime import date, time
from functools import cached_property
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from admin_cli.target import Target, TargetError, local_target, stack_target
from attendance.data.api_keys import ApiKeyStore
from attendance.data.aws import StoreUnavailable
from attendance.data.dead_letters import DeadLetterQueue
from attendance.data.devices import DeviceStore
from attendance.data.punches import PunchStore
from attendance.data.schedules import ScheduleStore
from attendance.domain.devices import Device, DeviceKind
from attendance.domain.keys import Scope
from attendance.domain.punch import PunchType
from attendance.domain.records import PunchRecord
from attendance.domain.timesheet import DEFAULT_SCHEDULE_ID, Schedule
from attendance.reports.render import as_csv, as_row
from attendance.reports.service import ReportService

EXIT_NOT_FOUND, EXIT_UNREACHABLE = 1, 3
WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]

app = typer.Typer(help=__doc__, no_args_is_help=True, pretty_exceptions_enable=False)
dlq_app = typer.Typer(help="The dead-letter queue: punches the CRM did not take.", no_args_is_help=True)
keys_app = typer.Typer(help="API keys for devices, webhooks and reports.", no_args_is_help=True)
devices_app = typer.Typer(help="The device registry (ADMS and Hikvision push).", no_args_is_help=True)
schedules_app = typer.Typer(help="Work schedules for the reports.", no_args_is_help=True)
logs_app = typer.Typer(help="Stored punches and their delivery.", no_args_is_help=True)
report_app = typer.Typer(help="Timesheet reports.", no_args_is_help=True)
for sub, name in (
    (dlq_app, "dlq"),
    (keys_app, "keys"),
    (devices_app, "devices"),
    (schedules_app, "schedules"),
    (logs_app, "logs"),
    (report_app, "report"),
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

    def keys(self) -> ApiKeyStore:
        return ApiKeyStore(self.dynamodb, self.target.api_keys_table)

    def devices(self) -> DeviceStore:
        return DeviceStore(self.dynamodb, self.target.devices_table)

    def schedules(self) -> ScheduleStore:
        return ScheduleStore(self.dynamodb, self.target.schedules_table)


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
    """The console script: AWS and stack problems become a message and exit code 3, not a traceback."""
    try:
        app()
    except (TargetError, StoreUnavailable) as error:
        Console(stderr=True).print(f"[red]error:[/red] {error}")
        sys.exit(EXIT_UNREACHABLE)


def _show(ctx: typer.Context, rows: list[dict[str, Any]], title: str, empty: str) -> None:
    if ctx.obj.json:
        print(json.dumps(rows, indent=2, default=str))
        return
    if not rows:
        console.print(empty)
        return
    table = Table(title=title)
    for column in rows[0]:
        table.add_column(column, overflow="fold")  # IDs wrap rather than lose characters
    for row in rows:
        table.add_row(*(_cell(value) for value in row.values()))
    console.print(table)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple | set | frozenset):
        return ", ".join(str(item) for item in value)
    return str(value)


def _record_row(record: PunchRecord) -> dict[str, Any]:
    punch = record.punch
    return {
        "logId": punch.log_id,
        "user": punch.user_id,
        "device": punch.device_id,
        "punch time": punch.timestamp_with_offset,
        "type": punch.type.value,
        "status": record.status.value,
        "attempts": record.attempts,
        "last error": record.last_error,
    }


def _done(ctx: typer.Context, message: str, payload: dict[str, Any]) -> None:
    if ctx.obj.json:
        print(json.dumps(payload, indent=2, default=str))
    else:
        console.print(message)


# dlq


@dlq_app.command("list")
def dlq_list(ctx: typer.Context) -> None:
    """Every dead-lettered punch: logId, user, device, punch time, attempts, last error, when it died."""
    store = ctx.obj.punches()
    rows = []
    for letter in ctx.obj.dead_letters().peek():
        record = store.get(letter.log_id)
        row = _record_row(record) if record else {"logId": letter.log_id, "status": "not in the table"}
        row["died"] = _died(record) if record else None
        rows.append(row)
    _show(ctx, rows, "Dead-lettered punches", "The dead-letter queue is empty.")


def _died(record: PunchRecord) -> str | None:
    final = [entry for entry in (record.history or []) if entry.get("status") == "failed"]
    return final[-1]["at"] if final else None


@dlq_app.command("show")
def dlq_show(ctx: typer.Context, log_id: str) -> None:
    """The full record of a punch and its delivery history."""
    _show_record(ctx, log_id)


@dlq_app.command("redrive")
def dlq_redrive(
    ctx: typer.Context,
    log_ids: Annotated[list[str] | None, typer.Argument(help="logIds to redrive")] = None,
    all_: Annotated[bool, typer.Option("--all", help="redrive every dead-lettered punch")] = False,
) -> None:
    """Back to the punch queue with status pending: the CRM gets each once more."""
    if bool(log_ids) == all_:
        raise typer.BadParameter("give logIds or --all (not both)")
    with Progress(console=console, transient=True, disable=ctx.obj.json) as progress:
        task = progress.add_task("redriving", total=None)
        done = ctx.obj.dead_letters().redrive(
            None if all_ else set(log_ids or []), lambda n: progress.update(task, completed=n)
        )
    missing = sorted(set(log_ids or []) - set(done))
    _done(
        ctx,
        f"redriven: {len(done)}" + (f"; not in the DLQ: {', '.join(missing)}" if missing else ""),
        {"redriven": done, "notInDlq": missing},
    )
    if missing or not done:
        raise typer.Exit(EXIT_NOT_FOUND)


@dlq_app.command("purge")
def dlq_purge(ctx: typer.Context, yes: Annotated[bool, typer.Option("--yes", help="really")] = False) -> None:
    """Empty the DLQ; its punches are marked abandoned (kept in the table)."""
    if not yes:
        raise typer.BadParameter("purging abandons every dead-lettered punch: add --yes")
    with Progress(console=console, transient=True, disable=ctx.obj.json) as progress:
        task = progress.add_task("purging", total=None)
        done = ctx.obj.dead_letters().purge(lambda n: progress.update(task, completed=n))
    _done(ctx, f"purged: {len(done)} punches marked abandoned", {"abandoned": done})


# keys


@keys_app.command("create")
def keys_create(
    ctx: typer.Context,
    name: Annotated[str, typer.Option(help="who or what uses the key")],
    devices: Annotated[str | None, typer.Option(help="limit to these device IDs, comma-separated")] = None,
    scope: Annotated[list[Scope] | None, typer.Option(help="ingest (default), reports, read (devices, employees, presence) and/or admin")] = None,
) -> None:
    """A new API key, printed once."""
    limited = frozenset(d.strip() for d in devices.split(",") if d.strip()) if devices else None
    raw, key = ctx.obj.keys().create(name, frozenset(scope or [Scope.INGEST]), limited)
    _done(
        ctx,
        f"key {key.key_id} for {name!r} (shown once, store it now):\n{raw}",
        {"keyId": key.key_id, "key": raw, "scopes": sorted(key.scopes), "devices": sorted(limited or [])},
    )


@keys_app.command("list")
def keys_list(ctx: typer.Context) -> None:
    """Every key (never the key itself)."""
    rows = [
        {
            "keyId": k.key_id,
            "name": k.name,
            "scopes": sorted(k.scopes),
            "devices": sorted(k.devices) if k.devices is not None else "any",
            "revoked": k.revoked,
            "created": k.created_at.isoformat(timespec="seconds"),
        }
        for k in ctx.obj.keys().list()
    ]
    _show(ctx, rows, "API keys", "No API keys.")


@keys_app.command("revoke")
def keys_revoke(ctx: typer.Context, key_id: str) -> None:
    """Revoke a key; it stops working on the next request."""
    if not ctx.obj.keys().revoke(key_id):
        _done(ctx, f"no key {key_id}", {"revoked": False})
        raise typer.Exit(EXIT_NOT_FOUND)
    _done(ctx, f"revoked {key_id}", {"revoked": True, "keyId": key_id})


# devices


@devices_app.command("add")
def devices_add(
    ctx: typer.Context,
    device_id: Annotated[str, typer.Option("--id", help="the deviceId its punches carry")],
    kind: Annotated[DeviceKind, typer.Option(help="zkteco or hikvision")],
    zone: Annotated[str, typer.Option(help="IANA time zone of the device's clock")],
    serial: Annotated[
        str | None, typer.Option(help="serial number (ZKTeco ADMS identifies devices by it)")
    ] = None,
    default_type: Annotated[PunchType, typer.Option(help="type for punches without a state")] = PunchType.IN,
) -> None:
    """Register a device; a Hikvision terminal gets its push URL (shown once)."""
    if kind is DeviceKind.ZKTECO and not serial:
        raise typer.BadParameter("a ZKTeco device needs --serial")
    device = Device(device_id=device_id, kind=kind, serial=serial, time_zone=zone, default_type=default_type)
    if kind is DeviceKind.HIKVISION:
        token, _ = ctx.obj.devices().register_hikvision(device)
        url = f"{ctx.obj.target.api_url}/hikvision/events/{token}"
        _done(
            ctx,
            f"registered {device_id}; push URL (shown once):\n{url}",
            {"deviceId": device_id, "pushUrl": url},
        )
        return
    ctx.obj.devices().put(device)
    _done(ctx, f"registered {device_id} (ADMS serial {serial})", {"deviceId": device_id, "serial": serial})


@devices_app.command("list")
def devices_list(ctx: typer.Context) -> None:
    """Every registered device."""
    rows = [
        {
            "id": d.device_id,
            "kind": d.kind.value,
            "serial": d.serial,
            "zone": d.time_zone,
            "enabled": d.enabled,
            "push token": "set" if d.push_token_hash else "",
            "default type": d.default_type.value,
        }
        for d in ctx.obj.devices().list()
    ]
    _show(ctx, rows, "Devices", "No devices registered.")


@devices_app.command("disable")
def devices_disable(ctx: typer.Context, device_id: str) -> None:
    """Refuse the device's punches from now on."""
    store = ctx.obj.devices()
    device = store.get(device_id)
    if device is None:
        _done(ctx, f"no device {device_id}", {"disabled": False})
        raise typer.Exit(EXIT_NOT_FOUND)
    store.put(device.model_copy(update={"enabled": False}))
    _done(ctx, f"disabled {device_id}", {"disabled": True, "deviceId": device_id})


# schedules


@schedules_app.command("set")
def schedules_set(
    ctx: typer.Context,
    user: Annotated[str | None, typer.Argument(help="employee (userId); omit with --default")] = None,
    default: Annotated[bool, typer.Option("--default", help="the schedule of everyone without one")] = False,
    days: Annotated[str, typer.Option(help="mon-fri, or a list such as mon,wed,fri")] = "mon-fri",
    start: Annotated[str, typer.Option(help="shift start, HH:MM")] = "09:00",
    end: Annotated[str, typer.Option(help="shift end, HH:MM (before start: crosses midnight)")] = "17:00",
    grace: Annotated[int, typer.Option(help="grace minutes for late and early")] = 5,
    zone: Annotated[str, typer.Option(help="IANA time zone")] = "UTC",
) -> None:
    """Set an employee's schedule, or the default one."""
    if bool(user) == default:
        raise typer.BadParameter("give a userId or --default")
    try:
        schedule = Schedule(
            days=_days(days),
            start=time.fromisoformat(start),
            end=time.fromisoformat(end),
            grace_minutes=grace,
            time_zone=zone,
        )
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None
    ctx.obj.schedules().put(user or DEFAULT_SCHEDULE_ID, schedule)
    _done(
        ctx,
        f"{user or 'default'}: {_days_label(schedule.days)} {schedule.label()}, grace {grace} min",
        {"userId": user or DEFAULT_SCHEDULE_ID, "schedule": schedule.model_dump(mode="json")},
    )


def _days(text: str) -> frozenset[int]:
    chosen: set[int] = set()
    for part in text.lower().split(","):
        first, _, last = part.strip().partition("-")
        if first not in WEEKDAYS or (last and last not in WEEKDAYS):
            raise ValueError(f"days: use {', '.join(WEEKDAYS)} and ranges such as mon-fri")
        chosen.update(range(WEEKDAYS.index(first), WEEKDAYS.index(last or first) + 1))
    return frozenset(chosen)


def _days_label(days: frozenset[int]) -> str:
    return ",".join(WEEKDAYS[day] for day in sorted(days))


@schedules_app.command("list")
def schedules_list(ctx: typer.Context) -> None:
    """Every schedule."""
    rows = [
        {
            "user": "(default)" if user == DEFAULT_SCHEDULE_ID else user,
            "days": _days_label(s.days),
            "shift": f"{s.start:%H:%M}-{s.end:%H:%M}",
            "grace": s.grace_minutes,
            "zone": s.time_zone,
        }
        for user, s in sorted(ctx.obj.schedules().all().items())
    ]
    _show(ctx, rows, "Schedules", "No schedules.")


# logs


def _show_record(ctx: typer.Context, log_id: str) -> None:
    record = ctx.obj.punches().get(log_id)
    if record is None:
        _done(ctx, f"no punch {log_id}", {"found": False})
        raise typer.Exit(EXIT_NOT_FOUND)
    data = record.model_dump(mode="json")
    if ctx.obj.json:
        print(json.dumps(data, indent=2))
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


@logs_app.command("stats")
def logs_stats(
    ctx: typer.Context,
    on: Annotated[
        str | None, typer.Option("--date", help="only punches of this local date, YYYY-MM-DD")
    ] = None,
) -> None:
    """Counts by status (pending, synced, failed, abandoned) and the oldest pending punch."""
    store = ctx.obj.punches()
    counts = store.count_on_date(date.fromisoformat(on).isoformat()) if on else store.count_by_status()
    oldest = store.oldest_pending()
    payload = {
        "date": on,
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
        f"Punches{' on ' + on if on else ''}",
        "No punches.",
    )
    console.print(
        f"oldest pending: {oldest.punch.log_id} received {oldest.punch.received_at}"
        if oldest
        else "nothing pending"
    )


# report


@report_app.command("daily")
def report_daily(
    ctx: typer.Context,
    on: Annotated[str, typer.Option("--date", help="YYYY-MM-DD")],
    csv: Annotated[bool, typer.Option("--csv", help="CSV for a spreadsheet")] = False,
    zone: Annotated[str, typer.Option(help="zone for employees without a schedule")] = "UTC",
) -> None:
    """Everyone's worked time, breaks, overtime, lateness and anomalies on one day."""
    service = ReportService(ctx.obj.punches(), ctx.obj.schedules(), zone)
    reports = service.daily(date.fromisoformat(on))
    if csv:
        sys.stdout.write(as_csv(reports).removeprefix("\ufeff"))
        return
    _show(
        ctx, [as_row(report).model_dump() for report in reports], f"Daily report {on}", "No punches that day."
    )


if __name__ == "__main__":
    run()
