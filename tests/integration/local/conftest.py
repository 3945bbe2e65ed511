"""Fixtures shared by the local stack's tests."""

import boto3
import pytest


@pytest.fixture
def table(aws: None) -> str:
    """A table with a stream of new and old images; returns its stream's ARN."""
    return boto3.client("dynamodb").create_table(
        TableName="items",
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )["TableDescription"]["LatestStreamArn"]
