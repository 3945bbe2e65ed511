"""A simulated ZKTeco time clock speaking the binary protocol on TCP, as pyzk 0.9 expects it.

Frames: `50 50 82 7d` + uint32 LE payload length, then `<H command><H checksum><H session><H reply id>`
+ data. The simulator checks the checksum of every request (real devices do; pyzk does not check the
ones it receives) and echoes each request's reply id. Where pyzk and the protocol notes disagree, this
follows pyzk, the client it must satisfy:
- a PREPARE_DATA reply carries 8 bytes (uint32 size + 4 reserved): pyzk skips 8 bytes to find the DATA frame;
- the ACK_OK that closes a chunk has no data: pyzk reads exactly 16 bytes for it;
- pyzk computes a request's checksum with the reply id before its increment, so that is what we check.

Fault switches (tests and demos): a wrong comm key is simply a different `comm_key`; `delay_seconds`
answers slowly; `drop_mid_transfer` closes the connection halfway through a log download;
`clock_offset_minutes` sets the clock off; `clear_log()` empties the log as an operator would.
"""

import random
import socket
import socketserver
import struct
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from zk.base import make_commkey

from attendance.domain.clock import wall_clock_now

FRAME_MAGIC = b"\x50\x50\x82\x7d"
CMD_CONNECT, CMD_EXIT, CMD_ENABLEDEVICE, CMD_DISABLEDEVICE = 1000, 1001, 1002, 1003
CMD_AUTH, CMD_GET_VERSION = 1102, 1100
CMD_PREPARE_DATA, CMD_DATA, CMD_FREE_DATA, CMD_PREPARE_BUFFER, CMD_READ_BUFFER = 1500, 1501, 1502, 1503, 1504
CMD_ACK_OK, CMD_ACK_ERROR, CMD_ACK_UNAUTH = 2000, 2001, 2005
CMD_USERTEMP_RRQ, CMD_OPTIONS_RRQ, CMD_ATTLOG_RRQ, CMD_CLEAR_ATTLOG = 9, 11, 13, 15
CMD_GET_FREE_SIZES, CMD_GET_TIME, CMD_SET_TIME = 50, 201, 202
USHRT_MAX = 65535
RECORD_CAPACITY = 100_000
SMALL_BUFFER_LIMIT = 4096  # buffers up to this size come back in one DATA reply; larger ones in chunks


def checksum(payload: bytes) -> int:
    """16-bit one's-complement sum of the little-endian words (pyzk's __create_checksum)."""
    if len(payload) % 2:
        payload += b"\x00"
    total = 0
    for (word,) in struct.iter_unpack("<H", payload):
        total += word
        if total > USHRT_MAX:
            total -= USHRT_MAX
    total = ~total
    while total < 0:
        total += USHRT_MAX
    return total


def encode_time(moment: datetime) -> int:
    return (
        ((moment.year % 100) * 12 * 31 + (moment.month - 1) * 31 + moment.day - 1) * 86400
        + moment.hour * 3600
        + moment.minute * 60
        + moment.second
    )


def decode_time(value: int) -> datetime:
    second, value = value % 60, value // 60
    minute, value = value % 60, value // 60
    hour, value = value % 24, value // 24
    day, value = value % 31 + 1, value // 31
    month, value = value % 12 + 1, value // 12
    return datetime(value + 2000, month, day, hour, minute, second)


@dataclass(frozen=True)
class SimRecord:
    uid: int
    user_id: str
    timestamp: datetime  # the device's wall clock: no zone
    status: int = 1  # verify mode: 1 fingerprint
    punch: int = 0  # state key: 0 check-in, 1 check-out, ... 255 none


