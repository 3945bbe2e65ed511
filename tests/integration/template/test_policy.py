"""The template's policy stance: every checkov check it skips is skipped for a stated reason, listed in
docs/SECURITY.md, and the facts those reasons rest on hold in the template. `make policy` runs checkov."""

import re
from pathlib import Path
from typing import Any

import pytest

from local_stack.template import resources_of_type

SECURITY_DOC = Path(__file__).resolve().parents[3] / "docs" / "SECURITY.md"
POLICY_SECTION = "## Policy checks (checkov)"
# Event sources that invoke a function asynchronously, where Lambda's own retries and dead-letter queue apply.
ASYNC_EVENT_TYPES = {"Schedule", "ScheduleV2", "SNS", "S3", "EventBridgeRule", "CloudWatchEvent"}


def template_skips(template: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(check ID, resource, reason) for every checkov skip in the template's resources' Metadata."""
    return [
        (skip["id"], logical_id, skip.get("comment", ""))
        for logical_id, resource in template["Resources"].items()
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", [])
    ]


def documented_skips() -> set[tuple[str, str]]:
    """(check ID, resource) for every resource named in a row of the policy section's skip table."""
    text = SECURITY_DOC.read_text()
    assert POLICY_SECTION in text
    section = text.split(POLICY_SECTION, 1)[1].split("\n## ", 1)[0]
    pairs = set()
    for row in re.findall(r"^\| `(CKV\w+)`[^|]*\|([^|]*)\|", section, re.MULTILINE):
        check_id, resources = row
        pairs |= {(check_id, name) for name in re.findall(r"`(\w+)`", resources)}
    return pairs


def skipped(template: dict[str, Any], check_id: str) -> set[str]:
    return {resource for skip_id, resource, _ in template_skips(template) if skip_id == check_id}


def test_every_skip_gives_a_reason(template):
    skips = template_skips(template)
    assert skips
    for check_id, resource, reason in skips:
        assert re.fullmatch(r"CKV2?_AWS_\d+", check_id), (check_id, resource)
        assert len(reason.split()) >= 10, f"{check_id} on {resource}: say why the check does not apply"


def test_security_doc_lists_exactly_the_skips_in_the_template(template):
    in_template = {(check_id, resource) for check_id, resource, _ in template_skips(template)}
    documented = documented_skips()
    assert in_template - documented == set(), "skipped in template.yaml but not listed in docs/SECURITY.md"
    assert documented - in_template == set(), "listed in docs/SECURITY.md but not skipped in template.yaml"


def test_queues_that_skip_the_kms_check_are_encrypted_by_sqs(template):
    queues = resources_of_type(template, "AWS::SQS::Queue")
    assert skipped(template, "CKV_AWS_27") <= set(queues)
    for name, queue in queues.items():
        assert queue["Properties"].get("SqsManagedSseEnabled") is True, name


def test_tables_that_skip_the_cmk_check_are_encrypted(template):
    tables = resources_of_type(template, "AWS::DynamoDB::Table")
    assert skipped(template, "CKV_AWS_119") <= set(tables)
    for name in skipped(template, "CKV_AWS_119"):
        assert tables[name]["Properties"]["SSESpecification"] == {"SSEEnabled": True}, name


def test_only_functions_never_invoked_asynchronously_skip_the_dead_letter_queue(template):
    functions = resources_of_type(template, "AWS::Serverless::Function")
    for name in skipped(template, "CKV_AWS_116"):
        event_types = {event["Type"] for event in functions[name]["Properties"].get("Events", {}).values()}
        assert event_types & ASYNC_EVENT_TYPES == set(), name


def test_scheduled_runs_that_fail_reach_a_watched_queue(template):
    resources = template["Resources"]
    failures = {"Fn::GetAtt": ["ScheduledRunFailureQueue", "Arn"]}
    scheduled = {
        name: function["Properties"]
        for name, function in resources_of_type(template, "AWS::Serverless::Function").items()
        if any(
            event["Type"] in ASYNC_EVENT_TYPES for event in function["Properties"].get("Events", {}).values()
        )
    }
    assert set(scheduled) == {"DailyExportFunction", "PendingSweepFunction", "DeviceHealthFunction"}
    for name, properties in scheduled.items():
        # a run that fails after Lambda's retries, and an invocation the scheduler could not make
        assert properties["DeadLetterQueue"] == {"Type": "SQS", "TargetArn": failures}, name
        for event in properties["Events"].values():
            assert event["Properties"]["DeadLetterConfig"] == {"Arn": failures}, name
    alarm = resources["ScheduledRunFailedAlarm"]["Properties"]
    assert alarm["Dimensions"] == [
        {"Name": "QueueName", "Value": {"Fn::GetAtt": ["ScheduledRunFailureQueue", "QueueName"]}}
    ]


def test_every_function_and_the_api_log_with_bounded_retention(template):
    log_groups = resources_of_type(template, "AWS::Logs::LogGroup")
    retention = {"Ref": "LogRetentionDays"}
    assert all(group["Properties"]["RetentionInDays"] == retention for group in log_groups.values())
    named = {log_group_name(group["Properties"].get("LogGroupName")) for group in log_groups.values()}
    for function in resources_of_type(template, "AWS::Serverless::Function"):
        assert f"/aws/lambda/${{{function}}}" in named, function
    access_logs = template["Resources"]["PunchApi"]["Properties"]["AccessLogSettings"]
    assert access_logs["DestinationArn"] == {"Fn::GetAtt": ["PunchApiAccessLogGroup", "Arn"]}


def log_group_name(name: Any) -> str | None:
    return name["Fn::Sub"] if isinstance(name, dict) else name


@pytest.mark.parametrize("secret_bearing", ["$context.path", "$request", "querystring", "header"])
def test_api_access_logs_never_carry_credentials(template, secret_bearing):
    """A Hikvision push URL carries its device's token in the path; keys travel in a header."""
    log_format = template["Resources"]["PunchApi"]["Properties"]["AccessLogSettings"]["Format"]
    assert "$context.routeKey" in log_format
    assert secret_bearing not in log_format


def test_reports_bucket_is_versioned_and_its_access_logged_to_a_locked_bucket(template):
    resources = template["Resources"]
    reports = resources["ReportsBucket"]["Properties"]
    assert reports["VersioningConfiguration"] == {"Status": "Enabled"}
    assert reports["LoggingConfiguration"]["DestinationBucketName"] == {"Ref": "AccessLogsBucket"}
    logs = resources["AccessLogsBucket"]["Properties"]
    assert logs["PublicAccessBlockConfiguration"] == dict.fromkeys(
        ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"), True
    )
    # server access logging can deliver only to an SSE-S3 bucket
    encryption = logs["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert encryption == [{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
    assert logs["VersioningConfiguration"] == {"Status": "Enabled"}
    (rule,) = logs["LifecycleConfiguration"]["Rules"]
    assert rule["ExpirationInDays"] == {"Ref": "LogRetentionDays"}
    statements = resources["AccessLogsBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    writers = [s for s in statements if s["Effect"] == "Allow"]
    assert [s["Principal"] for s in writers] == [{"Service": "logging.s3.amazonaws.com"}]
    assert writers[0]["Condition"]["ArnLike"] == {"aws:SourceArn": {"Fn::GetAtt": ["ReportsBucket", "Arn"]}}
