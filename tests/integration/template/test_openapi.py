"""docs/openapi.json is generated from the handlers' routes and must not go stale."""

import json

from local_stack.openapi import OPENAPI_PATH, render
from local_stack.template import resources_of_type


def test_committed_openapi_is_current():
    assert OPENAPI_PATH.read_text() == render(), (
        "docs/openapi.json is stale: run `make openapi` and commit it"
    )


def test_every_template_route_is_documented_and_nothing_else(template):
    routes = {
        (event["Properties"]["Method"].lower(), event["Properties"]["Path"])
        for function in resources_of_type(template, "AWS::Serverless::Function").values()
        for event in function["Properties"].get("Events", {}).values()
        if event["Type"] == "HttpApi"
    }
    spec = json.loads(OPENAPI_PATH.read_text())
    documented = {(method, path) for path, operations in spec["paths"].items() for method in operations}
    assert documented == routes


def test_punch_bodies_are_described_by_the_punch_model():
    spec = json.loads(OPENAPI_PATH.read_text())
    schema = spec["paths"]["/punches"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    single, batch = schema["oneOf"]
    assert set(single["required"]) == {"deviceId", "userId", "timestamp", "type"}
    assert batch["properties"]["punches"]["maxItems"] == 500
