"""`mockvps proxy`: build the proxy, serve it with uvicorn, and when it stops, write the report a last time.

The exit status is 0, or 1 with `--fail-on-drift` when any departure of severity `error` was seen (either
side), so that a CI job running its tests through the proxy fails on drift.
"""

from __future__ import annotations

import logging
import signal
import socket
import sys
from dataclasses import dataclass
from pathlib import Path

from mockvps import __version__
from mockvps.proxy.forwarding import DRIFT_PATH, ProxyApp
from mockvps.proxy.har import DEFAULT_MAX_BYTES, HarRecorder
from mockvps.proxy.observer import Observer
from mockvps.proxy.report import DriftReport
from mockvps.proxy.session import Session
from mockvps.proxy.validation import Contract

__all__ = ["DEFAULT_TIMEOUT", "DEFAULT_TRANSITION_TIMEOUT", "ProxyOptions", "build", "run_proxy"]

DEFAULT_TIMEOUT = 60.0
DEFAULT_TRANSITION_TIMEOUT = 600.0


@dataclass(frozen=True)
class ProxyOptions:
    upstream: str
    host: str = "127.0.0.1"
    port: int = 8080
    report: Path | None = None
    record: Path | None = None
    record_max_bytes: int = DEFAULT_MAX_BYTES
    document: Path | None = None
    fail_on_drift: bool = False
    timeout: float = DEFAULT_TIMEOUT
    transition_timeout: float = DEFAULT_TRANSITION_TIMEOUT
    log_level: str = "warning"


def build(options: ProxyOptions) -> tuple[ProxyApp, Observer, DriftReport]:
    """The proxy app, its checks (not started) and its report."""
    import json

    from mockvps.conformance.document import LOCATIONS, load_document

    if options.document is not None:
        document = json.loads(options.document.read_text(encoding="utf-8"))
        where = str(options.document)
    else:
        document = load_document()
        where = next((str(p) for p in LOCATIONS if p.exists()), "openapi/openapi.json")
    report = DriftReport(upstream=options.upstream, document=where)
    recorder = HarRecorder(options.record, __version__, options.record_max_bytes) if options.record else None
    observer = Observer(Contract(document), Session(options.transition_timeout), report, options.report, recorder)
    return ProxyApp(options.upstream, observer, report, options.timeout), observer, report


def run_proxy(options: ProxyOptions) -> int:
    import uvicorn

    app, observer, report = build(options)
    from mockvps.shared.sockets import listening_socket

    try:
        sock, base = listening_socket(options.host, options.port)
    except OSError as exc:
        print(f"mockvps proxy: cannot listen on {options.host}:{options.port}: {exc.strerror}", file=sys.stderr)
        return 2

    class Server(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets)
            print(f"mockvps proxy listening on {base} -> {options.upstream}", flush=True)
            print(f"  API:    {base}/api/v1/   (VPS_API_URL)", flush=True)
            print(
                f"  drift:  {base}{DRIFT_PATH}" + (f"   report: {options.report}/drift.md" if options.report else ""),
                flush=True,
            )
            if options.record:
                print(f"  record: {options.record}", flush=True)

    def finished(signum: int, frame: object) -> None:
        raise SystemExit(0)

    # httpx logs each request's URL at INFO, query string included: never shown.
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)
    signal.signal(signal.SIGTERM, finished)
    signal.signal(signal.SIGINT, finished)
    # No access log: a query string may carry what a token should never be written next to.
    config = uvicorn.Config(
        app,
        log_level=options.log_level,
        access_log=False,
        server_header=False,
        date_header=False,
        timeout_graceful_shutdown=2,
    )
    try:
        Server(config).run(sockets=[sock])
    except SystemExit:
        pass
    finally:
        observer.stop()
    print(report.closing_line(), flush=True)
    if options.report:
        print(f"  report: {options.report / 'drift.md'}", flush=True)
    return 1 if options.fail_on_drift and report.errors() else 0
