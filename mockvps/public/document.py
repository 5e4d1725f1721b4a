"""The contract document: the live Servers API as the documentation describes it (and the Account API's
`account/me`, which clients call first), and nothing mock-only."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from mockvps import examples
from mockvps.public.operations import OPERATIONS, REQUEST_MODELS, RESPONSE_MODELS, Operation
from mockvps.public.schemas import BadRequest, ErrorDetail
from mockvps.shared.openapi import add_models

__all__ = ["contract_document", "documented_statuses"]

TITLE = "VPS.org Servers API"
DESCRIPTION = (
    "Manage your VPS servers programmatically: create, configure, control and monitor virtual private "
    "servers. Every path ends with a slash: a path without it answers 301 to the path with it (Django's "
    "APPEND_SLASH), and a client that follows the redirect of a POST sends a GET, so a create silently "
    'becomes a list. Errors follow Django REST framework: `{"detail": "..."}`, or '
    '`{"<field>": ["<message>", ...]}` for invalid fields. A token carries permissions `<resource>:<action>` '
    "(`servers:read` reads servers, `servers:write` changes them, `*` stands for any): a request its token may "
    "not make answers 403, after 401 and before anything else. `GET /api/v1/account/me/` tells any token its "
    "name and permissions."
)
CONTACT = {"name": "VPS.org", "url": "https://admin.vps.org"}
LICENSE = {"name": "MIT", "identifier": "MIT"}
TAGS = [
    {"name": "servers", "description": "Create, configure, control and monitor virtual servers."},
    {"name": "account", "description": "The account and the token of the caller."},
]

# The documentation's own examples.
REQUEST_EXAMPLES = {
    "createServer": examples.CREATE_REQUEST,
    "replaceServer": examples.PUT_REQUEST,
    "updateServer": examples.PATCH_REQUEST,
}
RESPONSE_EXAMPLES = {
    "listServers": {"200": examples.LIST},
    "createServer": {"201": examples.CREATED},
    "getServer": {"200": examples.DETAIL},
    "startServer": {"200": examples.ACTION("starting", "Server is starting")},
    "stopServer": {"200": examples.ACTION("stopping", "Server is stopping")},
    "rebootServer": {"200": examples.ACTION("rebooting", "Server is rebooting")},
    "getAccountMe": {"200": examples.ACCOUNT_ME},
}


def _links(source: str, *targets: str) -> dict[str, Any]:
    return {
        target[0].upper() + target[1:]: {"operationId": target, "parameters": {"server_id": source}}
        for target in targets
    }


# How the operations connect: the id a create answers names the server of every other operation. (A list's
# first item would not: the list may be empty.)
_BY_ID = ("getServer", "replaceServer", "updateServer", "deleteServer", "startServer", "stopServer", "rebootServer")
LINKS = {
    "createServer": {"201": _links("$response.body#/id", *_BY_ID)},
    "getServer": {"200": _links("$response.body#/id", *_BY_ID[1:])},
}


_ERRORS: dict[int, tuple[str, str]] = {
    400: ("BadRequest", "Bad request - invalid parameters."),
    401: ("ErrorDetail", "Unauthorized - invalid or missing API token."),
    403: (
        "ErrorDetail",
        "Forbidden - the token's permissions do not allow this request (`servers:read` reads, `servers:write` "
        "changes); checked after the token and before anything else, so it never tells whether a server exists.",
    ),
    402: ("ErrorDetail", "Payment required - insufficient balance."),
    404: ("ErrorDetail", "Not found - the server does not exist."),
    405: ("ErrorDetail", "Method not allowed - the `Allow` header lists the path's methods."),
    413: ("ErrorDetail", "Request body too large (over 1 MiB)."),
    415: ("ErrorDetail", "Unsupported media type - send `Content-Type: application/json`."),
}
_HEADERS = {
    301: {
        "Location": {
            "description": "The same path with its trailing slash, and the query.",
            "required": True,
            "schema": {"type": "string"},
        }
    },
    401: {
        "WWW-Authenticate": {
            "description": 'The scheme to authenticate with: `Bearer realm="api"`.',
            "required": True,
            "schema": {"type": "string"},
        }
    },
    405: {
        "Allow": {
            "description": "The path's methods, e.g. `GET, POST, HEAD, OPTIONS`.",
            "required": True,
            "schema": {"type": "string"},
        }
    },
}
_REDIRECT = "Moved permanently - the path was sent without its trailing slash; `Location` names it with the slash."
BEARER = {"type": "http", "scheme": "bearer", "description": "`Authorization: Bearer YOUR_API_TOKEN`"}
_SERVER_ID = {
    "name": "server_id",
    "in": "path",
    "required": True,
    "description": "Unique server id.",
    "schema": {"type": "integer", "format": "int64", "minimum": 1},
}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], example: Any = None, has_example: bool = False) -> dict[str, Any]:
    media: dict[str, Any] = {"schema": schema}
    if has_example:
        media["example"] = example
    return {"application/json": media}


def documented_statuses(op: Operation) -> tuple[int, ...]:
    """The statuses the document lists for an operation, in order: its own, the 301 of a path without its
    slash, its errors, the 403 of a token without the permission it needs, the 405 of a wrong method on its path
    and, with a body, 413 and 415."""
    forbidden = (403,) if op.permission is not None else ()
    return tuple(sorted({op.ok, 301, *op.errors, *forbidden, 405, *((413, 415) if op.body is not None else ())}))


def _operation(op: Operation) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "tags": [op.tag],
        "summary": op.summary,
        "description": op.description,
        "operationId": op.operation_id,
    }
    parameters = [_SERVER_ID] if "{server_id}" in op.path else []
    parameters += [
        {"name": q.name, "in": "query", "required": False, "description": q.description, "schema": q.schema}
        for q in op.query
    ]
    if parameters:
        operation["parameters"] = parameters
    if op.body is not None:
        example = REQUEST_EXAMPLES.get(op.operation_id)
        operation["requestBody"] = {
            "required": op.body_required,
            "content": _json(_ref(op.body.__name__), example, example is not None),
        }
    ok: dict[str, Any] = {"description": op.ok_description}
    if op.ok_model is not None:
        examples_of = RESPONSE_EXAMPLES.get(op.operation_id, {})
        ok["content"] = _json(_ref(op.ok_model.__name__), examples_of.get(str(op.ok)), str(op.ok) in examples_of)
    if op.operation_id in LINKS:
        ok["links"] = LINKS[op.operation_id][str(op.ok)]
    responses: dict[int, dict[str, Any]] = {op.ok: ok, 301: {"description": _REDIRECT, "headers": _HEADERS[301]}}
    # Every operation can meet a wrong method on its path; one with a body, a body too large or not JSON; one
    # that needs permissions, a token without them (`documented_statuses`).
    for code in documented_statuses(op):
        if code in responses:
            continue
        model, description = _ERRORS[code]
        responses[code] = {"description": description, "content": _json(_ref(model))}
        if code in _HEADERS:
            responses[code]["headers"] = _HEADERS[code]
    operation["responses"] = {str(code): responses[code] for code in sorted(responses)}
    return operation


def contract_document() -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op)
    schemas: dict[str, Any] = {}
    responses: list[type[BaseModel]] = [*RESPONSE_MODELS, ErrorDetail, BadRequest]
    add_models(schemas, [(m, "serialization") for m in responses])
    add_models(schemas, [(m, "validation") for m in REQUEST_MODELS])
    return {
        "openapi": "3.1.0",
        "info": {"title": TITLE, "description": DESCRIPTION, "version": "v1", "contact": CONTACT, "license": LICENSE},
        "servers": [{"url": "https://admin.vps.org"}],
        "tags": TAGS,
        "paths": paths,
        "components": {
            "schemas": dict(sorted(schemas.items())),
            "securitySchemes": {"bearerAuth": BEARER},
        },
        "security": [{"bearerAuth": []}],
    }
