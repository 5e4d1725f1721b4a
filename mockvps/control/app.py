"""The control API, the dashboard and the documentation pages, as a FastAPI app behind the public API.

Built on first use (`app.MockApp.control`): FastAPI takes longer to import than the rest of the mock takes to
start, and a client of the public API never needs it.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import inspect
import logging
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from starlette.exceptions import HTTPException
from starlette.responses import HTMLResponse, Response
from starlette.staticfiles import StaticFiles

from mockvps import errors
from mockvps.control import routes
from mockvps.control.document import control_document
from mockvps.control.middleware import HeadAsGet, SecurityHeaders, WriteGuard, content_security_policy
from mockvps.control.responses import JSONResponse
from mockvps.public.document import contract_document
from mockvps.shared.access import HostRule
from mockvps.shared.http_errors import field_errors, render
from mockvps.shared.requests import BodyInvalid, HttpError
from mockvps.shared.state import MockState

__all__ = ["build_control_app"]

log = logging.getLogger("mockvps")

# FastAPI's OpenTelemetry instrumentation asks its providers on every request; a mock has no use for it.
_NO_TELEMETRY: dict[str, Any] = (
    {"telemetry": {"tracing": False, "metrics": False, "logs": False, "operation_spans": False}}
    if "telemetry" in inspect.signature(FastAPI).parameters
    else {}
)


UI = Path(__file__).resolve().parents[1] / "ui"
ASSETS = "/_mockvps/assets"


def _assets_directory() -> Path:
    """Swagger UI and ReDoc as the fastapi-offline package ships them: the pages work with no network."""
    import fastapi_offline

    return Path(fastapi_offline.__file__).resolve().parent / "static"


def build_control_app(state: MockState) -> FastAPI:
    app = FastAPI(
        title="mockvps", redirect_slashes=False, docs_url=None, redoc_url=None, openapi_url=None, **_NO_TELEMETRY
    )
    app.state.mock = state  # the routes' dependencies read it (`deps.mock_state`)
    app.include_router(routes.health_router)
    app.include_router(routes.router)
    app.mount(ASSETS, StaticFiles(directory=_assets_directory()), name="assets")
    app.mount("/_mockvps/ui", StaticFiles(directory=UI, html=True), name="ui")
    _documentation_pages(app)
    for kind in (errors.MockVPSError, BodyInvalid, HttpError):
        app.add_exception_handler(kind, _on_error)
    app.add_exception_handler(RequestValidationError, _on_request_invalid)
    app.add_exception_handler(HTTPException, _on_http_exception)
    app.add_exception_handler(Exception, _on_unexpected)
    app.add_middleware(WriteGuard, hosts=HostRule(state.settings.host, state.settings.allowed_hosts))  # runs last
    app.add_middleware(HeadAsGet)
    app.add_middleware(SecurityHeaders)
    return app


@functools.cache
def _documents() -> tuple[dict[str, Any], dict[str, Any]]:
    """The contract document and the control document, built once (FastAPI is slow to describe routes)."""
    return contract_document(), control_document()


def _origin(request: Request) -> str:
    """The mock's own origin, as the client reached it (its Host has passed the Host check)."""
    return f"{request.url.scheme}://{request.headers.get('host') or request.url.netloc}"


LIVE = {"url": "https://admin.vps.org", "description": "The live service: requests cost money."}


def _documentation_pages(app: FastAPI) -> None:
    def swagger(document: str, title: str) -> HTMLResponse:
        page = get_swagger_ui_html(
            openapi_url=document,
            title=title,
            swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS}/favicon.png",
        )
        # Swagger UI starts from a script in the page: the policy allows exactly that script, by its digest.
        scripts = " ".join(f"'sha256-{_digest(script)}'" for script in _INLINE_SCRIPT.findall(bytes(page.body)))
        page.headers["Content-Security-Policy"] = content_security_policy(
            script_src=f"'self' {scripts}", img_src="'self' data:"
        )
        return page

    @app.get("/_mockvps/ui", include_in_schema=False)
    async def dashboard() -> Response:
        return Response(status_code=301, headers={"Location": "/_mockvps/ui/"})

    @app.get("/", include_in_schema=False)
    async def home() -> Response:
        """Somewhere useful: the dashboard, which links the API documentation."""
        return Response(status_code=302, headers={"Location": "/_mockvps/ui/"})

    @app.get("/openapi.json", include_in_schema=False)
    async def contract_openapi(request: Request) -> Response:
        """The contract document, served with the mock's own origin first: "Try it out" talks to the mock."""
        this_mock = {"url": _origin(request), "description": "This mock."}
        return JSONResponse({**_documents()[0], "servers": [this_mock, LIVE]})

    @app.get("/docs", include_in_schema=False)
    async def contract_docs() -> HTMLResponse:
        return swagger("/openapi.json", "VPS.org Servers API")

    @app.get("/redoc", include_in_schema=False)
    async def contract_redoc() -> HTMLResponse:
        page = get_redoc_html(
            openapi_url="/openapi.json",
            title="VPS.org Servers API",
            with_google_fonts=False,
            redoc_js_url=f"{ASSETS}/redoc.standalone.js",
            redoc_favicon_url=f"{ASSETS}/favicon.png",
        )
        # ReDoc styles itself with <style> elements it writes, and searches in a worker it makes from a blob.
        page.headers["Content-Security-Policy"] = content_security_policy(
            style_src="'self' 'unsafe-inline'", img_src="'self' data:", worker_src="blob:"
        )
        return page

    @app.get("/_mockvps/openapi.json", include_in_schema=False)
    async def control_openapi(request: Request) -> Response:
        return JSONResponse({**_documents()[1], "servers": [{"url": _origin(request), "description": "This mock."}]})

    @app.get("/_mockvps/docs", include_in_schema=False)
    async def control_docs() -> HTMLResponse:
        return swagger("/_mockvps/openapi.json", "mockvps control API")


_INLINE_SCRIPT = re.compile(rb"<script>(.*?)</script>", re.DOTALL)


def _digest(script: bytes) -> str:
    return base64.b64encode(hashlib.sha256(script).digest()).decode()


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
        allow = (exc.headers or {}).get("Allow", "")
        if "GET" in allow.split(", ") and "HEAD" not in allow:  # HeadAsGet answers HEAD wherever GET is
            allow += ", HEAD"
        headers = {**(exc.headers or {}), "Allow": allow}
        return JSONResponse({"detail": f'Method "{request.method}" not allowed.'}, status_code=405, headers=headers)
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)


async def _on_unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    return JSONResponse({"detail": "Internal server error."}, status_code=500)
