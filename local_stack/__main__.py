"""`python -m local_stack` (make run): start everything in the foreground; Ctrl-C stops it."""

import signal
import sys
import time
from collections.abc import Callable
from functools import partial
from types import FrameType

from local_stack.banner import banner
from local_stack.functions import FunctionError
from local_stack.stack import PORT_VARIABLES, LocalConfig, LocalStack, SettingsRefused

STOP_SIGNALS = (
    signal.SIGTERM,
    signal.SIGINT,
)  # SIGINT also when started in the background, where it is ignored


def main() -> int:
    try:
        stack = LocalStack(LocalConfig.from_environment())
    except SettingsRefused as refused:
        return refused.report()
    _on_stop_signals(partial(_interrupt, stack))
    try:
        return _run(stack)
    except KeyboardInterrupt:  # Ctrl-C or SIGTERM, while starting or running
        return 0
    finally:
        _on_stop_signals(_still_stopping)  # a second Ctrl-C while stopping would leave processes behind
        stack.stop()


def _run(stack: LocalStack) -> int:
    """Starts the stack and serves until interrupted; the exit code when it cannot start."""
    try:
        stack.start()
    except SettingsRefused as refused:
        return refused.report()
    except OSError as error:
        print(
            f"could not start: {error} (is another stack running? set {', '.join(PORT_VARIABLES.values())}, "
            "or 0 for any free port)"
        )
        return 1
    except FunctionError as error:  # a handler that does not load: its traceback is printed above
        print(f"could not start: {error}")
        return 1
    print(banner(stack), flush=True)
    while True:
        time.sleep(3600)


def _on_stop_signals(handler: Callable[[int, FrameType | None], None]) -> None:
    for signum in STOP_SIGNALS:
        signal.signal(signum, handler)


def _interrupt(stack: LocalStack, signum: int, frame: FrameType | None) -> None:
    """Says so at once: a start-up interrupted waits for the environments it is starting before it stops,
    and a second Ctrl-C meanwhile must be told that it is still stopping, not taken for the first."""
    _on_stop_signals(_still_stopping)
    stack.log("stopping...")
    raise KeyboardInterrupt


def _still_stopping(signum: int, frame: FrameType | None) -> None:
    print("still stopping: ending the functions' processes, a few seconds more", flush=True)


if __name__ == "__main__":
    sys.exit(main())
