"""The proxy as an ASGI app: every request forwarded unchanged, every answer streamed back unchanged.

httpx's transport sends the request to the upstream as it arrives (its body streamed when it has one) and the
answer is passed on chunk by chunk as raw bytes (compressed stays compressed); a copy of each body, up to
`KEPT_BODY_BYTES`, goes with the exchange to the checks once the answer is complete. Only hop-by-hop headers
(RFC 9110: Connection and what it names, Keep-Alive, Transfer-Encoding, ...) and Host are not passed on.
Nothing is added: no header of the proxy's own, no cookie kept from an earlier answer, no redirect followed.
When the upstream cannot be reached, breaks the connection or does not answer within the timeout, the client
gets a JSON 502 naming the cause, and the checks an exchange without an answer.

The proxy answers two things itself: `GET /_mockvps/drift` (the report so far, as drift.json has it; with
`?format=markdown` as drift.md) and the dashboard under `/_mockvps/ui/` (whose drift panel reads that report;
its other panels call a mock's control API, which is forwarded like anything else).
"""

from __future__ import annotations

import errno
import mimetypes
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import orjson

from mockvps.proxy.exchange import KEPT_BODY_BYTES, Exchange, Secrets, redact_headers
from mockvps.proxy.observer import Observer
from mockvps.proxy.report import DriftReport

if TYPE_CHECKING:
    from starlette.types import Receive, Scope, Send

__all__ = ["DRIFT_PATH", "HOP_BY_HOP", "UI_PREFIX", "ProxyApp", "bad_gateway"]

DRIFT_PATH = "/_mockvps/drift"
UI_PREFIX = "/_mockvps/ui"
UI = Path(__file__).resolve().parents[1] / "ui"
_SHARDS = 8
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)


def bad_gateway(exc: httpx.HTTPError, upstream: str, timeout: float) -> str:
    """Why the upstream gave no answer, in one sentence."""
    if isinstance(exc, httpx.ConnectTimeout):
        return f"Bad gateway: no connection to the upstream {upstream} within {timeout:g} s."
    if isinstance(exc, httpx.TimeoutException):
        return f"Bad gateway: the upstream {upstream} did not answer within {timeout:g} s."
    if isinstance(exc, httpx.ConnectError):
        return f"Bad gateway: cannot connect to the upstream {upstream}: {_reason(exc)}."
    if isinstance(exc, httpx.RemoteProtocolError):
        return f"Bad gateway: the upstream {upstream} broke the connection: {_reason(exc)}."
    return f"Bad gateway: the upstream {upstream} failed: {_reason(exc)}."


def _reason(exc: BaseException) -> str:
    seen: BaseException | None = exc
    while seen is not None:
        number = getattr(seen, "errno", None)
        if isinstance(number, int) and number in errno.errorcode:
            return str(getattr(seen, "strerror", None) or errno.errorcode[number]).lower()
        seen = seen.__cause__ or seen.__context__
    text = str(exc).strip()
    return text[:200] if text else type(exc).__name__


