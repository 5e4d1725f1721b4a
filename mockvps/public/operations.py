"""The operations of the public API: the Servers API's nine and the Account API's `account/me`, as a table of
what each is, with a thin handler for each.

A handler gets a `Call` (the authenticated account and token, the server id, the query, the validated body),
calls one backend method and answers (status, JSON payload); it names the servers its answer shows
(`Call.show`), whose statuses coverage follows. `dispatch.PublicAPI` dispatches requests to them and
`document.contract_document` describes them, both from the one table below.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from mockvps.backend import Account, Backend, Server, ServerChanges
from mockvps.errors import ValidationFailed
from mockvps.lifecycle import Action, ServerStatus
from mockvps.public import pages, rendering
from mockvps.public.schemas import (
    AccountMe,
    ActionResult,
    ServerCreate,
    ServerCreated,
    ServerDetail,
    ServerList,
    ServerPatch,
    ServerUpdate,
)
from mockvps.tokens import Token

__all__ = ["OPERATIONS", "REQUEST_MODELS", "RESPONSE_MODELS", "Call", "Operation", "QueryParam", "Reply"]

Reply = tuple[int, Any]


@dataclass(slots=True)
class Call:
    backend: Backend
    account: Account
    token: Token
    server_id: int
    query: Mapping[str, str]
    body: Any
    lists: rendering.ListCache
    page_size: int | None
    """The list's page size (`--page-size`), or None: no pages."""
    scope: Mapping[str, Any]
    """The ASGI request, for what only pages need (their links)."""
    shown: list[tuple[Server, ServerStatus]] = field(default_factory=list)
    """The servers the answer shows, each with the status it shows (`shared.coverage` counts transitions)."""

    def show(self, server: Server) -> Server:
        self.shown.append((server, server.status))
        return server


@dataclass(frozen=True, slots=True)
class QueryParam:
    name: str
    description: str
    schema: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Operation:
    method: str
    path: str
    operation_id: str
    summary: str
    handler: Callable[[Call], Reply]
    ok: int
    ok_model: type[BaseModel] | None
    ok_description: str
    errors: tuple[int, ...]
    body: type[BaseModel] | None = None
    body_required: bool = True
    """False where no body means no change (PATCH: DRF's partial update)."""
    query: tuple[QueryParam, ...] = ()
    permission: str | None = "servers"
    """The resource whose permissions the token needs (`servers:read` to read, `servers:write` to change);
    None: any token may call it."""
    tag: str = "servers"

    @property
    def description(self) -> str:
        return " ".join((self.handler.__doc__ or "").split())


def list_servers(call: Call) -> Reply:
    """Retrieves a list of all servers in your account."""
    status: ServerStatus | None = None
    if "status" in call.query:
        try:
            status = ServerStatus(call.query["status"])
        except ValueError:
            chosen = call.query["status"]
            raise ValidationFailed(
                {"status": [f"Select a valid choice. {chosen} is not one of the available choices."]}
            ) from None
    servers = call.backend.list_servers(call.account, status, call.query.get("location"))
    if call.page_size is None:
        return 200, call.lists.server_list(servers, call.shown)
    query_string = call.scope["query_string"].decode("latin-1")
    page = pages.page_of(len(servers), query_string, pages.request_url(call.scope), call.page_size)
    return 200, call.lists.page(servers[page.start : page.stop], len(servers), page.next, page.previous, call.shown)


def create_server(call: Call) -> Reply:
    """Provisions a new VPS with the given configuration. It starts as `provisioning` with no address."""
    return 201, rendering.created(call.show(call.backend.create_server(call.account, **call.body.model_dump())))


def get_server(call: Call) -> Reply:
    """Detailed information about one server, including its resource usage."""
    return 200, rendering.detail(call.show(call.backend.get_server(call.account, call.server_id)))


def replace_server(call: Call) -> Reply:
    """Updates the server's configuration. All fields are required."""
    server = call.backend.replace_server(call.account, call.server_id, **call.body.model_dump())
    return 200, rendering.detail(call.show(server))


def update_server(call: Call) -> Reply:
    """Updates only the fields given."""
    changes = ServerChanges(**call.body.model_dump(exclude_unset=True))  # type: ignore[typeddict-item]
    return 200, rendering.detail(call.show(call.backend.update_server(call.account, call.server_id, changes)))


