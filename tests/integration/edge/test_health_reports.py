"""Device health reports: the real poller (pyzk over TCP to simulated clocks), the real ingest, and a
stand-in for the cloud's health endpoint."""

import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from edge_poller.cli import main
from edge_poller.cloud import CloudClient
from edge_poller.config import load_config
from edge_poller.health import HealthRound
from edge_poller.poller import Poller
from edge_poller.store import Store
from tests.integration.edge.conftest import CLOUD_KEY
from tests.integration.edge.fake_health import FakeHealthEndpoint, ingest_down, serve_health
from tests.integration.edge.fake_isapi import FakeIsapi

SIM_MODEL, SIM_FIRMWARE = "SimClock", "Ver 6.60 Apr 28 2018"  # what the simulator answers


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def health(cloud) -> FakeHealthEndpoint:
    endpoint = FakeHealthEndpoint(CLOUD_KEY)
    serve_health(cloud.server, endpoint)
    return endpoint


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def start_poller(clock: Clock) -> Iterator[Callable[[Path], Poller]]:
    """A poller as `edge-poller run` builds it, on the test's clock; each call is a fresh process."""
    started: list[Poller] = []

    def start(config_path: Path) -> Poller:
        config = load_config(config_path)
        store = Store(config.state_dir / "outbox.sqlite3")
        cloud = CloudClient(config.cloud_url, config.api_key.get_secret_value(), 10)
        started.append(poller := Poller(config, store, cloud, now=lambda: clock.now))
        return poller

    yield start
    for poller in started:
        poller.close()


def cycle(poller: Poller) -> HealthRound:
    """One turn of the service loop: read, push, report."""
    poller.read_devices()
    poller.drain()
    return poller.health.report()


def once(config: Path) -> int:
    return main(["--config", str(config), "once"])


def test_first_cycle_reports_each_device_and_an_idle_cycle_costs_no_request(
    device, cloud, health, write_config, start_poller
):
    # Given two clocks, one two minutes fast with punches on it, and a poller named office-1
    fast_state, fast = device(serial="FAST", records=5, clock_offset_minutes=2)
    _, calm = device(serial="CALM")
    config = write_config(
        cloud.url, [("fast", fast.port, {}), ("calm", calm.port, {})], poller_name="office-1"
    )
    poller = start_poller(config)
    # When the first cycle runs
    assert cycle(poller).sent == ["fast", "calm"]
    # Then each device is reported once, with what the poller saw
    assert sorted(device_id for device_id, _ in health.reports) == ["CALM", "FAST"]
    report = health.last("FAST")
    assert report["via"] == "edge:office-1"
    assert abs(report["clockDriftSeconds"] - 120) <= 2
    assert report["outboxDepth"] == 0  # pushed before the report
    assert report["lastError"] is None
    assert (report["model"], report["firmware"]) == (SIM_MODEL, SIM_FIRMWARE)
    assert abs(datetime.fromisoformat(report["lastReadAt"]) - datetime.now(UTC)) < timedelta(minutes=1)
    assert abs(health.last("CALM")["clockDriftSeconds"]) <= 2
    assert len(cloud.punches()) == 5
    # When an idle cycle follows
    requests_before, device_requests = health.requests, fast_state.requests
    assert cycle(poller).sent == []
    # Then no report goes out, and the device is asked only the cheap question (connect, sizes, exit)
    assert health.requests == requests_before
    assert fast_state.requests - device_requests == 3


def test_a_restart_sends_no_unchanged_report_and_status_shows_the_last_one(
    device, cloud, health, write_config, capsys
):
    # Given a poller that has reported its device
    _, simulator = device(serial="RESTART")
    config = write_config(cloud.url, [("front", simulator.port, {})], poller_name="office-1")
    assert once(config) == 0
    assert len(health.reports) == 1
    # When it runs again from scratch (each `once` is a new process, which measures the clock again)
    assert once(config) == 0
    # Then nothing new is sent, and status shows what was sent and when
    assert health.requests == 1
    capsys.readouterr()
    assert main(["--config", str(config), "status"]) == 0
    output = capsys.readouterr().out
    assert "health reports (as edge:office-1, at least every 300 s)" in output
    [line] = [line for line in output.splitlines() if line.strip().startswith("front:")]
    assert f"model {SIM_MODEL}" in line
    assert "outbox 0" in line


