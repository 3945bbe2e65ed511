"""Each device read's own time limit: the backstop for a device that hangs in a way its socket timeout
does not catch (a transfer that crawls on without end). A read starts with a few requests' worth of
time; once the device has said how many records its log holds, it gets what that download may take too,
so a big log over a slow link is not cut short, and a hung read is still given up in bounded time."""

import threading
import time
from collections.abc import Mapping
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass


@dataclass
class _Read:
    started: float  # time.monotonic()
    seconds: float  # allowed so far

    @property
    def deadline(self) -> float:
        return self.started + self.seconds


class ReadLimits:
    def __init__(self) -> None:
        self._lock = threading.Lock()  # reads extend their limits from their own threads
        self._reads: dict[str, _Read] = {}

    def start(self, name: str, seconds: float) -> None:
        with self._lock:
            self._reads[name] = _Read(time.monotonic(), seconds)

    def extend(self, name: str, seconds: float) -> None:
        """More time for the read of `name` under way (none under way: nothing to do)."""
        with self._lock:
            if name in self._reads:
                self._reads[name].seconds += seconds

    def seconds(self, name: str) -> float:
        with self._lock:
            return self._reads[name].seconds

    def _deadline(self, name: str) -> float:
        with self._lock:
            return self._reads[name].deadline

    def wait[T](self, futures: Mapping[Future[T], str]) -> tuple[set[Future[T]], set[Future[T]]]:
        """Wait for each read (its future, its device's name) until it ends or its limit passes, whichever
        is first: (the reads done, the reads still running past their limits)."""
        pending, done, late = set(futures), set[Future[T]](), set[Future[T]]()
        while pending:
            nearest = min(self._deadline(futures[future]) for future in pending)
            finished, pending = wait(
                pending, timeout=max(0.0, nearest - time.monotonic()), return_when=FIRST_COMPLETED
            )
            done |= finished
            now = time.monotonic()
            overdue = {future for future in pending if self._deadline(futures[future]) <= now}
            late |= overdue
            pending -= overdue
        return done, late
