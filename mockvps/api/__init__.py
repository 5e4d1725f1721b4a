"""The HTTP layer: FastAPI routes, wire schemas and error rendering over the domain."""

from mockvps.api.app import create_app

__all__ = ["create_app"]
