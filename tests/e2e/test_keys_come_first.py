"""A route that needs an API key checks the key before anything else of the request: a caller without a
valid key learns nothing of the contract or of the data, however wrong the rest of its request is."""

import json
import re

import httpx
import pytest

from local_stack.openapi import OPENAPI_PATH
from local_stack.running import RunningStack

pytestmark = pytest.mark.e2e

KEYED = [
    (method.upper(), path)
    for path, operations in json.loads(OPENAPI_PATH.read_text())["paths"].items()
    for method, operation in operations.items()
    if {"apiKey": []} in operation.get("security", [])
]


def test_the_contract_has_keyed_routes_of_every_kind():
    assert {method for method, _ in KEYED} >= {"GET", "POST", "PUT", "PATCH"}


@pytest.mark.parametrize(("method", "path"), KEYED, ids=[f"{method} {path}" for method, path in KEYED])
@pytest.mark.parametrize("key", [None, "not-a-key"], ids=["no key", "unknown key"])
def test_a_keyed_route_refuses_a_caller_without_a_valid_key_before_reading_the_request(
    stack: RunningStack, method: str, path: str, key: str | None
) -> None:
    # Given a request wrong in every other way: path parameters no ID has, a query out of range, a body
    # that is not JSON and not typed as JSON
    url = stack.api_url + re.sub(r"\{\w+\}", "no such id", path)
    headers = {"content-type": "text/plain"} | ({"authorization": f"Bearer {key}"} if key else {})
    # When it is sent without a valid key
    reply = httpx.request(method, url, params={"limit": "-1", "from": "never"}, content=b"{", headers=headers)
    # Then the answer is the 401, naming the key as the problem
    assert (reply.status_code, reply.json()["error"]) == (401, "unauthorized"), reply.text
