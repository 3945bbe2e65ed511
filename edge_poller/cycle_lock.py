"""One read+push cycle at a time per state_dir. Two pollers on one outbox (`edge-poller once` beside the
service, or two services by mistake) would otherwise push the same pending rows side by side. The lock
(flock on state_dir/cycle.lock; msvcrt's byte lock on Windows) is held for one cycle, not for the
process's lifetime: the other poller waits for the cycle to end, and two services take turns."""

import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from edge_poller.store import StateDirUnusable

LOCK_FILE = "cycle.lock"
POLL_SECONDS = 0.1  # how often a waiting poller tries again

if sys.platform == "win32":
    import msvcrt

    def _try_lock(fd: int) -> bool:
        os.lseek(fd, 0, os.SEEK_SET)  # msvcrt locks bytes from the current position: always the first
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def _unlock(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)


class CycleLock:
    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / LOCK_FILE
        try:
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as error:
            raise StateDirUnusable(f"cannot create {self.path}: {error.strerror or error}") from None

    def holder(self) -> str:
        """Who holds the lock, in words: the pid it wrote, when it can be read."""
        try:
            pid = self.path.read_text().strip()
        except OSError:  # Windows: the locked byte cannot be read
            pid = ""
        return f"another edge-poller (pid {pid})" if pid.isdigit() else "another edge-poller"

    @contextmanager
    def held(
        self,
        wait: float,
        stop: threading.Event | None = None,
        on_wait: Callable[[str], None] = lambda holder: None,
    ) -> Iterator[bool]:
        """Hold the lock for the block, waiting up to `wait` seconds for it (less if `stop` is set); yields
        whether it is held. `on_wait` is told who holds it, once, when this has to wait."""
        mine = self._acquire(wait, stop or threading.Event(), on_wait)
        try:
            yield mine
        finally:
            if mine:
                _unlock(self._fd)

    def _acquire(self, wait: float, stop: threading.Event, on_wait: Callable[[str], None]) -> bool:
        deadline = time.monotonic() + wait
        if not _try_lock(self._fd):
            on_wait(self.holder())
            while not _try_lock(self._fd):
                remaining = deadline - time.monotonic()
                if remaining <= 0 or stop.wait(min(POLL_SECONDS, remaining)):
                    return False
        os.ftruncate(self._fd, 0)
        os.lseek(self._fd, 0, os.SEEK_SET)
        os.write(self._fd, f"{os.getpid()}\n".encode())
        return True

    def close(self) -> None:
        os.close(self._fd)
