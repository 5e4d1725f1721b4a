"""Upstreams for the proxy's tests: the real mock, and variants that drift from the documentation on purpose.

Each drift is an ASGI app factory (no arguments) wrapping a fresh mock, served by uvicorn from a thread on a
free loopback port (`Upstream`); `Proxy` runs a real `mockvps proxy` process in front of one. Every drift says
in its docstring which departures it must be reported with (`EXPECTED`): errors of the right operation and
kind, and nothing else as an error.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, MutableMapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx

from mockvps import lifecycle
from mockvps.app import MockApp, create_app
from mockvps.backend import Account, Backend, Server
from mockvps.clock import SystemClock
from mockvps.lifecycle import Lifecycle, ServerStatus
from mockvps.settings import Settings
from mockvps.tokens import Token, TokenSpec

TOKEN = "proxy-test-token-8f2c41d9"
"""Distinctive, so a test can prove it is written nowhere."""
AUTH = {"Authorization": f"Bearer {TOKEN}"}
ORDER = {"name": "web-server-02", "plan_id": 1, "os_id": 5, "location": "us-west"}
SERVER_PATH = re.compile(r"^/api/v1/servers/(\d+)/$")

App = Any


def settings() -> Settings:
    return Settings(token=TOKEN, provisioning_delay=0.2, action_delay=0.1, balance=10**6)


def faithful() -> MockApp:
    """The mock itself: no service departure at all."""
    return create_app(settings())


Change = Callable[[str, str, str, int, bytes, str], tuple[int, bytes, str]]
"""(method, path, query, status, body, content type) -> (status, body, content type)."""


def _rewriting(change: Change, app: App | None = None) -> App:
    """The mock behind a middleware that may rewrite each answer."""
    inner = app or create_app(settings())

    async def rewritten(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await inner(scope, receive, send)
            return
        start: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def capture(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            else:
                chunks.append(message.get("body", b""))

        await inner(scope, receive, capture)
        headers = [(k, v) for k, v in start["headers"] if k.lower() not in (b"content-length", b"content-type")]
        media = next((v.decode() for k, v in start["headers"] if k.lower() == b"content-type"), "")
        status, body, media = change(scope["method"], scope["path"], scope["query_string"].decode(), start["status"],
                                     b"".join(chunks), media)  # fmt: skip
        if media:
            headers.append((b"content-type", media.encode()))
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return rewritten


def _servers(edit: Callable[[dict[str, Any]], None]) -> Change:
    """A change applied to every server an answer shows (list items, detail, create, action results)."""

    def change(method: str, path: str, query: str, status: int, body: bytes, media: str) -> tuple[int, bytes, str]:
        if status >= 300 or not body or "json" not in media:
            return status, body, media
        data = json.loads(body)
        if isinstance(data, dict) and "results" in data:
            for item in data["results"]:
                edit(item)
        elif isinstance(data, dict) and "server" in data:
            edit(data["server"])
        elif isinstance(data, dict) and "id" in data:
            edit(data)
        return status, json.dumps(data).encode(), media

    return change


def renamed_fields() -> App:
    """`ip_address` is called `ipv4`: missing-field wherever a server is shown (and extra-field warnings)."""

    def rename(server: dict[str, Any]) -> None:
        if "ip_address" in server:
            server["ipv4"] = server.pop("ip_address")

    return _rewriting(_servers(rename))


def string_ids() -> App:
    """Ids are strings ("12347"): wrong-type wherever a server is shown."""

    def stringify(server: dict[str, Any]) -> None:
        server["id"] = str(server["id"])

    return _rewriting(_servers(stringify))


def running_for_active() -> App:
    """The status `active` is called `running`: undocumented-value wherever a server is shown."""

    def rename(server: dict[str, Any]) -> None:
        if server.get("status") == "active":
            server["status"] = "running"

    return _rewriting(_servers(rename))


def paginated_lists() -> App:
    """The list is DRF's paginated one, one server a page: count-mismatch on listServers (extra fields warn)."""

    def paginate(method: str, path: str, query: str, status: int, body: bytes, media: str) -> tuple[int, bytes, str]:
        if method == "GET" and path == "/api/v1/servers/" and status == 200:
            data = json.loads(body)
            page = {"count": data["count"], "next": "http://upstream/api/v1/servers/?page=2" if data["count"] > 1
                    else None, "previous": None, "results": data["results"][:1]}  # fmt: skip
            return status, json.dumps(page).encode(), media
        return status, body, media

    return _rewriting(paginate)


def no_slash_redirect() -> App:
    """A path without its trailing slash is answered 404 instead of 301: missing-redirect."""

    def not_found(method: str, path: str, query: str, status: int, body: bytes, media: str) -> tuple[int, bytes, str]:
        if status == 301:
            return 404, b'{"detail":"Not found."}', "application/json"
        return status, body, media

    return _rewriting(not_found)


def html_errors() -> App:
    """Errors come as HTML pages (a framework's debug page): wrong-content-type on each operation that errs."""

    def html(method: str, path: str, query: str, status: int, body: bytes, media: str) -> tuple[int, bytes, str]:
        if status >= 400:
            page = f"<!doctype html><html><body><h1>{status}</h1><p>{body.decode()}</p></body></html>"
            return status, page.encode(), "text/html; charset=utf-8"
        return status, body, media

    return _rewriting(html)


