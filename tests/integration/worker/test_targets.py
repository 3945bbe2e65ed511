"""Both CRM targets against the mock CRM over real HTTP, with their secrets from SSM."""

from datetime import UTC, datetime

import boto3

from local_stack.mock_crm import FRAPPE_PATHS
from tests.integration.worker.conftest import crm_view, held, put_secret, run_until


def test_generic_target_sends_the_bearer_token_from_ssm(worker_env, trigger, enqueue, crm, stored):
    put_secret("s3cret-token")
    worker_env()  # cold start: the secret is read on first use
    log_id = enqueue()
    run_until(trigger, lambda: stored(log_id)["syncStatus"] == "synced")
    assert crm_view(crm)["punches"][0]["authorization"] == "Bearer s3cret-token"


def test_generic_target_without_secret_sends_no_credentials(trigger, enqueue, crm, stored):
    log_id = enqueue()
    run_until(trigger, lambda: stored(log_id)["syncStatus"] == "synced")
    assert crm_view(crm)["punches"][0]["authorization"] == ""


def frappe(worker_env, crm, version: str = "15") -> None:
    put_secret("api-key:api-secret")
    worker_env(CRM_TARGET="frappe", CRM_URL=crm.url, CRM_FRAPPE_VERSION=version)


def test_frappe_checkin_shape(worker_env, trigger, enqueue, crm, stored):
    frappe(worker_env, crm)
    ins = enqueue(user="1001", at=datetime(2025, 2, 10, 9, 16, tzinfo=UTC))
    breaks = enqueue(user="1001", at=datetime(2025, 2, 10, 12, 0, tzinfo=UTC), kind="break_out")
    run_until(trigger, lambda: all(stored(i)["syncStatus"] == "synced" for i in (ins, breaks)))
    checkins = held(crm)  # Frappe holds them by employee, time and log type
    checkin = checkins["1001|2025-02-10 09:16:00|IN"]
    assert checkin["body"] == {
        "employee_field_value": "1001",
        "timestamp": "2025-02-10 09:16:00",
        "device_id": "DEV001",
        "log_type": "IN",
    }
    assert checkins["1001|2025-02-10 12:00:00|OUT"]["body"]["log_type"] == "OUT"
    assert checkin["authorization"] == "token api-key:api-secret"
    assert stored(ins)["crmReference"] == checkin["crmId"]
    assert checkin["crmId"].startswith("EMP-CKIN-")


def test_frappe_before_14_uses_the_erpnext_path(worker_env, trigger, enqueue, crm, stored):
    frappe(worker_env, crm, version="13")
    log_id = enqueue(user="1001")
    run_until(trigger, lambda: stored(log_id)["syncStatus"] == "synced")
    assert crm_view(crm)["count"] == 1
    assert FRAPPE_PATHS[1].startswith("/api/method/erpnext.")


def test_frappe_already_has_it_counts_as_delivered(worker_env, trigger, enqueue, crm, stored, stack):
    frappe(worker_env, crm)
    log_id = enqueue(user="1001")
    run_until(trigger, lambda: stored(log_id)["syncStatus"] == "synced")
    # Given the punch is reset and queued again (as a redrive would), Frappe answers 417 "already has a log"
    dynamodb = boto3.client("dynamodb")
    dynamodb.update_item(
        TableName=stack.refs["PunchesTable"],
        Key={"logId": {"S": log_id}},
        UpdateExpression="SET syncStatus = :p",
        ExpressionAttributeValues={":p": {"S": "pending"}},
    )
    boto3.client("sqs").send_message(
        QueueUrl=stack.refs["PunchQueue"], MessageBody=f'{{"logId": "{log_id}"}}'
    )
    run_until(trigger, lambda: stored(log_id)["syncStatus"] == "synced")
    assert crm_view(crm)["punches"][0]["deliveries"] == 2
    assert stored(log_id)["history"][-1]["detail"] == "Frappe already had this check-in"


def test_frappe_unknown_employee_is_permanent(worker_env, trigger, enqueue, crm, stored, dead_letters):
    frappe(worker_env, crm)
    log_id = enqueue(user="UNKNOWN-1")
    run_until(trigger, lambda: stored(log_id)["syncStatus"] == "failed")
    assert "No Employee found for the given employee field value" in stored(log_id)["lastError"]
    assert dead_letters() == [log_id]
