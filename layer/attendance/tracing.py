"""Powertools' Tracer, with the X-Ray SDK loaded only when tracing is on.

Powertools defers importing the X-Ray SDK until a Tracer is created, and then imports it even when
tracing is disabled. That import is about a quarter of a function's cold start (`make bench` measures
both), so with tracing off (the template's `Tracing=PassThrough`, which sets TRACING_MODE, or Powertools' own
POWERTOOLS_TRACE_DISABLED) the Tracer gets a provider that records nothing and never loads the SDK.
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


def create_tracer() -> Tracer:
    return Tracer() if tracing_enabled() else Tracer(provider=NoTracing(), disabled=True)


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
