"""The scheduled daily export: yesterday's CSV in the bucket, idempotently."""

import csv
import importlib
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import boto3
import pytest

from attendance.data.employees import EmployeeStore
from attendance.domain.clock import parse_zone
from attendance.domain.employees import Employee
from attendance.domain.timesheet import Schedule
from functions.reports import export
from local_stack.events import LambdaContext
from tests.integration.permissions import calls_made, refused

BERLIN = "Europe/Berlin"


def run_export(use_function_env, event: dict, zone: str = "Europe/Berlin") -> dict:
    use_function_env("DailyExportFunction", DEFAULT_TIME_ZONE=zone)
    importlib.reload(export)
    return export.lambda_handler(event, LambdaContext("daily_export"))


def test_yesterday_is_exported_once_whatever_the_runs(use_function_env, add_punch, stack, template):
    # Given no schedules: work days are calendar days in the default zone, so yesterday is over
    yesterday = (datetime.now(ZoneInfo("Europe/Berlin")) - timedelta(days=1)).date()
    EmployeeStore(boto3.client("dynamodb"), stack.refs["EmployeesTable"]).put(
        Employee(user_id="ANNA", name="Anna Berg")
    )
    add_punch("ANNA", f"{yesterday}T09:00:00", "in")
    add_punch("ANNA", f"{yesterday}T17:00:00", "out")
    with calls_made() as calls:
        first = run_export(use_function_env, {"source": "aws.scheduler"})
    assert refused(template, "DailyExportFunction", stack, calls) == []  # names read as the role allows
    assert first["key"] == f"daily/{yesterday}.csv"
    assert first["rows"] == 1
    s3 = boto3.client("s3")
    bucket = stack.refs["ReportsBucket"]
    body = s3.get_object(Bucket=bucket, Key=first["key"])["Body"].read()
    assert (
        body.decode("utf-8-sig")
        .splitlines()[1]
        .startswith(f"{yesterday},ANNA,Anna Berg,{yesterday}T09:00:00,")
    )
    again = run_export(use_function_env, {"source": "aws.scheduler"})
    assert again == first
    assert s3.get_object(Bucket=bucket, Key=first["key"])["Body"].read() == body
    # the day before is written again by each run, so that a schedule changed meanwhile skips no day
    assert first["earlier"]["key"] == f"daily/{yesterday - timedelta(days=1)}.csv"
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == [
        first["earlier"]["key"],
        first["key"],
    ]


def test_a_night_shift_still_going_holds_its_day_back_until_it_is_over(
    use_function_env, add_punch, stack, template, schedules
):
    # Given a night shift, 22:00-06:00 in Berlin, whose work day ends at 14:00 the next day (halfway through
    # its hours off), and its worker in at 22:00 two nights ago and yesterday, out at 06:00 after the first
    schedules.put("NIGHT", Schedule(days=frozenset(range(7)), start=time(22), end=time(6), time_zone=BERLIN))
    now = datetime.now(ZoneInfo(BERLIN))
    yesterday = now.date() - timedelta(days=1)
    for day, local, kind in [(-2, "22:00", "in"), (-1, "06:00", "out"), (-1, "22:00", "in")]:
        add_punch("NIGHT", f"{now.date() + timedelta(days=day)}T{local}:00", kind)
    # When the scheduled run comes
    with calls_made() as calls:
        result = run_export(use_function_env, {"source": "aws.scheduler"})
    assert refused(template, "DailyExportFunction", stack, calls) == []  # every schedule read as allowed
    # Then before 14:00 yesterday's night is still going and the day before it is the last exported, whole;
    # from 14:00 yesterday is over too
    last = yesterday if now.time() >= time(14) else yesterday - timedelta(days=1)
    assert result["key"] == f"daily/{last}.csv"
    exported = csv_rows(stack, result["key"])
    if last == yesterday - timedelta(days=1):
        assert [(row["userId"], row["workedMinutes"]) for row in exported] == [("NIGHT", "480")]
    else:  # yesterday's night has no out yet
        assert [(row["userId"], row["anomalies"]) for row in exported] == [("NIGHT", "missing out")]


