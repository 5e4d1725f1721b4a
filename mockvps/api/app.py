"""`create_app`: everything a mock needs is built here, nothing at import time."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI

from mockvps.api import control
from mockvps.api.errors import install_error_handlers
from mockvps.api.faults import FaultSet, QuietDrops
from mockvps.api.journal import Journal
from mockvps.api.openapi import contract_document
from mockvps.api.public import Frontdoor
from mockvps.backend import Backend
from mockvps.clock import Clock, SystemClock
from mockvps.settings import Settings

__all__ = ["create_app"]


def create_app(
    settings: Settings | None = None, *, clock: Clock | None = None, backend: Backend | None = None
) -> FastAPI:
    """A mock of the Servers API with its own state.

    `backend` replaces the state built from `settings` (the catalog, accounts and delays); `clock` is the
    source of time for that state (the system clock unless given).
    """
    settings = settings or Settings()
    base = clock or SystemClock()
    app = FastAPI(title="mockvps", redirect_slashes=False)
    app.state.settings = settings
    app.state.initial_backend = lambda: settings.backend(base)
    app.state.backend = backend or app.state.initial_backend()
    app.state.journal = Journal(settings.journal_size)
    app.state.faults = FaultSet()
    app.include_router(control.health_router)
    app.include_router(control.router)
    app.add_middleware(Frontdoor, state=app.state)  # the public API, ahead of FastAPI's routing
    _quiet_drops()
    install_error_handlers(app)

    document: dict[str, Any] | None = None

    def openapi() -> dict[str, Any]:
        nonlocal document
        if document is None:
            document = contract_document()
        return document

    app.openapi = openapi  # type: ignore[method-assign]
    return app


def _quiet_drops() -> None:
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, QuietDrops) for f in logger.filters):
        logger.addFilter(QuietDrops())
