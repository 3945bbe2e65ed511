"""Push batches that adapt to a struggling cloud: retry items sent again, the size halved and grown back."""

import logging
import os
import socket
import threading
import time
from pathlib import Path

import boto3
import pytest

from attendance.data.api_keys import ApiKeyStore
from attendance.data.request_counts import RequestCounts
from attendance.domain.rate_limit import window_of
from edge_poller.batch_size import BatchSize
from edge_poller.cli import main
from edge_poller.cloud import CloudClient, PushFailed
from edge_poller.config import load_config
from edge_poller.poller import Backoff, Poller
from edge_poller.simulator import free_tcp_port
from edge_poller.store import Store
from tests.integration.edge.conftest import CLOUD_KEY


def start_poller(config_path: Path) -> Poller:
    config = load_config(config_path)
    store = Store(config.state_dir / "outbox.sqlite3")
    cloud = CloudClient(config.cloud_url, config.api_key.get_secret_value(), config.push_timeout_seconds)
    return Poller(config, store, cloud)


def status(config: Path, capsys: pytest.CaptureFixture[str]) -> str:
    capsys.readouterr()
    assert main(["--config", str(config), "status"]) == 0
    return capsys.readouterr().out


def assert_each_punch_stored_once(cloud, count: int) -> None:
    punches = cloud.punches()
    assert len(punches) == count
    assert len({(p["deviceId"], p["userId"], p["punchTime"]) for p in punches}) == count
    assert len({p["logId"] for p in punches}) == count


def test_a_cloud_answering_in_part_is_drained_over_several_pushes(device, cloud, write_config, caplog):
    # Given a device with 1,000 records and a cloud that gets through 200 punches a request
    _, simulator = device(serial="BUSY", records=1000)
    poller = start_poller(write_config(cloud.url, [("front", simulator.port, {})]))
    cloud.manages = 200
    # When the poller reads it and pushes
    [read] = poller.read_devices()
    assert read.new == 1000
    with caplog.at_level(logging.INFO, logger="edge_poller"):
        report = poller.drain()
    # Then everything arrives, each punch once
    assert report.error is None
    assert report.deferred is None
    assert poller.store.pending_count() == 0
    assert_each_punch_stored_once(cloud, 1000)
    # over pushes halved on each partial answer, doubled after three clean full ones
    assert cloud.pushed() == [500, 250, 125, 125, 125, 225, 25]
    counts = report.by_device["front"]
    assert counts["accepted"] == 1000
    assert counts["retry"] == 300 + 50 + 25 == sum(cloud.pushed()) - 1000  # only retry items went again
    # and the retry items went again no sooner than the cloud asked
    times = [at for at, _ in cloud.batches]
    partial = [i for i, size in enumerate(cloud.pushed()[:-1]) if size > cloud.manages]
    assert partial == [0, 1, 5]
    assert all(times[i + 1] - times[i] >= cloud.retry_after for i in partial)
    assert "pushed 500 punches in" in caplog.text
    assert "200 accepted, 0 duplicate, 0 rejected, 0 held, 300 to retry after 1 s" in caplog.text
    assert "push batch size 500 -> 250 (bounds 25..500): the cloud answered for 200 of 500 in its time" in (
        caplog.text
    )
    assert (
        "push batch size 125 -> 250 (bounds 25..500): 3 full batches in a row answered in full" in caplog.text
    )
    poller.close()


def test_a_timeout_halves_the_size_and_what_the_cloud_stored_anyway_is_not_stored_twice(
    device, cloud, write_config
):
    _, simulator = device(serial="SLOW", records=40)
    config = write_config(
        cloud.url,
        [("front", simulator.port, {})],
        push_batch_size=20,
        push_batch_min=5,
        push_timeout_seconds=2,
    )
    poller = start_poller(config)
    poller.read_devices()
    cloud.stall_next(1, seconds=3)
    assert "no answer in 2 s" in (poller.drain().error or "")
    assert poller.batch_size.current == 10
    deadline = time.monotonic() + 20
    while len(cloud.punches()) < 20:  # the cloud finishes the batch the poller gave up on
        assert time.monotonic() < deadline
        time.sleep(0.1)
    report = poller.drain()
    assert report.error is None
    assert cloud.pushed() == [20, 10, 10, 10, 10]
    assert report.by_device["front"]["duplicate"] == 20
    assert_each_punch_stored_once(cloud, 40)
    poller.close()


