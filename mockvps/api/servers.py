"""The nine operations of the Servers API. Each route authenticates, calls one backend method, renders.

Handlers are `async def` on purpose: they run on the event loop one at a time and the backend never awaits,
so each operation is atomic without locks.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from starlette.responses import Response

from mockvps.api import views
from mockvps.api.deps import AccountDep, BackendDep, ExistingServerIdDep, ServerIdDep, json_body, request_body
from mockvps.api.responses import JSONResponse
from mockvps.api.schemas import (
    ActionResult,
    BadRequest,
    ErrorDetail,
    ServerCreate,
    ServerCreated,
    ServerDetail,
    ServerList,
    ServerPatch,
    ServerUpdate,
)
from mockvps.backend import ServerChanges
from mockvps.lifecycle import Action, ServerStatus

__all__ = ["REQUEST_MODELS", "router"]

router = APIRouter(prefix="/api/v1/servers", tags=["servers"])

REQUEST_MODELS = (ServerCreate, ServerUpdate, ServerPatch)
"""Models of request bodies: `openapi.contract_document` puts them in the document's components."""


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    described: dict[int, dict[str, Any]] = {
        400: {"model": BadRequest, "description": "Bad request - invalid parameters."},
        401: {"model": ErrorDetail, "description": "Unauthorized - invalid or missing API token."},
        402: {"model": ErrorDetail, "description": "Payment required - insufficient balance."},
        404: {"model": ErrorDetail, "description": "Not found - the server does not exist."},
    }
    return {code: described[code] for code in codes}


def _ok(model: type[Any], description: str, code: int = 200) -> dict[int | str, dict[str, Any]]:
    return {code: {"model": model, "description": description}}


StatusFilter = Annotated[
    ServerStatus | None,
    Query(description="Only servers in this status (the documentation names active, stopped, suspended)."),
]
LocationFilter = Annotated[str | None, Query(description="Only servers in this data centre location.")]


@router.get(
    "/",
    operation_id="listServers",
    summary="List all servers",
    responses={**_ok(ServerList, "Server list retrieved."), **_errors(400, 401)},
)
async def list_servers(
    account: AccountDep, backend: BackendDep, status: StatusFilter = None, location: LocationFilter = None
) -> Response:
    """Retrieves a list of all servers in your account."""
    return JSONResponse(views.server_list(backend.list_servers(account, status, location)))


@router.post(
    "/",
    operation_id="createServer",
    summary="Create a new server",
    status_code=201,
    responses={**_ok(ServerCreated, "Server created.", 201), **_errors(400, 401, 402)},
    openapi_extra=request_body(ServerCreate),
)
async def create_server(
    account: AccountDep, backend: BackendDep, body: Annotated[ServerCreate, Depends(json_body(ServerCreate))]
) -> Response:
    """Provisions a new VPS with the given configuration. It starts as `provisioning` with no address."""
    server = backend.create_server(account, **body.model_dump())
    return JSONResponse(views.created(server), status_code=201)


@router.get(
    "/{server_id}/",
    operation_id="getServer",
    summary="Get server details",
    responses={**_ok(ServerDetail, "Server details retrieved."), **_errors(401, 404)},
)
async def get_server(account: AccountDep, server_id: ServerIdDep, backend: BackendDep) -> Response:
    """Detailed information about one server, including its resource usage."""
    return JSONResponse(views.detail(backend.get_server(account, server_id)))


@router.put(
    "/{server_id}/",
    operation_id="replaceServer",
    summary="Update a server",
    responses={**_ok(ServerDetail, "Server updated."), **_errors(400, 401, 404)},
    openapi_extra=request_body(ServerUpdate),
)
async def replace_server(
    account: AccountDep,
    server_id: ExistingServerIdDep,
    backend: BackendDep,
    body: Annotated[ServerUpdate, Depends(json_body(ServerUpdate))],
) -> Response:
    """Updates the server's configuration. All fields are required."""
    return JSONResponse(views.detail(backend.replace_server(account, server_id, **body.model_dump())))


@router.patch(
    "/{server_id}/",
    operation_id="updateServer",
    summary="Partially update a server",
    responses={**_ok(ServerDetail, "Server updated."), **_errors(400, 401, 404)},
    openapi_extra=request_body(ServerPatch),
)
async def update_server(
    account: AccountDep,
    server_id: ExistingServerIdDep,
    backend: BackendDep,
    body: Annotated[ServerPatch, Depends(json_body(ServerPatch))],
) -> Response:
    """Updates only the fields given."""
    changes = ServerChanges(**body.model_dump(exclude_unset=True))  # type: ignore[typeddict-item]
    return JSONResponse(views.detail(backend.update_server(account, server_id, changes)))


@router.delete(
    "/{server_id}/",
    operation_id="deleteServer",
    summary="Delete a server",
    status_code=204,
    responses={204: {"description": "Server deleted."}, **_errors(401, 404)},
)
async def delete_server(account: AccountDep, server_id: ServerIdDep, backend: BackendDep) -> Response:
    """Deletes a server permanently. This cannot be undone."""
    backend.delete_server(account, server_id)
    return Response(status_code=204)


@router.post(
    "/{server_id}/start/",
    operation_id="startServer",
    summary="Start a server",
    responses={
        **_ok(ActionResult, "Start command sent."),
        **_errors(400, 401, 404),
    },
)
async def start_server(account: AccountDep, server_id: ServerIdDep, backend: BackendDep) -> Response:
    """Powers on a stopped server. Refused with 400 when the server is not stopped."""
    return JSONResponse(views.action_result(backend.start_server(account, server_id), Action.START))


@router.post(
    "/{server_id}/stop/",
    operation_id="stopServer",
    summary="Stop a server",
    responses={
        **_ok(ActionResult, "Stop command sent."),
        **_errors(400, 401, 404),
    },
)
async def stop_server(account: AccountDep, server_id: ServerIdDep, backend: BackendDep) -> Response:
    """Shuts a running server down gracefully. Refused with 400 when the server is not active."""
    return JSONResponse(views.action_result(backend.stop_server(account, server_id), Action.STOP))


@router.post(
    "/{server_id}/reboot/",
    operation_id="rebootServer",
    summary="Reboot a server",
    responses={
        **_ok(ActionResult, "Reboot command sent."),
        **_errors(400, 401, 404),
    },
)
async def reboot_server(account: AccountDep, server_id: ServerIdDep, backend: BackendDep) -> Response:
    """Reboots a running server gracefully. Refused with 400 when the server is not active."""
    return JSONResponse(views.action_result(backend.reboot_server(account, server_id), Action.REBOOT))
