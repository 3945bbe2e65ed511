"""The employees API's request and reply models (JSON in camelCase), and how a schedule is written."""

from datetime import date, time
from typing import Annotated, Literal

from annotated_types import Ge, Le
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, Strict, StringConstraints
from pydantic.alias_generators import to_camel

from attendance.domain.clock import CalendarDate, IsoDate, parse_zone
from attendance.domain.employees import Employee, PersonName, VacationDays
from attendance.domain.holidays import Holiday, HolidayName
from attendance.domain.leave import Leave, LeaveKind, LeaveNote
from attendance.domain.presence import PresenceStatus
from attendance.domain.punch import Punch, PunchType, _whole_number
from attendance.domain.schedule_history import ScheduleHistory, ScheduleVersion
from attendance.domain.timesheet import Schedule, check_shift

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
ClockTime = Annotated[str, StringConstraints(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")]
# Which names exist is checked against the zone database (422 invalid_time_zone), not by the schema.
ZoneText = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_+/:-]+$")]
GraceMinutes = Annotated[int, Strict(), Ge(0), Le(240), BeforeValidator(_whole_number)]


STARTED_ON = (
    "Their first working day (YYYY-MM-DD, in the company's zone): before it, they are not expected at work, "
    "so not counted absent"
)
VACATION_DAYS = (
    "Their vacation allowance a year, in scheduled days (the days a vacation takes: its days on their schedule, "
    "less the company's holidays)"
)
LEFT_ON = (
    "Their last working day (YYYY-MM-DD, in the company's zone): from the day after, they are no longer "
    "expected at work, so not counted absent; their punches and names stay in the reports"
)


class _Camel(BaseModel):
    # Built when a request first uses one: most requests use a few of these models
    model_config = ConfigDict(
        alias_generator=to_camel,
        serialize_by_alias=True,
        validate_by_name=True,
        frozen=True,
        defer_build=True,
    )


class ScheduleFields(_Camel):
    """A work schedule as the reports use it: weekdays, shift start and end, grace, zone."""

    model_config = ConfigDict(extra="forbid")

    days: list[Weekday] = Field(min_length=1, max_length=7, description="Work days, e.g. mon, tue, wed")
    start: ClockTime = Field(description="Shift start, HH:MM local time")
    end: ClockTime = Field(
        description="Shift end, HH:MM; before start: the shift crosses midnight; never equal to it"
    )
    grace_minutes: GraceMinutes = Field(default=5, description="Minutes late or early before it counts")
    time_zone: ZoneText = Field(description="IANA zone (Europe/Berlin) or fixed offset (+05:30)")

    def to_schedule(self) -> Schedule:
        """The schedule; InvalidTime when its zone is unknown, EmptyShift when it starts when it ends."""
        parse_zone(self.time_zone)
        check_shift(time.fromisoformat(self.start), time.fromisoformat(self.end))
        return Schedule(
            days=frozenset(WEEKDAYS.index(day) for day in self.days),
            start=time.fromisoformat(self.start),
            end=time.fromisoformat(self.end),
            grace_minutes=self.grace_minutes,
            time_zone=self.time_zone,
        )


EFFECTIVE_FROM = (
    "The first day it applies (YYYY-MM-DD, 2000-2100); omitted or null: today in the schedule's zone. The "
    "days before keep the schedule that held on them; a day before a later change replaces what held from it on"
)


class ScheduleChange(ScheduleFields):
    """A schedule as a PUT gives it: from a day on."""

    effective_from: CalendarDate | None = Field(default=None, description=EFFECTIVE_FROM)


class StoredSchedule(ScheduleFields):
    # What is stored, as stored: a schedule saved before a work day was required has none, and is shown
    # so (no day expected) rather than failing every read of the directory.
    days: list[Weekday] = Field(max_length=7, description="Work days; empty: no day is a work day")
    label: str = Field(description="As the reports show it, e.g. 09:00-17:00 Europe/Berlin")

    @classmethod
    def fields_of(cls, schedule: Schedule) -> dict[str, object]:
        return {
            "days": [WEEKDAYS[day] for day in sorted(schedule.days)],
            "start": f"{schedule.start:%H:%M}",
            "end": f"{schedule.end:%H:%M}",
            "grace_minutes": schedule.grace_minutes,
            "time_zone": schedule.time_zone,
            "label": schedule.label(),
        }


class ScheduleView(StoredSchedule):
    is_default: bool = Field(description="true: the employee has none of their own; this is the default")
    effective_from: date | None = Field(
        description="The first day it holds for them (their own, or the default for them); null: since always"
    )

    @classmethod
    def of(cls, version: ScheduleVersion, is_default: bool) -> "ScheduleView | None":
        """The version's schedule; None for a version of none at all (no own schedule, no default)."""
        if version.schedule is None:
            return None
        fields = cls.fields_of(version.schedule)
        return cls.model_validate(fields | {"is_default": is_default, "effective_from": version.since})


class ScheduleAhead(_Camel):
    """A schedule change already saved for a day after the employee's current work day."""

    effective_from: date = Field(description="The first work day it holds")
    schedule: ScheduleView | None = Field(
        description="What holds from then, their own or the default (`isDefault`); null: no schedule at all"
    )

    @classmethod
    def of(cls, version: ScheduleVersion, is_default: bool) -> "ScheduleAhead":
        assert version.since is not None, "a version after another always has a first day"
        return cls(effective_from=version.since, schedule=ScheduleView.of(version, is_default))


class ScheduleVersionView(_Camel):
    schedule: StoredSchedule | None = Field(
        description="null: none of their own then (removed): the default schedule applied"
    )
    effective_from: date | None = Field(
        description="The first day it applied; null: since always (saved before schedules kept a history)"
    )
    until: date | None = Field(default=None, description="The last day it applied; null: it still does")

    @classmethod
    def of(cls, version: ScheduleVersion, until: date | None = None) -> "ScheduleVersionView":
        stored = (
            StoredSchedule.model_validate(StoredSchedule.fields_of(version.schedule))
            if version.schedule
            else None
        )
        return cls(schedule=stored, effective_from=version.since, until=until)


class _ScheduleVersions(_Camel):
    """A schedule now and before: the latest version, from when, and the earlier ones."""

    effective_from: date | None = Field(description="The latest version's first day; null: since always")
    history: list[ScheduleVersionView] = Field(
        description="The earlier versions, latest first, each with the last day it applied (`until`)"
    )

    @staticmethod
    def fields_of(history: ScheduleHistory) -> dict[str, object]:
        latest = ScheduleVersionView.of(history.latest) if history.latest else None
        return {
            "schedule": latest.schedule if latest else None,
            "effective_from": latest.effective_from if latest else None,
            "history": [ScheduleVersionView.of(version, until) for version, until in history.earlier()],
        }


class ScheduleHistoryView(_ScheduleVersions):
    """GET /employees/{userId}/schedule: their own schedule now and before."""

    user_id: str
    schedule: StoredSchedule | None = Field(
        description="The latest version (it may start after today); null: none of their own from effectiveFrom"
    )

    @classmethod
    def of(cls, user_id: str, history: ScheduleHistory) -> "ScheduleHistoryView":
        return cls.model_validate(cls.fields_of(history) | {"user_id": user_id})


class DefaultScheduleView(_ScheduleVersions):
    """GET /default-schedule: the company's default schedule, for whoever has none of their own, now and before."""

    schedule: StoredSchedule | None = Field(
        description="The latest version (it may start after today); null: no default from effectiveFrom (removed)"
    )

    @classmethod
    def of(cls, history: ScheduleHistory) -> "DefaultScheduleView":
        return cls.model_validate(cls.fields_of(history))


class EmployeeUpdate(_Camel):
    """PUT /employees/{userId}: the directory entry, and optionally the schedule."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "Anna Berg",
                    "department": "Sales",
                    "schedule": {
                        "days": ["mon", "tue", "wed", "thu", "fri"],
                        "start": "09:00",
                        "end": "17:00",
                        "graceMinutes": 5,
                        "timeZone": "Europe/Berlin",
                    },
                }
            ]
        },
    )

    name: PersonName
    department: PersonName | None = Field(default=None, description="Omitted or null: none")
    started_on: IsoDate | None = Field(default=None, description=STARTED_ON + "; omitted or null: not known")
    left_on: IsoDate | None = Field(default=None, description=LEFT_ON + "; omitted or null: they work here")
    vacation_days_per_year: VacationDays | None = Field(
        default=None, description=VACATION_DAYS + "; omitted or null: none recorded"
    )
    schedule: ScheduleChange | None = Field(
        default=None,
        description="The employee's own schedule for reports, from `effectiveFrom` on; omitted or null: kept as "
        "it is",
    )


class LastPunch(_Camel):
    time: str = Field(description="ISO 8601 with the offset of the punch's zone")
    type: PunchType
    device_id: str

    @classmethod
    def of(cls, punch: Punch) -> "LastPunch":
        return cls(time=punch.timestamp_with_offset, type=punch.type, device_id=punch.device_id)


class EmployeeView(_Camel):
    user_id: str
    name: str
    department: str | None
    started_on: date | None = Field(description=STARTED_ON + "; null: not known")
    left_on: date | None = Field(description=LEFT_ON + "; null: they work here")
    vacation_days_per_year: int | None = Field(description=VACATION_DAYS + "; null: none recorded")
    schedule: ScheduleView | None = Field(
        description="The schedule the reports use in their current work day; null: none at all"
    )
    next_schedule: ScheduleAhead | None = Field(
        default=None,
        description="The next change already saved (their own schedule's or the default's), from a later work "
        "day; null: none saved",
    )
    status: PresenceStatus = Field(description="Now, from the last punch of the current work day")
    last_punch: LastPunch | None = Field(description="The punch that decided the status; null when absent")
    on_leave: LeaveKind | None = Field(
        default=None, description="The kind of their leave today (in the company zone); null: not on leave"
    )
    expected_today: bool = Field(
        default=False,
        description="Whether the calendar expects them at work in their current work day: a day of their "
        "schedule (own or default), not a holiday, while they work here; leave aside. Only then is `absent` "
        "an absence; false without a schedule",
    )


class EmployeeList(_Camel):
    count: int
    employees: list[EmployeeView]


class EmployeeNames(_Camel):
    """GET /employee-names: the directory's names of the IDs asked for, and the IDs it does not have."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"names": {"EMP001": "Anna Berg", "EMP002": "Ben Okafor"}, "notInDirectory": ["9"]}]
        }
    )

    names: dict[str, str] = Field(
        description="userId -> name, for each ID asked for that is in the directory"
    )
    not_in_directory: list[str] = Field(
        description="The IDs asked for that the directory does not have, sorted"
    )


