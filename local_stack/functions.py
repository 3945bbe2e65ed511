"""The template's functions, loaded in-process as Lambda would load them, one invocation at a time each."""

import importlib
import os
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from local_stack.events import LambdaContext
from local_stack.template import Resolver, function_environment, resources_of_type


@dataclass
class LocalFunction:
    logical_id: str
    handler: Callable[[dict[str, Any], Any], Any]
    timeout: float
    events: dict[str, dict[str, Any]]
    lock: threading.Lock = field(default_factory=threading.Lock)

    def invoke(self, event: dict[str, Any]) -> Any:
        """Like one warm Lambda container: invocations of one function never overlap."""
        with self.lock:
            return self.handler(event, LambdaContext(self.logical_id, self.timeout))


@dataclass(frozen=True)
class HttpRoute:
    method: str
    path: str  # may hold {parameters}, as in the template
    function: LocalFunction

    def match(self, method: str, path: str) -> dict[str, str] | None:
        if method.upper() != self.method.upper():
            return None
        pattern = "^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", self.path) + "$"
        found = re.match(pattern, path)
        return found.groupdict() if found else None


def load_functions(template: dict[str, Any], resolver: Resolver) -> dict[str, LocalFunction]:
    """Import each function's handler with its own environment set, as a cold start would."""
    defaults = template.get("Globals", {}).get("Function", {})
    loaded = {}
    for logical_id, resource in resources_of_type(template, "AWS::Serverless::Function").items():
        properties = resource["Properties"]
        module_name, function_name = properties["Handler"].rsplit(".", 1)
        package = properties["CodeUri"].strip("/").replace("/", ".")
        # Set while the module is imported (Powertools reads POWERTOOLS_SERVICE_NAME then) and left set:
        # the functions share one process, and their other variables agree wherever they overlap.
        os.environ.update(function_environment(template, logical_id, resolver))
        handler = getattr(importlib.import_module(f"{package}.{module_name}"), function_name)
        loaded[logical_id] = LocalFunction(
            logical_id,
            handler,
            float(properties.get("Timeout", defaults.get("Timeout", 3))),
            properties.get("Events", {}),
        )
    return loaded


def http_routes(functions: dict[str, LocalFunction]) -> list[HttpRoute]:
    return [
        HttpRoute(event["Properties"]["Method"], event["Properties"]["Path"], function)
        for function in functions.values()
        for event in function.events.values()
        if event["Type"] == "HttpApi"
    ]
