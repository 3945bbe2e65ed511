"""The local stack's template parameter overrides, read from LOCAL_PARAMETERS ("Name=value,Name=value").

Here, not in local_stack, so that the admin CLI reads them as the stack does (the company zone,
DefaultTimeZone) without depending on the code that runs it (as attendance.local_ports).
"""

import os
from collections.abc import Mapping

VARIABLE = "LOCAL_PARAMETERS"


def parameters_from_environment(
    environment: Mapping[str, str] = os.environ,
) -> tuple[tuple[tuple[str, str], ...], list[str]]:
    """LOCAL_PARAMETERS's Name=value entries (comma-separated), and a problem for each entry that is not
    one: refused rather than dropped, as a misspelt name is."""
    pairs, problems = [], []
    for entry in environment.get(VARIABLE, "").split(","):
        name, equals, value = entry.partition("=")
        if equals and name.strip():
            pairs.append((name.strip(), value.strip()))
        elif entry.strip():
            problems.append(f"{VARIABLE} entry {entry.strip()!r} is not Name=value")
    return tuple(pairs), problems
