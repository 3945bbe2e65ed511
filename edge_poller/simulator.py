"""A simulated ZKTeco time clock speaking the binary protocol on TCP, as pyzk 0.9 expects it.

Frames: `50 50 82 7d` + uint32 LE payload length, then `<H command><H checksum><H session><H reply id>`
+ data. The simulator checks the checksum of every request (real devices do; pyzk does not check the
ones it receives) and echoes each request's reply id. Where pyzk and the protocol notes disagree, this
follows pyzk, the client it must satisfy:
- a PREPARE_DATA reply carries 8 bytes (uint32 size + 4 reserved): pyzk skips 8 bytes to find the DATA frame;
- the ACK_OK that closes a chunk has no data: pyzk reads exactly 16 bytes for it;
- pyzk computes a request's checksum with the reply id before its increment, so that is what we check.

Fault switches (tests and demos): a wrong comm key is simply a different `comm_key`; `delay_seconds`
answers slowly; `link_bytes_per_second` is a slow link (a big answer arrives piece by piece at that
rate); `drop_mid_transfer` closes the connection halfway through a log download;
`clock_offset_minutes` sets the clock off; `clear_log()` empties the log as an operator would.

`AdmsClock` is the same clock in ADMS push mode, against a running stack (`edge-poller simulate --adms`).
"""

import random
import socket
import socketserver
import struct
import threading
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import httpx
from zk.base import make_commkey

from attendance.domain.clock import wall_clock_now
from attendance.push.commands import packed_time

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
LINK_PIECE = 4096  # a slow link delivers this much at a time


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


