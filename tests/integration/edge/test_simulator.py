"""The device simulator through pyzk 0.9, unmodified, over real TCP on loopback."""

import socket
import struct
from datetime import datetime, timedelta

import pytest
from zk import ZK
from zk.exception import ZKErrorResponse, ZKNetworkError

from edge_poller.config import DeviceConfig
from edge_poller.simulator import FRAME_MAGIC, SMALL_BUFFER_LIMIT
from edge_poller.zkteco import DeviceError, ZktecoDevice


def client(simulator, password: int = 0, timeout: float = 5) -> ZK:
    return ZK("127.0.0.1", port=simulator.port, timeout=timeout, password=password, ommit_ping=True)


def test_pyzk_reads_everything_with_a_comm_key(device):
    state, simulator = device(serial="SIM0042", comm_key=1234, records=25)
    connection = client(simulator, password=1234).connect()
    assert connection.get_serialnumber() == "SIM0042"
    assert connection.get_firmware_version() == state.firmware
    assert abs((connection.get_time() - state.now()).total_seconds()) <= 2
    connection.read_sizes()
    assert (connection.records, connection.users, connection.rec_cap) == (25, len(state.users), 100_000)
    assert sorted(u.user_id for u in connection.get_users()) == sorted(state.users)
    records = connection.get_attendance()
    assert len(state.attendance_buffer()) <= SMALL_BUFFER_LIMIT  # the single-DATA path
    assert [(r.user_id, r.timestamp, r.punch, r.status) for r in records] == [
        (r.user_id, r.timestamp, r.punch, r.status) for r in state.records
    ]
    assert connection.disconnect()


def test_large_logs_come_in_chunks(device):
    state, simulator = device(records=3000)
    assert len(state.attendance_buffer()) > 0xFFC0  # more than one READ_BUFFER chunk
    connection = client(simulator).connect()
    records = connection.get_attendance()
    connection.disconnect()
    assert len(records) == 3000
    assert [(r.user_id, r.timestamp) for r in records[-3:]] == [
        (r.user_id, r.timestamp) for r in state.records[-3:]
    ]


def test_wrong_comm_key_is_refused(device):
    _, simulator = device(comm_key=4321)
    with pytest.raises(ZKErrorResponse, match="Unauthenticated"):
        client(simulator, password=1111).connect()


def test_clock_can_be_off_and_set(device):
    state, simulator = device(clock_offset_minutes=42)
    connection = client(simulator).connect()
    assert abs((connection.get_time() - (state.now())).total_seconds()) <= 2
    assert (connection.get_time() - datetime.now().replace(microsecond=0)) > timedelta(minutes=41)
    connection.set_time(datetime.now())
    assert abs(state.clock_offset_minutes) < 0.1
    connection.disconnect()


def test_clear_attendance_empties_the_log(device):
    state, simulator = device(records=10)
    connection = client(simulator).connect()
    connection.clear_attendance()
    connection.read_sizes()
    assert connection.records == 0
    assert state.records == []
    connection.disconnect()


@pytest.mark.parametrize("records", [10, 3000])
def test_dropped_connection_mid_transfer_is_an_error_not_a_hang(device, records):
    # pyzk alone spins forever on a closed socket; the poller's driver turns that into an error
    state, simulator = device(records=records)
    state.drop_mid_transfer = True
    config = DeviceConfig(
        name="door", host="127.0.0.1", port=simulator.port, time_zone="UTC", timeout_seconds=2
    )
    driver = ZktecoDevice(config)
    with pytest.raises(DeviceError, match="closed the connection"), driver.session() as connection:
        driver.records(connection)


def test_slow_device_times_out(device):
    state, simulator = device()
    state.delay_seconds = 2
    with pytest.raises(ZKNetworkError):
        client(simulator, timeout=0.5).connect()


def test_frames_with_a_bad_checksum_are_dropped(device):
    _, simulator = device()
    with socket.create_connection(("127.0.0.1", simulator.port), timeout=2) as raw:
        payload = struct.pack("<4H", 1000, 0xBEEF, 0, 65534)
        raw.sendall(FRAME_MAGIC + struct.pack("<I", len(payload)) + payload)
        assert raw.recv(64) == b""  # the device hangs up instead of answering
