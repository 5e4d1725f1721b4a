"""The mock's own surface under `/_mockvps/`; never part of the contract document."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from mockvps.api.responses import JSONResponse

__all__ = ["router"]

router = APIRouter(prefix="/_mockvps", tags=["mockvps"])


@router.get("/health", operation_id="health")
async def health() -> Response:
    """200 once the app is ready to serve."""
    return JSONResponse({"status": "ok"})
