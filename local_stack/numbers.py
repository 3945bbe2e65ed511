"""The local stack's number variables (LOCAL_CONCURRENCY, LOCAL_CHAOS_*, ...), read so that every one that
holds no number in its range is named at once, as the port variables are, not met as a traceback."""

import math
import os
from collections.abc import Mapping


class NumberVariables:
    """Reads number variables from an environment, keeping a problem for each that it refuses."""

    def __init__(self, environment: Mapping[str, str] = os.environ) -> None:
        self.environment = environment
        self.problems: list[str] = []

    def read(
        self,
        variable: str,
        default: float,
        *,
        whole: bool = False,
        lowest: float = 0,
        highest: float | None = None,
    ) -> float:
        """The variable's number, or `default` when it is unset, empty or refused (and a problem kept)."""
        text = self.environment.get(variable, "").strip()
        if not text:
            return default
        number = _number(text, whole)
        if number is None or number < lowest or (highest is not None and number > highest):
            self.problems.append(f"{variable}={text!r} is not {_wanted(whole, lowest, highest)}")
            return default
        return number


def _number(text: str, whole: bool) -> float | None:
    try:
        number = int(text) if whole else float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _wanted(whole: bool, lowest: float, highest: float | None) -> str:
    kind = "a whole number" if whole else "a number"
    bound = f"from {lowest:g} to {highest:g}" if highest is not None else f"of at least {lowest:g}"
    return f"{kind} {bound}"
