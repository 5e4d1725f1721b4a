"""`create_app`: everything a mock needs is built here, nothing at import time."""

from __future__ import annotations

import logging
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from mockvps.api.faults import FaultSet, QuietDrops
from mockvps.api.journal import Journal
from mockvps.api.public import PUBLIC_PREFIX, PublicAPI
from mockvps.backend import Backend
from mockvps.clock import Clock, SystemClock
from mockvps.settings import Settings

if TYPE_CHECKING:
    from fastapi import FastAPI
    from starlette.types import Receive, Scope, Send

__all__ = ["MockApp", "create_app"]


class MockApp:
    """The mock as one ASGI app: the public API in front, the control API and documentation behind it.

    `state` holds everything: settings, backend, journal, fault rules. The control API is a FastAPI app built
    on its first request, so that start-up does not wait for FastAPI to import.
    """

    def __init__(self, settings: Settings, clock: Clock, backend: Backend | None) -> None:
        self.state = SimpleNamespace()
        self.state.settings = settings
        self.state.initial_backend = lambda: settings.backend(clock)
        self.state.store = None
        if settings.data_dir is not None and backend is None:
            backend = self._open_store(settings, clock)
        self.state.backend = backend or self.state.initial_backend()
        self.state.journal = Journal(settings.journal_size)
        self.state.faults = FaultSet()
        self.public = PublicAPI(self.state)
        self._max_header_size = settings.max_header_size
        self._control: FastAPI | None = None

    def _open_store(self, settings: Settings, clock: Clock) -> Backend:
        """The stored state, or (first start) the configured one, stored at once."""
        from mockvps.snapshot import restore_state
        from mockvps.store import Store

        assert settings.data_dir is not None
        store = self.state.store = Store(settings.data_dir)
        snapshot = store.load()
        if snapshot is None:
            backend = settings.backend(clock)
            store.save_all(backend)
            return backend
        return restore_state(snapshot, settings.load_catalog(), clock, settings.delays(), settings.limits())

    @property
    def control(self) -> FastAPI:
        if self._control is None:
            from mockvps.api.control_app import build_control_app

            self._control = build_control_app(self.state)
        return self._control

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and sum(len(n) + len(v) for n, v in scope["headers"]) > self._max_header_size:
            await _too_large_headers(send, self._max_header_size)
        elif scope["type"] == "http" and scope["path"].startswith(PUBLIC_PREFIX):
            await self.public(scope, receive, send)
        elif scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        elif self.state.store is not None and scope["type"] == "http" and scope["method"] not in ("GET", "HEAD"):
            await self.control(scope, receive, self._storing(send))
        else:
            await self.control(scope, receive, send)

    def _storing(self, send: Send) -> Send:
        """A control call's change is on disk before its answer starts."""

        async def stored(message: Any) -> None:
            if message["type"] == "http.response.start" and message["status"] < 400:
                self.state.store.save_all(self.state.backend)
            await send(message)

        return stored


async def _too_large_headers(send: Send, limit: int) -> None:
    body = b'{"detail":"Request headers are larger than %d bytes."}' % limit
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 431, "headers": headers})
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
