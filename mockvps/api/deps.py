"""Dependencies of the routes: the backend, the caller's account, a server id, a JSON body."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

import orjson
from fastapi import Depends, Path, Request
from pydantic import BaseModel, ValidationError, WithJsonSchema
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException

from mockvps.backend import Account, Backend
from mockvps.errors import NotAuthenticated, NotFound, ValidationFailed

__all__ = [
    "AccountDep",
    "BackendDep",
    "BodyInvalid",
    "ExistingServerIdDep",
    "ServerIdDep",
    "authenticate",
    "bearer_token",
    "json_body",
    "request_body",
]

MAX_SERVER_ID = 2**63 - 1

M = TypeVar("M", bound=BaseModel)


def _backend(request: Request) -> Backend:
    backend: Backend = request.app.state.backend
    return backend


BackendDep = Annotated[Backend, Depends(_backend)]


def bearer_token(headers: Headers) -> str | None:
    """The token of an `Authorization: Bearer <token>` header; None when absent or malformed."""
    scheme, _, token = headers.get("authorization", "").partition(" ")
    token = token.strip(" ")
    if scheme.lower() != "bearer" or not token or " " in token:
        return None
    return token


def authenticate(request: Request) -> Account:
    token = bearer_token(request.headers)
    if token is None:
        raise NotAuthenticated()
    return _backend(request).authenticate(token)


AccountDep = Annotated[Account, Depends(authenticate)]


def _server_id(
    server_id: Annotated[
        str,
        Path(description="Unique server id."),
        WithJsonSchema({"type": "integer", "format": "int64", "minimum": 1}),
    ],
) -> int:
    # Only plain ASCII digits name a server: int() alone would take " 6", "+6", "6_0" and Unicode digits.
    if not (server_id.isascii() and server_id.isdigit()) or int(server_id) > MAX_SERVER_ID:
        raise NotFound()
    return int(server_id)


ServerIdDep = Annotated[int, Depends(_server_id)]


def _existing_server_id(account: AccountDep, server_id: ServerIdDep, backend: BackendDep) -> int:
    # Looked up before the body is read: the live API answers 404 before it judges a body (DRF's get_object()).
    backend.get_server(account, server_id)
    return server_id


ExistingServerIdDep = Annotated[int, Depends(_existing_server_id)]


class BodyInvalid(Exception):
    """A body that parsed as JSON but does not fit the request model; carries pydantic's errors."""

    def __init__(self, error: ValidationError) -> None:
        super().__init__(str(error))
        self.errors = error.errors(include_url=False)


def _is_json(content_type: str | None) -> bool:
    media_type = (content_type or "").partition(";")[0].strip().lower()
    return media_type == "application/json"


async def _read_body(request: Request, limit: int) -> bytes:
    too_large = HTTPException(413, f"Request body is larger than {limit} bytes.")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


def json_body(model: type[M]) -> Callable[[Request], Awaitable[M]]:
    """A dependency that reads the body as JSON and validates it against `model`.

    Declare it after the account and the server id: authentication and lookup come first, as in the live API.
    An empty body counts as `{}`, so a missing body reads as missing fields.
    """

    async def parse(request: Request) -> M:
        raw = await _read_body(request, request.app.state.settings.max_body_size)
        data: Any = {}
        if raw:
            content_type = request.headers.get("content-type")
            if not _is_json(content_type):
                raise HTTPException(415, f'Unsupported media type "{content_type or ""}" in request.')
            try:
                data = orjson.loads(raw)
            except orjson.JSONDecodeError as exc:
                raise HTTPException(400, f"JSON parse error - {exc}") from None
        if not isinstance(data, dict):
            kind = type(data).__name__
            raise ValidationFailed({"non_field_errors": [f"Invalid data. Expected a dictionary, but got {kind}."]})
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            raise BodyInvalid(exc) from None

    return parse


def request_body(model: type[BaseModel]) -> dict[str, Any]:
    """`openapi_extra` documenting the body that `json_body(model)` reads (its schema joins the components)."""
    schema = {"$ref": f"#/components/schemas/{model.__name__}"}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}
