"""Attacks on the HTTP/1.1 layer of a real `mockvps serve`, over raw sockets: refused early, as JSON, closed.

Each test is written as the attack it guards against and holds what must stay served around it: heads under
their limit, bodies after small heads, keep-alive and pipelined requests.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.test_cli import Served

TOKEN = "guard-token"
AUTH = f"Authorization: Bearer {TOKEN}\r\n".encode()
DETAIL = b"GET /api/v1/servers/12345/ HTTP/1.1\r\nHost: localhost\r\n" + AUTH + b"\r\n"
MIB = 1024 * 1024


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Wire:
    """One raw connection to the server: bytes out, answers read one by one as they come."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.sock = socket.create_connection((parts.hostname, parts.port), timeout=30)
        self.buffer = b""

    def __enter__(self) -> Wire:
        return self

    def __exit__(self, *exc: object) -> None:
        self.sock.close()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _more(self) -> bool:
        try:
            chunk = self.sock.recv(65536)
        except ConnectionResetError:
            chunk = b""
        self.buffer += chunk
        return bool(chunk)

    def answer(self) -> Answer:
        while b"\r\n\r\n" not in self.buffer:
            assert self._more(), f"the connection ended before an answer: {self.buffer!r}"
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        status_line, *lines = head.decode("latin-1").split("\r\n")
        headers = {name.lower(): value.strip() for name, value in (line.split(":", 1) for line in lines)}
        length = int(headers["content-length"])
        while len(self.buffer) < length:
            assert self._more(), "the connection ended inside an answer"
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        return Answer(int(status_line.split()[1]), headers, body)

    def closed_by_server(self) -> bool:
        """Whether the server ends the connection with nothing more to say."""
        return not self.buffer and not self._more()


def assert_refused(answer: Answer, status: int, detail: str | None = None) -> str:
    """A refusal in the contract's error format that closes the connection; its detail."""
    assert answer.status == status
    assert answer.headers["content-type"] == "application/json"
    assert answer.headers.get("connection") == "close"
    body = answer.json()
    assert list(body) == ["detail"]
    if detail is not None:
        assert body["detail"] == detail
    return str(body["detail"])


