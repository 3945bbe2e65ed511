"""The Hikvision driver against a fake ISAPI server that pages and requires digest auth."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from edge_poller.cli import main
from tests.integration.edge.fake_isapi import FakeIsapi


@pytest.fixture
def terminal():
    server = FakeIsapi()
    yield server
    server.stop()


def recent(minutes_ago: int) -> str:
    return (
        (datetime.now(UTC) - timedelta(minutes=minutes_ago)).astimezone().replace(microsecond=0).isoformat()
    )


def hik(terminal, **extra):
    return (
        "lobby",
        terminal.port,
        {"driver": "hikvision", "username": "admin", "password": "s3cret", "time_zone": "Europe/London"}
        | extra,
    )


def test_events_are_paged_through_with_digest_auth(terminal, cloud, write_config):
    # Given 75 punches and some events that are not punches
    for n in range(75):
        terminal.add(str(1000 + n), recent(300 - n), status="checkIn" if n % 2 == 0 else "checkOut")
    terminal.add("9999", recent(10), minor=9)  # a refused card
    terminal.add("9998", recent(9), minor=21)  # door event
    config = write_config(cloud.url, [hik(terminal)])
    # When the poller reads the terminal
    assert main(["--config", str(config), "once"]) == 0
    # Then it paged 30 at a time, authenticated by digest, and pushed the 75 punches only
    assert [s["searchResultPosition"] for s in terminal.searches] == [0, 30, 60]
    assert terminal.unauthorized >= 1  # the digest challenge was answered
    punches = cloud.punches()
    assert len(punches) == 75
    assert {p["deviceId"] for p in punches} == {terminal.serial}  # the serial from deviceInfo
    assert {p["type"] for p in punches} == {"in", "out"}


def test_next_read_asks_only_since_the_last_event(terminal, cloud, write_config):
    terminal.add("1", recent(60))
    config = write_config(cloud.url, [hik(terminal)])
    assert main(["--config", str(config), "once"]) == 0
    terminal.add("2", recent(1))
    requests_before = cloud.requests
    assert main(["--config", str(config), "once"]) == 0
    last_search = terminal.searches[-1]
    assert datetime.fromisoformat(last_search["startTime"]) > datetime.now(UTC) - timedelta(minutes=63)
    assert len(cloud.punches()) == 2
    assert cloud.requests == requests_before + 1


def test_a_fixed_offset_terminal_is_read_in_its_zone(terminal, cloud, write_config):
    # Given a terminal in India set to +05:30 with a check-in an hour ago, stamped with its offset
    at = (datetime.now(UTC) - timedelta(hours=1)).replace(microsecond=0)
    terminal.add("1001", at.astimezone(timezone(timedelta(hours=5, minutes=30))).isoformat())
    config = write_config(cloud.url, [hik(terminal, time_zone="+05:30")])
    # When the poller reads it
    assert main(["--config", str(config), "once"]) == 0
    # Then the punch is at the same instant, in the terminal's zone
    [punch] = cloud.punches()
    assert (punch["punchTime"], punch["timeZone"]) == (at.strftime("%Y-%m-%dT%H:%M:%SZ"), "+05:30")
    # and the window was asked in the terminal's own time and offset, ending now
    [search] = terminal.searches
    assert search["startTime"].endswith("+05:30")
    assert search["endTime"].endswith("+05:30")
    assert abs(datetime.fromisoformat(search["endTime"]) - datetime.now(UTC)) < timedelta(minutes=5)


def test_wrong_password_is_reported(terminal, cloud, write_config, capsys):
    config = write_config(cloud.url, [hik(terminal, password="wrong")])
    assert main(["--config", str(config), "once"]) == 1
    assert "refused" in capsys.readouterr().out
    assert cloud.punches() == []


def test_check_reports_the_terminal(terminal, cloud, write_config, capsys):
    terminal.add("1", recent(5))
    config = write_config(cloud.url, [hik(terminal)])
    assert main(["--config", str(config), "check"]) == 0
    assert f"Hikvision serial {terminal.serial}, 1 punches in the last 24 h" in capsys.readouterr().out
