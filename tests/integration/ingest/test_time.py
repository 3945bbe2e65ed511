"""Naive timestamps are the device's wall clock, read in its zone; offsets are taken as is."""

import pytest

from tests.integration.ingest.conftest import INGEST_KEY, IngestApi, cold_start, punch


def stored_time(punches_table) -> tuple[str, str, str]:
    [item] = punches_table()
    return item["punchTime"], item["localTime"], item["timeZone"]


def test_offset_timestamp_is_taken_as_is(api, punches_table):
    api.post(punch(at="2025-02-10T09:16:00+05:30"))
    assert stored_time(punches_table) == ("2025-02-10T03:46:00Z", "2025-02-10T09:16:00", "+05:30")


def test_offset_timestamp_is_shown_in_the_devices_zone(api, register_device, punches_table):
    register_device("DEV001", "Europe/Berlin")
    api.post(punch(at="2025-02-10T08:16:00Z"))
    assert stored_time(punches_table) == ("2025-02-10T08:16:00Z", "2025-02-10T09:16:00", "Europe/Berlin")


def test_naive_timestamp_uses_the_devices_zone(api, register_device, punches_table):
    register_device("DEV001", "America/New_York")
    api.post(punch(at="2025-02-10T09:16:00"))
    assert stored_time(punches_table) == ("2025-02-10T14:16:00Z", "2025-02-10T09:16:00", "America/New_York")


def test_naive_timestamp_without_device_zone_uses_the_stack_default(use_function_env, keys, punches_table):
    cold_start(use_function_env("IngestFunction", DEFAULT_TIME_ZONE="Asia/Kolkata", MAX_PAST_DAYS="3650"))
    keys.create("k", raw_key=INGEST_KEY)
    IngestApi(INGEST_KEY).post(punch(at="2025-02-10T09:16:00"))
    assert stored_time(punches_table) == ("2025-02-10T03:46:00Z", "2025-02-10T09:16:00", "Asia/Kolkata")


@pytest.mark.parametrize(
    ("sent", "utc", "local"),
    [
        # Spring forward in New York, 2025-03-09: 02:00-03:00 does not exist; 02:30 is read as 03:30 EDT
        ("2025-03-09T02:30:00", "2025-03-09T07:30:00Z", "2025-03-09T03:30:00"),
        # Fall back, 2025-11-02: 01:30 happens twice; the naive time is the first (EDT) one
        ("2025-11-02T01:30:00", "2025-11-02T05:30:00Z", "2025-11-02T01:30:00"),
        # The second 01:30 is reachable with an explicit offset
        ("2025-11-02T01:30:00-05:00", "2025-11-02T06:30:00Z", "2025-11-02T01:30:00"),
    ],
)
def test_dst_gaps_and_overlaps_are_handled_deliberately(
    api, register_device, punches_table, sent, utc, local
):
    register_device("DEV001", "America/New_York")
    assert api.post(punch(at=sent)).status == 202
    assert stored_time(punches_table) == (utc, local, "America/New_York")
