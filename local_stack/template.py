"""template.yaml as data: loading it with CloudFormation's short tags, and resolving what we need.

The local stack and the tests build every table, queue and function environment from here, so local
resources cannot drift from what `sam deploy` creates.
"""

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

TEMPLATE_PATH = Path(__file__).resolve().parent.parent / "template.yaml"


class _CfnLoader(yaml.SafeLoader):
    """SafeLoader that turns !Ref X into {"Ref": "X"}, !GetAtt A.B into {"Fn::GetAtt": [A, B]}, and so on."""


def _construct_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{suffix}": value}


_CfnLoader.add_multi_constructor("!", _construct_tag)


def load_template(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    return yaml.load(path.read_text(), Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass


@dataclass
class Resolver:
    """Resolves intrinsic functions against parameter defaults and the local physical resources."""

    template: dict[str, Any]
    overrides: dict[str, str] = field(default_factory=dict)  # parameter values other than the defaults
    refs: dict[str, str] = field(default_factory=dict)  # logical id -> Ref value (name or URL)
    attributes: dict[tuple[str, str], str] = field(default_factory=dict)  # (logical id, attr) -> value
    pseudo: dict[str, str] = field(
        default_factory=lambda: {
            "AWS::Partition": "aws",
            "AWS::Region": "us-east-1",
            "AWS::AccountId": "123456789012",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": "attendance-sync",
        }
    )

    def parameters(self) -> dict[str, str]:
        defaults = {name: str(spec.get("Default", "")) for name, spec in self.template["Parameters"].items()}
        return defaults | self.overrides

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.resolve(item) for item in value]
        if not isinstance(value, dict):
            return value
        if "Ref" in value:
            return self._ref(value["Ref"])
        if "Fn::GetAtt" in value:
            logical_id, attribute = value["Fn::GetAtt"]
            return self.attributes[(logical_id, attribute)]
        if "Fn::Sub" in value:
            return self._sub(value["Fn::Sub"])
        return {key: self.resolve(item) for key, item in value.items()}

    def _ref(self, name: str) -> str:
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.template.get("Parameters", {}):
            return self.parameters()[name]
        return self.refs[name]

    def _sub(self, text: str) -> str:
        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if "." in name:
                logical_id, attribute = name.split(".", 1)
                return self.attributes[(logical_id, attribute)]
            return self._ref(name)

        return re.sub(r"\$\{([^}]+)\}", replace, text)


def resources_of_type(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {
        logical_id: resource
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == resource_type
    }


def function_environment(template: dict[str, Any], logical_id: str, resolver: Resolver) -> dict[str, str]:
    """A function's environment as Lambda would see it: Globals merged with its own variables."""
    global_vars = template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
    own = template["Resources"][logical_id]["Properties"].get("Environment", {}).get("Variables", {})
    return {name: str(resolver.resolve(value)) for name, value in {**global_vars, **own}.items()}
