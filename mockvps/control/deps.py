"""Dependencies of the control API's FastAPI routes: the backend, a server id, a JSON body.

All are `async def`: FastAPI runs plain `def` dependencies in a thread pool, which costs a thread hop per
dependency and would let the backend be touched off the event loop.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Path, Request
from pydantic import BaseModel, WithJsonSchema

from mockvps.backend import Backend
from mockvps.shared.requests import parse_body, read_body, server_id_of
from mockvps.shared.state import MockState

__all__ = ["BackendDep", "ServerIdDep", "StateDep", "json_body", "mock_state", "request_body"]

M = TypeVar("M", bound=BaseModel)


def mock_state(request: Request) -> MockState:
    """The state of the mock this control app belongs to (`control.app.build_control_app` puts it there)."""
    state: MockState = request.app.state.mock
    return state


async def _state(request: Request) -> MockState:
    return mock_state(request)


async def _backend(request: Request) -> Backend:
    return mock_state(request).backend


StateDep = Annotated[MockState, Depends(_state)]
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
        settings = mock_state(request).settings
        raw = await read_body(request.receive, request.headers.get("content-length"), settings.max_body_size)
        return parse_body(raw, request.headers.get("content-type"), model, settings.max_json_depth)

    return parse


def request_body(model: type[BaseModel]) -> dict[str, Any]:
    """`openapi_extra` documenting the body that `json_body(model)` reads (its schema joins the components)."""
    schema = {"$ref": f"#/components/schemas/{model.__name__}"}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}
