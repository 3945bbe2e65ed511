"""A fake Hikvision terminal's ISAPI: digest auth, deviceInfo, and AcsEvent searches that page."""

import hashlib
import json
import secrets
import threading
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

REALM = "DS-K1T671M"


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()  # noqa: S324 - RFC 2617 digest auth uses MD5


class FakeIsapi(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self,
        username: str = "admin",
        password: str = "s3cret",  # noqa: S107 - a fake device's password
        serial: str = "DS-K1T671M0120230101",
    ) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.username, self.password, self.serial = username, password, serial
        self.events: list[dict[str, Any]] = []
        self.searches: list[dict[str, Any]] = []
        self.unauthorized = 0
        self.nonces: set[str] = set()
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def port(self) -> int:
        return self.server_address[1]

    def add(self, employee: str, at: str, status: str = "checkIn", minor: int = 38) -> None:
        self.events.append(
            {
                "major": 5,
                "minor": minor,
                "time": at,
                "employeeNoString": employee,
                "attendanceStatus": status,
                "serialNo": len(self.events) + 1,
                "currentVerifyMode": "fingerPrint",
            }
        )

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


class _Handler(BaseHTTPRequestHandler):
    server: FakeIsapi

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""

    def do_GET(self) -> None:
        if not self._authorized():
            return
        if self.path == "/ISAPI/System/deviceInfo":
            body = (
                f'<?xml version="1.0" encoding="UTF-8"?><DeviceInfo xmlns="http://www.isapi.org/ver20/XMLSchema">'
                f"<deviceName>Lobby</deviceName><serialNumber>{self.server.serial}</serialNumber>"
                "<model>DS-K1T671M</model><firmwareVersion>V3.2.30</firmwareVersion></DeviceInfo>"
            )
            self._send(200, body.encode(), "application/xml")
        else:
            self._send(404, b"{}")

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if not self._authorized():
            return
        if not self.path.startswith("/ISAPI/AccessControl/AcsEvent"):
            self._send(404, b"{}")
            return
        condition = json.loads(body)["AcsEventCond"]
        self.server.searches.append(condition)
        start, end = (datetime.fromisoformat(condition[k]) for k in ("startTime", "endTime"))
        matching = [
            e
            for e in self.server.events
            if e["major"] == condition["major"] and start <= datetime.fromisoformat(e["time"]) <= end
        ]
        position, size = condition["searchResultPosition"], min(condition["maxResults"], 30)
        page = matching[position : position + size]
        status = "NO MATCH" if not matching else ("MORE" if position + size < len(matching) else "OK")
        answer = {
            "AcsEvent": {
                "searchID": condition["searchID"],
                "totalMatches": len(matching),
                "numOfMatches": len(page),
                "responseStatusStrg": status,
                "InfoList": page,
            }
        }
        self._send(200, json.dumps(answer).encode())

    def _authorized(self) -> bool:
        header = self.headers.get("Authorization", "")
        if header.startswith("Digest "):
            fields = dict(part.strip().split("=", 1) for part in header[7:].split(","))
            fields = {key: value.strip('"') for key, value in fields.items()}
            if fields.get("nonce") in self.server.nonces and fields.get("username") == self.server.username:
                ha1 = _md5(f"{self.server.username}:{REALM}:{self.server.password}")
                ha2 = _md5(f"{self.command}:{fields['uri']}")
                expected = _md5(
                    f"{ha1}:{fields['nonce']}:{fields['nc']}:{fields['cnonce']}:{fields['qop']}:{ha2}"
                )
                if secrets.compare_digest(expected, fields.get("response", "")):
                    return True
        self.server.unauthorized += 1
        nonce = secrets.token_hex(16)
        self.server.nonces.add(nonce)
        self._send(
            401,
            b"",
            headers={
                "WWW-Authenticate": f'Digest realm="{REALM}", qop="auth", nonce="{nonce}", '
                f'opaque="{secrets.token_hex(8)}", algorithm="MD5"'
            },
        )
        return False

    def _send(
        self,
        status: int,
        body: bytes,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)
