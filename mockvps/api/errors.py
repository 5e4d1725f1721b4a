"""Every error answer, in one place: domain errors by the table below, HTTP-level ones by their handlers.

Answers follow Django REST framework, which the live service evidently runs: `{"detail": "..."}`, or
`{"field": ["message", ...]}` for bad fields. No 422 and no stack trace ever leaves the mock.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import Response

from mockvps import errors
from mockvps.api.deps import BodyInvalid, authenticate
from mockvps.api.faults import DropConnection
from mockvps.api.responses import JSONResponse
from mockvps.api.schemas import PATTERN_MESSAGES

__all__ = ["STATUS_OF", "install_error_handlers", "status_of"]

log = logging.getLogger("mockvps")

STATUS_OF: dict[type[errors.MockVPSError], int] = {
    errors.AuthenticationError: 401,
    errors.NotFound: 404,
    errors.ValidationFailed: 400,
    errors.ActionNotAllowed: 400,
    errors.InsufficientBalance: 402,
    errors.AddressPoolExhausted: 400,
}

AUTHENTICATE = {"WWW-Authenticate": 'Bearer realm="api"'}
METHOD_ORDER = ("GET", "POST", "PUT", "PATCH", "DELETE")


def status_of(exc: errors.MockVPSError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS_OF:
            return STATUS_OF[cls]
    return 500


def _error_response(exc: errors.MockVPSError) -> Response:
    status = status_of(exc)
    if isinstance(exc, errors.ValidationFailed):
        return JSONResponse(exc.fields, status_code=status)
    return JSONResponse({"detail": exc.detail}, status_code=status, headers=AUTHENTICATE if status == 401 else None)


def _field_errors(problems: Iterable[Mapping[str, Any]]) -> dict[str, list[str]]:
    """Pydantic's errors as DRF's `{field: [message]}`, in DRF's words."""
    fields: dict[str, list[str]] = {}
    for problem in problems:
        loc = problem.get("loc", ())
        name = str(loc[-1]) if loc and loc[-1] not in ("body", "query") else "non_field_errors"
        fields.setdefault(name, []).append(_message(name, problem))
    return fields


def _message(name: str, problem: Mapping[str, Any]) -> str:
    kind, ctx = problem.get("type", ""), problem.get("ctx") or {}
    if kind == "missing":
        return "This field is required."
    if problem.get("input", ...) is None:
        return "This field may not be null."
    match kind:
        case "int_type":
            return "A valid integer is required."
        case "bool_type":
            return "Must be a valid boolean."
        case "string_type":
            return "Not a valid string."
        case "string_too_short":
            return "This field may not be blank."
        case "string_too_long":
            return f"Ensure this field has no more than {ctx.get('max_length')} characters."
        case "string_pattern_mismatch":
            return PATTERN_MESSAGES.get(name, "Enter a valid value.")
        case "extra_forbidden":
            return "Unknown field."
        case "enum":
            return f"Select a valid choice. {problem.get('input')} is not one of the available choices."
    return str(problem.get("msg", "Invalid value."))


def _allowed_methods(request: Request, path: str) -> list[str]:
    """Every method the public API accepts at `path` (Starlette's own 405 names only one route's)."""
    methods: set[str] = set()
    for pattern, accepted in request.app.state.route_methods:
        if pattern.match(path):
            methods |= accepted
    return [m for m in METHOD_ORDER if m in methods] + sorted(methods - set(METHOD_ORDER))


async def _on_domain_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, errors.MockVPSError)
    return _error_response(exc)


async def _on_body_invalid(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, BodyInvalid)
    return JSONResponse(_field_errors(exc.errors), status_code=400)


async def _on_request_invalid(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    problems: Sequence[Mapping[str, Any]] = exc.errors()
    if any(p.get("loc", ("",))[0] == "path" for p in problems):
        return _error_response(errors.NotFound())
    return JSONResponse(_field_errors(problems), status_code=400)


async def _on_http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        path = request.url.path
        if not path.endswith("/") and _allowed_methods(request, path + "/"):
            # Django's APPEND_SLASH: a documented path without its slash is a permanent redirect.
            query = request.url.query
            return Response(status_code=301, headers={"Location": path + "/" + (f"?{query}" if query else "")})
        return _error_response(errors.NotFound())
    if exc.status_code == 405:
        headers = exc.headers
        allowed = _allowed_methods(request, request.url.path)
        if allowed:  # a path of the public API: the caller's credentials are checked before anything else
            try:
                authenticate(request)
            except errors.MockVPSError as failure:
                return _error_response(failure)
            headers = {"Allow": ", ".join(allowed)}
        return JSONResponse({"detail": f'Method "{request.method}" not allowed.'}, status_code=405, headers=headers)
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)


async def _on_unexpected(request: Request, exc: Exception) -> Response:
    if isinstance(exc, DropConnection):  # a fault rule's doing: the answer has started, the connection goes
        return Response(status_code=500)
    log.exception("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    return JSONResponse({"detail": "Internal server error."}, status_code=500)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(errors.MockVPSError, _on_domain_error)
    app.add_exception_handler(BodyInvalid, _on_body_invalid)
    app.add_exception_handler(RequestValidationError, _on_request_invalid)
    app.add_exception_handler(HTTPException, _on_http_exception)
    app.add_exception_handler(Exception, _on_unexpected)