def vm_hwm_mb(pid: int) -> float:
    """The most memory the process has held resident (VmHWM, the peak of VmRSS), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM in /proc")


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    server = Served("--token", TOKEN, "--provisioning-delay", "0", "--log-level", "error")
    yield server
    server.stop()


def test_a_70_kb_url_is_414_as_json_and_a_url_within_the_limit_is_served(served: Served) -> None:
    with Wire(served.url) as wire:
        wire.send(b"GET /api/v1/servers/12345/?q=" + b"a" * 8000 + b" HTTP/1.1\r\nHost: localhost\r\n" + AUTH + b"\r\n")
        assert wire.answer().json()["id"] == 12345
    with Wire(served.url) as wire:
        wire.send(
            b"GET /api/v1/servers/12345/?q=" + b"a" * 70_000 + b" HTTP/1.1\r\nHost: localhost\r\n" + AUTH + b"\r\n"
        )
        assert_refused(wire.answer(), 414, "Request URL is longer than 8192 bytes.")
        assert wire.closed_by_server()


def test_the_url_limit_is_a_setting() -> None:
    server = Served("--max-url-size", "2048", "--log-level", "error")
    try:
        with Wire(server.url) as wire:
            wire.send(b"GET /_mockvps/health?q=" + b"a" * 3000 + b" HTTP/1.1\r\nHost: localhost\r\n\r\n")
            assert_refused(wire.answer(), 414, "Request URL is longer than 2048 bytes.")
    finally:
        server.stop()


POST = b"POST /api/v1/servers/ HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n" + AUTH
BAD_CHUNK = POST + b"Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n"

MALFORMED = {  # name: (the request, a word its refusal names)
    "content-length-not-a-number": (POST + b"Content-Length: abc\r\n\r\n{}", "Content-Length"),
    "content-length-overflow": (POST + b"Content-Length: 99999999999999999999999\r\n\r\n{}", "Content-Length"),
    "content-length-twice": (POST + b"Content-Length: 2\r\nContent-Length: 3\r\n\r\n{}", "Content-Length"),
    "content-length-and-chunked": (
        POST + b"Content-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n{}",
        "Transfer-Encoding",
    ),
    "chunk-size-not-hex": (BAD_CHUNK, "chunk size"),
    "chunk-size-without-cr": (POST + b"Transfer-Encoding: chunked\r\n\r\n2\n{}\r\n0\r\n\r\n", "chunk size"),
    "invalid-method": (b"G@T /api/v1/servers/ HTTP/1.1\r\nHost: localhost\r\n\r\n", "method"),
    "invalid-version": (b"GET /api/v1/servers/ HTTP/9.9\r\nHost: localhost\r\n\r\n", "version"),
    "header-without-colon": (b"GET /api/v1/servers/ HTTP/1.1\r\nHost: localhost\r\nno colon here\r\n\r\n", "header"),
    "nul-in-header-value": (b"GET /api/v1/servers/ HTTP/1.1\r\nHost: localhost\r\nX-A: a\x00b\r\n\r\n", "header"),
    "non-ascii-path": (b"GET /api/v1/servers/\xff/ HTTP/1.1\r\nHost: localhost\r\n\r\n", "url"),
    "unparsable-target": (b"GET http://[ HTTP/1.1\r\nHost: localhost\r\n\r\n", "request target"),
}


@pytest.mark.parametrize(("request_bytes", "reason"), MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_framing_is_400_as_json(served: Served, request_bytes: bytes, reason: str) -> None:
    with Wire(served.url) as wire:
        wire.send(request_bytes)
        detail = assert_refused(wire.answer(), 400)
        assert wire.closed_by_server()
    assert detail.startswith("Malformed HTTP request: ") and detail.endswith(".")
    assert reason in detail


def test_pipelined_requests_are_counted_one_by_one_and_a_malformed_one_is_answered_after_them(
    served: Served,
) -> None:
    padded = DETAIL.replace(AUTH, AUTH + b"X-Padding: " + b"p" * 1000 + b"\r\n")
    with Wire(served.url) as wire:  # 60 KB of heads in one write, each one small: all served, in order
        wire.send(padded * 60 + BAD_CHUNK)
        assert [wire.answer().status for _ in range(60)] == [200] * 60
        assert_refused(wire.answer(), 400, "Malformed HTTP request: invalid character in chunk size.")
        assert wire.closed_by_server()
    with Wire(served.url) as wire:  # the same on a keep-alive connection, one request at a time
        for _ in range(60):
            wire.send(padded)
            assert wire.answer().status == 200
        wire.send(b"G@T / HTTP/1.1\r\n\r\n")
        assert_refused(wire.answer(), 400, "Malformed HTTP request: invalid method encountered.")


def test_a_small_head_with_a_big_body_is_served_and_a_big_head_is_refused_at_the_socket(served: Served) -> None:
    target = b"/api/v1/servers/12345/?q=".ljust(8192, b"a")
    fields = sum(
        map(len, ["host", "localhost", "authorization", f"Bearer {TOKEN}", "x-padding"])
    )  # what the app counts
    with Wire(served.url) as wire:  # a head at both limits: an 8 KiB URL and 16 KiB of header fields
        wire.send(
            b"GET %s HTTP/1.1\r\nHost: localhost\r\n%sX-Padding: %s\r\n\r\n" % (target, AUTH, b"p" * (16384 - fields))
        )
        assert wire.answer().status == 200
    order = {"name": "big-body", "plan_id": 1, "os_id": 5, "location": "us-west", "padding": "a" * 100_000}
    body = json.dumps(order).encode()
    head = POST + b"Content-Length: %d\r\n\r\n" % len(body)
    with Wire(served.url) as wire:  # head and body in one write: only the head counts
        wire.send(head + body)
        assert wire.answer().status == 201
    with Wire(served.url) as wire:
        wire.send(DETAIL[:-2] + b"X-Padding: " + b"p" * 40_000 + b"\r\n\r\n")
        assert_refused(wire.answer(), 431, "Request headers are larger than 16384 bytes.")
        assert wire.closed_by_server()


@dataclass
class Attacker:
    """A connection sending one request whose header is `size` bytes long, and reading what comes back."""

    url: str
    size: int = 32 * MIB
    sent: int = 0
    total: int = 0
    wire: Wire | None = None
    answer: Answer | None = None
    error: BaseException | None = None

    def run(self) -> None:
        head = b"GET /api/v1/servers/12345/ HTTP/1.1\r\nHost: localhost\r\nX-Padding: "
        self.total = len(head) + self.size + 4
        with Wire(self.url) as wire:
            reader = threading.Thread(target=self._read, args=(wire,))
            reader.start()
            try:
                wire.send(head)
                self.sent = len(head)
                for _ in range(self.size // MIB):
                    wire.send(b"a" * MIB)
                    self.sent += MIB
                wire.send(b"\r\n\r\n")
                self.sent = self.total
            except OSError:  # the server closed the connection on it
                pass
            reader.join()

    def _read(self, wire: Wire) -> None:
        try:
            self.answer = wire.answer()
        except BaseException as exc:
            self.error = exc


@dataclass
class Bystander:
    """A client looping on GET detail, on its own keep-alive connection, until told to stop."""

    url: str
    statuses: list[int] = field(default_factory=list)
    errors: list[BaseException] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    started: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        with Wire(self.url) as wire:
            try:
                while not self.stop.is_set() or len(self.statuses) < 20:
                    wire.send(DETAIL)
                    self.statuses.append(wire.answer().status)
                    self.started.set()
            except BaseException as exc:
                self.errors.append(exc)
                self.started.set()


def attack(served: Served, attackers: int) -> tuple[list[Attacker], Bystander, float]:
    """Attackers at once while a bystander is served; the growth of the server's peak memory, in MB."""
    bystander = Bystander(served.url)
    watching = threading.Thread(target=bystander.run)
    watching.start()
    bystander.started.wait(30)
    peak_before = vm_hwm_mb(served.process.pid)
    attacks = [Attacker(served.url) for _ in range(attackers)]
    threads = [threading.Thread(target=a.run) for a in attacks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    grown = vm_hwm_mb(served.process.pid) - peak_before
    bystander.stop.set()
    watching.join()
    return attacks, bystander, grown


def assert_cut_short(attacker: Attacker) -> None:
    assert attacker.error is None, attacker.error
    assert attacker.sent < attacker.total  # closed on it: it never got to send its whole header
    assert attacker.answer is not None
    assert_refused(attacker.answer, 431, "Request headers are larger than 16384 bytes.")


@pytest.fixture
def target() -> Iterator[Served]:
    server = Served("--token", TOKEN, "--log-level", "error")
    yield server
    server.stop()


def test_a_32_mib_header_is_refused_before_it_is_sent_while_another_client_is_served(target: Served) -> None:
    (attacker,), bystander, grown = attack(target, attackers=1)
    assert_cut_short(attacker)
    assert bystander.errors == []
    assert bystander.statuses == [200] * len(bystander.statuses)
    assert grown < 4  # MB; reading the whole header cost 64 MB


def test_four_32_mib_headers_at_once_do_not_time_out_a_normal_client(target: Served) -> None:
    attackers, bystander, grown = attack(target, attackers=4)
    for attacker in attackers:
        assert_cut_short(attacker)
    assert bystander.errors == []  # among them: socket.timeout, after 30 s without an answer
    assert bystander.statuses == [200] * len(bystander.statuses)
    assert grown < 8  # MB; reading the whole headers cost 200 MB
