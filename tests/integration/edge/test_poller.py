"""The real poller against simulated devices and a real HTTP ingest."""

import os
import re
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import IO

import boto3
import pytest

from attendance.data.devices import DeviceStore
from attendance.domain.devices import Device
from edge_poller.cli import main
from edge_poller.cloud import CloudClient
from edge_poller.config import load_config
from edge_poller.poller import Poller
from edge_poller.simulator import free_tcp_port
from edge_poller.store import Store
from tests.integration.edge.conftest import CLOUD_KEY

pytestmark = pytest.mark.slow


def once(config: Path, *extra: str) -> int:
    return main(["--config", str(config), "once", *extra])


def outbox(config: Path) -> Store:
    return Store(load_config(config).state_dir / "outbox.sqlite3")


def test_incremental_reads_push_only_new_punches(device, cloud, write_config, capsys):
    state, simulator = device(serial="SIM0001", records=40)
    config = write_config(cloud.url, [("front", simulator.port, {})])
    # First sync: the whole log
    assert once(config) == 0
    assert len(cloud.punches()) == 40
    assert {p["deviceId"] for p in cloud.punches()} == {"SIM0001"}  # device id defaults to the serial
    assert {p["source"] for p in cloud.punches()} == {"edge"}
    # Three new punches: only they are pushed, in one request
    for user in ("2001", "2002", "2003"):
        state.punch(user, punch=0)
    requests_before = cloud.requests
    assert once(config) == 0
    assert cloud.requests == requests_before + 1
    assert len(cloud.punches()) == 43
    # An idle cycle: one small question to the device, nothing to the cloud
    sent_before, requests_before = state.bytes_sent, cloud.requests
    assert once(config) == 0
    assert cloud.requests == requests_before
    assert state.bytes_sent - sent_before < 500  # connect, sizes, exit: no log download
    output = capsys.readouterr().out
    assert "unchanged" in output
    assert "front: downloading 40 records" in output
    assert "front: downloading 43 records" in output
    assert "downloading" not in output.split("front: downloading 43 records")[-1]  # not when idle


