"""A function's role as the template grants it, against the AWS calls its code makes: moto allows every
call, AWS only what the role allows, so a call the template forgot passes every other test here and
fails on AWS. The calls are recorded with botocore's hooks, from clients created while recording."""

from collections.abc import Iterator
from contextlib import contextmanager
from fnmatch import fnmatch
from typing import Any

from local_stack.template import Resolver
from tests.integration.client_hooks import hooked

Call = tuple[str, str, dict[str, Any]]  # service, operation, parameters
_TRANSACTION_ACTIONS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
}
_SQS_POLLER = {
    "sqs:ReceiveMessage",
    "sqs:DeleteMessage",
    "sqs:GetQueueAttributes",
    "sqs:ChangeMessageVisibility",
}
_SQS_BATCHES = {"SendMessageBatch": "SendMessage", "DeleteMessageBatch": "DeleteMessage"}


@contextmanager
def calls_made() -> Iterator[list[Call]]:
    """Every call made inside the block by boto3 clients of the default session."""
    calls: list[Call] = []

    def record(event_name: str, params: dict[str, Any], **_: Any) -> None:
        _, service, operation = event_name.split(".", 2)
        calls.append((service, operation, params))

    with hooked({"before-parameter-build": record}):
        yield calls


def refused(template: dict[str, Any], logical_id: str, stack: Resolver, calls: list[Call]) -> list[str]:
    """Each action on a resource the calls needed that the function's policies do not allow."""
    properties = template["Resources"][logical_id]["Properties"]
    grants = [
        (set(statement["Action"]), [stack.resolve(r) for r in _listed(statement["Resource"])])
        for policy in properties.get("Policies", [])
        for statement in policy["Statement"]
        if statement["Effect"] == "Allow"
    ]
    # SAM gives a function with an SQS event the poller's permissions on that queue
    grants += [
        (_SQS_POLLER, [stack.resolve(event["Properties"]["Queue"])])
        for event in properties.get("Events", {}).values()
        if event["Type"] == "SQS"
    ]
    needed = {need for call in calls for need in _needs(call, stack)}
    return sorted(
        f"{action} on {arn}"
        for action, arn in needed
        if not any(
            action in actions and any(fnmatch(arn, resource) for resource in resources)
            for actions, resources in grants
        )
    )


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _needs(call: Call, stack: Resolver) -> Iterator[tuple[str, str]]:
    service, operation, params = call
    if service == "dynamodb":
        yield from _dynamodb_needs(operation, params)
    elif service == "sqs":
        queues = {
            url: stack.attributes[(logical_id, "Arn")]
            for logical_id, url in stack.refs.items()
            if url.startswith("http")
        }
        yield f"sqs:{_SQS_BATCHES.get(operation, operation)}", queues[params["QueueUrl"]]
    elif service == "s3" and "Key" in params:
        yield f"s3:{operation}", f"arn:aws:s3:::{params['Bucket']}/{params['Key']}"
    elif service == "ssm":
        yield f"ssm:{operation}", f"arn:aws:ssm:us-east-1:123456789012:parameter{params['Name']}"
    else:
        raise NotImplementedError(f"no rule for {service}.{operation} yet: add one")


def _dynamodb_needs(operation: str, params: dict[str, Any]) -> Iterator[tuple[str, str]]:
    def arn(table: str, index: str | None = None) -> str:
        return f"arn:aws:dynamodb:us-east-1:123456789012:table/{table}" + (f"/index/{index}" if index else "")

    if operation == "TransactWriteItems":
        for action in params["TransactItems"]:
            ((kind, request),) = action.items()
            yield f"dynamodb:{_TRANSACTION_ACTIONS[kind]}", arn(request["TableName"])
    elif operation in ("BatchGetItem", "BatchWriteItem"):
        for table in params["RequestItems"]:
            yield f"dynamodb:{operation}", arn(table)
    else:
        yield f"dynamodb:{operation}", arn(params["TableName"], params.get("IndexName"))
