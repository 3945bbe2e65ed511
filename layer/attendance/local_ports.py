"""The local stack's ports, read from the variables that set them (API_PORT, AWS_PORT, ...).

Here, not in local_stack, so that the admin CLI reads them as the stack does without depending on the code
that runs it (as attendance.stack_names).
"""

import os
import re
from collections.abc import Mapping

HIGHEST_PORT = 65535


class InvalidPort(ValueError):
    """A port variable that holds no port; the message names the variable and its value."""


def port_from_environment(
    variable: str, default: int, *, any_free: bool = False, environment: Mapping[str, str] = os.environ
) -> int:
    """The port `variable` sets, or `default` when it is unset or empty. 0 (any free port) only for a server
    that listens (`any_free`): a client cannot connect to it."""
    text = environment.get(variable) or str(default)
    lowest = 0 if any_free else 1
    if re.fullmatch(r"[0-9]{1,5}", text) and lowest <= int(text) <= HIGHEST_PORT:
        return int(text)
    choices = f"a number from 1 to {HIGHEST_PORT}" + (", or 0 for any free one" if any_free else "")
    raise InvalidPort(f"{variable}={text!r} is not a port: give {choices}")
