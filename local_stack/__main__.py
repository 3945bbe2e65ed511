"""`python -m local_stack` (make run): start everything in the foreground; Ctrl-C stops it."""

import signal
import sys
from types import FrameType

from local_stack.banner import banner
from local_stack.functions import FunctionError
from local_stack.stack import PORT_VARIABLES, LocalConfig, LocalStack, SettingsRefused, wait_for_stop


def main() -> int:
    try:
        stack = LocalStack(LocalConfig.from_environment())
    except SettingsRefused as refused:
        return refused.report()

    def on_terminate(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_terminate)
    signal.signal(signal.SIGINT, on_terminate)  # also when started in the background, where SIGINT is ignored
    try:
        stack.start()
    except SettingsRefused as refused:
        return refused.report()
    except OSError as error:
        print(
            f"could not start: {error} (is another stack running? set {', '.join(PORT_VARIABLES.values())}, "
            "or 0 for any free port)"
        )
        stack.stop()
        return 1
    except FunctionError as error:  # a handler that does not load: its traceback is printed above
        print(f"could not start: {error}")
        stack.stop()
        return 1
    print(banner(stack), flush=True)
    wait_for_stop(stack)
    return 0


if __name__ == "__main__":
    sys.exit(main())
