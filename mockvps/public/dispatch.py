"""The public API as a plain ASGI app.

It routes by the operation table of `operations`, answers CORS preflights (`cors`), checks credentials and then
the token's permissions before anything else, reads bodies with `shared.requests`, renders errors with
`shared.http_errors.render`, applies fault rules, writes the journal and counts the request for coverage
(`shared.coverage`). FastAPI's per-request machinery (dependency solving, routing through included routers,
telemetry) cost several times the mock's own work, so the hot path does without it; FastAPI serves the control API
and the documentation pages.
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, quote

import orjson

from mockvps.errors import InvalidToken, MockVPSError, NotAuthenticated, NotFound, PermissionDenied, StoreFailed
from mockvps.public.cors import CorsPolicy, Headers
from mockvps.public.operations import OPERATIONS, Call, Operation
from mockvps.public.rendering import ListCache, timestamp
from mockvps.shared.coverage import Shown
from mockvps.shared.faults import DropConnection, FaultRule, RequestFacts
from mockvps.shared.http_errors import render
from mockvps.shared.journal import KEPT_BYTES
from mockvps.shared.requests import BodyInvalid, HttpError, bearer_token, parse_body, read_body, server_id_of

if TYPE_CHECKING:
    from starlette.types import Message, Receive, Scope, Send

    from mockvps.shared.state import MockState

__all__ = ["PUBLIC_PREFIX", "READS", "PublicAPI", "Resource"]

log = logging.getLogger("mockvps")

PUBLIC_PREFIX = "/api/"
JSON_TYPE = (b"content-type", b"application/json")
READS = frozenset({"GET", "HEAD", "OPTIONS"})
"""What `<resource>:read` allows; every other method needs `<resource>:write`."""


@dataclass(frozen=True, slots=True)
class Resource:
    """One path of the table: its operations by method, and what DRF says of it (Allow, OPTIONS metadata)."""

    path: str
    """As the operation table writes it: /api/v1/servers/{server_id}/."""
    pattern: re.Pattern[str]
    operations: dict[str, Operation]
    allow: str
    """The path's methods, then HEAD (where GET is) and OPTIONS, as DRF lists them."""
    metadata: bytes
    """DRF's answer to OPTIONS: the view's name and description, what it renders and parses."""
    guarded: bool
    """Whether a token needs `servers:read` or `servers:write` here (not on account/me: any token may call it)."""

    def operation(self, method: str) -> Operation | None:
        """The operation a method runs: HEAD runs GET's, answered without its body."""
        return self.operations.get("GET" if method == "HEAD" else method)


_VIEW_NAMES = {"servers": "Server List", "{server_id}": "Server Instance", "me": "Account"}


def _view_name(path: str) -> str:
    """DRF's name of the view behind a path: `Server List`, `Server Instance`, `Account`, or the action (`Start`)."""
    last = path.rstrip("/").rpartition("/")[2]
    return _VIEW_NAMES.get(last, last.title())


def _compile(operations: tuple[Operation, ...]) -> list[Resource]:
    """One resource per path of the table, in the table's order."""
    paths: dict[str, dict[str, Operation]] = {}
    for op in operations:
        paths.setdefault(op.path, {})[op.method] = op
    resources = []
    for path, ops in paths.items():
        methods = [*ops, *(["HEAD"] if "GET" in ops else []), "OPTIONS"]
        first = next(iter(ops.values()))
        metadata = {
            "name": _view_name(path),
            "description": first.description,
            "renders": ["application/json"],
            "parses": ["application/json"],
        }
        pattern = re.compile("^" + path.replace("{server_id}", "([^/]+)") + "$")
        guarded = first.permission is not None
        assert first.permission in (None, "servers"), "a token's permissions are resolved for servers only"
        resources.append(Resource(path, pattern, ops, ", ".join(methods), orjson.dumps(metadata), guarded))
    return resources


ROUTES = _compile(OPERATIONS)


def _route(path: str) -> tuple[Resource, str | None] | None:
    for resource in ROUTES:
        found = resource.pattern.match(path)
        if found:
            return resource, found.group(1) if found.groups() else None
    return None


