"""CPU priority of the local stack's processes.

On AWS every execution environment has CPU of its own, so a queue's drain never slows an API's answer.
Here all share the machine's cores: processes nobody waits on (environments started by a queue, a stream
or a schedule, and the mock CRM that only the worker calls) run at a lower priority than those answering
requests, so that an API's latency stays what the function itself takes, however much the worker has to
drain.
"""

import os

BACKGROUND_NICENESS = 10


def yield_cpu(pid: int) -> None:
    """Lower the process's CPU priority: it runs whenever those answering requests leave a core idle."""
    os.setpriority(os.PRIO_PROCESS, pid, BACKGROUND_NICENESS)