def test_a_clock_that_drifted_is_reported_once(device, cloud, health, write_config):
    # Given a reported device whose clock then runs three minutes fast
    state, simulator = device(serial="DRIFT")
    config = write_config(cloud.url, [("front", simulator.port, {})])
    assert once(config) == 0
    state.clock_offset_minutes = 3
    # When the poller reads it twice more
    assert once(config) == 0
    assert once(config) == 0
    # Then exactly one more report carries the new drift
    assert len(health.reports) == 2
    assert abs(health.last("DRIFT")["clockDriftSeconds"] - 180) <= 2


def test_a_read_error_is_reported_once_and_so_is_the_recovery(
    device, cloud, health, write_config, start_poller
):
    # Given a reported device
    state, simulator = device(serial="FLAKY")
    config = write_config(cloud.url, [("front", simulator.port, {"timeout_seconds": 1})])
    poller = start_poller(config)
    cycle(poller)
    first = health.last("FLAKY")
    # When it stops answering for two cycles
    state.delay_seconds = 3
    cycle(poller)
    cycle(poller)
    # Then one report says so, and keeps what was known: the last good read, the clock, the model
    assert len(health.reports) == 2
    failing = health.last("FLAKY")
    assert failing["lastError"]
    assert failing["lastReadAt"] == first["lastReadAt"]
    assert (failing["clockDriftSeconds"], failing["model"]) == (first["clockDriftSeconds"], SIM_MODEL)
    # When it answers again, one report clears the error
    state.delay_seconds = 0
    cycle(poller)
    cycle(poller)
    assert len(health.reports) == 3
    assert health.last("FLAKY")["lastError"] is None


def test_the_outbox_depth_is_reported_while_the_ingest_is_down(
    device, cloud, health, write_config, start_poller
):
    # Given a device with ten punches and an ingest that fails
    _, simulator = device(serial="DEPTH", records=10)
    config = write_config(cloud.url, [("front", simulator.port, {})])
    poller = start_poller(config)
    with ingest_down(cloud.server):
        cycle(poller)
    # Then the report says ten punches wait
    assert health.last("DEPTH")["outboxDepth"] == 10
    # When the ingest is back, the punches go and the next report says so
    cycle(poller)
    assert len(cloud.punches()) == 10
    assert health.last("DEPTH")["outboxDepth"] == 0
    assert len(health.reports) == 2


def test_an_unchanged_device_is_reported_again_after_the_heartbeat_interval(
    device, cloud, health, write_config, start_poller, clock
):
    # Given a reported device and the default interval (5 minutes)
    _, simulator = device(serial="BEAT")
    poller = start_poller(write_config(cloud.url, [("front", simulator.port, {})]))
    cycle(poller)
    # When nothing changes for four minutes, nothing is sent
    clock.advance(minutes=4)
    cycle(poller)
    assert len(health.reports) == 1
    # When five minutes have passed, one heartbeat goes out with a newer read time
    clock.advance(minutes=1, seconds=1)
    cycle(poller)
    cycle(poller)
    assert len(health.reports) == 2
    assert health.reports[1][1]["lastReadAt"] >= health.reports[0][1]["lastReadAt"]


def test_a_device_the_cloud_does_not_know_is_logged_once_and_retried_at_the_interval(
    device, cloud, health, write_config, start_poller, clock, caplog, capsys
):
    # Given a device that is not registered in the cloud
    health.registered = set()
    _, simulator = device(serial="UNKNOWN")
    config = write_config(cloud.url, [("front", simulator.port, {})])
    poller = start_poller(config)
    # When the poller runs three cycles in the interval
    with caplog.at_level(logging.WARNING, logger="edge_poller"):
        for _ in range(3):
            cycle(poller)
            clock.advance(minutes=1)
    # Then it asked once, and said so once
    assert health.requests == 1
    assert len([r for r in caplog.records if "does not know device ID UNKNOWN" in r.message]) == 1
    main(["--config", str(config), "status"])
    assert "not registered: HTTP 404" in capsys.readouterr().out
    # When the interval has passed it asks again, quietly; once registered, the report is taken
    caplog.clear()
    clock.advance(minutes=3)
    cycle(poller)
    assert health.requests == 2
    assert not [r for r in caplog.records if "does not know" in r.message]
    health.registered = {"UNKNOWN"}
    clock.advance(minutes=5)
    assert cycle(poller).sent == ["front"]


