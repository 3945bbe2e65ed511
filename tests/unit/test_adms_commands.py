"""The ADMS command text: lines a clock can split, results read as firmware writes them."""

from datetime import datetime

import pytest

from attendance.push.commands import CommandResult, packed_time, parse_results, put_user, query_attlog
from edge_poller.simulator import decode_time


def test_results_are_read_line_by_line_and_unreadable_lines_kept_apart():
    body = "ID=101&Return=0&CMD=DATA\r\nID=102&Return=-1003&CMD=DATA\r\n\r\nINFO=Ver 6.60\r\nID=103&Return=ok\r\nID=&Return=0\r\n"
    results, unreadable = parse_results(body)
    assert results == [CommandResult("101", 0, "DATA"), CommandResult("102", -1003, "DATA")]
    assert unreadable == ["INFO=Ver 6.60", "ID=103&Return=ok", "ID=&Return=0"]


def test_a_name_cannot_break_the_line_or_its_fields():
    assert (
        put_user("1001", "Anna\tBerg\r\nC:9:REBOOT")
        == "DATA UPDATE USERINFO PIN=1001\tName=Anna Berg C:9:REBOOT\tPri=0"
    )


def test_a_log_query_names_the_clocks_own_times():
    line = query_attlog(datetime(2025, 2, 10, 9, 0), datetime(2025, 2, 10, 17, 30, 5))
    assert line == "DATA QUERY ATTLOG StartTime=2025-02-10 09:00:00\tEndTime=2025-02-10 17:30:05"


@pytest.mark.parametrize(
    "moment", [datetime(2000, 1, 1), datetime(2025, 2, 28, 23, 59, 59), datetime(2099, 12, 31, 12, 0, 1)]
)
def test_packed_time_is_what_the_clock_decodes(moment):
    assert decode_time(packed_time(moment)) == moment
