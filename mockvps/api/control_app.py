"""The control API and the documentation pages, as a FastAPI app behind the public API.

Built on first use (`app.MockApp.control`): FastAPI takes longer to import than the rest of the mock takes to
start, and a client of the public API never needs it.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import Response

from mockvps import errors
from mockvps.api import control
from mockvps.api.errors import field_errors, render
from mockvps.api.openapi import contract_document
from mockvps.api.responses import JSONResponse
from mockvps.api.wire import BodyInvalid, HttpError

__all__ = ["build_control_app"]

log = logging.getLogger("mockvps")

# FastAPI's OpenTelemetry instrumentation asks its providers on every request; a mock has no use for it.
_NO_TELEMETRY: dict[str, Any] = (
    {"telemetry": {"tracing": False, "metrics": False, "logs": False, "operation_spans": False}}
    if "telemetry" in inspect.signature(FastAPI).parameters
    else {}
)


def build_control_app(state: Any) -> FastAPI:
    app = FastAPI(title="mockvps", redirect_slashes=False, **_NO_TELEMETRY)
    app.state = state  # the mock's own state object: the control routes read it as request.app.state
    app.include_router(control.health_router)
    app.include_router(control.router)
    for kind in (errors.MockVPSError, BodyInvalid, HttpError):
        app.add_exception_handler(kind, _on_error)
    app.add_exception_handler(RequestValidationError, _on_request_invalid)
    app.add_exception_handler(HTTPException, _on_http_exception)
    app.add_exception_handler(Exception, _on_unexpected)
    document: dict[str, Any] | None = None

    def openapi() -> dict[str, Any]:
        nonlocal document
        if document is None:
            document = contract_document()
        return document

    app.openapi = openapi  # type: ignore[method-assign]
    return app


def _error_response(exc: Exception) -> Response:
    status, payload, headers = render(exc)
    if payload is None:
        return Response(status_code=status, headers=headers)
    return JSONResponse(payload, status_code=status, headers=headers)


async def _on_error(request: Request, exc: Exception) -> Response:
    return _error_response(exc)


async def _on_request_invalid(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    problems: Sequence[Mapping[str, Any]] = exc.errors()
    if any(p.get("loc", ("",))[0] == "path" for p in problems):
        return _error_response(errors.NotFound())
    return JSONResponse(field_errors(problems), status_code=400)


async def _on_http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        return _error_response(errors.NotFound())
    if exc.status_code == 405:
        return JSONResponse({"detail": f'Method "{request.method}" not allowed.'}, status_code=405, headers=exc.headers)
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)


async def _on_unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    return JSONResponse({"detail": "Internal server error."}, status_code=500)