@dataclass
class DeviceState:
    serial: str = "SIM0001"
    comm_key: int = 0
    time_zone: str = "UTC"
    firmware: str = "Ver 6.60 Apr 28 2018"
    users: dict[str, int] = field(default_factory=dict)  # user_id (PIN) -> uid
    records: list[SimRecord] = field(default_factory=list)
    clock_offset_minutes: float = 0.0
    delay_seconds: float = 0.0
    drop_mid_transfer: bool = False
    bytes_sent: int = 0
    bytes_received: int = 0
    requests: int = 0
    lock: threading.RLock = field(default_factory=threading.RLock)

    def now(self) -> datetime:
        local = wall_clock_now(self.time_zone).replace(microsecond=0)
        return local + timedelta(minutes=self.clock_offset_minutes)

    def punch(self, user_id: str, punch: int = 0, at: datetime | None = None, status: int = 1) -> SimRecord:
        """Someone presses a finger on the reader."""
        with self.lock:
            uid = self.users.setdefault(user_id, len(self.users) + 1)
            record = SimRecord(uid, user_id, (at or self.now()).replace(microsecond=0), status, punch)
            self.records.append(record)
            return record

    def clear_log(self) -> None:
        with self.lock:
            self.records.clear()

    def attendance_buffer(self) -> bytes:
        with self.lock:
            body = b"".join(
                struct.pack(
                    "<H24sB4sB8s",
                    r.uid,
                    r.user_id.encode(),
                    r.status,
                    struct.pack("<I", encode_time(r.timestamp)),
                    r.punch,
                    b"",
                )
                for r in self.records
            )
        return struct.pack("<I", len(body)) + body

    def user_buffer(self) -> bytes:
        with self.lock:
            body = b"".join(
                struct.pack("<HB8s24sIx7sx24s", uid, 0, b"", f"User {pin}".encode(), 0, b"1", pin.encode())
                for pin, uid in self.users.items()
            )
        return struct.pack("<I", len(body)) + body

    def sizes(self) -> bytes:
        fields = [0] * 20
        with self.lock:
            fields[4], fields[8] = len(self.users), len(self.records)
        fields[14], fields[15], fields[16] = 3000, 10_000, RECORD_CAPACITY
        fields[17], fields[18], fields[19] = 3000, 10_000 - fields[4], RECORD_CAPACITY - fields[8]
        return struct.pack("<20i", *fields) + struct.pack("<3i", 0, 0, 0)

    def fill(self, count: int, users: int = 20, days: int = 30, seed: int = 7) -> None:
        """`count` realistic records: users punching in and out over the last `days` days, oldest first."""
        rng = random.Random(seed)
        end = self.now()
        step = timedelta(days=days) / max(count, 1)
        for index in range(count):
            at = end - timedelta(days=days) + step * index + timedelta(seconds=rng.randint(0, 59))
            self.punch(str(1000 + rng.randrange(users)), punch=index % 2, at=min(at, end))


