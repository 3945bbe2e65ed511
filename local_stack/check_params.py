"""`python -m local_stack.check_params` (make check-params): a deployment's parameters, checked before
`sam deploy` as the local stack checks its own (local_stack.parameters).

It reads the `parameter_overrides` that `sam deploy --guided` saves in samconfig.toml, for one config
environment (`--config-env`, as sam's), and prints a line for each problem (exit 2), or that all is well.
A parameter not given there keeps the stack's previous value, or the template's default.
"""

import argparse
import shlex
import sys
import tomllib
from pathlib import Path
from typing import Any

from local_stack.parameters import parameter_problems
from local_stack.template import TEMPLATE_PATH, load_template

SAMCONFIG_PATH = TEMPLATE_PATH.parent / "samconfig.toml"
EXIT_PROBLEMS = 2


class ConfigUnreadable(Exception):
    """No overrides to check: the file or the environment is missing, or the overrides cannot be split."""


def main(arguments: list[str] | None = None) -> int:
    options = _parser().parse_args(arguments)
    try:
        overrides, entry_problems = saved_overrides(options.config_file, options.config_env)
    except ConfigUnreadable as error:
        print(error)
        return EXIT_PROBLEMS
    where = f"{options.config_file.name} [{options.config_env}]"
    problems = entry_problems + parameter_problems(load_template()["Parameters"], overrides)
    for problem in problems:
        print(f"{where}: {problem}")
    if problems:
        return EXIT_PROBLEMS
    if overrides:
        print(f"{where}: {len(overrides)} parameter overrides, each within template.yaml's rules")
    else:
        print(f"{where}: no parameter_overrides (sam deploy --guided saves them here)")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--config-file", type=Path, default=SAMCONFIG_PATH, help="default: %(default)s")
    parser.add_argument("--config-env", default="default", help="default: %(default)s")
    return parser


def saved_overrides(config_file: Path, config_env: str) -> tuple[dict[str, str], list[str]]:
    """The environment's parameter_overrides as names and values, and a problem for each entry that is not
    Name=value; sam reads them from its deploy section, else from its global one."""
    try:
        config = tomllib.loads(config_file.read_text())
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise ConfigUnreadable(f"cannot read {config_file}: {error}") from None
    if config_env not in config:
        raise ConfigUnreadable(f"{config_file.name} has no [{config_env}] environment")
    sections: dict[str, Any] = config[config_env]
    saved = next(
        (
            sections[command]["parameters"]["parameter_overrides"]
            for command in ("deploy", "global")
            if "parameter_overrides" in sections.get(command, {}).get("parameters", {})
        ),
        "",
    )
    return overrides_from(saved)


def overrides_from(saved: str | list[str]) -> tuple[dict[str, str], list[str]]:
    """sam's two shapes, a string or a list of strings, each of `Name=value` or
    `ParameterKey=Name,ParameterValue=value` entries apart by spaces, a value quoted as a shell quotes it."""
    try:
        entries = [
            entry for text in ([saved] if isinstance(saved, str) else saved) for entry in shlex.split(text)
        ]
    except ValueError as error:  # a quote not closed
        raise ConfigUnreadable(f"parameter_overrides cannot be split into entries: {error}") from None
    overrides, problems = {}, []
    for entry in entries:
        name, equals, value = _long_form_as_short(entry).partition("=")
        if equals and name:
            overrides[name] = value
        else:
            problems.append(f"parameter_overrides entry {entry!r} is not Name=value")
    return overrides, problems


def _long_form_as_short(entry: str) -> str:
    """ParameterKey=Name,ParameterValue=value as Name=value."""
    key, separator, value = entry.removeprefix("ParameterKey=").partition(",ParameterValue=")
    return f"{key}={value}" if entry.startswith("ParameterKey=") and separator else entry


if __name__ == "__main__":
    sys.exit(main())