class PresentEmployee(_Camel):
    user_id: str
    name: str | None = Field(description="null: the userId punches but is not in the directory")
    department: str | None
    last_punch: LastPunch


class PresenceCounts(_Camel):
    present: int = Field(alias="in")
    on_break: int
    out: int
    absent: int = Field(
        description="In the directory, working here (no `leftOn` before today), expected at work today by their "
        "schedule (`expectedToday`), not on leave today, and no punch in the current work day"
    )
    on_leave: int = Field(description="The same, but on leave today: away with the company's knowledge")


class PresenceReport(_Camel):
    at: str = Field(description="When the status was taken, ISO 8601 in the company zone")
    time_zone: str = Field(description="The company zone (DefaultTimeZone)")
    counts: PresenceCounts
    present: list[PresentEmployee] = Field(alias="in")
    on_break: list[PresentEmployee]
    out: list[PresentEmployee]


class FieldChange(_Camel):
    before: str | int | None
    after: str | int | None


class ImportedChange(_Camel):
    user_id: str
    fields: dict[str, FieldChange] = Field(description="Each field that changes, by its column name")


class ImportResult(_Camel):
    dry_run: bool = Field(description="true: nothing was written; this is what the import would do")
    added: int
    changed: int
    unchanged: int
    added_employees: list[Employee] = Field(description="Those not in the directory before")
    changes: list[ImportedChange] = Field(description="Those in it whose name, department or leftOn changes")