class ProxyApp:
    def __init__(self, upstream: str, observer: Observer, report: DriftReport, timeout: float) -> None:
        self.upstream = upstream.rstrip("/")
        self.observer = observer
        self.report = report
        self.timeout = timeout
        self.secrets = Secrets()
        self._timeouts = httpx.Timeout(timeout, connect=min(timeout, 10.0)).as_dict()
        self._transports: list[httpx.AsyncHTTPTransport] = []

    def transport(self, scope: Scope) -> httpx.AsyncHTTPTransport:
        """The upstream connections for a client connection.

        httpx's transport, not its client: a client would add headers of its own (User-Agent, Accept, ...), keep
        cookies and could follow redirects, none of which a proxy may do. Client connections are spread over a
        few transports (by the client's address): one connection pool for all of them costs more per request
        the more requests are in flight.
        """
        if not self._transports:
            limits = httpx.Limits(max_connections=32, max_keepalive_connections=16)
            tls = httpx.create_ssl_context()  # one, not one per transport: loading the CA bundle takes ~100 ms
            self._transports = [httpx.AsyncHTTPTransport(verify=tls, limits=limits) for _ in range(_SHARDS)]
        return self._transports[hash(tuple(scope.get("client") or ())) % _SHARDS]

    async def aclose(self) -> None:
        for transport in self._transports:
            await transport.aclose()
        self._transports = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    self.observer.start()
                    self.transport({})  # built before the first request, not during it
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await self.observer.aclose()
                    await self.aclose()
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        path: str = scope["path"]
        if path == DRIFT_PATH and scope["method"] in ("GET", "HEAD"):
            await self._drift(scope, send)
        elif path == UI_PREFIX or path.startswith(UI_PREFIX + "/"):
            await self._ui(path, send)
        else:
            await self._forward(scope, receive, send)

    # -- forwarding ----------------------------------------------------------------------------------------------

    async def _forward(self, scope: Scope, receive: Receive, send: Send) -> None:
        method: str = scope["method"]
        raw_path = (scope.get("raw_path") or scope["path"].encode()).decode("latin-1")
        query = scope["query_string"].decode("latin-1")
        url = self.upstream + raw_path + (f"?{query}" if query else "")
        headers = [(n.decode("latin-1"), v.decode("latin-1")) for n, v in scope["headers"]]
        self.secrets.remember(headers)
        hop = _hop_by_hop(headers)
        sent = [(n, v) for n, v in headers if n.lower() not in hop and n.lower() != "host"]
        started, clock = datetime.now(UTC), time.monotonic()
        exchange = Exchange.start(method, scope["path"], query, headers, started, self.upstream)
        exchange.path, exchange.query = self.secrets.scrub(exchange.path), self.secrets.scrub(query)
        exchange.http_version = scope.get("http_version", "1.1")
        kept = bytearray()

        async def body() -> AsyncIterator[bytes]:
            while True:
                message = await receive()
                if message["type"] != "http.request":
                    return
                chunk = message.get("body", b"")
                if len(kept) <= KEPT_BODY_BYTES:
                    kept.extend(chunk[: KEPT_BODY_BYTES + 1 - len(kept)])
                if chunk:
                    yield chunk
                if not message.get("more_body"):
                    return

        has_body = any(n.lower() in ("content-length", "transfer-encoding") for n, _ in headers)
        request = httpx.Request(
            method, url, headers=sent, content=body() if has_body else None, extensions={"timeout": self._timeouts}
        )
        try:
            response = await self.transport(scope).handle_async_request(request)
        except httpx.HTTPError as exc:
            exchange.error = bad_gateway(exc, self.upstream, self.timeout)
            payload = orjson.dumps({"detail": exchange.error})
            await _answer(send, 502, payload, "application/json")
            self._finish(exchange, kept, clock)
            self.observer.put(exchange)
            return
        exchange.status = response.status_code
        exchange.http_version = response.http_version.removeprefix("HTTP/")
        answer_headers = [(n.decode("latin-1"), v.decode("latin-1")) for n, v in response.headers.raw]
        answer_hop = _hop_by_hop(answer_headers)
        passed = [(n, v) for n, v in answer_headers if n.lower() not in answer_hop]
        exchange.response_headers = redact_headers(passed)
        received = bytearray()
        try:
            await send(
                {
                    "type": "http.response.start",
                    "status": response.status_code,
                    "headers": [(n.encode("latin-1"), v.encode("latin-1")) for n, v in passed],
                }
            )
            # Each chunk goes on as it comes; with a Content-Length, the chunk that completes it ends the answer
            # (one write fewer per answer than an empty closing one).
            length = response.headers.get("content-length")
            remaining = int(length) if length and length.isdigit() and method != "HEAD" else None
            ended = False
            async for chunk in response.aiter_raw():
                if len(received) <= KEPT_BODY_BYTES:
                    received.extend(chunk[: KEPT_BODY_BYTES + 1 - len(received)])
                if remaining is not None:
                    remaining -= len(chunk)
                ended = remaining is not None and remaining <= 0
                await send({"type": "http.response.body", "body": chunk, "more_body": not ended})
            if not ended:
                await send({"type": "http.response.body", "body": b"", "more_body": False})
        except httpx.HTTPError as exc:
            exchange.error = bad_gateway(exc, self.upstream, self.timeout)
            exchange.status = None
            raise
        finally:
            await response.aclose()
            exchange.response_body = self.secrets.scrub_bytes(bytes(received[:KEPT_BODY_BYTES]))
            exchange.response_complete = len(received) <= KEPT_BODY_BYTES
            self._finish(exchange, kept, clock)
            self.observer.put(exchange)

    def _finish(self, exchange: Exchange, kept: bytearray, clock: float) -> None:
        exchange.request_body = self.secrets.scrub_bytes(bytes(kept[:KEPT_BODY_BYTES]))
        exchange.request_complete = len(kept) <= KEPT_BODY_BYTES
        exchange.duration = time.monotonic() - clock

    # -- the proxy's own answers ---------------------------------------------------------------------------------

    async def _drift(self, scope: Scope, send: Send) -> None:
        await self.observer.drain()
        if b"format=markdown" in scope["query_string"]:
            body, media = self.report.markdown().encode(), "text/markdown; charset=utf-8"
        else:
            body, media = orjson.dumps(self.report.as_json()), "application/json"
        await _answer(send, 200, b"" if scope["method"] == "HEAD" else body, media, length=len(body))

    async def _ui(self, path: str, send: Send) -> None:
        if path == UI_PREFIX:
            await _answer(send, 301, b"", None, extra=[(b"location", (UI_PREFIX + "/").encode())])
            return
        name = path.removeprefix(UI_PREFIX + "/") or "index.html"
        file = UI / name
        if "/" in name or name.startswith(".") or not file.is_file():
            await _answer(send, 404, b'{"detail":"Not found."}', "application/json")
            return
        media = mimetypes.guess_type(name)[0] or "application/octet-stream"
        await _answer(send, 200, file.read_bytes(), media)


def _hop_by_hop(headers: list[tuple[str, str]]) -> set[str]:
    named = {t.strip().lower() for n, v in headers if n.lower() == "connection" for t in v.split(",")}
    return set(HOP_BY_HOP) | named


async def _answer(
    send: Send,
    status: int,
    body: bytes,
    media: str | None,
    *,
    length: int | None = None,
    extra: list[tuple[bytes, bytes]] | None = None,
) -> None:
    headers = [(b"content-length", str(len(body) if length is None else length).encode())]
    if media:
        headers.append((b"content-type", media.encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers + (extra or [])})
    await send({"type": "http.response.body", "body": body})
