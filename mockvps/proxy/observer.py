"""The checks, off the request path: a thread takes each finished exchange in the order they finished.

Forwarding hands an exchange over once its answer has gone to the client, so validation never delays an
answer; only a full queue (`QUEUE_SIZE` exchanges waiting) makes forwarding wait, so that no exchange goes
unchecked. The thread validates the request and the answer (`validation.Contract`), runs the session checks
(`session.Session`), counts the departures (`report.DriftReport`), records the exchange (`har.HarRecorder`), and
writes the report and the recording at most once a second while anything changed, and once more when it stops.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from pathlib import Path

import orjson

from mockvps.proxy.exchange import Exchange
from mockvps.proxy.har import HarRecorder
from mockvps.proxy.report import DriftReport
from mockvps.proxy.session import Session
from mockvps.proxy.validation import Contract

__all__ = ["CHECKED_PREFIX", "QUEUE_SIZE", "Observer"]

log = logging.getLogger("mockvps.proxy")

QUEUE_SIZE = 1000
CHECKED_PREFIX = "/api/"
"""Requests under this prefix are the API's, checked against the document; the rest is only forwarded."""
CONTROL_PREFIX = "/_mockvps/"
_WRITE_EVERY = 1.0


class Observer:
    def __init__(self, contract: Contract, session: Session, report: DriftReport, report_dir: Path | None,
                 recorder: HarRecorder | None) -> None:  # fmt: skip
        self.contract = contract
        self.session = session
        self.report = report
        self.report_dir = report_dir
        self.recorder = recorder
        self.queue: queue.Queue[Exchange | None] = queue.Queue(maxsize=QUEUE_SIZE)
        self._dirty = True
        self._written = 0.0
        self._thread = threading.Thread(target=self._run, name="mockvps-proxy-checks", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def put(self, exchange: Exchange) -> bool:
        """Hand an exchange over; False when the queue is full (the caller waits and tries again)."""
        try:
            self.queue.put_nowait(exchange)
        except queue.Full:
            return False
        return True

    def drain(self) -> None:
        """Wait until every exchange handed over so far is checked (for a reader of the live report)."""
        self.queue.join()

    def stop(self) -> None:
        """Check what is left, write the report and the recording a last time, and end the thread."""
        if self._thread.is_alive():
            self.queue.put(None)
            self._thread.join()
        self._write(force=True)

    def _run(self) -> None:
        while True:
            try:
                exchange = self.queue.get(timeout=_WRITE_EVERY)
            except queue.Empty:
                self._write()
                continue
            try:
                if exchange is None:
                    return
                self.check(exchange)
            except Exception:  # a bug in the checks must not stop the proxy from forwarding
                log.exception(
                    "checking %s %s failed", exchange.method if exchange else "", exchange.path if exchange else ""
                )
            finally:
                self.queue.task_done()
            if time.monotonic() - self._written >= _WRITE_EVERY:
                self._write()

    def check(self, exchange: Exchange) -> None:
        """All checks of one exchange, in this thread (or in a test, directly)."""
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
        except OSError as exc:
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
