"""docs/openapi.json from the handlers' own routes and models (Powertools), merged over every HttpApi function,
and docs/feed-events.schema.json, the live feed's messages, from their pydantic models.

`python -m local_stack.openapi` (make openapi) rewrites both; a test fails when either is stale.
"""

import importlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

from aws_lambda_powertools.event_handler.openapi.merge import OpenAPIMerge
from aws_lambda_powertools.event_handler.openapi.models import Server, ServerVariable

from attendance.api import API_KEY_SCHEME
from attendance.employees.csv_import import IMPORT_REQUEST_BODY
from attendance.feed.events import json_schema as feed_json_schema
from attendance.push.docs import SECURITY_SCHEMES, request_bodies
from local_stack.template import TEMPLATE_PATH, load_template, resources_of_type

OPENAPI_PATH = TEMPLATE_PATH.parent / "docs" / "openapi.json"
FEED_SCHEMA_PATH = TEMPLATE_PATH.parent / "docs" / "feed-events.schema.json"
TITLE, VERSION = "attendance-sync", "1.0.0"
DESCRIPTION = (
    "Biometric time-clock punches in, exactly once, to the HR/CRM system.\n\n"
    "Every refusal is an `ErrorBody`: `{error, message, details?}`. 400 means the request does not match "
    "this document (`details` names each field); 422 means it matches but breaks a rule a schema cannot "
    "state (a date that does not exist, a time too far from now, a range backwards or too long); "
    "401/403 a missing or insufficient credential; 404 no such route; 405 a method this route does not "
    "take (with `Allow`); 503 storage unavailable (retry after `Retry-After`). ADMS routes answer in "
    "plain text, as ZKTeco devices expect (`ERROR: <reason>`)."
)
SECURITY_SCHEMES_ALL: dict[str, Any] = {
    API_KEY_SCHEME: {
        "type": "http",
        "scheme": "bearer",
        "description": "An API key from `attendance keys create`, sent as `Authorization: Bearer <key>`",
    },
    **SECURITY_SCHEMES,
}
SERVERS = [
    Server(
        url="https://{apiId}.execute-api.{region}.amazonaws.com",
        variables={"apiId": ServerVariable(default="api"), "region": ServerVariable(default="us-east-1")},
    ),
    Server(url="http://127.0.0.1:3000", description="make run"),
]


def http_function_modules() -> Iterator[ModuleType]:
    """The handler module of every function that serves HttpApi routes in template.yaml."""
    for resource in resources_of_type(load_template(), "AWS::Serverless::Function").values():
        properties = resource["Properties"]
        if any(event["Type"] == "HttpApi" for event in properties.get("Events", {}).values()):
            package = properties["CodeUri"].strip("/").replace("/", ".")
            yield importlib.import_module(f"{package}.{properties['Handler'].rsplit('.', 1)[0]}")


def build() -> dict[str, Any]:
    merge = OpenAPIMerge(
        title=TITLE,
        version=VERSION,
        description=DESCRIPTION,
        servers=SERVERS,
        security_schemes=SECURITY_SCHEMES_ALL,
        on_conflict="error",
    )
    for module in http_function_modules():
        schema = module.app.get_openapi_schema(
            title=TITLE, version=VERSION, security_schemes=SECURITY_SCHEMES_ALL
        )
        merge.add_schema(schema)
    spec = json.loads(merge.get_openapi_json_schema())
    for (path, method), body in {
        **request_bodies(),
        ("/employee-imports", "post"): IMPORT_REQUEST_BODY,
    }.items():
        spec["paths"][path][method]["requestBody"] = body
    _drop_unused_validation_error(spec)
    _optional_parameters_are_absent_not_null(spec)
    _whole_number_bounds(spec)
    spec["paths"] = dict(sorted(spec["paths"].items()))
    spec["components"]["schemas"] = dict(sorted(spec["components"]["schemas"].items()))
    return spec


def _drop_unused_validation_error(spec: dict[str, Any]) -> None:
    """Powertools documents its own 422 body on every validated route; ours answer 400 with an ErrorBody
    instead, and 422 only where a route declares it."""
    powertools_422 = "#/components/schemas/HTTPValidationError"
    for operations in spec["paths"].values():
        for operation in operations.values():
            content = operation["responses"].get("422", {}).get("content", {})
            if content.get("application/json", {}).get("schema", {}).get("$ref") == powertools_422:
                del operation["responses"]["422"]
    for name in ("HTTPValidationError", "ValidationError", "ResponseValidationError"):
        spec["components"]["schemas"].pop(name, None)


def _optional_parameters_are_absent_not_null(spec: dict[str, Any]) -> None:
    """A query parameter typed `X | None` is one that may be left out: it is never sent as null."""
    for operations in spec["paths"].values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                schema = parameter["schema"]
                options = [option for option in schema.get("anyOf", []) if option != {"type": "null"}]
                if len(options) == 1 and len(schema["anyOf"]) == 2:
                    del schema["anyOf"]
                    schema.update(options[0])


_BOUNDS = frozenset({"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"})


def _whole_number_bounds(node: Any) -> None:
    """Powertools' OpenAPI model writes every bound as a float (minimum: 0.0); an integer's bounds are
    whole numbers, and generators of integer data read them as such."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in _BOUNDS and isinstance(value, float) and value.is_integer():
                node[key] = int(value)
            else:
                _whole_number_bounds(value)
    elif isinstance(node, list):
        for item in node:
            _whole_number_bounds(item)


def render() -> str:
    return json.dumps(build(), indent=2, sort_keys=False) + "\n"


def render_feed_schema() -> str:
    return json.dumps(feed_json_schema(), indent=2) + "\n"


def main() -> int:
    OPENAPI_PATH.parent.mkdir(exist_ok=True)
    for path, text in ((OPENAPI_PATH, render()), (FEED_SCHEMA_PATH, render_feed_schema())):
        path.write_text(text)
        print(f"wrote {path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