def csv_rows(stack, key: str) -> list[dict[str, str]]:
    body = boto3.client("s3").get_object(Bucket=stack.refs["ReportsBucket"], Key=key)["Body"].read()
    return list(csv.DictReader(body.decode("utf-8-sig").splitlines()))


def test_a_given_day_can_be_exported_again(use_function_env, add_punch, stack):
    add_punch("BEN", "2025-02-10T09:00:00", "in")
    result = run_export(use_function_env, {"date": "2025-02-10"})
    assert (result["key"], result["rows"]) == ("daily/2025-02-10.csv", 1)


def test_yesterday_in_a_fixed_offset_zone_is_exported(use_function_env, add_punch, stack):
    # Given an export zone of +05:30 and a punch yesterday there
    yesterday = (datetime.now(parse_zone("+05:30")) - timedelta(days=1)).date()
    add_punch("RAVI", f"{yesterday}T09:00:00", "in", zone="+05:30")
    # When the scheduled run comes
    result = run_export(use_function_env, {"source": "aws.scheduler"}, zone="+05:30")
    # Then it exports India's yesterday
    assert (result["key"], result["rows"]) == (f"daily/{yesterday}.csv", 1)


def test_after_a_months_last_day_its_totals_are_exported_for_payroll(
    use_function_env, add_punch, stack, template
):
    # Given February's punches: ANNA on two days, BEN once without checking out
    for user, at, kind in [
        ("ANNA", "2025-02-03T09:00:00", "in"),
        ("ANNA", "2025-02-03T17:00:00", "out"),
        ("ANNA", "2025-02-28T09:00:00", "in"),
        ("ANNA", "2025-02-28T13:00:00", "out"),
        ("BEN", "2025-02-14T09:00:00", "in"),
        ("ANNA", "2025-03-01T09:00:00", "in"),  # March: not February's
    ]:
        add_punch(user, at, kind)
    # And CARLA in the directory, who never punched in February
    EmployeeStore(boto3.client("dynamodb"), stack.refs["EmployeesTable"]).put(
        Employee(user_id="CARLA", name="Carla Diaz")
    )
    # When the day exported is the month's last
    with calls_made() as calls:
        result = run_export(use_function_env, {"date": "2025-02-28"})
    # Then the day is exported, and the month's totals beside it, one line per employee
    assert (result["key"], result["monthKey"], result["monthRows"]) == (
        "daily/2025-02-28.csv",
        "monthly/2025-02.csv",
        3,
    )
    assert refused(template, "DailyExportFunction", stack, calls) == []  # the holidays' query included
    month = boto3.client("s3").get_object(Bucket=stack.refs["ReportsBucket"], Key="monthly/2025-02.csv")
    lines = month["Body"].read().decode("utf-8-sig").splitlines()
    assert lines[0].startswith("userId,name,department,from,to,workDays,workedMinutes,")
    assert lines[1].startswith("ANNA,,,2025-02-01,2025-02-28,2,720,")
    assert lines[2].startswith("BEN,,,2025-02-01,2025-02-28,1,0,")
    ben, carla = csv.DictReader(lines[2:], fieldnames=lines[0].split(","))
    assert ben["anomalyDays"] == "2025-02-14"  # the day to check: a missing check-out
    assert (carla["workDays"], carla["scheduledDays"]) == ("0", "")  # no schedule here: none expected


def test_a_month_can_be_exported_again_and_other_days_export_no_month(use_function_env, add_punch, stack):
    add_punch("ANNA", "2025-02-03T09:00:00", "in")
    # A day that is not a month's last exports the day alone
    assert "monthKey" not in run_export(use_function_env, {"date": "2025-02-03"})
    # and a month asked for by name is exported on its own (after HR fixed its anomalies, say)
    assert run_export(use_function_env, {"month": "2025-02"}) == {
        "bucket": stack.refs["ReportsBucket"],
        "key": "monthly/2025-02.csv",
        "rows": 1,
    }
    # A malformed month fails the invocation, saying what it should be
    with pytest.raises(ValueError, match="month 'Feb' is not YYYY-MM"):
        run_export(use_function_env, {"month": "Feb"})