def delete_server(call: Call) -> Reply:
    """Deletes a server permanently. This cannot be undone."""
    call.backend.delete_server(call.account, call.server_id)
    return 204, None


def start_server(call: Call) -> Reply:
    """Powers on a stopped server. Refused with 400 when the server is not stopped."""
    server = call.show(call.backend.start_server(call.account, call.server_id))
    return 200, rendering.action_result(server, Action.START)


def stop_server(call: Call) -> Reply:
    """Shuts a running server down gracefully. Refused with 400 when the server is not active."""
    server = call.show(call.backend.stop_server(call.account, call.server_id))
    return 200, rendering.action_result(server, Action.STOP)


def reboot_server(call: Call) -> Reply:
    """Reboots a running server gracefully. Refused with 400 when the server is not active."""
    server = call.show(call.backend.reboot_server(call.account, call.server_id))
    return 200, rendering.action_result(server, Action.REBOOT)


def get_account_me(call: Call) -> Reply:
    """Your account's profile, and the name and permissions of the token you called with. Any valid token may
    call it, whatever its permissions: call it first to learn what a token may do."""
    return 200, rendering.account_me(call.account, call.token)


_LIST = "/api/v1/servers/"
_ONE = "/api/v1/servers/{server_id}/"
_FILTERS = (
    QueryParam(
        "status",
        "Only servers in this status (the documentation names active, stopped, suspended).",
        {"$ref": "#/components/schemas/ServerStatus"},
    ),
    QueryParam("location", "Only servers in this data centre location.", {"type": "string"}),
)

OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "GET",
        _LIST,
        "listServers",
        "List all servers",
        list_servers,
        ok=200,
        ok_model=ServerList,
        ok_description="Server list retrieved.",
        errors=(400, 401),
        query=_FILTERS,
    ),
    Operation(
        "POST",
        _LIST,
        "createServer",
        "Create a new server",
        create_server,
        ok=201,
        ok_model=ServerCreated,
        ok_description="Server created.",
        errors=(400, 401, 402),
        body=ServerCreate,
    ),
    Operation(
        "GET",
        _ONE,
        "getServer",
        "Get server details",
        get_server,
        ok=200,
        ok_model=ServerDetail,
        ok_description="Server details retrieved.",
        errors=(401, 404),
    ),
    Operation(
        "PUT",
        _ONE,
        "replaceServer",
        "Update a server",
        replace_server,
        ok=200,
        ok_model=ServerDetail,
        ok_description="Server updated.",
        errors=(400, 401, 404),
        body=ServerUpdate,
    ),
    Operation(
        "PATCH",
        _ONE,
        "updateServer",
        "Partially update a server",
        update_server,
        ok=200,
        ok_model=ServerDetail,
        ok_description="Server updated.",
        errors=(400, 401, 404),
        body=ServerPatch,
        body_required=False,
    ),
    Operation(
        "DELETE",
        _ONE,
        "deleteServer",
        "Delete a server",
        delete_server,
        ok=204,
        ok_model=None,
        ok_description="Server deleted.",
        errors=(401, 404),
    ),
    Operation(
        "POST",
        _ONE + "start/",
        "startServer",
        "Start a server",
        start_server,
        ok=200,
        ok_model=ActionResult,
        ok_description="Start command sent.",
        errors=(400, 401, 404),
    ),
    Operation(
        "POST",
        _ONE + "stop/",
        "stopServer",
        "Stop a server",
        stop_server,
        ok=200,
        ok_model=ActionResult,
        ok_description="Stop command sent.",
        errors=(400, 401, 404),
    ),
    Operation(
        "POST",
        _ONE + "reboot/",
        "rebootServer",
        "Reboot a server",
        reboot_server,
        ok=200,
        ok_model=ActionResult,
        ok_description="Reboot command sent.",
        errors=(400, 401, 404),
    ),
    Operation(
        "GET",
        "/api/v1/account/me/",
        "getAccountMe",
        "Get your account and token",
        get_account_me,
        ok=200,
        ok_model=AccountMe,
        ok_description="The account and the calling token.",
        errors=(401,),
        permission=None,
        tag="account",
    ),
)

REQUEST_MODELS: tuple[type[BaseModel], ...] = tuple(op.body for op in OPERATIONS if op.body is not None)
RESPONSE_MODELS: tuple[type[BaseModel], ...] = tuple(
    dict.fromkeys(op.ok_model for op in OPERATIONS if op.ok_model is not None)
)