class _Permissive(Backend):
    """Start is accepted from `active` and changes nothing (a 200 for an action the documentation refuses)."""

    def start_server(self, account: Account, server_id: int) -> Server:
        server = self.get_server(account, server_id)
        if server.status is ServerStatus.ACTIVE:
            return server
        return super().start_server(account, server_id)


def _with_backend(cls: type[Backend], rules: Lifecycle | None = None) -> App:
    given = settings()
    base = given.backend(SystemClock())
    backend = cls(base.catalog, base.clock, base.delays, accounts=given.account_specs(), lifecycle=rules)
    return create_app(given, backend=backend)


def accepted_refused_action() -> App:
    """Start of an active server answers 200: refused-action-accepted on startServer."""
    app = _with_backend(_Permissive)

    def starting(method: str, path: str, query: str, status: int, body: bytes, media: str) -> tuple[int, bytes, str]:
        if path.endswith("/start/") and status == 200:
            data = json.loads(body)
            data["server"]["status"] = "starting"
            return status, json.dumps(data).encode(), media
        return status, body, media

    return _rewriting(starting, app)


def stop_comes_back_active() -> App:
    """A stopping server comes back `active`, never `stopped`: transition-not-followed on stopServer."""
    back = {**lifecycle.SETTLES, ServerStatus.STOPPING: (ServerStatus.ACTIVE, lifecycle.DelayKind.ACTION)}
    return _with_backend(Backend, Lifecycle(settles=back))


def stop_never_stops() -> App:
    """A stopping server stays `stopping` for ever: transition-not-followed on stopServer once the proxy's
    transition timeout has passed."""
    stuck: dict[ServerStatus, tuple[ServerStatus, lifecycle.DelayKind]] = {
        k: v for k, v in lifecycle.SETTLES.items() if k is not ServerStatus.STOPPING
    }
    return _with_backend(Backend, Lifecycle(settles=stuck))


def permissions_not_enforced() -> App:
    """The token may only read servers (account/me says `servers:read`), yet a create is answered 201:
    permission-not-enforced on createServer."""

    class Lenient(Backend):
        def credentials(self, token: str) -> tuple[Account, Token] | None:
            found = super().credentials(token)
            return None if found is None else (found[0], replace(found[1], writes_servers=True))

    given = settings()
    base = given.backend(SystemClock())
    reader = replace(given.account_specs()[0], tokens=(TokenSpec(TOKEN, "Monitoring", ("servers:read",)),))
    return create_app(given, backend=Lenient(base.catalog, base.clock, base.delays, accounts=[reader]))


_DRIFTS = (renamed_fields, string_ids, running_for_active, paginated_lists, no_slash_redirect, html_errors,
           accepted_refused_action, stop_comes_back_active, stop_never_stops, permissions_not_enforced)  # fmt: skip
DRIFTS: dict[str, Callable[[], App]] = {f.__name__: f for f in _DRIFTS}


def free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


class Upstream:
    """An ASGI app served by uvicorn from a thread on a free loopback port."""

    def __init__(self, app: App) -> None:
        import uvicorn

        self.sock = free_socket()
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            assert self.thread.is_alive() and time.monotonic() < deadline, "the upstream did not start"
            time.sleep(0.005)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=5)
        self.sock.close()


class Proxy:
    """`mockvps proxy` in a child process; its output goes to a file, so a chatty process never blocks."""

    def __init__(self, upstream: str, *args: str) -> None:
        self.log = tempfile.NamedTemporaryFile(mode="w+", suffix=".log", delete=False)  # noqa: SIM115
        self.process = subprocess.Popen(
            [sys.executable, "-m", "mockvps", "proxy", "--upstream", upstream, "--port", "0", *args],
            stdout=self.log, stderr=subprocess.STDOUT, text=True, env={**os.environ},
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and "  drift:" not in self.output() and self.process.poll() is None:
            time.sleep(0.02)
        match = re.search(r"listening on (http://\S+)", self.output())
        assert match, self.output()
        self.url = match.group(1)
        self.returncode: int | None = None

    def output(self) -> str:
        return Path(self.log.name).read_text()

    def client(self, **kwargs: Any) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30, **kwargs)

    def drift(self) -> dict[str, Any]:
        answer: dict[str, Any] = httpx.get(self.url + "/_mockvps/drift", timeout=30).json()
        return answer

    def stop(self) -> int:
        if self.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.returncode = self.process.wait(timeout=20)
            finally:
                self.log.close()
        return self.returncode


def errors(drift: dict[str, Any], side: str | None = None) -> set[tuple[str, str, str]]:
    """(side, operation, kind) of every departure of severity error."""
    return {(d["side"], d["operation"], d["kind"]) for d in drift["departures"]
            if d["severity"] == "error" and (side is None or d["side"] == side)}  # fmt: skip


def warnings(drift: dict[str, Any]) -> set[tuple[str, str, str]]:
    return {(d["side"], d["operation"], d["kind"]) for d in drift["departures"] if d["severity"] == "warning"}
