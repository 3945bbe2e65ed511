"""Edge poller figures: a first full sync of a large device log, and an idle cycle.

The device is the simulator over loopback TCP (through pyzk, as in production); the cloud is a minimal
HTTP endpoint that accepts every punch, so the figures are the poller's and the device protocol's, not
the cloud's. Run: `make bench-edge` (or `python -m bench.edge_poller_bench --records 50000`).
"""

import argparse
import gzip
import json
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from edge_poller.cloud import CloudClient
from edge_poller.config import DeviceConfig, PollerConfig
from edge_poller.poller import Poller
from edge_poller.simulator import DeviceState, ZkSimulator
from edge_poller.store import Store


class _AcceptingCloud(BaseHTTPRequestHandler):
    requests = 0  # every request: punch batches and health reports
    health_reports = 0
    bytes_in = 0

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).requests += 1
        if self.path.endswith("/health"):
            type(self).health_reports += 1
            device_id = self.path.split("/")[2]
            self._reply(202, {"deviceId": device_id, "recorded": True})
            return
        type(self).bytes_in += len(body)
        punches = json.loads(gzip.decompress(body))["punches"]
        results = [{"index": i, "status": "accepted", "logId": f"L{i}"} for i in range(len(punches))]
        self._reply(200, {"results": results})

    def _reply(self, status: int, body: dict) -> None:
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


def measure(records: int) -> list[tuple[str, str]]:
    device = DeviceState(serial="BENCH", time_zone="Europe/Berlin")
    device.fill(records, users=200, days=90)
    simulator = ZkSimulator(device, port=0).start()
    cloud = ThreadingHTTPServer(("127.0.0.1", 0), _AcceptingCloud)
    threading.Thread(target=cloud.serve_forever, daemon=True).start()
    with tempfile.TemporaryDirectory() as state:
        config = PollerConfig(
            cloud_url=f"http://127.0.0.1:{cloud.server_address[1]}",
            api_key="bench",
            state_dir=Path(state),
            devices=[
                DeviceConfig(
                    name="bench",
                    host="127.0.0.1",
                    port=simulator.port,
                    time_zone="Europe/Berlin",
                    timeout_seconds=60,
                )
            ],
        )
        poller = Poller(
            config, Store(Path(state) / "outbox.sqlite3"), CloudClient(config.cloud_url, "bench", 60)
        )
        rows = []
        started = time.perf_counter()
        [report] = poller.read_devices()
        read_seconds = time.perf_counter() - started
        device_bytes = device.bytes_sent + device.bytes_received
        push_started = time.perf_counter()
        poller.drain()
        push_seconds = time.perf_counter() - push_started
        pushes = _AcceptingCloud.requests
        poller.health.report()
        rows += [
            (f"first sync: records read ({records:,} on device)", f"{report.fetched:,}"),
            ("first sync: device read + outbox write", f"{read_seconds:.2f} s"),
            ("first sync: device bytes (both directions)", f"{device_bytes:,}"),
            ("first sync: push to cloud", f"{push_seconds:.2f} s in {pushes} requests"),
            ("first sync: bytes to cloud (gzip)", f"{_AcceptingCloud.bytes_in:,}"),
            ("first sync: health reports", f"{_AcceptingCloud.health_reports}"),
        ]
        before_bytes, before_requests = device.bytes_sent + device.bytes_received, device.requests
        cloud_before, health_before = _AcceptingCloud.requests, _AcceptingCloud.health_reports
        started = time.perf_counter()
        [idle] = poller.read_devices()
        poller.drain()
        poller.health.report()
        rows += [
            ("idle cycle: time", f"{(time.perf_counter() - started) * 1000:.0f} ms"),
            ("idle cycle: device requests (connect, sizes, exit)", f"{device.requests - before_requests}"),
            ("idle cycle: device bytes", f"{device.bytes_sent + device.bytes_received - before_bytes}"),
            (
                "idle cycle: cloud requests (of them health reports)",
                f"{_AcceptingCloud.requests - cloud_before} ({_AcceptingCloud.health_reports - health_before})",
            ),
        ]
        assert idle.unchanged
        poller.close()
    simulator.stop()
    cloud.shutdown()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=50_000)
    args = parser.parse_args()
    rows = measure(args.records)
    width = max(len(label) for label, _ in rows)
    print(f"{'edge poller':{width}}  figure")
    for label, value in rows:
        print(f"{label:{width}}  {value}")


if __name__ == "__main__":
    main()
