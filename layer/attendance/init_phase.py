"""A cold start's init with the garbage collector at rest.

A handler module imports this first. In an execution environment (Lambda, or the local stack's, both of
which set AWS_LAMBDA_FUNCTION_NAME) the collector then rests while the handler imports Powertools,
pydantic, boto3 and our models: those imports allocate some 370,000 objects, nearly all kept for the
environment's life, and the collections they set off walked them again and again (about 7 % of an init,
`make bench`). The init ends with the first client (`attendance.data.aws.client`) or the first
invocation, whichever comes first: the init's objects go to the collector's permanent generation, so no
later collection walks them, and the collector runs again. The little cyclic garbage the imports leave
(about 1,400 objects) stays with them.

Elsewhere (tests, the command line) the collector never rests; `end` only freezes.
"""

import gc
import os
from collections.abc import Callable
from functools import cache, wraps

_RESTING = bool(os.getenv("AWS_LAMBDA_FUNCTION_NAME"))
if _RESTING:
    gc.disable()


@cache
def end() -> None:
    gc.freeze()
    if _RESTING:
        gc.enable()


def ends_at_first_invocation[**P, R](handler: Callable[P, R]) -> Callable[P, R]:
    """A handler whose environment's init ends, at the latest, when the handler is first called."""

    @wraps(handler)
    def invoked(*args: P.args, **kwargs: P.kwargs) -> R:
        end()
        return handler(*args, **kwargs)

    return invoked
