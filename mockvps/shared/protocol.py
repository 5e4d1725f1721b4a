"""The HTTP/1.1 protocol `mockvps serve` runs: uvicorn's httptools protocol, with limits kept at the socket.

uvicorn's own puts no bound on a request's head: httptools gathers a header of any length (64 MiB cost seconds
of CPU and 45 MB of memory before the app could refuse it), and a request it cannot parse gets a plain-text
answer. `GuardedHttpToolsProtocol` counts the bytes of each request head as they arrive and answers in the
contract's error format, then closes the connection without reading further:

- 431 `Request headers are larger than N bytes.` when the head (request line and header lines, as sent) grows
  past its budget before it is complete: `max_header_size` for the header fields, plus `max_url_size` for the
  request target and `HEAD_FRAMING` for methods, versions, colons and line ends, so that nothing the app's own
  check of the header fields (`mockvps/app.py`, N bytes of names and values) accepts is refused here first;
- 414 `Request URL is longer than N bytes.` when the request target grows past `max_url_size`;
- 400 `Malformed HTTP request: <reason>.` for what httptools cannot parse: framing, Content-Length, chunk
  encoding, method, version, header syntax.

Only bytes that arrive before a head is complete count against it: a body, in the same read or not, never
does, and each request of a keep-alive or pipelined connection starts a new count. A head that begins in the
middle of a read (pipelining) is counted from the next piece on; pieces are at most one budget long, so no head
gets past twice its budget, and the app's check still holds the header fields to N. Reads that fit the budget
(every ordinary request) go to the parser whole: the cost is one comparison and one subtraction per read.

Each answer leaves in one write: uvicorn writes the head at `http.response.start` and the body at
`http.response.body`, two system calls and two segments for the client to wake up to; each request's cycle
writes through `_HeadHeld`, which holds the head until the body (or the answer's end, or a close).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

import httptools
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

if TYPE_CHECKING:
    from uvicorn.config import Config
    from uvicorn.server import ServerState

    from mockvps.settings import Settings

__all__ = ["HEAD_FRAMING", "GuardedHttpToolsProtocol", "guarded_protocol"]

HEAD_FRAMING = 1024
"""Bytes of a request head that are neither header fields nor the request target: method, version, separators."""

_HEAD_COMPLETE = -1
"""`_head_room` while no head is being read: between a head's end and its message's end, or once refused."""


class _Refusal(Exception):
    """Raised in a parser callback to stop parsing a request the protocol refuses."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with limits on the request head and JSON refusals; see the module docstring.

    The limits are class attributes because uvicorn makes one instance per connection itself: `guarded_protocol`
    makes a subclass bound to a mock's settings.
    """

    max_header_size: ClassVar[int] = 16 * 1024
    max_url_size: ClassVar[int] = 8 * 1024

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self._head_budget = self.max_header_size + self.max_url_size + HEAD_FRAMING
        self._head_room = self._head_budget
        """Bytes the head being read may still take, or _HEAD_COMPLETE."""
        self._refusal: bytes | None = None
        """The refusal owed on this connection, once there is one; nothing more is parsed after it."""

    def data_received(self, data: bytes) -> None:
        if len(data) <= self._head_room:  # every ordinary request: the whole read fits what its head may take
            self._head_room -= len(data)  # before parsing, so that a message completed in this read starts anew
            self._feed(data)
        else:
            self._feed_in_pieces(data)

    def _feed_in_pieces(self, data: bytes) -> None:
        """Parse a read that may take a head past its budget, in pieces no longer than the budget."""
        view = memoryview(data)
        while view and self._refusal is None:
            room = self._head_room
            if room == 0:
                self._refuse(431, f"Request headers are larger than {self.max_header_size} bytes.", in_head=True)
                return
            piece = view[: room if room > 0 else self._head_budget]
            if room > 0:
                self._head_room = room - len(piece)
            view = view[len(piece) :]
            if not self._feed(piece):
                return

    def _feed(self, data: bytes | memoryview) -> bool:
        """uvicorn's `data_received`, with JSON refusals: whether parsing may go on."""
        self._unset_keepalive_if_required()
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
            return False
        except httptools.HttpParserError as exc:
            status, detail = self._refusal_for(exc)
            self._refuse(status, detail, in_head=self._head_room != _HEAD_COMPLETE)
            return False
        return True

    def _refusal_for(self, exc: httptools.HttpParserError) -> tuple[int, str]:
        cause = exc.__context__
        if isinstance(cause, _Refusal):
            return cause.status, cause.detail
        if isinstance(exc, httptools.HttpParserCallbackError):
            # uvicorn's own callbacks read the request target once the head is complete.
            if isinstance(cause, UnicodeDecodeError):
                return 400, "Malformed HTTP request: the request target is not ASCII."
            if isinstance(cause, httptools.HttpParserInvalidURLError):
                return 400, "Malformed HTTP request: the request target cannot be parsed."
            self.logger.error("Unexpected error while parsing a request", exc_info=cause)
            return 400, "Malformed HTTP request: it cannot be read."
        reason = str(exc).rstrip(".")  # llhttp's words: "Invalid character in chunk size", "Duplicate Content-Length"
        first = reason.split(" ", 1)[0]
        if first.isalpha() and first[1:].islower():
            reason = reason[0].lower() + reason[1:]
        return 400, f"Malformed HTTP request: {reason}."

    def _refuse(self, status: int, detail: str, *, in_head: bool) -> None:
        """Answer `status` once the answers owed before it are written, then close; parse nothing more."""
        self.logger.warning("Refused a request: %d %s", status, detail)
        self._head_room = _HEAD_COMPLETE
        self._refusal = _answer(status, detail, self.server_state.default_headers)
        cycle = self.cycle  # the latest request whose head was complete (None before the first)
        owed = bool(self.pipeline)  # answers to requests before the refused one, still to be written
        if in_head:  # every request before it was read whole
            owed = owed or (cycle is not None and not cycle.response_complete)
        elif self.pipeline and self.pipeline[0][0] is cycle:  # its body is refused, and it waits behind others
            self.pipeline.popleft()
            owed = True
        elif not cycle.response_complete:  # its body is refused while it runs
            if cycle.response_started:  # an answer half written cannot be followed by another
                self._refusal = b""
            cycle.disconnected = True  # the app sees http.disconnect; its answer, if any, goes nowhere
            cycle.message_event.set()
        if owed:
            self.flow.pause_reading()  # written once the answers before it are (on_response_complete)
        else:
            self._send_refusal()

    def _send_refusal(self) -> None:
        if not self.transport.is_closing():
            if self._refusal:
                self.transport.write(self._refusal)
            self.transport.close()

    # Parser callbacks (uvicorn's, with the head's bounds kept)
    def on_url(self, url: bytes) -> None:
        super().on_url(url)
        if len(self.url) > self.max_url_size:
            raise _Refusal(414, f"Request URL is longer than {self.max_url_size} bytes.")

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        self._head_room = _HEAD_COMPLETE
        cycle = self.cycle
        held = _HeadHeld(self.transport, cycle.on_response)
        cycle.transport = held  # type: ignore[assignment]
        cycle.on_response = held.response_complete

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._head_room = self._head_budget

    def on_response_complete(self) -> None:
        last = not self.pipeline  # otherwise uvicorn now starts the next request that waits
        super().on_response_complete()
        if self._refusal is not None and last:
            self._send_refusal()