class _Connection(socketserver.BaseRequestHandler):
    server: "ZkSimulator"

    def setup(self) -> None:
        self.device = self.server.device
        self.session_id = random.randint(1, USHRT_MAX - 1)
        self.authenticated = self.device.comm_key == 0
        self.buffer = b""

    def handle(self) -> None:
        try:
            while True:
                request = self._read_frame()
                if request is None:
                    return
                if not self._dispatch(*request):
                    return
        except OSError:
            return

    def _read_frame(self) -> tuple[int, int, bytes] | None:
        top = self._recv_exact(8)
        if top is None or top[:4] != FRAME_MAGIC:
            return None
        (length,) = struct.unpack("<I", top[4:])
        payload = self._recv_exact(length)
        if payload is None or length < 8:
            return None
        command, received_checksum, session, reply_id = struct.unpack("<4H", payload[:8])
        # pyzk sums the header with the reply id it had before incrementing it for this request.
        summed_reply_id = (reply_id - 1) % USHRT_MAX
        unsigned = struct.pack("<4H", command, 0, session, summed_reply_id) + payload[8:]
        if checksum(unsigned) != received_checksum:
            return None  # a real device drops a frame with a bad checksum
        with self.device.lock:
            self.device.requests += 1
            self.device.bytes_received += 8 + length
        return command, reply_id, payload[8:]

    def _recv_exact(self, size: int) -> bytes | None:
        chunks, needed = [], size
        while needed:
            chunk = self.request.recv(needed)
            if not chunk:
                return None
            chunks.append(chunk)
            needed -= len(chunk)
        return b"".join(chunks)

    def _frame(self, command: int, reply_id: int, data: bytes = b"") -> bytes:
        unsigned = struct.pack("<4H", command, 0, self.session_id, reply_id) + data
        payload = struct.pack("<4H", command, checksum(unsigned), self.session_id, reply_id) + data
        return FRAME_MAGIC + struct.pack("<I", len(payload)) + payload

    def _send(self, *frames: bytes) -> None:
        if self.device.delay_seconds:
            time.sleep(self.device.delay_seconds)
        data = b"".join(frames)
        with self.device.lock:
            self.device.bytes_sent += len(data)
        self.request.sendall(data)

    def _dispatch(self, command: int, reply_id: int, data: bytes) -> bool:
        """Answer one request; False ends the connection."""
        if command == CMD_CONNECT:
            self._send(self._frame(CMD_ACK_OK if self.authenticated else CMD_ACK_UNAUTH, reply_id))
        elif command == CMD_AUTH:
            self.authenticated = self._key_matches(data)
            self._send(self._frame(CMD_ACK_OK if self.authenticated else CMD_ACK_UNAUTH, reply_id))
        elif not self.authenticated:
            self._send(self._frame(CMD_ACK_UNAUTH, reply_id))
        elif command == CMD_EXIT:
            self._send(self._frame(CMD_ACK_OK, reply_id))
            return False
        elif command == CMD_PREPARE_BUFFER:
            return self._prepare_buffer(reply_id, data)
        elif command == CMD_READ_BUFFER:
            return self._read_buffer(reply_id, data)
        else:
            reply, reply_data = self._simple_reply(command, data)
            self._send(self._frame(reply, reply_id, reply_data))
        return True

    def _simple_reply(self, command: int, data: bytes) -> tuple[int, bytes]:
        device = self.device
        if command in (CMD_ENABLEDEVICE, CMD_DISABLEDEVICE, CMD_FREE_DATA):
            return CMD_ACK_OK, b""
        if command == CMD_GET_VERSION:
            return CMD_ACK_OK, device.firmware.encode() + b"\x00"
        if command == CMD_OPTIONS_RRQ:
            name = data.split(b"\x00")[0]
            value = {b"~SerialNumber": device.serial.encode(), b"~DeviceName": b"SimClock"}.get(name, b"")
            return CMD_ACK_OK, name + b"=" + value + b"\x00"
        if command == CMD_GET_FREE_SIZES:
            return CMD_ACK_OK, device.sizes()
        if command == CMD_GET_TIME:
            return CMD_ACK_OK, struct.pack("<I", encode_time(device.now()))
        if command == CMD_SET_TIME:
            (encoded,) = struct.unpack("<I", data[:4])
            wanted = decode_time(encoded)
            with device.lock:
                device.clock_offset_minutes += (wanted - device.now()).total_seconds() / 60
            return CMD_ACK_OK, b""
        if command == CMD_CLEAR_ATTLOG:
            device.clear_log()
            return CMD_ACK_OK, b""
        return CMD_ACK_ERROR, b""

    def _key_matches(self, data: bytes) -> bool:
        if len(data) < 4:
            return False
        ticks = data[2]  # the scrambled key carries its tick byte in the clear
        return make_commkey(self.device.comm_key, self.session_id, ticks=ticks) == data[:4]

    def _prepare_buffer(self, reply_id: int, data: bytes) -> bool:
        _flag, table, _fct, _ext = struct.unpack("<bhii", data[:11])
        if table == CMD_ATTLOG_RRQ:
            self.buffer = self.device.attendance_buffer()
        elif table == CMD_USERTEMP_RRQ:
            self.buffer = self.device.user_buffer()
        else:
            self._send(self._frame(CMD_ACK_ERROR, reply_id))
            return True
        if len(self.buffer) <= SMALL_BUFFER_LIMIT:
            if self.device.drop_mid_transfer and table == CMD_ATTLOG_RRQ:
                return self._drop(self._frame(CMD_DATA, reply_id, self.buffer))
            self._send(self._frame(CMD_DATA, reply_id, self.buffer))
        else:
            self._send(self._frame(CMD_ACK_OK, reply_id, b"\x00" + struct.pack("<I", len(self.buffer))))
        return True

    def _read_buffer(self, reply_id: int, data: bytes) -> bool:
        start, size = struct.unpack("<ii", data[:8])
        chunk = self.buffer[start : start + size]
        frames = (
            self._frame(CMD_PREPARE_DATA, reply_id, struct.pack("<II", len(chunk), 0)),
            self._frame(CMD_DATA, reply_id, chunk),
            self._frame(CMD_ACK_OK, reply_id),
        )
        if self.device.drop_mid_transfer:
            return self._drop(b"".join(frames))
        self._send(*frames)
        return True

    def _drop(self, frames: bytes) -> bool:
        """Send half of the transfer, then cut the line."""
        self.request.sendall(frames[: len(frames) // 2])
        return False


class ZkSimulator(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True

    def __init__(self, device: DeviceState, host: str = "127.0.0.1", port: int = 4370) -> None:
        super().__init__((host, port), _Connection)
        self.device = device

    @property
    def port(self) -> int:
        return self.server_address[1]

    def start(self) -> "ZkSimulator":
        threading.Thread(target=self.serve_forever, name=f"zk-{self.device.serial}", daemon=True).start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


def free_tcp_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
