"""The cost model charges reads as DynamoDB does: per item on its whole size, a missing one at the least."""

from collections.abc import Iterator

import boto3
import pytest

from bench.cost_model import RequestRecorder
from bench.dynamodb_units import Table
from local_stack.template import resources_of_type


@pytest.fixture
def recorder(stack, template) -> Iterator[RequestRecorder]:
    tables = {
        stack.refs[logical_id]: (logical_id, Table.from_template(resource["Properties"]))
        for logical_id, resource in resources_of_type(template, "AWS::DynamoDB::Table").items()
    }
    recorder = RequestRecorder(tables)
    recorder.install()
    yield recorder
    recorder.uninstall()


def test_a_projected_batch_read_is_charged_on_whole_items_and_missing_keys(stack, recorder):
    # Given a 5 KB punch item
    dynamodb = boto3.client("dynamodb")
    table = stack.refs["PunchesTable"]
    dynamodb.put_item(TableName=table, Item={"logId": {"S": "big"}, "note": {"S": "x" * 5000}})
    # When it and a missing key are read, projected to the key, strongly consistent; then it alone, whole
    with recorder.measuring() as batch:
        dynamodb.batch_get_item(
            RequestItems={
                table: {
                    "Keys": [{"logId": {"S": "big"}}, {"logId": {"S": "missing"}}],
                    "ProjectionExpression": "logId",
                    "ConsistentRead": True,
                }
            }
        )
    with recorder.measuring() as single:
        dynamodb.get_item(TableName=table, Key={"logId": {"S": "big"}})
    # Then the batch costs two units for the 5 KB item and one for the missing key; the eventually
    # consistent read of the item half its two
    assert batch.read_units == {"PunchesTable": 3}
    assert single.read_units == {"PunchesTable": 1}
