"""Dependencies of the control API's FastAPI routes: the backend, a server id, a JSON body.

All are `async def`: FastAPI runs plain `def` dependencies in a thread pool, which costs a thread hop per
dependency and would let the backend be touched off the event loop.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Path, Request
from pydantic import BaseModel, WithJsonSchema

from mockvps.api.wire import parse_body, read_body, server_id_of
from mockvps.backend import Backend

__all__ = ["BackendDep", "ServerIdDep", "json_body", "request_body"]

M = TypeVar("M", bound=BaseModel)


async def _backend(request: Request) -> Backend:
    backend: Backend = request.app.state.backend
    return backend


BackendDep = Annotated[Backend, Depends(_backend)]


async def _server_id(
    server_id: Annotated[
        str,
        Path(description="Unique server id."),
        WithJsonSchema({"type": "integer", "format": "int64", "minimum": 1}),
    ],
) -> int:
    return server_id_of(server_id)


ServerIdDep = Annotated[int, Depends(_server_id)]


def json_body(model: type[M]) -> Callable[[Request], Awaitable[M]]:
    """A dependency that reads the body as JSON and validates it against `model`, as the public API does."""

    async def parse(request: Request) -> M:
        raw = await read_body(request.receive, request.headers.get("content-length"),
                              request.app.state.settings.max_body_size)  # fmt: skip
        return parse_body(raw, request.headers.get("content-type"), model, request.app.state.settings.max_json_depth)

    return parse


def request_body(model: type[BaseModel]) -> dict[str, Any]:
    """`openapi_extra` documenting the body that `json_body(model)` reads (its schema joins the components)."""
    schema = {"$ref": f"#/components/schemas/{model.__name__}"}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}
