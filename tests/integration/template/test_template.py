"""template.yaml: lint-clean as SAM and as the CloudFormation it becomes, and true to the code."""

import json
import re
import subprocess
import sys
import tomllib
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import available_timezones

import pytest
from boto3.session import Session
from cfnlint.api import lint
from samtranslator.parser.parser import Parser
from samtranslator.translator.translator import Translator

from attendance.domain.clock import InvalidTime, parse_zone
from attendance.ingest.sweep import DEAD_LETTER_RESEND_AFTER
from attendance.settings import (
    DashboardSettings,
    DeliveriesSettings,
    DeviceCommandsSettings,
    DeviceHealthSettings,
    DevicePushSettings,
    DevicesSettings,
    EmployeesSettings,
    ExportSettings,
    FeedConnectionsSettings,
    FeedFanoutSettings,
    FeedTokenSettings,
    IngestSettings,
    ReportsSettings,
    SweepSettings,
    WorkerSettings,
)
from local_stack.parameters import ZONE_SUFFIX
from local_stack.template import TEMPLATE_PATH, resources_of_type

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[3]
# Every function and the settings class its handler reads its environment with.
FUNCTION_SETTINGS = {
    "IngestFunction": IngestSettings,
    "PendingSweepFunction": SweepSettings,
    "CrmWorkerFunction": WorkerSettings,
    "DevicePushFunction": DevicePushSettings,
    "ReportsFunction": ReportsSettings,
    "DailyExportFunction": ExportSettings,
    "DeviceCommandsFunction": DeviceCommandsSettings,
    "DevicesFunction": DevicesSettings,
    "DeviceHealthFunction": DeviceHealthSettings,
    "EmployeesFunction": EmployeesSettings,
    "FeedConnectionsFunction": FeedConnectionsSettings,
    "FeedTokenFunction": FeedTokenSettings,
    "FeedFanoutFunction": FeedFanoutSettings,
    "DashboardFunction": DashboardSettings,
    "DeliveriesFunction": DeliveriesSettings,
}
# Read by Powertools, by pydantic, and by attendance.tracing to choose a tracer before any settings are parsed.
RUNTIME_VARIABLES = {
    "POWERTOOLS_SERVICE_NAME",
    "POWERTOOLS_METRICS_NAMESPACE",
    "POWERTOOLS_LOG_LEVEL",
    "PYDANTIC_DISABLE_PLUGINS",
    "TRACING_MODE",
}


@pytest.fixture(scope="module")
def transformed(template: dict[str, Any]) -> dict[str, Any]:
    """The CloudFormation that `sam deploy` submits, produced offline with S3-style code locations."""
    fragment = json.loads(json.dumps(template))
    for resource in fragment["Resources"].values():
        for uri in ("CodeUri", "ContentUri"):
            if uri in resource.get("Properties", {}):
                resource["Properties"][uri] = "s3://bucket/code.zip"
    # The translator asks IAM for managed policy ARNs only for policies named in Policies; we name none.
    translator = Translator({}, Parser(), boto_session=Session(region_name="us-east-1"))
    return translator.translate(fragment, parameter_values={})


def assert_lint_clean(text: str) -> None:
    problems = [str(match) for match in lint(text, regions=["us-east-1", "eu-west-1"])]
    assert problems == []


def test_sam_template_passes_cfn_lint():
    assert_lint_clean(TEMPLATE_PATH.read_text())


def test_transformed_cloudformation_passes_cfn_lint(transformed):
    assert_lint_clean(json.dumps(transformed))


