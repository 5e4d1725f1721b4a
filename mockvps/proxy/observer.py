"""The checks, off the request path: each finished exchange is checked after its answer has gone out, in order.

Forwarding hands an exchange over once the client has the whole answer; a task on the same event loop takes
them in the order they finished, so validation never delays an answer it belongs to. It validates the request
and the answer (`validation.Contract`), runs the session checks (`session.Session`), counts the departures
(`report.DriftReport`) and records the exchange (`har.HarRecorder`). A verdict of openapi-core takes a few
milliseconds, a remembered one some microseconds (identical exchanges, such as a client's polling, share
one), so checking stays on the event loop: a thread of its own would contend for the interpreter with the
forwarding on every exchange. The report and the recording are written from a thread, at most once a second
while anything changed, and once more when the proxy stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from pathlib import Path

import orjson

from mockvps.proxy.exchange import Exchange
from mockvps.proxy.har import HarRecorder
from mockvps.proxy.report import DriftReport
from mockvps.proxy.session import Session
from mockvps.proxy.validation import Contract

__all__ = ["CHECKED_PREFIX", "CONTROL_PREFIX", "Observer"]

log = logging.getLogger("mockvps.proxy")

CHECKED_PREFIX = "/api/"
"""Requests under this prefix are the API's, checked against the document; the rest is only forwarded."""
CONTROL_PREFIX = "/_mockvps/"
_WRITE_EVERY = 1.0
_BATCH = 32
"""Exchanges checked before the loop gets a turn for forwarding."""


class Observer:
    def __init__(
        self,
        contract: Contract,
        session: Session,
        report: DriftReport,
        report_dir: Path | None,
        recorder: HarRecorder | None,
    ) -> None:
        self.contract = contract
        self.session = session
        self.report = report
        self.report_dir = report_dir
        self.recorder = recorder
        self.pending: deque[Exchange] = deque()
        self._dirty = True
        self._written = 0.0
        self._wake: asyncio.Event | None = None
        self._idle: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start checking on the running event loop (the proxy's lifespan start-up)."""
        self._wake, self._idle = asyncio.Event(), asyncio.Event()
        self._idle.set()
        self._task = asyncio.get_running_loop().create_task(self._run(), name="mockvps-proxy-checks")

    def put(self, exchange: Exchange) -> None:
        """Hand a finished exchange over."""
        self.pending.append(exchange)
        if self._wake is not None and self._idle is not None:
            self._idle.clear()
            self._wake.set()

    async def drain(self) -> None:
        """Wait until every exchange handed over so far is checked (for a reader of the live report)."""
        if self._idle is not None and self._task is not None and not self._task.done():
            await self._idle.wait()
        else:
            self._check_pending()

    async def aclose(self) -> None:
        """Stop the task (the proxy's lifespan shutdown); `stop` does the rest."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def stop(self) -> None:
        """Check what is left and write the report and the recording a last time."""
        self._check_pending()
        self._write(force=True)

    async def _run(self) -> None:
        assert self._wake is not None and self._idle is not None
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=_WRITE_EVERY)
            self._wake.clear()
            while self.pending:
                for _ in range(min(_BATCH, len(self.pending))):
                    self._check_one(self.pending.popleft())
                await asyncio.sleep(0)
            self._idle.set()
            if self._dirty and time.monotonic() - self._written >= _WRITE_EVERY:
                self._dirty = False
                self._written = time.monotonic()
                await asyncio.to_thread(self._write, True)

    def _check_pending(self) -> None:
        while self.pending:
            self._check_one(self.pending.popleft())

    def _check_one(self, exchange: Exchange) -> None:
        try:
            self.check(exchange)
        except Exception:  # a bug in the checks must not stop the proxy from forwarding
            log.exception("mockvps proxy: checking %s %s failed", exchange.method, exchange.path)

    def check(self, exchange: Exchange) -> None:
        """All checks of one exchange."""
        if self.recorder is not None:
            self.recorder.add(exchange)
        self._dirty = True
        if exchange.path.startswith(CONTROL_PREFIX):
            if exchange.method not in ("GET", "HEAD") and exchange.status is not None and exchange.status < 300:
                self.session.forget()  # a mock's state changed behind the API's back
            self.report.add([], checked=False)
            return
        if not exchange.path.startswith(CHECKED_PREFIX):
            self.report.add([], checked=False)
            return
        route = self.contract.route(exchange.method, exchange.path)
        departures = self.contract.request_departures(exchange, route)
        departures += self.contract.response_departures(exchange, route)
        departures += self.session.observe(exchange, route, _json(exchange))
        self.report.add(departures, checked=True)

    def _write(self, force: bool = False) -> None:
        if not (self._dirty or force):
            return
        self._dirty = False
        self._written = time.monotonic()
        try:
            if self.report_dir is not None:
                self.report.write(self.report_dir)
            if self.recorder is not None:
                self.recorder.write()
        except Exception as exc:  # a full disk, or a bug: the proxy goes on forwarding and checking
            log.error("mockvps proxy: cannot write the report or the recording: %s", exc)


def _json(exchange: Exchange) -> object:
    if exchange.status is None or not exchange.response_complete or not exchange.response_body:
        return None
    if "json" not in (exchange.response_header("content-type") or ""):
        return None
    try:
        return orjson.loads(exchange.response_body)
    except orjson.JSONDecodeError:
        return None
