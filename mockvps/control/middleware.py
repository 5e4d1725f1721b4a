"""What wraps every control call, as ASGI middleware: writes only from the mock's own pages or from programs,
HEAD wherever GET is answered, and the security headers of every page.

A web page may send a "simple" POST to any address without asking first (no CORS preflight): with no body, or
a text/plain, form or multipart one. So a write is refused when it names another origin (`Origin`,
`Sec-Fetch-Site: cross-site`) or carries a body of any type but JSON; a program (curl, httpx, the testing
client) sends no Origin and either JSON or no body at all, and the dashboard is of the mock's own origin.
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mockvps.control.responses import JSONResponse
from mockvps.shared.access import HostRule, host_name

__all__ = ["WRITES", "WRITE_REFUSALS", "HeadAsGet", "SecurityHeaders", "WriteGuard", "content_security_policy"]

WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})

# What `WriteGuard` answers, as the control document describes it for every write.
WRITE_REFUSALS = {
    403: "Sent by a web page of another origin (Origin, Sec-Fetch-Site); nothing changed.",
    415: "A body that is not JSON (a web page can send text, form and multipart bodies unasked); nothing changed.",
}

# Only the mock's own origin, for the dashboard; a page may widen one directive (the documentation pages do).
_POLICY: dict[str, str] = {
    "default-src": "'none'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self'",
    "connect-src": "'self'",
    "base-uri": "'none'",
    "form-action": "'none'",
    "frame-ancestors": "'none'",
}


def content_security_policy(**widened: str) -> str:
    """The mock's policy with some directives replaced: `content_security_policy(img_src="'self' data:")`."""
    directives = {**_POLICY, **{name.replace("_", "-"): value for name, value in widened.items()}}
    return "; ".join(f"{name} {value}" for name, value in directives.items())


DEFAULT_POLICY = content_security_policy()


class WriteGuard:
    """Refuses a control write from a page of another origin (403) or with a body a page can send unasked (415)."""

    def __init__(self, app: ASGIApp, hosts: HostRule) -> None:
        self.app = app
        self.hosts = hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in WRITES:
            headers = {name: value.decode("latin-1") for name, value in scope["headers"]}
            refusal = self.refusal(headers)
            if refusal is not None:
                await refusal(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def refusal(self, headers: Mapping[bytes, str]) -> JSONResponse | None:
        origin = headers.get(b"origin")
        if origin is not None and not self._own_origin(origin, headers.get(b"host")):
            detail = (
                f'A page of origin "{origin[:200]}" may not change the mock: only its own pages and programs may '
                "(allow another origin's host with --allowed-host)."
            )
            return JSONResponse({"detail": detail}, status_code=403)
        if headers.get(b"sec-fetch-site") == "cross-site":
            return JSONResponse({"detail": "A page of another site may not change the mock."}, status_code=403)
        content_type = headers.get(b"content-type")
        if content_type is not None and content_type.partition(";")[0].strip().lower() != "application/json":
            detail = f'Unsupported media type "{content_type[:200]}" in request.'
            return JSONResponse({"detail": detail}, status_code=415)
        return None

    def _own_origin(self, origin: str, host: str | None) -> bool:
        """The mock's own origin (the authority the request was sent to), or a host allowed by name."""
        _, separator, authority = origin.partition("://")
        if not separator or not authority or "/" in authority:  # "null" (a sandboxed or file: page) or malformed
            return False
        if host is not None and authority.lower() == host.strip().lower():
            return True
        return self.hosts.configured(host_name(authority))


class HeadAsGet:
    """HEAD answers as GET would, without the body (FastAPI's routes answer GET alone)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def without_body(message: Message) -> None:
            if message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return
                message = {"type": "http.response.body", "body": b""}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, without_body)


class SecurityHeaders:
    """nosniff on every answer; on a page, the mock's content security policy (unless the page brings its own),
    no framing and no referrer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": _secured(list(message.get("headers", [])))}
            await send(message)

        await self.app(scope, receive, with_headers)


def _secured(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    names = {name.lower(): value for name, value in headers}
    headers.append((b"x-content-type-options", b"nosniff"))
    if names.get(b"content-type", b"").startswith(b"text/html"):
        if b"content-security-policy" not in names:
            headers.append((b"content-security-policy", DEFAULT_POLICY.encode()))
        headers += [(b"x-frame-options", b"DENY"), (b"referrer-policy", b"no-referrer")]
    return headers
