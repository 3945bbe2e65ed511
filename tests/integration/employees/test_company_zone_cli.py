"""The CLI reads days in the stack's company zone (DefaultTimeZone), as the API does, unless --zone says
otherwise: a deployed stack's from its parameters, the local stack's from LOCAL_PARAMETERS."""

import json
from datetime import datetime

import boto3
import pytest
from moto import mock_aws

from admin_cli.target import OUTPUTS, local_parameter, stack_target

TOKYO = "Asia/Tokyo"


@pytest.fixture
def stack_parameters() -> dict[str, str]:
    return {"DefaultTimeZone": TOKYO}


def test_a_day_without_a_schedule_is_the_company_zones_calendar_day(cli, directory, punch):
    # Given a company in Tokyo, and Kenji, with no schedule, at work 08:30-17:00 there on 1 December
    cli("employees", "set", "KENJI", "--name", "Kenji Sato")
    punch("KENJI", "in", at=datetime.fromisoformat("2026-11-30T23:30:00+00:00"))
    punch("KENJI", "out", at=datetime.fromisoformat("2026-12-01T08:00:00+00:00"))
    # When HR asks for the daily report of the 1st, with no --zone
    [row] = json.loads(cli("--json", "report", "daily", "--date", "2026-12-01").output)["rows"]
    # Then the whole day is there, as the API would have it, not split at midnight UTC
    assert (row["userId"], row["workedMinutes"]) == ("KENJI", 510)
    # And a --zone given still decides
    split = json.loads(cli("--json", "report", "daily", "--date", "2026-12-01", "--zone", "UTC").output)
    assert [r["workedMinutes"] for r in split["rows"]] == [0]


def test_a_schedule_set_without_a_zone_is_in_the_company_zone(cli):
    shown = json.loads(cli("--json", "schedules", "set", "KENJI", "--from", "2026-12-01").output)
    assert shown["schedule"]["time_zone"] == TOKYO


def test_a_deployed_stacks_zone_is_read_from_its_parameters():
    # Given a stack deployed with DefaultTimeZone=Asia/Tokyo, with the outputs the CLI reads
    template = {
        "Parameters": {"DefaultTimeZone": {"Type": "String", "Default": "UTC"}},
        "Resources": {"Queue": {"Type": "AWS::SQS::Queue"}},
        "Outputs": {output: {"Value": f"the-{output}"} for output in OUTPUTS.values()},
    }
    with mock_aws():
        boto3.client("cloudformation", region_name="us-east-1").create_stack(
            StackName="attendance",
            TemplateBody=json.dumps(template),
            Parameters=[{"ParameterKey": "DefaultTimeZone", "ParameterValue": TOKYO}],
        )
        # When the CLI finds it
        target = stack_target("attendance", "us-east-1", None)
    # Then its company zone is the stack's
    assert (target.default_time_zone, target.punches_table) == (TOKYO, "the-PunchesTableName")


def test_the_local_stacks_zone_is_what_make_run_is_given(monkeypatch):
    monkeypatch.setenv("LOCAL_PARAMETERS", f"LogLevel=INFO, DefaultTimeZone={TOKYO}")
    assert local_parameter("DefaultTimeZone") == TOKYO
    monkeypatch.delenv("LOCAL_PARAMETERS")
    assert local_parameter("DefaultTimeZone") is None  # the template's default, UTC, then
