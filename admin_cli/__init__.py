"""`attendance`: the admin CLI for a deployed stack or the local one."""

import sys

# What the CLI needs beyond the base install (the edge poller's): the `admin` extra.
ADMIN_EXTRA_MODULES = {"typer", "rich", "websockets", "boto3", "botocore", "aws_lambda_powertools", "jwt"}


def run() -> None:
    """The console script. A base install (the edge poller's) lacks the CLI's libraries: say how to add
    them rather than end in a traceback."""
    try:
        from admin_cli.main import run as run_cli
    except ModuleNotFoundError as missing:
        if (missing.name or "").split(".")[0] not in ADMIN_EXTRA_MODULES:
            raise
        print(
            f"attendance needs the admin extra ({missing.name} is not installed): "
            "pip install 'attendance-sync[admin]' (from a checkout: pip install '.[admin]')",
            file=sys.stderr,
        )
        sys.exit(2)
    run_cli()
