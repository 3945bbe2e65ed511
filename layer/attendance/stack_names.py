"""How the local stack names its resources: `<STACK_PREFIX>-<LogicalId>` for each resource of template.yaml.

Here, not in local_stack, so that the admin CLI can find the local stack's tables and queues without
depending on the code that runs it.
"""

STACK_PREFIX = "attendance-sync"