class _HeadHeld:
    """The transport as one request's response cycle sees it: the answer's head is held until its body comes, so
    that both leave in one write (one system call, one segment, one wake-up of the client instead of two).

    uvicorn writes the head when the app sends `http.response.start` and the body at `http.response.body`, in
    the same step of the app's task for every answer mockvps makes. What else it writes, and closing, sends the
    held head first; so does the end of the answer (a HEAD's body is never written).
    """

    __slots__ = ("_done", "_head", "_transport")

    def __init__(self, transport: asyncio.Transport, done: Callable[[], None]) -> None:
        self._transport = transport
        self._done = done
        self._head: bytes | None = None
        """None until the head is written; then the head, held, or b"" once it has left."""

    def write(self, data: bytes) -> None:
        head = self._head
        if head is None:
            self._head = data
            return
        if head:
            self._head = b""
            data = head + data
        self._transport.write(data)

    def flush(self) -> None:
        if self._head:
            self._transport.write(self._head)
            self._head = b""

    def response_complete(self) -> None:
        self.flush()
        self._done()

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


def _answer(status: int, detail: str, default_headers: list[tuple[bytes, bytes]]) -> bytes:
    body = json.dumps({"detail": detail}, separators=(",", ":")).encode()
    head = [STATUS_LINE[status]]
    for name, value in default_headers:
        head += [name, b": ", value, b"\r\n"]
    head += [b"content-type: application/json\r\n", b"content-length: %d\r\n" % len(body), b"connection: close\r\n"]
    return b"".join([*head, b"\r\n", body])


def guarded_protocol(settings: Settings) -> type[GuardedHttpToolsProtocol]:
    """`GuardedHttpToolsProtocol` bound to these settings' limits, for `uvicorn.Config(http=...)`."""

    class MockVPSHttpToolsProtocol(GuardedHttpToolsProtocol):
        max_header_size = settings.max_header_size
        max_url_size = settings.max_url_size

    return MockVPSHttpToolsProtocol