def test_5xx_and_partial_answers_halve_the_size_down_to_the_minimum_and_clean_pushes_grow_it_back(
    device, cloud, write_config
):
    _, simulator = device(serial="BOUNDS", records=800)
    config = write_config(cloud.url, [("front", simulator.port, {})], push_batch_size=200, push_batch_min=25)
    poller = start_poller(config)
    poller.read_devices()
    cloud.fail_next(1, status=503)
    assert "HTTP 503" in (poller.drain().error or "")
    assert poller.batch_size.current == 100
    cloud.answer_in_part_next(3, stored=10)
    assert poller.drain().error is None
    assert poller.store.pending_count() == 0
    assert cloud.pushed() == [200, 100, 50, 25, 25, 25, 25, 50, 50, 50, 100, 100, 100, 200, 45]
    assert_each_punch_stored_once(cloud, 800)
    assert poller.batch_size.current == 200
    poller.close()


def test_the_size_survives_a_restart_and_status_shows_it(device, cloud, write_config, capsys):
    _, simulator = device(serial="RESTART", records=400)
    config = write_config(cloud.url, [("front", simulator.port, {})])
    assert "push batch size: 500 (adapts between push_batch_min 25 and push_batch_size 500)" in status(
        config, capsys
    )
    poller = start_poller(config)
    poller.read_devices()
    cloud.fail_next(2, status=500)  # as the function timing out answers through the API
    poller.drain()
    poller.drain()
    assert cloud.pushed() == [400, 250]
    poller.close()
    assert "push batch size: 125 (adapts between" in status(config, capsys)
    # A new poller on the same state goes on from 125, not from 500
    restarted = start_poller(config)
    assert restarted.batch_size.current == 125
    assert restarted.drain().error is None
    assert cloud.pushed()[2:] == [125, 125, 125, 25]
    assert_each_punch_stored_once(cloud, 400)
    restarted.close()
    # A lower maximum in the config caps the remembered size (250 by now)
    lowered = write_config(cloud.url, [("front", simulator.port, {})], push_batch_size=100)
    assert "push batch size: 100 (adapts between push_batch_min 25 and push_batch_size 100)" in status(
        lowered, capsys
    )


def test_a_long_retry_after_ends_the_pass_and_no_later_run_pushes_before_it(
    device, cloud, write_config, capsys
):
    _, simulator = device(serial="WAIT", records=60)
    config = write_config(cloud.url, [("front", simulator.port, {})])
    cloud.manages, cloud.retry_after = 20, 120
    assert main(["--config", str(config), "once"]) == 1  # not everything went: the exit code says so
    assert (
        "push paused: the cloud asked for 120 s before the next push; 40 punches wait"
        in capsys.readouterr().out
    )
    assert len(cloud.punches()) == 20
    requests = cloud.requests
    assert main(["--config", str(config), "once"]) == 1  # a new run honours the wait too
    assert "push paused: the cloud asked for" in capsys.readouterr().out
    assert cloud.requests == requests


@pytest.mark.parametrize(
    ("settings", "outcome"),
    [
        ({}, (25, 500)),
        ({"push_batch_size": 10}, (10, 10)),  # a small size set alone is its own floor
        ({"push_batch_size": 100, "push_batch_min": 100}, (100, 100)),  # a fixed size
        (
            {"push_batch_size": 50, "push_batch_min": 60},
            "push_batch_min (60) must not exceed push_batch_size (50)",
        ),
        ({"push_batch_min": 0}, "push_batch_min"),
    ],
)
def test_batch_bounds_in_the_config(write_config, capsys, settings, outcome):
    path = write_config("http://127.0.0.1:1", [("front", 4370, {})], **settings)
    if isinstance(outcome, str):
        assert main(["--config", str(path), "status"]) == 2
        assert outcome in capsys.readouterr().err
    else:
        config = load_config(path)
        assert (config.push_batch_min, config.push_batch_size) == outcome


