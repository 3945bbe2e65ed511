"""ZKTeco devices through pyzk: one connection per read, always closed, with the configured timeout."""

import math
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from zk import ZK
from zk.exception import ZKErrorResponse

from edge_poller.config import DeviceConfig
from edge_poller.mapping import DeviceRecord

RECORD_BYTES = 40  # an attendance record as pyzk 0.9 reads it
CHUNK_BYTES = 0xFFC0  # pyzk reads a big buffer over TCP in READ_BUFFER chunks of this size


def download_allowance(records: int, timeout_seconds: float) -> float:
    """The time a log of `records` may take to download: a timeout for each chunk pyzk asks for, and one
    for the users table it reads first. A link slower than a chunk a timeout counts as hung."""
    chunks = math.ceil(records * RECORD_BYTES / CHUNK_BYTES)
    return (chunks + 1) * timeout_seconds


class DeviceError(Exception):
    """The device could not be read; the message says why."""


class _EofRaisingSocket:
    """pyzk 0.9 loops forever on a socket that returns b"" (the device closed the connection mid-transfer).
    Wrapping its socket so that end-of-stream raises turns that spin into an error we can report."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock

    def recv(self, size: int) -> bytes:
        data = self._sock.recv(size)
        if not data and size:
            raise ConnectionResetError("device closed the connection")
        return data

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


@dataclass(frozen=True)
class DeviceInfo:
    serial: str
    firmware: str
    users: int
    records: int
    capacity: int
    clock: datetime


class ZktecoDevice:
    def __init__(self, config: DeviceConfig) -> None:
        self.config = config

    @contextmanager
    def session(self) -> Iterator[Any]:
        # ommit_ping: pyzk would otherwise shell out to the system `ping` on every connect.
        client = ZK(
            self.config.host,
            port=self.config.effective_port,
            timeout=self.config.timeout_seconds,
            password=self.config.comm_key,
            ommit_ping=True,
        )
        try:
            connection = client.connect()
        except Exception as error:
            address = f"{self.config.host}:{self.config.effective_port}"
            raise DeviceError(f"cannot connect to {address}: {_connect_failure(error)}") from error
        connection._ZK__sock = _EofRaisingSocket(connection._ZK__sock)  # pyzk keeps it name-mangled
        try:
            yield connection
        except DeviceError:
            raise
        except Exception as error:
            raise DeviceError(f"{self.config.name}: {type(error).__name__}: {error}") from error
        finally:
            with suppress(Exception):  # the connection may already be gone; the read's result stands
                connection.disconnect()

    @staticmethod
    def record_count(connection: Any) -> int:
        """The cheap question: GET_FREE_SIZES, a few dozen bytes."""
        connection.read_sizes()
        return int(connection.records)

    @staticmethod
    def serial(connection: Any) -> str:
        return str(connection.get_serialnumber())

    @staticmethod
    def records(connection: Any) -> list[DeviceRecord]:
        return [
            DeviceRecord(str(a.user_id), a.timestamp, int(a.punch), int(a.status))
            for a in connection.get_attendance()
        ]

    @staticmethod
    def identity(connection: Any) -> tuple[str | None, str | None]:
        """(model, firmware), each None where this firmware does not say: two small requests."""
        return _optional(connection.get_device_name), _optional(connection.get_firmware_version)

    @staticmethod
    def info(connection: Any) -> DeviceInfo:
        connection.read_sizes()
        return DeviceInfo(
            serial=str(connection.get_serialnumber()),
            firmware=str(connection.get_firmware_version()),
            users=int(connection.users),
            records=int(connection.records),
            capacity=int(connection.rec_cap),
            clock=connection.get_time(),
        )


def _connect_failure(error: Exception) -> str:
    """Why a connection failed, in words an office's IT can act on."""
    # pyzk ignores connect_ex's result, so a refused connection shows as its first send failing
    if isinstance(error, ConnectionError) or isinstance(error.__context__, ConnectionError):
        return "nothing accepts connections there (is the device on, and are its host and port right?)"
    # pyzk 0.9 says only "Unauthenticated" when the device answers the comm key it sent with ACK_UNAUTH
    # (with no comm_key set it sends key 0, which a clock with a key refuses the same way)
    if isinstance(error, ZKErrorResponse) and str(error) == "Unauthenticated":
        return (
            "the device refused the connection's comm key: set this device's comm_key in the config to the"
            " clock's Comm Key (in its communication settings)"
        )
    return str(error)


def _optional(ask: Callable[[], str]) -> str | None:
    try:
        return ask() or None
    except (ZKErrorResponse, UnicodeDecodeError):
        return None
