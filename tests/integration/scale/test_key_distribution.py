"""No partition key takes more than its share of a rush: every write of a morning through the real
ingest and delivery code, recorded with the key it lands on in each table and index of the template.

The rush runs in an interpreter of its own, as `python -m bench.key_distribution` does: it provisions
its own moto and sets the functions' environments, which a test process shares with other tests."""

import json
import subprocess
import sys

from bench.key_distribution import BURST_PER_SECOND, KEY_LIMIT_PER_SECOND
from local_stack.template import TEMPLATE_PATH


def test_a_rush_puts_no_more_than_500_writes_a_second_on_any_key():
    # Given 400 employees' four punches each, clocking in and out within 20-minute windows, each on a
    # device of their own (`python -m bench.key_distribution` runs 2,000 employees by default). The rush's
    # punches fall on yesterday, so their logIds, and the shards they land on, change daily: at 200 employees
    # about one day in twelve put a shard over the line by chance alone; at 400, none of 60 days did
    run = subprocess.run(
        [sys.executable, "-m", "bench.key_distribution", "--employees", "400", "--json"],
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
