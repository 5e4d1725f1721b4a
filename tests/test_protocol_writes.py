"""What `mockvps serve`'s HTTP protocol writes to the socket: each answer in one write, the head held for the body.

The protocol runs in process on a transport that records its writes, so each test sees the system calls an
answer would cost (uvicorn's own protocol makes two: the head, then the body).
"""

from __future__ import annotations

import asyncio
from typing import Any

import uvicorn
from uvicorn.server import ServerState

from mockvps.app import create_app
from mockvps.settings import Settings
from mockvps.shared.protocol import guarded_protocol

TOKEN = "writes-token"
AUTH = f"Authorization: Bearer {TOKEN}\r\n".encode()
DETAIL = b"GET /api/v1/servers/12345/ HTTP/1.1\r\nHost: localhost\r\n" + AUTH + b"\r\n"


class RecordingTransport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.writes.append(bytes(data))

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"sockname": ("127.0.0.1", 8000), "peername": ("127.0.0.1", 40000)}.get(name, default)

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


def exchange(data: bytes, app: Any = None, answers: int = 1) -> RecordingTransport:
    """Feed `data` to a fresh connection and let the app answer `answers` requests."""
    settings = Settings(token=TOKEN)

    async def run() -> RecordingTransport:
        config = uvicorn.Config(app or create_app(settings), log_config=None, server_header=False, lifespan="off")
        config.load()
        protocol = guarded_protocol(settings)(config, ServerState(), {})
        transport = RecordingTransport()
        protocol.connection_made(transport)
        protocol.data_received(data)
        for _ in range(1000):
            if protocol.server_state.total_requests >= answers or transport.closed:
                break
            await asyncio.sleep(0)
        protocol.connection_lost(None)
        return transport

    return asyncio.run(run())


def test_an_answer_leaves_in_one_write() -> None:
    writes = exchange(DETAIL).writes
    assert len(writes) == 1
    head, _, body = writes[0].partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"content-length: %d\r\n" % len(body) in head + b"\r\n"
    assert body.startswith(b'{"id":12345,')


def test_a_head_answer_is_written_once_without_a_body() -> None:
    writes = exchange(DETAIL.replace(b"GET", b"HEAD", 1)).writes
    assert len(writes) == 1
    assert writes[0].startswith(b"HTTP/1.1 200 OK\r\n") and writes[0].endswith(b"\r\n\r\n")


def test_pipelined_answers_leave_whole_and_in_order() -> None:
    order = b'{"name": "a", "plan_id": 1, "os_id": 5, "location": 1}'
    create = (
        b"POST /api/v1/servers/ HTTP/1.1\r\nHost: localhost\r\n" + AUTH + b"Content-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n%s" % (len(order), order)
    )
    writes = exchange(DETAIL + create + DETAIL.replace(b"12345", b"12346"), answers=3).writes
    assert [w.split(b"\r\n", 1)[0] for w in writes] == [
        b"HTTP/1.1 200 OK",
        b"HTTP/1.1 400 Bad Request",
        b"HTTP/1.1 200 OK",
    ]
    assert b'{"location":["Not a valid string."]}' in writes[1]
    assert b'"id":12346' in writes[2]


def test_a_head_whose_body_never_comes_is_still_sent_before_the_connection_closes() -> None:
    async def broken(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
        raise RuntimeError("an app that fails half-way through its answer")

    transport = exchange(DETAIL, app=broken)
    assert transport.closed
    assert [w.split(b"\r\n", 1)[0] for w in transport.writes] == [b"HTTP/1.1 200 OK"]
