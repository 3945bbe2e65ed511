"""Every AWS call of the deliveries API is one the template's role for it allows."""

from functions.deliveries import app as deliveries_app
from tests.integration.permissions import calls_made, refused


def test_the_deliveries_api_calls_only_what_its_role_allows(api, dead_letter, add_punch, stack, template):
    add_punch("E1")
    log_id, voided_id = dead_letter("E2"), dead_letter("E3")
    with calls_made() as calls:
        deliveries_app.dependencies.cache_clear()
        assert api("GET", "/deliveries").status == 200
        assert api("GET", "/deliveries/dead-letters").status == 200
        assert api("POST", "/deliveries/dead-letters/redrive", body={"logIds": [log_id]}).status == 200
        corrected = {"reason": "wrong type", "correctedType": "out"}
        voided = api("POST", "/punches/{logId}/void", body=corrected, logId=voided_id)
        assert voided.status == 202, voided.body
        assert api("GET", "/deliveries/voids").status == 200
    assert {operation for _, operation, _ in calls} >= {
        "BatchGetItem",
        "Scan",
        "DescribeTable",
        "GetItem",
        "ReceiveMessage",
        "UpdateItem",
        "SendMessageBatch",
        "DeleteMessage",
    }
    assert refused(template, "DeliveriesFunction", stack, calls) == []
