"""The contract document: the live Servers API as the documentation describes it, and nothing mock-only."""

from __future__ import annotations

import json
from typing import Any

from fastapi.openapi.utils import get_openapi
from pydantic.json_schema import models_json_schema

from mockvps.api import examples
from mockvps.api.servers import REQUEST_MODELS, router

__all__ = ["contract_document", "control_document", "render_document"]

TITLE = "VPS.org Servers API"
DESCRIPTION = (
    "Manage your VPS servers programmatically: create, configure, control and monitor virtual private "
    'servers. Every path ends with a slash. Errors follow Django REST framework: `{"detail": "..."}`, or '
    '`{"<field>": ["<message>", ...]}` for invalid fields.'
)

# The documentation's examples, set after FastAPI built the document (it drops nulls from examples).
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
}


def _links(source: str, *targets: str) -> dict[str, Any]:
    return {
        target[0].upper() + target[1:]: {"operationId": target, "parameters": {"server_id": source}}
        for target in targets
    }


# How the operations connect: the id a create or a list answers names the server of every other operation.
_BY_ID = ("getServer", "replaceServer", "updateServer", "deleteServer", "startServer", "stopServer", "rebootServer")
LINKS = {
    "createServer": {"201": _links("$response.body#/id", *_BY_ID)},
    "listServers": {"200": _links("$response.body#/results/0/id", "getServer")},
    "getServer": {"200": _links("$response.body#/id", *_BY_ID[1:])},
}


def contract_document() -> dict[str, Any]:
    doc = get_openapi(
        title=TITLE,
        version="v1",
        openapi_version="3.1.0",
        description=DESCRIPTION,
        routes=router.routes,
        servers=[{"url": "https://admin.vps.org"}],
    )
    _without_422(doc)
    components = doc.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    _add_request_models(schemas, REQUEST_MODELS)
    for operations in doc["paths"].values():
        for operation in operations.values():
            for parameter in operation.get("parameters", ()):
                parameter["schema"] = _not_null(parameter["schema"])
            op_id = operation["operationId"]
            if op_id in REQUEST_EXAMPLES:
                operation["requestBody"]["content"]["application/json"]["example"] = REQUEST_EXAMPLES[op_id]
            for code, example in RESPONSE_EXAMPLES.get(op_id, {}).items():
                operation["responses"][code]["content"]["application/json"]["example"] = example
            for code, links in LINKS.get(op_id, {}).items():
                operation["responses"][code]["links"] = links
    components["securitySchemes"] = {
        "bearerAuth": {"type": "http", "scheme": "bearer", "description": "`Authorization: Bearer YOUR_API_TOKEN`"}
    }
    doc["security"] = [{"bearerAuth": []}]
    doc["components"] = dict(sorted(components.items()))
    components["schemas"] = dict(sorted(schemas.items()))
    return doc


def control_document() -> dict[str, Any]:
    """The mock's own API under /_mockvps/: never part of the contract document."""
    from mockvps.api.control import REQUEST_MODELS as CONTROL_MODELS
    from mockvps.api.control import health_router
    from mockvps.api.control import router as control_router

    doc = get_openapi(
        title="mockvps control API",
        version="1",
        openapi_version="3.1.0",
        description=(
            "Steer a running mock: accounts, state, time, operator actions, faults and the request journal. "
            "When the mock has an admin token (MOCKVPS_ADMIN_TOKEN), every call but /_mockvps/health needs "
            '`Authorization: Bearer <admin token>`. Errors are `{"detail": ...}` or `{"<field>": [...]}`.'
        ),
        routes=[*health_router.routes, *control_router.routes],
        servers=[{"url": "http://127.0.0.1:8000"}],
    )
    _without_422(doc)
    components = doc.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    _add_request_models(schemas, CONTROL_MODELS)
    components["schemas"] = dict(sorted(schemas.items()))
    components["securitySchemes"] = {"adminToken": {"type": "http", "scheme": "bearer"}}
    doc["security"] = [{"adminToken": []}, {}]
    return doc


def _add_request_models(schemas: dict[str, Any], models: Any) -> None:
    _, defs = models_json_schema([(m, "validation") for m in models], ref_template="#/components/schemas/{model}")
    schemas.update(defs.get("$defs", {}))


def _without_422(doc: dict[str, Any]) -> None:
    """FastAPI documents a 422 for every operation with parameters; mockvps answers 400 (or 404) instead."""
    schemas = doc.get("components", {}).get("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    for operations in doc["paths"].values():
        for operation in operations.values():
            operation["responses"].pop("422", None)


def _not_null(schema: dict[str, Any]) -> dict[str, Any]:
    """An optional query parameter is absent, never null: drop FastAPI's `anyOf [..., null]`."""
    options = [o for o in schema.get("anyOf", ()) if o != {"type": "null"}]
    if len(options) != 1:
        return schema
    rest = {k: v for k, v in schema.items() if k not in ("anyOf", "title")}
    return {**options[0], **rest}


def render_document(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
