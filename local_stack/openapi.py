"""docs/openapi.json from the handlers' own route definitions (Powertools), for every HttpApi function.

`python -m local_stack.openapi` (make openapi) rewrites it; a test fails when it is stale.
"""

import importlib
import json
import sys
from pathlib import Path
from typing import Any

from attendance.domain.punch import PunchSubmission
from local_stack.template import TEMPLATE_PATH, load_template, resources_of_type

OPENAPI_PATH = TEMPLATE_PATH.parent / "docs" / "openapi.json"
TITLE, VERSION = "attendance-sync", "1.0.0"


def _request_bodies() -> dict[tuple[str, str], dict[str, Any]]:
    """Bodies Powertools cannot see, as the handlers parse them themselves (gzip, per-item results)."""
    punch = PunchSubmission.model_json_schema(by_alias=True)
    batch = {
        "type": "object",
        "required": ["punches"],
        "properties": {"punches": {"type": "array", "items": punch, "minItems": 1, "maxItems": 500}},
    }
    json_body = {"required": True, "content": {"application/json": {"schema": {"oneOf": [punch, batch]}}}}
    return {("/punches", "post"): json_body, ("/device/punch", "post"): json_body}


def build() -> dict[str, Any]:
    spec: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": TITLE,
            "version": VERSION,
            "description": "Biometric time-clock punches in, exactly once, to the HR/CRM system.",
        },
        "servers": [
            {
                "url": "https://{apiId}.execute-api.{region}.amazonaws.com",
                "variables": {"apiId": {"default": "api"}, "region": {"default": "us-east-1"}},
            },
            {"url": "http://127.0.0.1:3000", "description": "make run"},
        ],
        "paths": {},
        "components": {"securitySchemes": {"apiKey": {"type": "http", "scheme": "bearer"}}},
    }
    for resource in resources_of_type(load_template(), "AWS::Serverless::Function").values():
        properties = resource["Properties"]
        if not any(event["Type"] == "HttpApi" for event in properties.get("Events", {}).values()):
            continue
        package = properties["CodeUri"].strip("/").replace("/", ".")
        module = importlib.import_module(f"{package}.{properties['Handler'].rsplit('.', 1)[0]}")
        generated = json.loads(module.app.get_openapi_json_schema(title=TITLE, version=VERSION))
        for path, operations in generated["paths"].items():
            spec["paths"].setdefault(path, {}).update(operations)
    for (path, method), body in _request_bodies().items():
        spec["paths"][path][method]["requestBody"] = body
    for path, operations in spec["paths"].items():
        if path.startswith(("/punches", "/device/", "/reports/")):
            for operation in operations.values():
                operation["security"] = [{"apiKey": []}]
    spec["paths"] = dict(sorted(spec["paths"].items()))
    return spec


def render() -> str:
    return json.dumps(build(), indent=2, sort_keys=False) + "\n"


def main() -> int:
    OPENAPI_PATH.parent.mkdir(exist_ok=True)
    OPENAPI_PATH.write_text(render())
    print(
        f"wrote {OPENAPI_PATH.relative_to(Path.cwd()) if OPENAPI_PATH.is_relative_to(Path.cwd()) else OPENAPI_PATH}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