def test_punches_are_pushed_while_the_health_endpoint_fails_and_reports_are_retried(
    device, cloud, health, write_config, start_poller
):
    # Given a health endpoint that fails, and two devices with punches
    health.failing = True
    _, first = device(serial="ONE", records=4)
    second_state, second = device(serial="TWO")
    second_state.punch("7777", punch=0)
    poller = start_poller(write_config(cloud.url, [("one", first.port, {}), ("two", second.port, {})]))
    # When a cycle runs
    result = cycle(poller)
    # Then every punch is pushed, and the first failed report ends the round
    assert len(cloud.punches()) == 5
    assert "HTTP 503" in (result.error or "")
    assert health.requests == 1
    # When the endpoint recovers, the next cycle sends both reports, and the one after nothing
    health.failing = False
    assert cycle(poller).sent == ["one", "two"]
    assert cycle(poller).sent == []
    assert health.requests == 3


def test_reports_can_be_turned_off(device, cloud, health, write_config):
    _, simulator = device(serial="QUIET")
    config = write_config(cloud.url, [("front", simulator.port, {})], health_reports=False)
    assert once(config) == 0
    assert health.requests == 0


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("health_interval_seconds = 900", "health_interval_seconds"),  # not below the silent threshold
        ("health_interval_seconds = 10", "health_interval_seconds"),
        ('poller_name = "front desk"', "poller_name"),
    ],
)
def test_bad_health_settings_are_explained(tmp_path, capsys, setting, message):
    path = tmp_path / "edge-poller.toml"
    path.write_text(
        f'cloud_url = "http://x"\napi_key = "k"\n{setting}\n'
        '[[devices]]\nname = "a"\nhost = "h"\ntime_zone = "UTC"\n'
    )
    assert main(["--config", str(path), "status"]) == 2
    assert message in capsys.readouterr().err


def test_a_refused_key_is_logged_once_and_retried_at_the_interval(
    device, cloud, health, write_config, start_poller, clock, caplog, monkeypatch
):
    # Given a poller whose key the cloud refuses
    monkeypatch.setenv("EDGE_POLLER_API_KEY", "not-the-key")
    _, simulator = device(serial="NOKEY")
    poller = start_poller(write_config(cloud.url, [("front", simulator.port, {})]))
    # When it runs two cycles, then two more after the interval
    with caplog.at_level(logging.WARNING, logger="edge_poller"):
        cycle(poller)
        cycle(poller)
        clock.advance(minutes=5)
        cycle(poller)
        cycle(poller)
    # Then it asked once per interval, and said why once
    assert health.requests == 2
    assert len([r for r in caplog.records if "health report refused (HTTP 401" in r.message]) == 1


def test_a_hikvision_terminal_is_reported_with_its_model_and_firmware(
    cloud, health, write_config, start_poller
):
    # Given a Hikvision terminal (its deviceInfo names model and firmware; its clock is not read)
    terminal = FakeIsapi()
    try:
        terminal.add("1001", datetime.now(UTC).replace(microsecond=0).isoformat())
        settings = {"driver": "hikvision", "username": "admin", "password": "s3cret"}
        poller = start_poller(write_config(cloud.url, [("lobby", terminal.port, settings)]))
        # When two cycles run
        cycle(poller)
        cycle(poller)
    finally:
        terminal.stop()
    # Then one report carries what deviceInfo said
    [(device_id, report)] = health.reports
    assert device_id == terminal.serial
    assert (report["model"], report["firmware"]) == ("DS-K1T671M", "V3.2.30")
    assert report["clockDriftSeconds"] is None
    assert report["outboxDepth"] == 0
