"""A busy or throttled database, as the local stack's latency knob makes it: a 500-punch batch answers in
part (never a timeout or a 500), and the edge poller drains a 1,000-record clock over several smaller
pushes with nothing lost and nothing stored twice."""

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.soak import scan_punches
from bench.stack_process import Stack, start_stack
from edge_poller.simulator import DeviceState, ZkSimulator
from local_stack.chaos import LATENCY_VARIABLE
from local_stack.stack import local_client

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
RECORDS = 1000
# Eight punches are stored at a time, each a transaction: at 100 ms a request a 500-punch batch needs
# more than its seven seconds, and a 250-punch one does not.
LATENCY_MS = 100


@pytest.fixture(scope="module")
def slow_stack() -> Iterator[Stack]:
    stack = start_stack({LATENCY_VARIABLE: str(LATENCY_MS)})
    yield stack
    stack.stop()


def test_a_slow_store_answers_in_part_and_the_poller_drains_it_all(slow_stack: Stack, tmp_path: Path):
    # Given a clock holding 1,000 records and an edge poller allowed batches of 500
    device = DeviceState(serial="SLOW-STORE")
    device.fill(RECORDS, users=50, days=10)
    simulator = ZkSimulator(device, port=0).start()
    config = tmp_path / "edge-poller.toml"
    config.write_text(
        f'cloud_url = "{slow_stack.api}"\napi_key = "local-dev-key"\npush_batch_size = 500\n'
        f'state_dir = "{tmp_path}"\n[[devices]]\nname = "clock"\nhost = "127.0.0.1"\n'
        f'port = {simulator.port}\ntime_zone = "UTC"\n'
    )
    # When it runs one pass against the slow store
    try:
        finished = subprocess.run(
            [sys.executable, "-m", "edge_poller", "--config", str(config), "once"],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    finally:
        simulator.stop()
    output = finished.stdout + finished.stderr
    # Then the first batch came back in part and the poller took smaller ones, with no failed push
    assert finished.returncode == 0, output
    assert "push batch size 500 -> 250" in output, output
    assert "in its time" in output, output
    assert "push failed" not in output, output
    # and every record is stored once, and the API never timed out or failed a request (the CRM worker,
    # draining beside it against the same slow store, may run out of its 8 s on a loaded machine: its
    # messages come back, which is what its timeout is for)
    stored = [item["logId"]["S"] for item in scan_punches(local_client("dynamodb", slow_stack.aws), "logId")]
    assert len(stored) == len(set(stored)) == RECORDS
    log = Path(slow_stack.log.name).read_text()
    timed_out = re.findall(r'"function": "(\w+)", "level": "ERROR", "message": "Task timed out', log)
    assert [function for function in timed_out if function != "CrmWorkerFunction"] == [], log
    assert "Traceback" not in log
