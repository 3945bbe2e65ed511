"""End to end: the CRM secret rotated in the running stack's SSM reaches the CRM without a restart."""

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

import httpx
import pytest

from local_stack.running import wait_for
from local_stack.stack import local_client
from local_stack.template import load_template

pytestmark = pytest.mark.e2e
ROTATED = "rotated-e2e-secret"
RESTORING_PUNCHES = 20  # two SQS batches: enough for both worker environments to take some


def secret_parameter() -> str:
    """The parameter the local stack provisions, as it runs with the template's default name."""
    return load_template()["Parameters"]["CrmSecretParameterName"]["Default"]


def post(stack, body: dict) -> httpx.Response:
    headers = {"Authorization": f"Bearer {stack.api_key}"}
    reply = httpx.post(stack.api_url + "/punches", json=body, headers=headers, timeout=10)
    reply.raise_for_status()
    return reply


def punch(user: str) -> dict:
    at = (datetime.now() - timedelta(minutes=5)).replace(microsecond=0).isoformat()
    return {"deviceId": "DEV001", "userId": user, "timestamp": at, "type": "in"}


def authorizations(stack) -> dict[str, str]:
    """The Authorization header each punch the CRM holds came with, by logId."""
    held = httpx.get(stack.crm_url + "/crm/attendance", timeout=5).json()["punches"]
    return {p["logId"]: p["authorization"] for p in held}


@pytest.fixture
def rotate(stack) -> Iterator[Callable[[str], None]]:
    """Rotates the secret as an operator does (SSM, then the CRM that accepts nothing else), and back after.

    Putting the original back the same way leaves every worker environment holding it again: any that
    cached the rotated secret is refused once and reads afresh. Two batches of punches reach both
    environments, so the next tests see the original secret."""
    ssm = local_client("ssm", stack.aws_url)
    name = secret_parameter()
    original = ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"]

    def to(value: str) -> None:
        ssm.put_parameter(Name=name, Value=value, Type="SecureString", Overwrite=True)
        httpx.post(
            stack.crm_url + "/crm/_behaviour", json={"requireToken": value}, timeout=5
        ).raise_for_status()

    yield to
    to(original)
    batch = {"punches": [punch(f"E2E-RESTORE-{n}") for n in range(RESTORING_PUNCHES)]}
    log_ids = [result["logId"] for result in post(stack, batch).json()["results"]]
    wait_for(lambda: all(authorizations(stack).get(i) == f"Bearer {original}" for i in log_ids))
    httpx.post(stack.crm_url + "/crm/_reset", timeout=5).raise_for_status()


def test_a_rotated_secret_is_used_without_a_restart(stack, rotate):
    # Given a running stack whose worker has delivered with the secret it started with
    first = post(stack, punch("E2E-BEFORE-ROTATION")).json()["logId"]
    wait_for(lambda: first in authorizations(stack))
    # When the secret is rotated in SSM and the CRM takes only the new one
    rotate(ROTATED)
    log_id = post(stack, punch("E2E-AFTER-ROTATION")).json()["logId"]
    # Then the punch is delivered with the new secret by the same, still running worker
    wait_for(lambda: log_id in authorizations(stack))
    assert authorizations(stack)[log_id] == f"Bearer {ROTATED}"