def test_the_sizing_policy():
    size = BatchSize(minimum=25, maximum=500)
    assert size.current == 500  # a first run starts at the maximum
    size.shrink()
    size.shrink()
    assert size.current == 125
    for _ in range(5):
        size.shrink()
    assert size.current == 25  # never below the minimum
    size.clean(25)
    size.clean(25)
    size.shrink()  # trouble restarts the count of clean pushes
    size.clean(25)
    size.clean(25)
    assert size.current == 25
    size.clean(25)
    assert size.current == 50
    for _ in range(10):
        size.clean(3)  # small batches (an outbox with little in it) prove nothing about the size
    assert size.current == 50
    for _ in range(3 * 5):
        size.clean(size.current)
    assert size.current == 500  # 50 -> 100 -> 200 -> 400 -> 500, and no further
    assert BatchSize(25, 500, current=10_000).current == 500  # a remembered size, within today's bounds
    assert BatchSize(25, 500, current=3).current == 25
    assert BatchSize(10, 10).current == 10
    with pytest.raises(ValueError, match="minimum <= maximum"):
        BatchSize(50, 10)


def test_which_failures_say_the_batch_was_too_much():
    """A connection dropped mid-request counts as load (the size halves); one never made does not."""
    listener = socket.create_server(("127.0.0.1", 0))

    def hang_up() -> None:
        connection, _ = listener.accept()
        connection.recv(65536)
        connection.close()  # read the request, then gave up on it

    threading.Thread(target=hang_up, daemon=True).start()
    dropping = CloudClient(f"http://127.0.0.1:{listener.getsockname()[1]}", "key", 5)
    with pytest.raises(PushFailed, match="connection lost mid-push") as dropped:
        dropping.push([{"userId": "1"}])
    assert dropped.value.overloaded
    listener.close()
    nobody = CloudClient(f"http://127.0.0.1:{free_tcp_port()}", "key", 5)
    with pytest.raises(PushFailed, match="cloud unreachable") as refused:
        nobody.push([{"userId": "1"}])
    assert not refused.value.overloaded


def test_a_key_over_its_rate_waits_and_keeps_its_batch_size(device, cloud, write_config, caplog):
    # Given the cloud holds the poller's key to one request a second, and another client of the same key
    # takes that second's request just before each of the poller's first two pushes (on a loaded machine
    # each push can take a second, so the poller alone may never come too soon), and the next second's
    # too: the push is counted a moment after, which on a loaded machine may be in the next second
    dynamodb = boto3.client("dynamodb")
    keys = ApiKeyStore(dynamodb, os.environ["API_KEYS_TABLE"])
    key_id = keys.find(CLOUD_KEY).key_id
    assert keys.set_rate_limit(key_id, 1)
    counts = RequestCounts(dynamodb, os.environ["REQUEST_COUNTS_TABLE"])

    def another_client() -> None:
        now = window_of(time.time())
        counts.add(key_id, now)
        counts.add(key_id, now + 1)

    cloud.before_next(2, another_client)
    _, simulator = device(serial="RATE", records=200)
    config = write_config(cloud.url, [("front", simulator.port, {})], push_batch_size=50, push_batch_min=25)
    poller = start_poller(config)
    poller.read_devices()
    # When it drains 200 records in batches of 50
    with caplog.at_level(logging.INFO, logger="edge_poller"):
        report = poller.drain()
    # Then the cloud's 429s were waited out within the pass, the size never shrank, and all got through once
    assert report.error is None
    assert poller.store.pending_count() == 0
    assert cloud.requests >= 6  # at least the first two pushes were refused, and sent again
    assert set(cloud.pushed()) == {50}
    assert poller.batch_size.current == 50
    assert "the cloud asked for fewer requests; next push in 1 s" in caplog.text
    assert_each_punch_stored_once(cloud, 200)
    poller.close()


def test_the_backoff_doubles_only_while_nothing_gets_through():
    # Given the service loop's backoff
    backoff = Backoff(first=5, longest=300)
    # When passes fail with nothing pushed, the wait doubles up to the longest
    delays = []
    for _ in range(8):
        backoff.failed(progressed=False)
        delays.append(backoff.delay)
    assert delays == [5, 10, 20, 40, 80, 160, 300, 300]
    # When a pass pushed batches before one failed, the cloud is up: the first step again
    backoff.failed(progressed=True)
    assert backoff.delay == 5
    backoff.failed(progressed=True)
    assert backoff.delay == 5
    # And a clean pass resets it
    backoff.succeeded()
    assert backoff.ready()
