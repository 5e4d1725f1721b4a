"""Reading requests the way the live API does, free of any web framework: tokens, ids, JSON bodies.

Both the public API's dispatcher and the control API's FastAPI dependencies use these, so a body is judged the
same way everywhere: 413 over the limit, 415 unless it is JSON, 400 when it does not parse or fit.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

import orjson
from pydantic import BaseModel, ValidationError

from mockvps.errors import NotFound, ValidationFailed

__all__ = ["MAX_SERVER_ID", "BodyInvalid", "HttpError", "bearer_token", "parse_body", "read_body", "server_id_of"]

MAX_SERVER_ID = 2**63 - 1
MAX_ID_DIGITS = len(str(MAX_SERVER_ID))
M = TypeVar("M", bound=BaseModel)


class HttpError(Exception):
    """An answer decided by HTTP itself rather than by the domain: 301, 404 of a path, 405, 413, 415, 400."""

    def __init__(self, status: int, detail: str | None, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = dict(headers or {})


class BodyInvalid(Exception):
    """A body that parsed as JSON but does not fit the request model; carries pydantic's errors."""

    def __init__(self, error: ValidationError, pattern_messages: Mapping[str, str]) -> None:
        super().__init__(str(error))
        self.errors = error.errors(include_url=False)
        self.pattern_messages = pattern_messages
        """What to say, by field, when a string does not match its pattern (the model's `pattern_messages`)."""


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header; None when absent or malformed."""
    scheme, _, token = (authorization or "").partition(" ")
    token = token.strip(" ")
    if scheme.lower() != "bearer" or not token or " " in token:
        return None
    return token


def server_id_of(text: str) -> int:
    # Only plain ASCII digits name a server: int() alone would take " 6", "+6", "6_0" and Unicode digits,
    # and refuse (ValueError) more than 4,300 digits.
    if not (text.isascii() and text.isdigit()) or len(text) > MAX_ID_DIGITS or int(text) > MAX_SERVER_ID:
        raise NotFound()
    return int(text)


async def read_body(
    receive: Callable[[], Awaitable[Mapping[str, Any]]], content_length: str | None, limit: int
) -> bytes:
    if content_length and content_length.isdigit() and int(content_length) > limit:
        raise _too_large(limit)
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
        if not message.get("more_body"):
            break
    return b"".join(chunks)


def _too_large(limit: int) -> HttpError:
    return HttpError(413, f"Request body is larger than {limit} bytes.")


def parse_body(raw: bytes, content_type: str | None, model: type[M], max_depth: int = 64) -> M:
    """An empty body counts as `{}`, so a missing body reads as missing fields."""
    data: Any = {}
    if raw:
        if (content_type or "").partition(";")[0].strip().lower() != "application/json":
            raise HttpError(415, f'Unsupported media type "{content_type or ""}" in request.')
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise HttpError(400, f"JSON parse error - {exc}") from None
        # Nesting deeper than `max_depth` takes at least that many brackets: most bodies are not walked at all.
        if raw.count(b"[") + raw.count(b"{") >= max_depth and _deeper_than(data, max_depth):
            raise HttpError(400, f"JSON parse error - nested deeper than {max_depth} levels.")
    if not isinstance(data, dict):
        kind = type(data).__name__
        raise ValidationFailed({"non_field_errors": [f"Invalid data. Expected a dictionary, but got {kind}."]})
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise BodyInvalid(exc, getattr(model, "pattern_messages", {})) from None


def _deeper_than(data: Any, limit: int) -> bool:
    level: list[Any] = [data]
    for _ in range(limit):
        level = [
            child
            for node in level
            for child in (node.values() if isinstance(node, dict) else node if isinstance(node, list) else ())
        ]
        if not level:
            return False
    return True
