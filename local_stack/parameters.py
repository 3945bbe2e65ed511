"""Template parameter values checked before anything is made with them: against template.yaml's own rules,
as CloudFormation applies them, and each time zone as the functions read it.

The local stack checks the parameters it is given with `parameter_problems` before it starts anything, and
`make check-params` (local_stack.check_params) a deployment's before `sam deploy` takes them. A zone that
does not exist passes every rule CloudFormation has, and would only fail in the functions (a 500 for every
punch, a worker that never starts), so it is caught here too.
"""

import difflib
import re
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_pascal

from attendance.domain.clock import InvalidTime, parse_zone

# A parameter so named holds a time zone (DefaultTimeZone, ReportTimeZone, CrmTimeZone); whether it may be
# empty is for its AllowedPattern to say.
ZONE_SUFFIX = "TimeZone"
# What a Number parameter takes here: digits with an optional sign and fraction (no exponent, NaN or
# infinity, which no setting of ours could use).
_NUMBER = re.compile(r"[+-]?[0-9]+(\.[0-9]+)?")


class ParameterRules(BaseModel):
    """A template parameter's type and the constraints CloudFormation applies to a value given for it."""

    model_config = ConfigDict(alias_generator=to_pascal, frozen=True, coerce_numbers_to_str=True)

    type: str
    allowed_values: tuple[str, ...] = ()
    allowed_pattern: str | None = None
    min_value: Decimal | None = None
    max_value: Decimal | None = None
    min_length: int | None = None
    max_length: int | None = None
    constraint_description: str | None = None


# A check of one rule: what is wrong with the value, or None.
Check = Callable[[ParameterRules, str], str | None]


def parameter_problems(declared: Mapping[str, Mapping[str, Any]], given: Mapping[str, str]) -> list[str]:
    """A line for each value given that the template's Parameters section (`declared`) refuses, or that
    no function could use, naming the parameter, its value and the rule broken; none when all is well."""
    rules = {name: ParameterRules.model_validate(declaration) for name, declaration in declared.items()}
    problems = []
    for name, value in given.items():
        broken = _broken_rule(name, rules[name], value) if name in rules else _no_such_parameter(name, rules)
        if broken:
            problems.append(f"{name}={value!r}: {broken}")
    return problems


def _no_such_parameter(name: str, declared: Iterable[str]) -> str:
    by_lower_case = {known.lower(): known for known in declared}
    close = difflib.get_close_matches(name.lower(), by_lower_case, n=1)
    return "template.yaml has no such parameter" + (
        f" (did you mean {by_lower_case[close[0]]}?)" if close else ""
    )


def _broken_rule(name: str, rules: ParameterRules, value: str) -> str | None:
    """The first rule the value breaks: one line a parameter, however many it breaks."""
    checks = _NUMBER_CHECKS if rules.type == "Number" else _STRING_CHECKS
    if name.endswith(ZONE_SUFFIX):
        checks = (*checks, _unknown_zone)
    broken = next((problem for check in checks if (problem := check(rules, value))), None)
    if broken and rules.constraint_description:  # what CloudFormation shows when a constraint fails
        return f"{broken}; {rules.constraint_description}"
    return broken


def _not_a_number(rules: ParameterRules, value: str) -> str | None:
    return None if _NUMBER.fullmatch(value) else "not a number (Type: Number)"


def _not_an_allowed_number(rules: ParameterRules, value: str) -> str | None:
    if rules.allowed_values and Decimal(value) not in {Decimal(allowed) for allowed in rules.allowed_values}:
        return _not_allowed(rules)
    return None


def _below_min_value(rules: ParameterRules, value: str) -> str | None:
    if rules.min_value is not None and Decimal(value) < rules.min_value:
        return f"below MinValue {rules.min_value}"
    return None


def _above_max_value(rules: ParameterRules, value: str) -> str | None:
    if rules.max_value is not None and Decimal(value) > rules.max_value:
        return f"above MaxValue {rules.max_value}"
    return None


def _not_an_allowed_string(rules: ParameterRules, value: str) -> str | None:
    return _not_allowed(rules) if rules.allowed_values and value not in rules.allowed_values else None


def _not_allowed(rules: ParameterRules) -> str:
    return f"not one of AllowedValues {', '.join(rules.allowed_values)}"


def _shorter_than_min_length(rules: ParameterRules, value: str) -> str | None:
    if rules.min_length is not None and len(value) < rules.min_length:
        return f"shorter than MinLength {rules.min_length}"
    return None


def _longer_than_max_length(rules: ParameterRules, value: str) -> str | None:
    if rules.max_length is not None and len(value) > rules.max_length:
        return f"longer than MaxLength {rules.max_length}"
    return None


def _not_matching_pattern(rules: ParameterRules, value: str) -> str | None:
    # CloudFormation matches the whole value, anchored or not
    if rules.allowed_pattern is not None and not re.fullmatch(rules.allowed_pattern, value):
        return f"does not match AllowedPattern {rules.allowed_pattern}"
    return None


def _unknown_zone(rules: ParameterRules, value: str) -> str | None:
    if not value:
        return None
    try:
        parse_zone(value)
    except InvalidTime:
        return "not a time zone the functions know"
    return None


# In CloudFormation's order: the type, then the constraints; the zone last, the one CloudFormation lacks.
_NUMBER_CHECKS: tuple[Check, ...] = (
    _not_a_number,
    _not_an_allowed_number,
    _below_min_value,
    _above_max_value,
)
_STRING_CHECKS: tuple[Check, ...] = (
    _not_an_allowed_string,
    _shorter_than_min_length,
    _longer_than_max_length,
    _not_matching_pattern,
)