def decode_time(value: int) -> datetime:
    """The inverse of packed_time, ZKTeco's time encoding (the binary protocol's and ADMS's)."""
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
    names: dict[str, str] = field(default_factory=dict)  # user_id (PIN) -> name, when one was set
    records: list[SimRecord] = field(default_factory=list)
    clock_offset_minutes: float = 0.0
    delay_seconds: float = 0.0
    link_bytes_per_second: float = 0.0  # 0: as fast as loopback
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

    def put_user(self, user_id: str, name: str) -> None:
        """An employee enrolled (or renamed) on the clock."""
        with self.lock:
            self.users.setdefault(user_id, max(self.users.values(), default=0) + 1)
            self.names[user_id] = name

    def remove_user(self, user_id: str) -> bool:
        with self.lock:
            self.names.pop(user_id, None)
            return self.users.pop(user_id, None) is not None

    def set_clock(self, wanted: datetime) -> None:
        with self.lock:
            self.clock_offset_minutes += (wanted - self.now()).total_seconds() / 60

    def attendance_buffer(self) -> bytes:
        with self.lock:
            body = b"".join(
                struct.pack(
                    "<H24sB4sB8s",
                    r.uid,
                    r.user_id.encode(),
                    r.status,
                    struct.pack("<I", packed_time(r.timestamp)),
                    r.punch,
                    b"",
                )
                for r in self.records
            )
        return struct.pack("<I", len(body)) + body

    def user_buffer(self) -> bytes:
        with self.lock:
            body = b"".join(
                struct.pack(
                    "<HB8s24sIx7sx24s",
                    uid,
                    0,
                    b"",
                    self.names.get(pin, f"User {pin}").encode(),
                    0,
                    b"1",
                    pin.encode(),
                )
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
        rate = self.device.link_bytes_per_second
        if not rate:
            self.request.sendall(data)
            return
        for start in range(0, len(data), LINK_PIECE):  # steady progress, as a slow line delivers it
            piece = data[start : start + LINK_PIECE]
            time.sleep(len(piece) / rate)
            self.request.sendall(piece)

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
            return CMD_ACK_OK, struct.pack("<I", packed_time(device.now()))
        if command == CMD_SET_TIME:
            (encoded,) = struct.unpack("<I", data[:4])
            device.set_clock(decode_time(encoded))
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


# ADMS push mode: the same clock, talking HTTP to a stack as pushver 2.x firmware does.

ADMS_TIME = "%Y-%m-%d %H:%M:%S"
RETURN_OK, RETURN_UNKNOWN_COMMAND, RETURN_BAD_ARGUMENT = 0, -1002, -1003  # codes as firmware reports them
_TEXT = {"Content-Type": "text/plain"}


@dataclass(frozen=True)
class ExecutedCommand:
    command_id: str
    command: str
    return_code: int


class AdmsClock:
    """A simulated clock in ADMS push mode: handshake (`GET /iclock/cdata?options=all`), upload of new
    records (`POST /iclock/cdata?table=ATTLOG`), command polls (`GET /iclock/getrequest`) whose commands it
    runs, and their results (`POST /iclock/devicecmd`). It reads commands as a device does, on its own,
    rather than with the server's builders, so a mismatch between the two shows."""

    def __init__(
        self,
        base_url: str,
        device: DeviceState,
        poll_seconds: float = 3.0,
        timeout: float = 10.0,
        on_command: Callable[[str, str, int], None] | None = None,
    ) -> None:
        self.device = device
        self.poll_seconds = poll_seconds
        self.on_command = on_command  # told of each command run: its ID, the command, the result code
        self.http = httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout)
        self.uploaded = 0  # records of the log the server has acknowledged
        self.handshakes = 0
        self.options: dict[str, str] = {}
        self.executed: list[ExecutedCommand] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def handshake(self) -> dict[str, str]:
        reply = self._get("/iclock/cdata", options="all", pushver="2.4.0", language="69")
        reply.raise_for_status()  # an unregistered serial is refused
        lines = reply.text.splitlines()
        self.options = dict(line.split("=", 1) for line in lines[1:] if "=" in line)
        self.handshakes += 1
        return self.options

    def upload_new(self) -> int:
        """Upload the records recorded since the last acknowledged upload; the number sent."""
        with self.device.lock:
            self.uploaded = min(self.uploaded, len(self.device.records))  # the log may have been cleared
            fresh = self.device.records[self.uploaded :]
        if fresh and self._upload(fresh):
            self.uploaded += len(fresh)
        return len(fresh)

    def poll_once(self) -> list[ExecutedCommand]:
        """One getrequest; every command it carries is run and its result posted."""
        reply = self._get("/iclock/getrequest")
        done = [self._run(line) for line in reply.text.splitlines() if line.startswith("C:")]
        if done:
            body = "".join(
                f"ID={result.command_id}&Return={result.return_code}&CMD={result.command.split(' ', 1)[0]}\r\n"
                for result in done
            )
            self.executed += done  # run before they are reported
            self._post("/iclock/devicecmd", body)
        if self.on_command:
            for result in done:
                self.on_command(result.command_id, result.command, result.return_code)
        return done

    def cycle(self) -> None:
        self.upload_new()
        self.poll_once()

    def start(self) -> "AdmsClock":
        self.handshake()
        self._thread = threading.Thread(target=self._loop, name=f"adms-{self.device.serial}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=self.poll_seconds + 15)
        self.http.close()

    def _loop(self) -> None:
        while not self._stop.is_set():
            with suppress(httpx.HTTPError):  # the server is unreachable: a real clock tries again later
                self.cycle()
            self._stop.wait(self.poll_seconds)

    def _run(self, line: str) -> ExecutedCommand:
        _, command_id, command = line.split(":", 2)
        try:
            code = self._execute(command)
        except (ValueError, KeyError):
            code = RETURN_BAD_ARGUMENT
        return ExecutedCommand(command_id, command, code)

    def _execute(self, command: str) -> int:
        fields = _fields(command.partition(" ")[2])
        if command.startswith("DATA UPDATE USERINFO "):
            self.device.put_user(fields["PIN"], fields.get("Name", ""))
        elif command.startswith("DATA DELETE USERINFO "):
            self.device.remove_user(fields["PIN"])
        elif command.startswith("DATA QUERY ATTLOG "):
            start, end = (datetime.strptime(fields[name], ADMS_TIME) for name in ("StartTime", "EndTime"))
            with self.device.lock:
                chosen = [record for record in self.device.records if start <= record.timestamp <= end]
            if chosen and not self._upload(chosen):
                return RETURN_BAD_ARGUMENT
        elif command.startswith("SET OPTIONS ") and "DateTime" in fields:
            self.device.set_clock(decode_time(int(fields["DateTime"])))
        elif command == "REBOOT":
            self.handshake()  # a rebooted clock greets the server again
        else:
            return RETURN_UNKNOWN_COMMAND
        return RETURN_OK

    def _upload(self, records: list[SimRecord]) -> bool:
        body = "".join(
            f"{r.user_id}\t{r.timestamp:{ADMS_TIME}}\t{r.punch}\t{r.status}\t\t0\t0\r\n" for r in records
        )
        reply = self._post("/iclock/cdata", body, table="ATTLOG", Stamp="9999")
        return reply.text.strip() == f"OK: {len(records)}"  # anything else: the device sends them again

    def _get(self, path: str, **query: str) -> httpx.Response:
        return self.http.get(path, params={"SN": self.device.serial, **query})

    def _post(self, path: str, body: str, **query: str) -> httpx.Response:
        return self.http.post(
            path, params={"SN": self.device.serial, **query}, content=body.encode(), headers=_TEXT
        )


def _fields(argument: str) -> dict[str, str]:
    """`UPDATE USERINFO PIN=1\tName=A B` -> {"PIN": "1", "Name": "A B"}: tab-separated `name=value`s, the
    first one after the command's words."""
    fields = {}
    for part in argument.split("\t"):
        head, separator, value = part.partition("=")
        if separator:
            fields[head.rsplit(" ", 1)[-1]] = value
    return fields
