"""Every error answer, in one place: domain errors by the table below, HTTP-level ones as they come.

`render` is all the public API needs; the control API's FastAPI handlers (`control_app`) use it too.

Answers follow Django REST framework, which the live service evidently runs: `{"detail": "..."}`, or
`{"field": ["message", ...]}` for bad fields. No 422 and no stack trace ever leaves the mock.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from mockvps import errors
from mockvps.shared.requests import BodyInvalid, HttpError

__all__ = ["AUTHENTICATE", "STATUS_OF", "field_errors", "render", "status_of"]

STATUS_OF: dict[type[errors.MockVPSError], int] = {
    errors.AuthenticationError: 401,
    errors.PermissionDenied: 403,
    errors.NotFound: 404,
    errors.ValidationFailed: 400,
    errors.ActionNotAllowed: 400,
    errors.InsufficientBalance: 402,
    errors.AddressPoolExhausted: 400,
    errors.LimitReached: 400,
    errors.StoreFailed: 503,
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
        return 400, field_errors(exc.errors, exc.pattern_messages), {}
    if isinstance(exc, HttpError):
        return exc.status, None if exc.detail is None else {"detail": exc.detail}, exc.headers
    raise TypeError(f"not an error mockvps answers on purpose: {exc!r}")


def field_errors(
    problems: Iterable[Mapping[str, Any]], pattern_messages: Mapping[str, str] | None = None
) -> dict[str, list[str]]:
    """Pydantic's errors as DRF's `{field: [message]}`, in DRF's words."""
    fields: dict[str, list[str]] = {}
    for problem in problems:
        loc = problem.get("loc", ())
        name = str(loc[-1]) if loc and loc[-1] not in ("body", "query") else "non_field_errors"
        fields.setdefault(name, []).append(_message(name, problem, pattern_messages or {}))
    return fields


def _message(name: str, problem: Mapping[str, Any], pattern_messages: Mapping[str, str]) -> str:
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
            return pattern_messages.get(name, "Enter a valid value.")
        case "extra_forbidden":
            return "Unknown field."
        case "enum":
            return f"Select a valid choice. {problem.get('input')} is not one of the available choices."
    return str(problem.get("msg", "Invalid value."))