class LoginPage(BaseHTTPRequestHandler):
    """What a captive portal or a proxy's login answers any request with: 200, and a web page."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        page = b"<html><body>Please sign in to the guest network</body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(page)))
        self.end_headers()
        self.wfile.write(page)

    def log_message(self, *args: object) -> None:
        pass


def test_a_login_page_in_the_way_is_a_failed_push_said_plainly_and_nothing_is_lost(
    device, cloud, write_config, capsys
):
    # Given an office whose traffic a login page answers, with 200 and a web page
    portal = ThreadingHTTPServer(("127.0.0.1", 0), LoginPage)
    threading.Thread(target=portal.serve_forever, daemon=True).start()
    _, simulator = device(records=5)
    config = write_config(f"http://127.0.0.1:{portal.server_address[1]}", [("front", simulator.port, {})])
    try:
        # When office IT checks the setup, then it is told the answer is not the API's
        assert main(["--config", str(config), "check"]) == 1
        assert "the answer is not the API's: HTTP 200, text/html" in capsys.readouterr().out
        # When the poller runs, then the push fails in words, not a traceback, and every punch waits
        assert once(config) == 1
        assert "a proxy or a login page between this office and the cloud?" in capsys.readouterr().out
        assert outbox(config).pending_count() == 5
    finally:
        portal.shutdown()
        portal.server_close()


def test_cloud_down_for_a_while_means_an_outbox_that_drains_later(device, cloud, write_config):
    _, simulator = device(records=30)
    dead_cloud = write_config(f"http://127.0.0.1:{free_tcp_port()}", [("front", simulator.port, {})])
    assert once(dead_cloud) == 1  # the push failed: the exit code says so
    assert outbox(dead_cloud).pending_count() == 30
    assert cloud.punches() == []
    live = write_config(cloud.url, [("front", simulator.port, {})])
    assert once(live) == 0
    assert outbox(live).pending_count() == 0
    assert len(cloud.punches()) == 30


def test_status_shows_the_last_failed_push_until_one_gets_through(device, cloud, write_config, capsys):
    # Given a poller whose push the cloud fails, as during an outage
    _, simulator = device(records=4)
    config = write_config(cloud.url, [("front", simulator.port, {})])
    cloud.fail_next(1, status=503)
    assert once(config) == 1
    # When office IT asks for the status, then it says when the push failed and why, in words
    capsys.readouterr()
    assert main(["--config", str(config), "status"]) == 0
    [line] = [line for line in capsys.readouterr().out.splitlines() if line.startswith("cloud push:")]
    assert re.fullmatch(
        r"cloud push: last failed \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00: cloud answered HTTP 503: "
        r'\{"message": "Service Unavailable"\} \(4 punches wait in the outbox; this clears when a push gets '
        r"through\)",
        line,
    )
    # When a push gets through, then the failure is over, and status says so
    assert once(config) == 0
    assert main(["--config", str(config), "status"]) == 0
    assert "cloud push: no failed push outstanding" in capsys.readouterr().out


def test_a_dead_device_and_a_hanging_one_do_not_hold_up_a_live_one(device, cloud, write_config, capsys):
    _, live = device(serial="LIVE", records=5)
    hanging_state, hanging = device(serial="HANG")
    hanging_state.delay_seconds = 30
    config = write_config(
        cloud.url,
        [
            ("live", live.port, {}),
            ("dead", free_tcp_port(), {}),
            ("hanging", hanging.port, {"timeout_seconds": 1}),
        ],
    )
    assert once(config) == 1  # some devices failed
    assert len(cloud.punches()) == 5
    capsys.readouterr()
    main(["--config", str(config), "status"])
    lines = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()[1:]}
    assert "cannot connect" in lines["dead"]
    assert "cannot connect" in lines["hanging"]
    assert "never" not in lines["live"].split()[1]


def test_a_big_log_over_a_slow_link_gets_the_time_its_size_needs_and_a_crawling_one_is_still_given_up(
    device, cloud, write_config
):
    # Given two clocks behind slow links, each with a timeout of 1 s: one with 20,000 records (800 KB)
    # at 64 KB/s, some 13 s to download; one with 2,000 records at 5 KB/s, slower than 64 KB a timeout
    big_state, big = device(serial="BIG", records=20_000)
    big_state.link_bytes_per_second = 64_000
    crawling_state, crawling = device(serial="CRAWL", records=2_000)
    crawling_state.link_bytes_per_second = 5_000
    config = write_config(
        cloud.url,
        [("big", big.port, {"timeout_seconds": 1}), ("crawling", crawling.port, {"timeout_seconds": 1})],
    )
    poller = Poller(load_config(config), outbox(config), CloudClient(cloud.url, CLOUD_KEY, 10))
    # When the service reads them
    started = time.monotonic()
    reports = {report.name: report for report in poller.read_devices()}
    # Then the big log is read whole, past the few seconds a read without a log is given
    assert reports["big"].error is None
    assert reports["big"].fetched == 20_000
    assert time.monotonic() - started > 1 * 4 + 5
    # and the crawling one is given up at its own limit: 9 s, and a second for each of its 2 chunks and
    # its users table
    assert reports["crawling"].error == "read still running after 12 s"
    # (a read given up goes on in its thread, and what it reads after all is kept: only the big log's count)
    assert outbox(config).pending_by_device()["big"] == 20_000
    poller.close()


def test_a_cleared_log_is_detected_without_a_repush_storm(device, cloud, write_config):
    state, simulator = device(records=20)
    config = write_config(cloud.url, [("front", simulator.port, {})])
    assert once(config) == 0
    requests_before = cloud.requests
    state.clear_log()
    state.punch("3001", punch=0)
    state.punch("3002", punch=0)
    assert once(config) == 0
    assert len(cloud.punches()) == 22
    assert cloud.requests == requests_before + 1  # just the two new punches


def test_a_replaced_log_that_still_holds_old_punches_pushes_only_new_ones(device, cloud, write_config):
    state, simulator = device(records=20)
    config = write_config(cloud.url, [("front", simulator.port, {})])
    assert once(config) == 0
    kept = state.records[10:]  # the device lost its first ten records, then recorded one more
    state.clear_log()
    state.records.extend(kept)
    state.punch("4001", punch=1)
    assert once(config) == 0
    punches = cloud.punches()
    assert len(punches) == 21
    assert outbox(config).pending_count() == 0


def test_device_wall_clock_is_read_in_its_zone(device, cloud, write_config):
    state, simulator = device(serial="NY1", time_zone="America/New_York")
    state.punch("5001", punch=0, at=datetime(2025, 7, 1, 9, 0, 0))
    state.punch("5001", punch=1, at=datetime(2025, 12, 1, 17, 30, 0))
    config = write_config(cloud.url, [("ny", simulator.port, {"time_zone": "America/New_York"})])
    assert once(config) == 0
    stored = sorted((p["punchTime"], p["localTime"], p["type"]) for p in cloud.punches())
    assert stored == [
        ("2025-07-01T13:00:00Z", "2025-07-01T09:00:00", "in"),  # EDT, UTC-4
        ("2025-12-01T22:30:00Z", "2025-12-01T17:30:00", "out"),  # EST, UTC-5
    ]


def test_a_fixed_offset_device_is_read_and_its_clock_kept_in_its_zone(device, cloud, write_config, capsys):
    # Given a clock in India set to +05:30, running 30 min slow, with a check-in at 08:59:12 on it
    state, simulator = device(serial="IN1", time_zone="+05:30", clock_offset_minutes=-30)
    state.punch("5001", punch=0, at=datetime(2025, 2, 10, 8, 59, 12))
    config = write_config(cloud.url, [("pune", simulator.port, {"time_zone": "+05:30"})])
    # When the poller checks it, then reads it and sets its clock
    main(["--config", str(config), "check"])
    assert once(config, "--sync-clock") == 0
    # Then the drift is measured in its zone, its clock now agrees, and the punch is at 03:29:12 UTC
    assert "clock -30.0 min" in capsys.readouterr().out
    assert abs(state.clock_offset_minutes) < 0.1
    assert [(p["punchTime"], p["localTime"], p["timeZone"]) for p in cloud.punches()] == [
        ("2025-02-10T03:29:12Z", "2025-02-10T08:59:12", "+05:30")
    ]


def test_punches_without_a_state_alternate_or_take_the_configured_type(device, cloud, write_config):
    state, simulator = device(serial="NOSTATE")
    for hour in (8, 12, 13, 17):
        state.punch("6001", punch=255, at=datetime(2025, 3, 3, hour, 0, 0))
    state.punch("6002", punch=255, at=datetime(2025, 3, 3, 9, 0, 0))
    config = write_config(cloud.url, [("front", simulator.port, {})])
    assert once(config) == 0
    types = sorted((p["userId"], p["localTime"][11:16], p["type"]) for p in cloud.punches())
    assert types == [
        ("6001", "08:00", "in"),
        ("6001", "12:00", "out"),
        ("6001", "13:00", "in"),
        ("6001", "17:00", "out"),
        ("6002", "09:00", "in"),
    ]
    fixed_state, fixed = device(serial="FIXED")
    fixed_state.punch("7001", punch=255, at=datetime(2025, 3, 3, 8, 0, 0))
    fixed_state.punch("7001", punch=255, at=datetime(2025, 3, 3, 9, 0, 0))
    config = write_config(cloud.url, [("fixed", fixed.port, {"unknown_punch": "in"})])
    assert once(config) == 0
    assert {p["type"] for p in cloud.punches() if p["userId"] == "7001"} == {"in"}


def test_rejected_punches_are_kept_aside_not_retried(device, cloud, write_config, capsys):
    state, simulator = device(serial="BAD")
    state.punch("has space", punch=0, at=datetime(2025, 3, 3, 8, 0, 0))  # not a valid user id for the cloud
    state.punch("8001", punch=0, at=datetime(2025, 3, 3, 8, 0, 0))
    config = write_config(cloud.url, [("front", simulator.port, {})])
    assert once(config) == 0
    assert [p["userId"] for p in cloud.punches()] == ["8001"]
    store = outbox(config)
    assert store.pending_count() == 0
    [(device_name, _, reason)] = store.rejected()
    assert device_name == "front"
    assert "userId" in reason
    requests_before = cloud.requests
    assert once(config) == 0
    assert cloud.requests == requests_before


def test_punches_the_cloud_refuses_for_now_are_held_sent_again_and_the_log_kept(
    device, cloud, write_config, stack, capsys
):
    # Given a clock the cloud knows as disabled, with a month of punches, and a poller told to clear old ones
    state, simulator = device(serial="HELD1", records=12)
    registry = DeviceStore(boto3.client("dynamodb"), stack.refs["DevicesTable"])
    registry.put(Device(device_id="HELD1", serial="HELD1", enabled=False))
    config = write_config(cloud.url, [("front", simulator.port, {"clear_after_days": 1})])

    # When the poller runs once
    # Then it says the punches are held and why, and fails: they did not arrive
    assert once(config) == 1
    said = capsys.readouterr().out
    assert "front: 12 punches held, the cloud refuses them for now (device HELD1 is disabled)" in said
    assert cloud.punches() == []
    # And the clock keeps its whole log, since nothing of it is in the cloud
    assert "log cleared" not in said
    assert len(state.records) == 12
    assert outbox(config).statuses(["front"])[0].held == 12

    # When an admin enables the device and the poller runs again
    registry.put(Device(device_id="HELD1", serial="HELD1", enabled=True))
    assert once(config) == 0
    # Then every held punch arrives, once, and only now is the confirmed log cleared
    assert len(cloud.punches()) == 12
    assert outbox(config).statuses(["front"])[0].held == 0
    assert "front: log cleared on the device" in capsys.readouterr().out


def test_the_service_sends_held_punches_again_once_they_have_waited(device, cloud, write_config, stack):
    # Given punches held while the cloud refused their clock, and then the clock enabled
    _, simulator = device(serial="HELD2", records=3)
    registry = DeviceStore(boto3.client("dynamodb"), stack.refs["DevicesTable"])
    registry.put(Device(device_id="HELD2", serial="HELD2", enabled=False))
    config = write_config(cloud.url, [("front", simulator.port, {})])
    once(config)
    registry.put(Device(device_id="HELD2", serial="HELD2", enabled=True))
    poller = Poller(load_config(config), outbox(config), CloudClient(cloud.url, CLOUD_KEY, 10))
    # When the service pushes before they have waited their time, they stay held
    assert poller.drain().requests == 0
    # When it pushes once they have, they go, and arrive
    assert poller.drain(held_for=timedelta(0)).requests == 1
    assert len(cloud.punches()) == 3


def test_backfill_window_pushes_recent_punches_again(device, cloud, write_config):
    state, simulator = device()
    state.punch("9001", punch=0, at=state.now())
    state.punch("9002", punch=0, at=state.now().replace(year=2025, month=1))
    config = write_config(cloud.url, [("front", simulator.port, {})])
    assert once(config) == 0
    requests_before = cloud.requests
    assert once(config, "--since", "5h") == 0
    assert cloud.requests == requests_before + 1
    assert len(cloud.punches()) == 2  # the cloud absorbed the re-push as a duplicate


def test_clock_drift_is_reported_and_can_be_synced(device, cloud, write_config, capsys):
    state, simulator = device(clock_offset_minutes=-30)
    config = write_config(cloud.url, [("front", simulator.port, {})])
    main(["--config", str(config), "check"])
    output = capsys.readouterr().out
    assert "clock -30.0 min" in output
    assert "drifting: run once --sync-clock to set it" in output
    assert "reachable, API key accepted" in output
    assert once(config, "--sync-clock") == 0
    assert abs(state.clock_offset_minutes) < 0.1


def test_a_clock_off_by_whole_hours_points_at_the_zone_not_at_a_sync(device, cloud, write_config, capsys):
    # Given a clock kept in UTC while the config says it hangs in a zone an hour ahead
    _, simulator = device(clock_offset_minutes=-60)
    config = write_config(cloud.url, [("front", simulator.port, {})])
    # When office IT runs check, then it is told to look at the zones before setting the clock
    main(["--config", str(config), "check"])
    said = capsys.readouterr().out
    assert "1 h off: check the device's time_zone in the config and the clock's summer-time setting" in said
    assert "run once --sync-clock" not in said


def test_a_clock_in_step_reads_plus_nothing(device, cloud, write_config, capsys):
    # Given a device whose clock agrees with the host's (to well under a tenth of a minute)
    _, simulator = device()
    config = write_config(cloud.url, [("front", simulator.port, {})])
    # When office IT runs check (its --config may come after the command, too)
    assert main(["check", "--config", str(config)]) == 0
    # Then its drift reads +0.0 min, never -0.0
    assert "clock +0.0 min" in capsys.readouterr().out


def test_check_says_when_nothing_listens_at_a_devices_address(cloud, write_config, capsys):
    # Given a device whose address nothing listens on (switched off, or a wrong port)
    config = write_config(cloud.url, [("front", free_tcp_port(), {})])
    # When office IT runs check, then it says so in words, and fails
    assert main(["--config", str(config), "check"]) != 0
    assert "nothing accepts connections there" in capsys.readouterr().out


def test_a_wrong_comm_key_is_named_as_such_and_the_right_one_reads(device, cloud, write_config, capsys):
    # Given a clock with a Comm Key, and a config that has another key for it
    _, simulator = device(serial="KEYED", comm_key=4321, records=3)
    config = write_config(cloud.url, [("front", simulator.port, {"comm_key": 1111})])
    advice = "the device refused the connection's comm key: set this device's comm_key in the config"
    # When office IT runs check, then it names the comm key and where to set it, and fails
    assert main(["--config", str(config), "check"]) == 1
    assert advice in capsys.readouterr().out
    # When the poller runs, then its summary, its log and status say the same
    assert once(config) == 1
    assert advice in capsys.readouterr().out
    assert advice in (load_config(config).state_dir / "edge-poller.log").read_text()
    assert main(["--config", str(config), "status"]) == 0
    assert advice in capsys.readouterr().out
    # When the config gets the clock's key, then it reads
    keyed = write_config(cloud.url, [("front", simulator.port, {"comm_key": 4321})])
    assert once(keyed) == 0
    assert len(cloud.punches()) == 3


def test_check_tells_a_refused_key_and_a_wrong_url_from_an_accepted_key(device, cloud, write_config, capsys):
    # Given a poller whose key the cloud does not know, then one whose URL is not the punch endpoint
    _, simulator = device()
    config = write_config(cloud.url, [("front", simulator.port, {})])
    config.write_text(config.read_text().replace(CLOUD_KEY, "not-the-key"))
    # When office IT runs check, then it says the key is refused and fails
    assert main(["--config", str(config), "check"]) != 0
    assert "reachable, but the API key is refused (HTTP 401" in capsys.readouterr().out
    wrong_url = write_config(cloud.url + "/nowhere", [("front", simulator.port, {})])
    assert main(["--config", str(wrong_url), "check"]) != 0
    assert "is no punch endpoint (HTTP 404): check cloud_url" in capsys.readouterr().out


def service(config: Path, stdout: IO[bytes] | int = subprocess.DEVNULL) -> subprocess.Popen[bytes]:
    """`edge-poller run` in a process of its own, as systemd starts it."""
    command = [sys.executable, "-m", "edge_poller", "--config", str(config), "run"]
    environment = os.environ | {"PYTHONPATH": str(Path.cwd())}
    return subprocess.Popen(command, env=environment, stdout=stdout, stderr=subprocess.DEVNULL)


def test_kill_9_mid_push_loses_nothing_and_duplicates_nothing(device, cloud, write_config, tmp_path):
    state, simulator = device(serial="KILL", records=600)
    config = write_config(cloud.url, [("front", simulator.port, {})], interval_seconds=1, push_batch_size=50)
    poller = service(config)
    deadline = time.monotonic() + 60
    while cloud.requests < 2:
        assert time.monotonic() < deadline, "the poller never started pushing"
        time.sleep(0.01)
    poller.send_signal(signal.SIGKILL)  # power cut in the middle of pushing
    poller.wait()
    assert 0 < len(cloud.punches()) < 600
    state.punch("9999", punch=0)  # life goes on while the poller is down
    restarted = service(config)
    try:
        deadline = time.monotonic() + 120
        while outbox(config).pending_count() or len(cloud.punches()) < 601:
            assert time.monotonic() < deadline, f"only {len(cloud.punches())} of 601 arrived"
            time.sleep(1)
    finally:
        restarted.send_signal(signal.SIGTERM)
        assert restarted.wait(timeout=30) == 0  # a clean shutdown on SIGTERM
    punches = cloud.punches()
    assert len(punches) == len({p["logId"] for p in punches}) == 601
    assert outbox(config).pending_count() == 0


def test_once_beside_the_service_waits_for_its_cycle_instead_of_pushing_the_same_punches(
    device, cloud, write_config, capsys
):
    # Given the service mid-push of 20 punches, the cloud taking 4 s to answer
    _, simulator = device(records=20)
    config = write_config(cloud.url, [("front", simulator.port, {})], interval_seconds=60)
    cloud.stall_next(1, 4)
    running = service(config)
    try:
        deadline = time.monotonic() + 60
        while cloud.requests < 1:
            assert time.monotonic() < deadline, "the service never pushed"
            time.sleep(0.01)
        # When once runs beside it, willing to wait 1 s only, then it gives up saying why, and sent nothing
        assert once(config, "--wait", "1") == 3
        said = capsys.readouterr().out
        assert f"another edge-poller (pid {running.pid}) is reading or pushing with this state_dir" in said
        assert "kept this state_dir busy for 1 s: nothing was read or pushed" in said
        assert cloud.requests == 1
        # When once runs with the default wait, then it waits for the service's cycle, and finds its
        # punches delivered: each went to the cloud once
        assert once(config) == 0
        assert "waiting up to 60 s for it" in capsys.readouterr().out
        assert cloud.pushed() == [20]
        assert len(cloud.punches()) == 20
    finally:
        running.send_signal(signal.SIGTERM)
        assert running.wait(timeout=30) == 0


def test_two_services_on_one_state_dir_take_turns_and_push_no_punch_twice(
    device, cloud, write_config, tmp_path
):
    # Given two services started on one config by mistake, and a cloud taking 0.5 s for each push
    state, simulator = device(records=300)
    config = write_config(cloud.url, [("front", simulator.port, {})], interval_seconds=1, push_batch_size=50)
    cloud.stall_next(6, 0.5)
    logs = [tmp_path / "first.out", tmp_path / "second.out"]
    outputs = [log.open("wb") for log in logs]
    services = [service(config, stdout=output) for output in outputs]
    try:
        # When they have pushed the log, and a punch made since
        deadline = time.monotonic() + 60
        while len(cloud.punches()) < 300:
            assert time.monotonic() < deadline, f"only {len(cloud.punches())} of 300 arrived"
            time.sleep(0.2)
        state.punch("7777", punch=0)
        while len(cloud.punches()) < 301:
            assert time.monotonic() < deadline, "the new punch never arrived"
            time.sleep(0.2)
        time.sleep(2)  # a few more cycles each
    finally:
        for running in services:
            running.send_signal(signal.SIGTERM)
        assert [running.wait(timeout=30) for running in services] == [0, 0]
        for output in outputs:
            output.close()
    # Then each punch went to the cloud once: one service's cycle waited for the other's
    assert sum(cloud.pushed()) == 301
    said = "".join(log.read_text() for log in logs)
    assert "is reading or pushing with the outbox in" in said
    assert outbox(config).pending_count() == 0


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            'cloud_url = "ftp://x"\napi_key = "k"\n[[devices]]\nname = "a"\nhost = "h"\ntime_zone = "UTC"\n',
            "cloud_url",
        ),
        (
            'cloud_url = "http://x"\napi_key = "k"\n[[devices]]\nname = "a"\nhost = "h"\ntime_zone = "Mars/Base"\n',
            "Mars/Base",
        ),
        ('cloud_url = "http://x"\napi_key = "k"\ndevices = []\n', "devices"),
        (
            'cloud_url = "http://x"\n[[devices]]\nname = "a"\nhost = "h"\ntime_zone = "UTC"\n',
            "EDGE_POLLER_API_KEY",
        ),
        (
            'cloud_url = "http://x"\napi_key = "k"\n[[devices]]\nname = "a"\nhost = "h"\ntime_zone = "UTC"\n'
            "interval_seconds = 30\n",
            "put it above the first [[devices]]",
        ),
        ("not toml [", "not valid TOML"),
    ],
)
def test_bad_config_is_explained(tmp_path, capsys, content, message):
    path = tmp_path / "edge-poller.toml"
    path.write_text(content)
    assert main(["--config", str(path), "status"]) == 2
    assert message in capsys.readouterr().err


def test_missing_config_is_explained(tmp_path, capsys):
    assert main(["--config", str(tmp_path / "nope.toml"), "once"]) == 2
    assert "not found" in capsys.readouterr().err


def test_a_config_that_cannot_be_read_as_text_is_explained_and_a_bom_is_no_error(tmp_path, capsys):
    # A directory given for the file, and a file saved in a Windows code page, are explained in words
    assert main(["--config", str(tmp_path), "status"]) == 2
    assert "cannot read config file" in capsys.readouterr().err
    latin = tmp_path / "latin.toml"
    latin.write_bytes('# Büro\ncloud_url = "http://x"\n'.encode("latin-1"))
    assert main(["--config", str(latin), "status"]) == 2
    assert "is not UTF-8 text: save it as UTF-8" in capsys.readouterr().err
    # And a byte-order mark, as Notepad writes it, reads as the text it marks
    marked = tmp_path / "marked.toml"
    good = 'cloud_url = "http://x"\napi_key = "k"\nstate_dir = "s"\n[[devices]]\nname = "a"\nhost = "h"\ntime_zone = "UTC"\n'
    marked.write_bytes(b"\xef\xbb\xbf" + good.encode())
    assert main(["--config", str(marked), "status"]) == 0


def test_a_state_dir_that_cannot_be_written_is_said_by_check_and_stops_the_service_plainly(
    device, cloud, write_config, tmp_path, capsys
):
    # Given a state_dir where no directory can be made (under a file: refused even to root)
    (tmp_path / "taken").write_text("a file, not a directory")
    _, simulator = device(records=2)
    config = write_config(
        cloud.url, [("front", simulator.port, {})], state_dir=str(tmp_path / "taken" / "state")
    )
    # When office IT runs check, then it fails naming the directory
    assert main(["--config", str(config), "check"]) == 1
    assert "NOT WRITABLE" in capsys.readouterr().out
    # When the service starts, then it stops with one line saying what to fix, no traceback
    assert main(["--config", str(config), "run"]) == 2
    assert "state_dir: cannot keep the outbox in" in capsys.readouterr().err


def test_a_stop_asked_for_ends_the_drain_between_batches(device, cloud, write_config):
    # Given a poller with punches to push, told to stop
    _, simulator = device(records=30)
    config = write_config(cloud.url, [("front", simulator.port, {})], push_batch_size=10, push_batch_min=1)
    poller = Poller(load_config(config), outbox(config), CloudClient(cloud.url, CLOUD_KEY, 10))
    poller.read_devices()
    stop = threading.Event()
    stop.set()
    # When it drains, then it sends nothing more and every punch waits in the outbox
    assert poller.drain(stop=stop).requests == 0
    assert outbox(config).pending_count() == 30


def test_api_key_from_the_environment_is_never_printed(device, cloud, write_config, monkeypatch, capsys):
    _, simulator = device(records=3)
    config = write_config("http://127.0.0.1:1", [("front", simulator.port, {})])
    monkeypatch.setenv("EDGE_POLLER_CLOUD_URL", cloud.url)
    monkeypatch.setenv("EDGE_POLLER_API_KEY", "edge-test-key")
    assert once(config) == 0
    assert len(cloud.punches()) == 3
    assert "edge-test-key" not in capsys.readouterr().out
    assert "edge-test-key" not in (load_config(config).state_dir / "edge-poller.log").read_text()


def test_systemd_unit(tmp_path, write_config, capsys):
    config = write_config("http://127.0.0.1:1", [("front", 4370, {})])
    assert main(["--config", str(config), "install-service", "--print"]) == 0
    unit = capsys.readouterr().out
    assert "Restart=always" in unit
    assert "RestartPreventExitStatus=2" in unit  # a configuration to fix does not restart in a loop
    assert f"--config {config.resolve()} run" in unit


def test_the_poller_does_not_need_boto3_or_powertools():
    script = (
        "import sys; import edge_poller.cli, edge_poller.simulator; "
        "assert not [m for m in sys.modules if m.split('.')[0] in ('boto3', 'botocore', 'aws_lambda_powertools')]"
    )
    assert subprocess.run([sys.executable, "-c", script], check=False).returncode == 0


def test_clear_after_days_clears_only_a_confirmed_log(device, cloud, write_config, capsys):
    state, simulator = device(serial="OLD", records=30)  # thirty days of punches
    dead = write_config(
        f"http://127.0.0.1:{free_tcp_port()}", [("front", simulator.port, {"clear_after_days": 7})]
    )
    assert once(dead) == 1
    assert len(state.records) == 30  # the cloud has confirmed nothing: the log stays
    live = write_config(cloud.url, [("front", simulator.port, {"clear_after_days": 7})])
    assert once(live) == 0
    assert "log cleared on the device" in capsys.readouterr().out
    assert state.records == []
    assert len(cloud.punches()) == 30
    state.punch("1234", punch=0)
    assert once(live) == 0  # a fresh log after the clear: only the new punch
    assert len(cloud.punches()) == 31
    assert len(state.records) == 1  # too recent to clear


def test_recent_logs_are_not_cleared(device, cloud, write_config):
    state, simulator = device(serial="NEW")
    state.punch("1", punch=0)
    config = write_config(cloud.url, [("front", simulator.port, {"clear_after_days": 7})])
    assert once(config) == 0
    assert len(state.records) == 1


def test_a_punch_not_yet_confirmed_keeps_the_log_from_being_cleared(device, cloud, write_config):
    from edge_poller.cloud import CloudClient
    from edge_poller.poller import Poller

    state, simulator = device(serial="RACE", records=30)
    config = load_config(write_config(cloud.url, [("front", simulator.port, {"clear_after_days": 7})]))
    poller = Poller(
        config,
        outbox_store := Store(config.state_dir / "outbox.sqlite3"),
        CloudClient(config.cloud_url, config.api_key.get_secret_value(), 10),
    )
    poller.read_devices()
    poller.drain()
    state.punch("4321", punch=0)  # arrives after the read, before the clear
    assert poller.clear_confirmed_logs(force=True) == []
    assert len(state.records) == 31
    poller.read_devices()
    poller.drain()
    assert poller.clear_confirmed_logs(force=True) == ["front"]
    assert state.records == []
    assert outbox_store.pending_count() == 0
    poller.close()
