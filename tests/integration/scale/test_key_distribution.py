"""No partition key takes more than its share of a rush: every write of a morning through the real
ingest and delivery code, recorded with the key it lands on in each table and index of the template.

The rush runs in an interpreter of its own, as `python -m bench.key_distribution` does: it provisions
its own moto and sets the functions' environments, which a test process shares with other tests."""

import json
import subprocess
import sys

import pytest

from bench.key_distribution import BURST_PER_SECOND, KEY_LIMIT_PER_SECOND
from local_stack.template import TEMPLATE_PATH

pytestmark = pytest.mark.slow


def test_a_rush_puts_no_more_than_500_writes_a_second_on_any_key():
    # Given 200 employees' four punches each on 2 November 2026, clocking in and out within 20-minute
    # windows, each on a device of their own (`python -m bench.key_distribution` runs 2,000 employees of
    # yesterday by default). A day of its own makes the run the same every day: the punches' logIds, and
    # the shards they land on, follow the day, and at this size one day in twelve put a shard over the line
    # by chance alone (this one's busiest shard takes 438/s)
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.key_distribution",
            "--employees",
            "200",
            "--day",
            "2026-11-02",
            "--json",
        ],
        cwd=TEMPLATE_PATH.parent,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-3000:]  # the rush's traceback, when it died
    result = json.loads(run.stdout.splitlines()[-1])
    hot = {key["where"]: key for key in result["hottest"]}
    # Then every table and index the rush writes was measured
    assert {"PunchesTable", "DedupTable", "PunchesTable/byUser", "PunchesTable/byDevice"} <= set(hot)
    assert {"PunchesTable/byLocalDate", "PunchesTable/byUndelivered"} <= set(hot)
    # And at a burst of 5,000 punches a second, the hottest key of each takes at most 500 writes a second
    over = {where: key for where, key in hot.items() if key["per_second"] > KEY_LIMIT_PER_SECOND}
    assert over == {}, f"hot keys at {BURST_PER_SECOND}/s over {result['punches']} punches"
