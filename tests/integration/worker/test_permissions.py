"""Every AWS call of the worker, and of its queue mapping (which polls with the function's role), is one
the template's role allows."""

import dataclasses

import boto3

from functions.crm_worker import app as worker_app
from tests.integration.permissions import calls_made, refused
from tests.integration.worker.conftest import set_behaviour


def test_the_worker_calls_only_what_its_role_allows(enqueue, trigger, crm, stack, template):
    # Given a punch the CRM takes and one it refuses for good (dead-lettered by the worker itself)
    enqueue("E1")
    enqueue("E2")
    set_behaviour(crm, failUsers=["E2"], status=422)
    # When a fresh execution environment delivers them, its mapping polling with clients made now,
    # and then one the CRM rate limits (noted on the punch, queued anew with a delay)
    with calls_made() as calls:
        worker_app.dependencies.cache_clear()
        polling = dataclasses.replace(trigger, sqs=boto3.client("sqs"))
        polling.poll_once()
        set_behaviour(crm, failUsers=[], failFirst=1, status=429, retryAfter="5")
        enqueue("E3")
        polling.poll_once(wait_seconds=1)
    # Then the role allows every call
    assert {operation for _, operation, _ in calls} >= {
        "ReceiveMessage",
        "UpdateItem",
        "SendMessageBatch",
        "SendMessage",
    }
    assert refused(template, "CrmWorkerFunction", stack, calls) == []
