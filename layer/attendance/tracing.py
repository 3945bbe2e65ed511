"""Powertools' Tracer, with the X-Ray SDK loaded only when tracing is on.

Powertools defers importing the X-Ray SDK until a Tracer is created, and then imports it even when
tracing is disabled. That import is a part of every cold start worth sparing (`make bench` measures
the cold starts), so with tracing off (the template's `Tracing=PassThrough`, which sets TRACING_MODE, or Powertools' own
POWERTOOLS_TRACE_DISABLED) the Tracer gets a provider that records nothing and never loads the SDK.

With tracing on, only the libraries a function calls through are patched: by default Powertools patches
every library the SDK supports that is installed, which imports httpx (and sqlite3) into functions that
never use them. A library left unpatched is one the function makes no calls with, so no trace changes.
"""

import os
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from typing import Any

from aws_lambda_powertools import Tracer
from aws_lambda_powertools.tracing.base import BaseProvider, BaseSegment


def tracing_enabled() -> bool:
    disabled = os.getenv("POWERTOOLS_TRACE_DISABLED", "false").strip().lower() in ("1", "true", "yes", "on")
    return not disabled and os.getenv("TRACING_MODE", "Active") == "Active"


AWS_CALLS = ("botocore",)  # boto3's clients, Powertools' parameters


def create_tracer(patch: Sequence[str] = AWS_CALLS) -> Tracer:
    """`patch`: the libraries whose calls become subsegments (those the function makes calls with)."""
    if not tracing_enabled():
        return Tracer(provider=NoTracing(), disabled=True)
    return Tracer(patch_modules=patch) if patch else Tracer(auto_patch=False)


class _NoSegment(BaseSegment):
    def close(self, end_time: int | None = None) -> None: ...

    def add_subsegment(self, subsegment: Any) -> None: ...

    def remove_subsegment(self, subsegment: Any) -> None: ...

    def put_annotation(self, key: str, value: Any) -> None: ...

    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None: ...

    def add_exception(self, exception: BaseException, stack: Any, remote: bool = False) -> None: ...


class NoTracing(BaseProvider):
    """A tracing provider that records nothing."""

    @contextmanager
    def in_subsegment(self, name: str | None = None, **kwargs: Any) -> Iterator[BaseSegment]:
        yield _NoSegment()

    @asynccontextmanager
    async def in_subsegment_async(self, name: str | None = None, **kwargs: Any) -> AsyncIterator[BaseSegment]:
        yield _NoSegment()

    def put_annotation(self, key: str, value: Any) -> None: ...

    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None: ...

    def patch(self, modules: Sequence[str]) -> None: ...

    def patch_all(self) -> None: ...
