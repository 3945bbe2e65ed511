"""A rotated CRM secret is used by the running worker, never by a new one only: within the cache's max age,
or at once when the CRM refuses the cached secret (401). SSM is moto's; the CRM checks credentials as a real
one does, each path with its own Authorization scheme."""

import time

import boto3
import pytest

from attendance.delivery import secrets
from functions.crm_worker import app as worker_app
from tests.integration.worker.conftest import (
    crm_view,
    held,
    held_by_user,
    put_secret,
    run_until,
    set_behaviour,
    synced,
)

SCHEMES = {"generic": "Bearer", "frappe": "token"}


def target_environment(target: str, crm_url: str) -> dict[str, str]:
    return {"CRM_TARGET": "frappe", "CRM_URL": crm_url} if target == "frappe" else {}


@pytest.mark.parametrize("target", ["generic", "frappe"])
def test_a_401_after_rotation_means_one_fresh_read_and_the_call_again_with_the_new_secret(
    target, worker_env, trigger, enqueue, crm, stored, ssm_reads
):
    # Given a worker that has delivered a punch with the first secret, which it now holds in its cache
    put_secret("key:first-secret")
    worker_env(**target_environment(target, crm.url))
    first = enqueue(user="1001")
    run_until(trigger, synced(stored, first))
    service = worker_app.dependencies()[1]
    # When the secret is rotated in SSM and the CRM from now on takes only the new one
    put_secret("key:second-secret")
    set_behaviour(crm, requireToken="key:second-secret")
    reads_before = ssm_reads()
    second = enqueue(user="1002")
    run_until(trigger, synced(stored, second))
    # Then the same worker delivered it with the new secret: one refused call, one fresh read, one more call
    assert worker_app.dependencies()[1] is service
    punches = held_by_user(crm)
    assert punches["1001"]["authorization"] == f"{SCHEMES[target]} key:first-secret"
    assert punches["1002"]["authorization"] == f"{SCHEMES[target]} key:second-secret"
    assert punches["1002"]["attempts"] == 2
    assert ssm_reads() - reads_before == 1
    # and the refused call was no attempt of its own
    record = stored(second)
    assert record["attempts"] == 1
    assert [entry["status"] for entry in record["history"]] == ["synced"]


def test_a_batch_refused_at_once_shares_one_fresh_read(worker_env, trigger, enqueue, crm, stored, ssm_reads):
    # Given a worker holding the first secret, and ten punches queued after the rotation
    put_secret("first-secret")
    worker_env()
    run_until(trigger, synced(stored, enqueue()))
    put_secret("second-secret")
    set_behaviour(crm, requireToken="second-secret")
    reads_before = ssm_reads()
    log_ids = [enqueue(user=f"E{n}") for n in range(10)]
    # When the worker delivers them, its calls running side by side and refused together
    run_until(trigger, synced(stored, *log_ids))
    # Then all ten went through with the new secret after a single read of it
    assert {held(crm)[log_id]["authorization"] for log_id in log_ids} == {"Bearer second-secret"}
    assert ssm_reads() - reads_before == 1


def test_a_rotated_secret_is_used_once_the_cached_one_is_older_than_its_max_age(
    worker_env, trigger, enqueue, crm, stored, monkeypatch
):
    # Given a cache max age of one second (five minutes in production) and a punch delivered with the first secret
    monkeypatch.setattr(secrets, "SECRET_CACHE_SECONDS", 1)
    put_secret("first-secret")
    worker_env()
    first = enqueue()
    run_until(trigger, synced(stored, first))
    # When the secret is rotated and the cached one grows older than the max age
    put_secret("second-secret")
    time.sleep(1.2)
    second = enqueue()
    run_until(trigger, synced(stored, second))
    # Then the next punch carries the new secret, with no refusal needed to find it
    assert held(crm)[first]["authorization"] == "Bearer first-secret"
    assert held(crm)[second]["authorization"] == "Bearer second-secret"
    assert crm_view(crm)["attempts"][second] == 1


def test_a_secret_that_cannot_be_read_again_is_kept_rather_than_dropped(
    worker_env, trigger, enqueue, crm, stored, monkeypatch
):
    # Given a cache max age of one second and a punch delivered with the secret
    monkeypatch.setattr(secrets, "SECRET_CACHE_SECONDS", 1)
    put_secret("the-secret")
    worker_env()
    first = enqueue()
    run_until(trigger, synced(stored, first))
    # When SSM cannot answer once the cache has expired (the parameter deleted here; throttled or out on AWS)
    boto3.client("ssm").delete_parameter(Name="/attendance-sync/crm-secret")
    time.sleep(1.2)
    second = enqueue()
    run_until(trigger, synced(stored, second))
    # Then the worker still calls with the secret it had, rather than with none
    assert held(crm)[second]["authorization"] == "Bearer the-secret"


def test_a_401_with_no_newer_secret_in_ssm_is_not_called_again(
    worker_env, trigger, enqueue, crm, stored, dead_letters, ssm_reads
):
    # Given a CRM that wants a secret SSM does not hold
    put_secret("stale-secret")
    worker_env()
    set_behaviour(crm, requireToken="some-other-secret")
    reads_before = ssm_reads()
    # When a punch is delivered
    log_id = enqueue()
    run_until(trigger, lambda: stored(log_id)["syncStatus"] == "failed")
    # Then the CRM was called once: the fresh read (after the cold cache's first) found nothing new to try
    assert crm_view(crm)["attempts"] == {log_id: 1}
    assert ssm_reads() - reads_before == 2
    # and a wrong secret is a permanent failure: to the DLQ at once, for a person to fix and redrive
    assert stored(log_id)["lastError"].startswith("HTTP 401")
    assert dead_letters() == [log_id]
