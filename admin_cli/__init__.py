"""`attendance`: the admin CLI for a deployed stack or the local one."""
