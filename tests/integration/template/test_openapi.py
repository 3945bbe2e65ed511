"""docs/openapi.json is generated from the handlers' routes and models, is valid and complete, and current."""

import json
import re

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate

from local_stack.openapi import FEED_SCHEMA_PATH, OPENAPI_PATH, render, render_feed_schema
from local_stack.template import resources_of_type


@pytest.fixture(scope="module")
def spec() -> dict:
    return json.loads(OPENAPI_PATH.read_text())


def operations(spec: dict) -> list[tuple[str, str, dict]]:
    return [(method, path, op) for path, ops in spec["paths"].items() for method, op in ops.items()]


def test_committed_openapi_is_current():
    assert OPENAPI_PATH.read_text() == render(), (
        "docs/openapi.json is stale: run `make openapi` and commit it"
    )


def test_committed_feed_schema_is_current_and_valid_json_schema():
    assert FEED_SCHEMA_PATH.read_text() == render_feed_schema(), (
        "docs/feed-events.schema.json is stale: run `make openapi` and commit it"
    )
    schema = json.loads(FEED_SCHEMA_PATH.read_text())
    Draft202012Validator.check_schema(schema)
    accepted = {"type": "punch.accepted", "version": 1, "at": "2026-11-30T08:00:00.000Z", "punch": {}}
    assert list(Draft202012Validator(schema).iter_errors(accepted)), "an empty punch must not validate"


def test_it_is_valid_openapi_with_no_dangling_reference(spec):
    validate(spec)
    references = set(re.findall(r'"\$ref": "#/components/schemas/([^"]+)"', json.dumps(spec)))
    assert references <= set(spec["components"]["schemas"])


def test_every_template_route_is_documented_and_nothing_else(template):
    events = [
        event["Properties"]
        for function in resources_of_type(template, "AWS::Serverless::Function").values()
        for event in function["Properties"].get("Events", {}).values()
        if event["Type"] == "HttpApi"
    ]
    routes = {(event["Method"].lower(), event["Path"]) for event in events if event["Method"] != "ANY"}
    spec = json.loads(OPENAPI_PATH.read_text())
    assert {(method, path) for method, path, _ in operations(spec)} == routes
    # the ANY routes only carry other methods of documented paths to their function (405 with Allow)
    assert {event["Path"] for event in events if event["Method"] == "ANY"} == set(spec["paths"])


def test_every_operation_has_a_credential_and_documents_its_refusals(spec):
    schemes = spec["components"]["securitySchemes"]
    assert schemes["apiKey"] == schemes["apiKey"] | {"type": "http", "scheme": "bearer"}
    assert schemes["admsSerial"] | {"in": "query", "name": "SN"} == schemes["admsSerial"]
    for method, path, operation in operations(spec):
        responses = operation["responses"]
        assert {"500", "503"} <= set(responses), (method, path)
        if operation.get("parameters") or operation.get("requestBody"):
            assert "400" in responses, (method, path)
        if path == "/" or path.startswith("/assets/"):  # the dashboard's page and files: public
            assert "security" not in operation, path
            continue
        if path.startswith("/hikvision/"):
            token = next(p for p in operation["parameters"] if p["name"] == "token")
            assert token["in"] == "path"
            assert token["schema"]["minLength"] >= 16
            assert "403" in responses
            continue
        [requirement] = operation["security"]
        assert set(requirement) <= set(schemes)
        assert {"401", "403"} & set(responses), (method, path)


def test_adms_routes_answer_in_plain_text(spec):
    for path in ("/iclock/cdata", "/iclock/getrequest", "/iclock/devicecmd"):
        for operation in spec["paths"][path].values():
            for status, response in operation["responses"].items():
                assert list(response["content"]) == ["text/plain"], (path, status)


def test_reports_declare_their_parameters_and_typed_rows(spec):
    daily = spec["paths"]["/reports/daily"]["get"]
    required = {p["name"]: p["required"] for p in daily["parameters"]}
    assert required == {"date": True, "userId": False, "department": False, "format": False}
    period = spec["paths"]["/reports/period"]["get"]
    required = {p["name"]: p["required"] for p in period["parameters"]}
    assert required == {"from": True, "to": True, "department": False, "format": False}
    timesheet = spec["paths"]["/reports/timesheet"]["get"]
    assert {p["name"] for p in timesheet["parameters"] if p["required"]} == {"userId", "from", "to"}
    ok = timesheet["responses"]["200"]["content"]
    assert ok["application/json"]["schema"] == {"$ref": "#/components/schemas/Timesheet"}
    assert "text/csv" in ok
    row = spec["components"]["schemas"]["ReportRow"]
    assert {"workedMinutes", "firstIn", "timeZone"} <= set(row["required"])


def test_punch_bodies_are_described_by_the_punch_model_with_examples(spec):
    body = spec["paths"]["/punches"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    refs = [option["$ref"].rsplit("/", 1)[1] for option in body["oneOf"]]
    batch, single = (spec["components"]["schemas"][name] for name in refs)
    assert set(single["required"]) == {"deviceId", "userId", "timestamp", "type"}
    assert single["properties"]["type"] == {"$ref": "#/components/schemas/PunchType"}
    assert batch["properties"]["punches"]["maxItems"] == 500
    assert single["examples"]
    assert batch["examples"]
    assert spec["paths"]["/hikvision/events/{token}"]["post"]["requestBody"]["content"]["application/json"][
        "example"
    ]
    replies = spec["paths"]["/punches"]["post"]["responses"]
    assert replies["202"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/PunchReply"
    }
    assert replies["400"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ErrorBody"
    }