class HolidayUpdate(_Camel):
    """PUT /holidays/{date}: the holiday's name."""

    model_config = ConfigDict(extra="forbid")

    name: HolidayName = Field(description="What it is, as people will read it (New Year's Day, ...)")


class HolidayList(_Camel):
    year: int
    count: int
    holidays: list[Holiday] = Field(description="In date order")


class LeaveUpdate(_Camel):
    """PUT /employees/{userId}/leave/{from}: the leave's last day, kind and note."""

    model_config = ConfigDict(extra="forbid")

    end: IsoDate = Field(
        alias="to", description="The last day away (inclusive), YYYY-MM-DD; at most a year on"
    )
    kind: LeaveKind
    note: LeaveNote | None = Field(default=None, description="For whoever reads the list; not on any report")


class LeaveEntry(Leave):
    scheduled_days: int | None = Field(
        alias="scheduledDays",
        description="The days of it their schedule (or the default) expected them, while employed, less the "
        "company's holidays: what it takes of an allowance; null without a schedule",
    )


class LeaveList(_Camel):
    user_id: str
    year: int
    count: int
    leave: list[LeaveEntry] = Field(description="The leaves with a day in the year, by first day")
    scheduled_days: dict[LeaveKind, int] | None = Field(
        description="The scheduled days on leave within the year, by kind (every kind); null without a schedule"
    )
    vacation_days_per_year: int | None = Field(
        description="Their vacation allowance a year, as the directory has it; null: none recorded"
    )
    vacation_days_left: int | None = Field(
        description="The allowance less the year's scheduled days on vacation (booked ahead included; below 0 "
        "when over it); null without an allowance or a schedule"
    )