def functions(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return resources_of_type(template, "AWS::Serverless::Function")


def test_every_function_is_known_to_these_tests(template):
    assert set(functions(template)) == set(FUNCTION_SETTINGS)


@pytest.mark.parametrize("logical_id", sorted(FUNCTION_SETTINGS))
def test_handler_exists_and_imports_as_lambda_would(template, logical_id):
    properties = functions(template)[logical_id]["Properties"]
    code_dir = ROOT / properties["CodeUri"]
    module, function = properties["Handler"].rsplit(".", 1)
    assert (code_dir / f"{module}.py").is_file()
    # Lambda puts the function's code and the layer's python/ on sys.path, and nothing else of ours
    script = (
        "import sys; sys.path[:0] = [sys.argv[1], sys.argv[2]]; import importlib; "
        "handler = getattr(importlib.import_module(sys.argv[3]), sys.argv[4]); assert callable(handler)"
    )
    layer = ROOT / template["Resources"]["SharedLayer"]["Properties"]["ContentUri"]
    result = subprocess.run(
        [sys.executable, "-I", "-c", script, str(code_dir), str(layer), module, function],
        capture_output=True,
        text=True,
        check=False,
        cwd="/",
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("logical_id", sorted(FUNCTION_SETTINGS))
def test_every_variable_the_code_reads_is_set(template, logical_id):
    global_vars = template["Globals"]["Function"]["Environment"]["Variables"]
    own = functions(template)[logical_id]["Properties"]["Environment"]["Variables"]
    defined = set(global_vars) | set(own)
    read = {name.upper() for name in FUNCTION_SETTINGS[logical_id].model_fields} | RUNTIME_VARIABLES
    assert read - defined == set()
    assert defined - read == set(), "variables set but never read"


def test_functions_are_python312_on_arm64(template):
    function_globals = template["Globals"]["Function"]
    assert function_globals["Runtime"] == "python3.12"
    assert function_globals["Architectures"] == ["arm64"]


def test_punch_queue_redrive_and_retention(template):
    parameters = template["Parameters"]
    queue = template["Resources"]["PunchQueue"]["Properties"]
    dlq = template["Resources"]["PunchDeadLetterQueue"]["Properties"]
    assert queue["VisibilityTimeout"] == {"Ref": "PunchVisibilityTimeout"}
    assert parameters["PunchVisibilityTimeout"]["Default"] == 10
    assert queue["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": ["PunchDeadLetterQueue", "Arn"]},
        "maxReceiveCount": {"Ref": "MaxReceiveCount"},
    }
    assert parameters["MaxReceiveCount"]["Default"] == 3
    assert dlq["MessageRetentionPeriod"] == 1209600  # 14 days
    assert dlq["MessageRetentionPeriod"] > queue["MessageRetentionPeriod"]
    assert queue["SqsManagedSseEnabled"] is True
    assert dlq["SqsManagedSseEnabled"] is True


def test_the_sweep_sends_dead_letters_again_days_before_the_dlq_drops_them(template):
    retention = timedelta(
        seconds=template["Resources"]["PunchDeadLetterQueue"]["Properties"]["MessageRetentionPeriod"]
    )
    assert retention - timedelta(days=1) >= DEAD_LETTER_RESEND_AFTER  # a day's failed sweeps still in time


def test_tables_are_on_demand_encrypted_and_recoverable(template):
    for name, table in resources_of_type(template, "AWS::DynamoDB::Table").items():
        properties = table["Properties"]
        assert properties["BillingMode"] == "PAY_PER_REQUEST", name
        assert properties["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}, name
        assert properties["SSESpecification"] == {"SSEEnabled": True}, name


def test_dedup_ttl_is_the_attribute_the_code_writes(template):
    from attendance.data import punch_intake

    ttl = template["Resources"]["DedupTable"]["Properties"]["TimeToLiveSpecification"]
    assert ttl == {"AttributeName": "expiresAt", "Enabled": True}
    assert '"expiresAt"' in Path(punch_intake.__file__).read_text()


def test_kept_data_survives_stack_deletion(template):
    for name in ("PunchesTable", "ApiKeysTable", "DevicesTable", "SchedulesTable", "ReportsBucket"):
        assert template["Resources"][name]["DeletionPolicy"] == "Retain"


def test_the_tracing_parameter_sets_every_functions_tracing_and_tells_the_code(template, transformed):
    lambdas = resources_of_type(transformed, "AWS::Lambda::Function").values()
    assert [f["Properties"]["TracingConfig"] for f in lambdas] == [{"Mode": {"Ref": "Tracing"}}] * len(
        lambdas
    )
    assert transformed["Parameters"]["Tracing"]["AllowedValues"] == ["Active", "PassThrough"]
    assert template["Globals"]["Function"]["Environment"]["Variables"]["TRACING_MODE"] == {"Ref": "Tracing"}


def iam_actions(transformed: dict[str, Any]) -> list[str]:
    actions: list[str] = []
    for resource in resources_of_type(transformed, "AWS::IAM::Role").values():
        for policy in resource["Properties"].get("Policies", []):
            for statement in policy["PolicyDocument"]["Statement"]:
                action = statement["Action"]
                actions += action if isinstance(action, list) else [action]
    return actions


def test_no_wildcard_actions(transformed):
    actions = iam_actions(transformed)
    assert actions, "expected inline policies"
    assert [action for action in actions if "*" in action] == []


def test_layer_pins_match_the_project(template):
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins = set(pyproject["dependencies"]) | set(pyproject["optional-dependencies"]["cloud"])
    layer = ROOT / template["Resources"]["SharedLayer"]["Properties"]["ContentUri"] / "requirements.txt"
    required = {line.strip() for line in layer.read_text().splitlines() if line.strip() and line[0] != "#"}
    assert required <= pins, required - pins


def test_worker_finishes_before_its_messages_become_visible_again(template):
    worker = template["Resources"]["CrmWorkerFunction"]["Properties"]
    visibility = template["Parameters"]["PunchVisibilityTimeout"]
    assert worker["Timeout"] < visibility["MinValue"] <= visibility["Default"]
    crm_timeout = template["Parameters"]["CrmTimeoutSeconds"]["MaxValue"]
    assert crm_timeout < worker["Timeout"]


ZONE_PARAMETERS = ("DefaultTimeZone", "ReportTimeZone", "CrmTimeZone")


def zone_pattern(template: dict[str, Any], name: str) -> re.Pattern[str]:
    return re.compile(template["Parameters"][name]["AllowedPattern"])


def every_offset_shape() -> list[str]:
    """Every ±HH:MM, 00 to 99 each: those parse_zone takes and those it refuses."""
    return [
        f"{sign}{hours:02d}:{minutes:02d}" for sign in "+-" for hours in range(100) for minutes in range(100)
    ]


def parses(zone: str) -> bool:
    try:
        parse_zone(zone)
    except InvalidTime:
        return False
    return True


def test_the_zone_parameters_are_those_checked_as_zones(template):
    assert {name for name in template["Parameters"] if name.endswith(ZONE_SUFFIX)} == set(ZONE_PARAMETERS)


# EventBridge Scheduler reads the report zone too (ScheduleExpressionTimezone), and takes names only.
OFFSET_ZONE_PARAMETERS = ("DefaultTimeZone", "CrmTimeZone")


@pytest.mark.parametrize("name", ZONE_PARAMETERS)
def test_a_zone_parameter_admits_every_zone_the_functions_take(template, name):
    pattern = zone_pattern(template, name)
    for zone in sorted(available_timezones()):
        assert pattern.fullmatch(zone), zone
    # and of the offsets exactly those parse_zone takes, -14:00 to +14:00, where a name is not required
    taken = [zone for zone in every_offset_shape() if parses(zone)] if name in OFFSET_ZONE_PARAMETERS else []
    assert [zone for zone in every_offset_shape() if pattern.fullmatch(zone)] == taken


def test_the_report_zone_is_the_schedules_zone_so_a_name(template):
    schedule = template["Resources"]["DailyExportFunction"]["Properties"]["Events"]["Daily"]["Properties"]
    assert schedule["ScheduleExpressionTimezone"] == {"Ref": "ReportTimeZone"}
    assert not zone_pattern(template, "ReportTimeZone").fullmatch("+05:30")


@pytest.mark.parametrize("name", ZONE_PARAMETERS)
@pytest.mark.parametrize(
    "text",
    [
        "Europe/",
        "/UTC",
        "Europe//Berlin",
        "Europe/../UTC",
        "Europe/Berlin ",
        "+5:30",
        "05:30",
        "Europe Berlin",
        "1A",
    ],
)
def test_a_zone_parameter_refuses_what_cannot_be_a_zone(template, name, text):
    assert not zone_pattern(template, name).fullmatch(text)
    assert not parses(text)


def test_only_the_crm_zone_may_be_empty_and_then_is_the_stacks(template):
    assert [name for name in ZONE_PARAMETERS if zone_pattern(template, name).fullmatch("")] == ["CrmTimeZone"]
    names = {"punches_table": "t", "dedup_table": "u", "punch_queue_url": "q", "punch_dlq_url": "d"}
    names |= {"crm_url": "https://hr.test"}
    default = template["Parameters"]["CrmTimeZone"]["Default"]
    settings = WorkerSettings(**names, default_time_zone="Asia/Kolkata", crm_time_zone=default)
    assert settings.crm_zone == "Asia/Kolkata"


def test_worker_reports_batch_item_failures_with_capped_concurrency(template):
    event = template["Resources"]["CrmWorkerFunction"]["Properties"]["Events"]["PunchQueued"]["Properties"]
    assert event["Queue"] == {"Fn::GetAtt": ["PunchQueue", "Arn"]}
    assert event["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert event["BatchSize"] == {"Ref": "WorkerBatchSize"}
    assert event["ScalingConfig"] == {"MaximumConcurrency": {"Ref": "WorkerMaxConcurrency"}}
    # reserved as much as the mapping may use: no more deliveries at once whatever invokes it, none throttled
    worker = template["Resources"]["CrmWorkerFunction"]["Properties"]
    assert worker["ReservedConcurrentExecutions"] == {"Ref": "WorkerMaxConcurrency"}


def test_transformed_mapping_keeps_worker_timeout_below_visibility(transformed):
    mappings = resources_of_type(transformed, "AWS::Lambda::EventSourceMapping")
    assert [m["Properties"]["FunctionResponseTypes"] for m in mappings.values()] == [
        ["ReportBatchItemFailures"]
    ] * 3


def test_the_feed_never_holds_up_the_tables_streams(transformed):
    """A failing fan-out retries a batch twice (halving it), then hands it on and the stream moves on."""
    mappings = resources_of_type(transformed, "AWS::Lambda::EventSourceMapping")
    streams = [m["Properties"] for m in mappings.values() if "StartingPosition" in m["Properties"]]
    assert sorted(m["EventSourceArn"]["Fn::GetAtt"][0] for m in streams) == ["DevicesTable", "PunchesTable"]
    for mapping in streams:
        assert mapping["BisectBatchOnFunctionError"] is True
        assert mapping["MaximumRetryAttempts"] == 2
        assert mapping["MaximumRecordAgeInSeconds"] == {"Ref": "FeedMaxRecordAgeSeconds"}
        assert mapping["DestinationConfig"] == {
            "OnFailure": {"Destination": {"Fn::GetAtt": ["FeedFailureQueue", "Arn"]}}
        }


def test_alarms_notify_the_alarm_topic(template):
    alarms = resources_of_type(template, "AWS::CloudWatch::Alarm")
    assert set(alarms) == {
        "DeadLetterQueueNotEmptyAlarm",
        "OldestPunchTooOldAlarm",
        "Api5xxAlarm",
        "WorkerErrorsAlarm",
        "ScheduledRunFailedAlarm",
    }
    for name, alarm in alarms.items():
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": "AlarmTopic"}], name
    subscription = template["Resources"]["AlarmEmailSubscription"]
    assert subscription["Condition"] == "HasAlarmEmail"
    assert template["Parameters"]["AlarmEmail"]["Default"] == ""


def test_the_live_feed_has_its_routes_a_ttl_and_least_privilege(template):
    routes = resources_of_type(template, "AWS::ApiGatewayV2::Route")
    assert {route["Properties"]["RouteKey"] for route in routes.values()} == {
        "$connect",
        "$disconnect",
        "subscribe",
        "unsubscribe",
        "$default",
    }
    table = template["Resources"]["FeedConnectionsTable"]["Properties"]
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expiresAt", "Enabled": True}
    policies = {
        name: json.dumps(template["Resources"][name]["Properties"]["Policies"])
        for name in ("FeedFanoutFunction", "FeedConnectionsFunction", "FeedTokenFunction")
    }
    # only the fan-out posts to connections, and only through its own stage
    assert "${FeedApi}/${FeedStage}/POST/@connections/*" in policies["FeedFanoutFunction"]
    assert "execute-api" not in policies["FeedConnectionsFunction"] + policies["FeedTokenFunction"]
    # only the sign-in may create the signing key; the fan-out never sees it
    assert "ssm:PutParameter" in policies["FeedTokenFunction"]
    assert "ssm:PutParameter" not in policies["FeedConnectionsFunction"]
    assert "ssm" not in policies["FeedFanoutFunction"]
