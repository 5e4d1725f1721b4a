"""`create_app`: everything a mock needs is built here, nothing at import time."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import orjson

from mockvps.backend import Backend
from mockvps.clock import Clock, SystemClock
from mockvps.errors import ConfigurationError, StoreFailed
from mockvps.persistence.commits import GroupCommit
from mockvps.persistence.store import Store
from mockvps.public.dispatch import PUBLIC_PREFIX, PublicAPI
from mockvps.settings import Settings
from mockvps.shared.access import HostRule, host_name
from mockvps.shared.faults import QuietDrops
from mockvps.shared.state import MockState

if TYPE_CHECKING:
    from collections.abc import Callable

    from fastapi import FastAPI
    from starlette.types import Message, Receive, Scope, Send

__all__ = ["MockApp", "create_app"]


class MockApp:
    """The mock as one ASGI app: the public API in front, the control API and documentation behind it.

    `state` holds everything: settings, backend, store, journal, fault rules. The control API is a FastAPI app
    built on its first request, so that start-up does not wait for FastAPI to import. Every request must first
    name a Host the mock answers (`shared.access`), then fit the header limit.
    """

    def __init__(self, settings: Settings, clock: Clock, backend: Backend | None) -> None:
        store = None
        if settings.data_dir is not None and backend is None:
            store = Store(settings.data_dir, start_over=settings.data_dir_start_over)
            try:
                backend = self._stored(store, settings, clock)
            except BaseException:
                store.close()
                raise
        if backend is None:
            backend = settings.backend(clock)
        self.state = MockState(settings, backend, fresh_backend=lambda: settings.backend(clock), store=store)
        self.public = PublicAPI(self.state)
        self._max_header_size = settings.max_header_size
        self.hosts = HostRule(settings.host, settings.allowed_hosts)
        self._control: FastAPI | None = None
        self.after_control_built: Callable[[], None] | None = None
        """Called once the control API is built (`mockvps serve` leaves it to reference counting: `cli`)."""

    @staticmethod
    def _stored(store: Store, settings: Settings, clock: Clock) -> Backend:
        """The stored state, or (first start) the configured one, stored at once."""
        from mockvps.persistence.snapshot import restore_state

        snapshot = store.load()
        if snapshot is None:
            backend = settings.backend(clock)
            store.replace_all(backend)
            store.commits.write_now()
            return backend
        try:
            return restore_state(snapshot, settings.load_catalog(), clock, settings.delays(), settings.limits())
        except ConfigurationError as exc:
            raise store.refuse(exc.detail) from None

    @property
    def control(self) -> FastAPI:
        if self._control is None:
            from mockvps.control.app import build_control_app

            self._control = build_control_app(self.state)
            if self.after_control_built is not None:
                self.after_control_built()
        return self._control

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not self._host_allowed(scope["headers"]):
            await _refuse_host(send, scope["headers"])
        elif scope["type"] == "http" and sum(len(n) + len(v) for n, v in scope["headers"]) > self._max_header_size:
            await _too_large_headers(send, self._max_header_size)
        elif scope["type"] == "http" and scope["path"].startswith(PUBLIC_PREFIX):
            await self.public(scope, receive, send)
        elif scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    self.close()
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        elif self.state.store is not None:  # the public API waits for the disk itself (its journal shows the answer)
            await self.control(scope, receive, _after_sync(send, self.state.store.commits))
        else:
            await self.control(scope, receive, send)

    def _host_allowed(self, headers: list[tuple[bytes, bytes]]) -> bool:
        if self.hosts.any:
            return True
        host = _host_header(headers)
        return host is None or self.hosts.allows_header(host)

    def close(self) -> None:
        """Close the store, if any (its WAL is checkpointed into the database file)."""
        if self.state.store is not None:
            self.state.store.close()


def _after_sync(send: Send, commits: GroupCommit[Any]) -> Send:
    """`send`, holding an answer until every change made so far is on disk (the store's group commit): no
    answer acknowledges, or shows, a change that a crash could still take back."""
    refused = False

    async def held(message: Message) -> None:
        nonlocal refused
        if message["type"] == "http.response.start" and commits.pending:
            try:
                await commits.settled()
            except StoreFailed as exc:
                refused = True
                await _answer(send, 503, orjson.dumps({"detail": exc.detail}))
        if not refused:
            await send(message)

    return held


def _host_header(headers: list[tuple[bytes, bytes]]) -> bytes | None:
    for name, value in headers:
        if name == b"host":
            return value
    return None


async def _refuse_host(send: Send, headers: list[tuple[bytes, bytes]]) -> None:
    name = host_name((_host_header(headers) or b"").decode("latin-1"))
    detail = f'Host "{name[:200]}" is not allowed: add it with --allowed-host (MOCKVPS_ALLOWED_HOSTS).'
    await _answer(send, 400, orjson.dumps({"detail": detail}))


async def _too_large_headers(send: Send, limit: int) -> None:
    await _answer(send, 431, b'{"detail":"Request headers are larger than %d bytes."}' % limit)


async def _answer(send: Send, status: int, body: bytes) -> None:
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"x-content-type-options", b"nosniff"),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def create_app(
    settings: Settings | None = None, *, clock: Clock | None = None, backend: Backend | None = None
) -> MockApp:
    """A mock of the Servers API with its own state.

    `backend` replaces the state built from `settings` (the catalog, accounts and delays); `clock` is the
    source of time for that state (the system clock unless given).
    """
    _quiet_drops()
    return MockApp(settings or Settings(), clock or SystemClock(), backend)


def _quiet_drops() -> None:
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, QuietDrops) for f in logger.filters):
        logger.addFilter(QuietDrops())
