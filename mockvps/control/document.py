"""The control API's own document (`openapi/control.json`): never part of the contract document."""

from __future__ import annotations

from typing import Any

from fastapi.openapi.utils import get_openapi

from mockvps.control.middleware import WRITE_REFUSALS, WRITES
from mockvps.control.routes import REQUEST_MODELS, health_router, router
from mockvps.shared.openapi import add_models

__all__ = ["control_document"]


def control_document() -> dict[str, Any]:
    """The mock's own API under /_mockvps/: never part of the contract document."""
    doc = get_openapi(
        title="mockvps control API",
        version="1",
        openapi_version="3.1.0",
        description=(
            "Steer a running mock: accounts, state, time, operator actions, faults and the request journal. "
            "When the mock has an admin token (MOCKVPS_ADMIN_TOKEN), every call but /_mockvps/health needs "
            "`Authorization: Bearer <admin token>`. A write sent by a web page of another origin, or with a body "
            "that is not JSON, is refused; a Host header the mock does not answer (MOCKVPS_ALLOWED_HOSTS) gets 400 "
            'before anything else. HEAD is answered wherever GET is. Errors are `{"detail": ...}` or '
            '`{"<field>": [...]}`.'
        ),
        routes=[*health_router.routes, *router.routes],
        servers=[{"url": "http://127.0.0.1:8000"}],
    )
    _without_422(doc)
    _write_refusals(doc)
    components = doc.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    add_models(schemas, [(m, "validation") for m in REQUEST_MODELS])
    components["schemas"] = dict(sorted(schemas.items()))
    components["securitySchemes"] = {"adminToken": {"type": "http", "scheme": "bearer"}}
    doc["security"] = [{"adminToken": []}, {}]
    return doc


def _without_422(doc: dict[str, Any]) -> None:
    """FastAPI documents a 422 for every operation with parameters; mockvps answers 400 (or 404) instead."""
    schemas = doc.get("components", {}).get("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    for operations in doc["paths"].values():
        for operation in operations.values():
            operation["responses"].pop("422", None)


def _write_refusals(doc: dict[str, Any]) -> None:
    """What the middleware answers before any write's route runs (`middleware.WriteGuard`)."""
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorDetail"}}}
    for operations in doc["paths"].values():
        for method, operation in operations.items():
            if method.upper() in WRITES:
                for status, description in WRITE_REFUSALS.items():
                    operation["responses"][str(status)] = {"description": description, "content": error}
                operation["responses"] = dict(sorted(operation["responses"].items()))
