"""Every error answer, in one place: domain errors by the table below, HTTP-level ones as they come.

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
from mockvps.api.faults import DropConnection
from mockvps.api.responses import JSONResponse
from mockvps.api.schemas import PATTERN_MESSAGES
from mockvps.api.wire import BodyInvalid, HttpError

__all__ = ["AUTHENTICATE", "STATUS_OF", "field_errors", "install_error_handlers", "render", "status_of"]

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


def status_of(exc: errors.MockVPSError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS_OF:
            return STATUS_OF[cls]
    return 500


def render(exc: Exception) -> tuple[int, Any, dict[str, str]]:
    """(status, JSON payload or None, headers) of an error the mock answers on purpose."""
    if isinstance(exc, errors.ValidationFailed):
        return status_of(exc), exc.fields, {}
    if isinstance(exc, errors.MockVPSError):
        status = status_of(exc)
        return status, {"detail": exc.detail}, AUTHENTICATE if status == 401 else {}
    if isinstance(exc, BodyInvalid):
        return 400, field_errors(exc.errors), {}
    if isinstance(exc, HttpError):
        return exc.status, None if exc.detail is None else {"detail": exc.detail}, exc.headers
    raise TypeError(f"not an error mockvps answers on purpose: {exc!r}")


def field_errors(problems: Iterable[Mapping[str, Any]]) -> dict[str, list[str]]:
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
        case "int_type" | "int_parsing":
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
    if isinstance(exc, DropConnection):  # a fault rule's doing: the answer has started, the connection goes
        return Response(status_code=500)
    log.exception("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    return JSONResponse({"detail": "Internal server error."}, status_code=500)


def install_error_handlers(app: FastAPI) -> None:
    for kind in (errors.MockVPSError, BodyInvalid, HttpError):
        app.add_exception_handler(kind, _on_error)
    app.add_exception_handler(RequestValidationError, _on_request_invalid)
    app.add_exception_handler(HTTPException, _on_http_exception)
    app.add_exception_handler(Exception, _on_unexpected)