class PublicAPI:
    def __init__(self, state: MockState) -> None:
        self.state = state
        self.lists = ListCache()
        settings = state.settings
        self.cors = CorsPolicy(settings.cors_origins) if settings.cors_origins else None
        self.page_size = settings.page_size

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        state = self.state
        backend = state.backend
        method, path = scope["method"], scope["path"]
        authorization = content_type = content_length = origin = preflight = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                authorization = value.decode("latin-1")
            elif name == b"content-type":
                content_type = value.decode("latin-1")
            elif name == b"content-length":
                content_length = value.decode("latin-1")
            elif name == b"origin":
                origin = value.decode("latin-1")
            elif name == b"access-control-request-method":
                preflight = value
        token = bearer_token(authorization)
        credentials = backend.credentials(token) if token else None
        account = credentials[0] if credentials else None
        route = _route(path)
        operation = route[0].operation(method) if route else None
        facts = RequestFacts(
            method, path, operation.operation_id if operation else None, account.name if account else None
        )
        cors: Headers = ()
        preflight_answer = False
        if self.cors is not None and origin is not None:
            if method == "OPTIONS" and preflight is not None:
                cors = self.cors.preflight(origin) or ()
                preflight_answer = bool(cors)
            else:
                cors = self.cors.answer(origin) or ()
        rule = state.faults.pick(facts) if state.faults.rules and not preflight_answer else None

        chunks: list[bytes] = []
        shown: list[Shown] = []
        refused: Exception | None = None

        async def tee() -> Message:
            message = await receive()
            if message["type"] == "http.request" and sum(map(len, chunks)) < KEPT_BYTES:
                chunks.append(message.get("body", b""))
            return message

        status, answer = 500, b""
        try:
            if preflight_answer:
                # django-cors-headers answers a preflight from an allowed origin before any view: no token needed.
                status, answer = 200, await _send(send, 200, None, {}, cors=cors)
                return
            if rule is not None:
                faulted = await _apply_fault(rule, tee, send, cors)
                if faulted is not None:
                    status, answer = rule.status or 0, faulted
                    return
            try:
                if route is None:
                    raise self._not_routed(path, scope)
                if token is None:
                    raise NotAuthenticated()
                if credentials is None:
                    raise InvalidToken()
                resource = route[0]
                held = credentials[1]
                # DRF's order: the token's permissions before the method, the body and the server.
                if resource.guarded and not (held.reads_servers if method in READS else held.writes_servers):
                    raise PermissionDenied()
                headers: dict[str, str] = {}
                payload: Any
                if operation is None and method == "OPTIONS":
                    status, payload, headers = 200, resource.metadata, {"Allow": resource.allow}
                elif operation is None:
                    raise HttpError(405, f'Method "{method}" not allowed.', {"Allow": resource.allow})
                else:
                    body = None
                    if operation.body is not None:  # the body is judged before the server is looked up
                        raw = await read_body(tee, content_length, state.settings.max_body_size)
                        body = parse_body(raw, content_type, operation.body, state.settings.max_json_depth)
                    server_id = server_id_of(route[1]) if route[1] is not None else 0
                    query_string = scope["query_string"]
                    query = (
                        dict(parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)) if query_string else {}
                    )
                    # A HEAD renders with a list cache of its own: what it rendered but did not show must be
                    # rendered (and counted as shown) anew for the next GET.
                    lists = self.lists if method != "HEAD" else ListCache()
                    call = Call(
                        backend, credentials[0], held, server_id, query, body, lists, self.page_size, scope, shown
                    )
                    status, payload = operation.handler(call)
            except (MockVPSError, HttpError, BodyInvalid) as error:
                refused = error
                status, payload, headers = render(error)
            except Exception:  # a bug of the mock: say so plainly, never with a stack trace
                log.exception("unexpected error on %s %s", method, path)
                status, payload, headers = 500, {"detail": "Internal server error."}, {}
            if state.store is not None and state.store.commits.pending:
                try:  # no answer acknowledges, or shows, a change before it is on disk
                    await state.store.commits.settled()
                except StoreFailed as error:
                    refused, shown[:] = error, []
                    status, payload, headers = render(error)
            answer = await _send(send, status, payload, headers, head=method == "HEAD", cors=cors)
        finally:
            state.journal.record(
                time=timestamp(backend.clock.now()),
                account=facts.account,
                method=method,
                path=path,
                query=scope["query_string"].decode("latin-1"),
                operation=facts.operation,
                body=b"".join(chunks)[:KEPT_BYTES],
                status=status,
                fault=rule.id if rule else None,
                answer=answer[:KEPT_BYTES],
            )
            state.coverage.record(
                facts.account,
                method,
                route[0].path if route else _redirected(path) if status == 301 else None,
                None if rule is not None and rule.drop else status,
                () if method == "HEAD" else shown,  # a HEAD's answer shows no server
                refused,
                rule,
            )

    @staticmethod
    def _not_routed(path: str, scope: Scope) -> Exception:
        if not path.endswith("/") and _route(path + "/") is not None:
            # Django's APPEND_SLASH: a documented path without its slash is a permanent redirect.
            query = scope["query_string"].decode("latin-1")
            # A header value is Latin-1: the path goes back percent-encoded, as a client would send it.
            location = quote(path + "/", safe="/!$&'()*+,;=:@-._~") + (f"?{query}" if query else "")
            return HttpError(301, None, {"Location": location})
        return NotFound()


def _redirected(path: str) -> str | None:
    """The path of the table a path without its trailing slash is redirected to."""
    route = _route(path + "/")
    return route[0].path if route else None


async def _send(
    send: Send, status: int, payload: Any, headers: dict[str, str], *, head: bool = False, cors: Headers = ()
) -> bytes:
    """Send an answer (to HEAD: its headers only, Content-Length included), with the CORS headers an allowed
    origin gets; returns what was sent, for the journal."""
    body = b"" if payload is None else payload if isinstance(payload, bytes) else orjson.dumps(payload)
    raw_headers = [JSON_TYPE] if payload is not None else []
    raw_headers += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
    raw_headers += cors
    raw_headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": b"" if head else body})
    return b"" if head else body


async def _apply_fault(rule: FaultRule, receive: Receive, send: Send, cors: Headers) -> bytes | None:
    """Apply a fault; the body it answered with when it answered the request itself, else None."""
    delay = rule.latency()
    if delay:
        await asyncio.sleep(delay)
    if not rule.drop and rule.status is None:
        return None
    while (await receive()).get("more_body"):  # read the request, so the journal shows what was sent
        pass
    if rule.drop:
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"65536")]})
        raise DropConnection()
    assert rule.status is not None
    return await _send(send, rule.status, rule.body, rule.headers, cors=cors)
