"""The control API's own document (`openapi/control.json`): never part of the contract document."""

from __future__ import annotations

from typing import Any

from fastapi.openapi.utils import get_openapi

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
            '`Authorization: Bearer <admin token>`. Errors are `{"detail": ...}` or `{"<field>": [...]}`.'
        ),
        routes=[*health_router.routes, *router.routes],
        servers=[{"url": "http://127.0.0.1:8000"}],
    )
    _without_422(doc)
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
