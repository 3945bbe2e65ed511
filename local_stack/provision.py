"""Creates every DynamoDB table and SQS queue of template.yaml in a (local) AWS endpoint."""

import json
from typing import Any

import boto3

from attendance.stack_names import STACK_PREFIX
from local_stack.template import Resolver, resources_of_type


def provision(
    template: dict[str, Any],
    dynamodb: Any,
    sqs: Any,
    parameters: dict[str, str] | None = None,
    prefix: str = STACK_PREFIX,
    s3: Any = None,
    sns: Any = None,
) -> Resolver:
    """Create the tables, queues, buckets and topics; returns a resolver that knows their names, URLs and
    ARNs. Each topic gets an inbox: an SQS queue `<topic name>-Inbox` subscribed to it, where the
    notifications it sends can be read."""
    resolver = Resolver(template, overrides=parameters or {})
    for logical_id in resources_of_type(template, "AWS::S3::Bucket"):
        name = f"{prefix}-{logical_id}".lower()
        (s3 or boto3.client("s3")).create_bucket(Bucket=name)
        resolver.refs[logical_id] = name
        resolver.attributes[(logical_id, "Arn")] = f"arn:aws:s3:::{name}"
    for logical_id, resource in resources_of_type(template, "AWS::DynamoDB::Table").items():
        name = f"{prefix}-{logical_id}"
        stream_arn = _create_table(dynamodb, name, resolver.resolve(resource["Properties"]))
        resolver.refs[logical_id] = name
        resolver.attributes[(logical_id, "Arn")] = f"arn:aws:dynamodb:us-east-1:123456789012:table/{name}"
        if stream_arn:
            resolver.attributes[(logical_id, "StreamArn")] = stream_arn
    queues = resources_of_type(template, "AWS::SQS::Queue")
    # Dead-letter queues first: their ARNs go into the others' redrive policies.
    for logical_id in sorted(queues, key=lambda q: "RedrivePolicy" in queues[q]["Properties"]):
        name = f"{prefix}-{logical_id}"
        url = _create_queue(sqs, name, resolver.resolve(queues[logical_id]["Properties"]))
        resolver.refs[logical_id] = url
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        resolver.attributes[(logical_id, "Arn")] = arn
        resolver.attributes[(logical_id, "QueueName")] = name
    for logical_id in resources_of_type(template, "AWS::SNS::Topic"):
        resolver.refs[logical_id] = _create_topic(sns or boto3.client("sns"), sqs, f"{prefix}-{logical_id}")
    _name_websocket_apis(template, resolver)
    return resolver


def _name_websocket_apis(template: dict[str, Any], resolver: Resolver) -> None:
    """The WebSocket API is served by the local stack itself: its ID and stage name resolve, its URLs are
    the local server's (set on the functions by the stack)."""
    for logical_id in resources_of_type(template, "AWS::ApiGatewayV2::Api"):
        resolver.refs[logical_id] = "local"
    for logical_id, resource in resources_of_type(template, "AWS::ApiGatewayV2::Stage").items():
        resolver.refs[logical_id] = resource["Properties"]["StageName"]


def _create_topic(sns: Any, sqs: Any, name: str) -> str:
    arn = sns.create_topic(Name=name)["TopicArn"]
    inbox = sqs.create_queue(QueueName=f"{name}-Inbox")["QueueUrl"]
    inbox_arn = sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=inbox_arn)
    return arn


def _create_table(dynamodb: Any, name: str, properties: dict[str, Any]) -> str | None:
    """Creates the table; returns its stream's ARN, if it has one."""
    arguments: dict[str, Any] = {
        "TableName": name,
        "BillingMode": properties["BillingMode"],
        "AttributeDefinitions": properties["AttributeDefinitions"],
        "KeySchema": properties["KeySchema"],
    }
    if "GlobalSecondaryIndexes" in properties:
        arguments["GlobalSecondaryIndexes"] = properties["GlobalSecondaryIndexes"]
    if properties.get("SSESpecification", {}).get("SSEEnabled"):
        arguments["SSESpecification"] = {"Enabled": True}
    if "StreamSpecification" in properties:
        view_type = properties["StreamSpecification"]["StreamViewType"]
        arguments["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": view_type}
    description = dynamodb.create_table(**arguments)["TableDescription"]
    ttl = properties.get("TimeToLiveSpecification")
    if ttl:
        dynamodb.update_time_to_live(
            TableName=name,
            TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": bool(ttl["Enabled"])},
        )
    return description.get("LatestStreamArn")


def _create_queue(sqs: Any, name: str, properties: dict[str, Any]) -> str:
    attributes = {
        key: str(properties[key])
        for key in ("VisibilityTimeout", "MessageRetentionPeriod")
        if key in properties
    }
    if properties.get("SqsManagedSseEnabled"):
        attributes["SqsManagedSseEnabled"] = "true"
    if "RedrivePolicy" in properties:
        attributes["RedrivePolicy"] = json.dumps(properties["RedrivePolicy"])
    return sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
