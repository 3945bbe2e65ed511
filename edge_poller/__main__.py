"""`python -m edge_poller` is the `edge-poller` command."""

import sys

from edge_poller.cli import main

sys.exit(main())
