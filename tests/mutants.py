"""Deliberately broken variants of the mock: the contract suite must fail on every one of them.

Each is an app factory `(settings, *, clock) -> app` for `pytest mockvps/conformance --app-factory tests.mutants:NAME`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from fastapi import FastAPI

from mockvps import lifecycle
from mockvps.app import create_app
from mockvps.backend import Account, Backend, Server, ServerChanges
from mockvps.clock import Clock
from mockvps.errors import NotFound
from mockvps.lifecycle import ServerStatus
from mockvps.settings import Settings

Body = Any
Change = Callable[[str, str, int, Body], tuple[int, Body]]


def faithful(settings: Settings, *, clock: Clock) -> FastAPI:
    """The real mock, through the same harness: the suite must pass on it."""
    return create_app(settings, clock=clock)


def _rewriting(settings: Settings, clock: Clock, change: Change, content_type: bytes | None = None) -> Any:
    """The real mock behind a middleware that rewrites JSON answers: change(method, path, status, body)."""
    app = create_app(settings, clock=clock)

    async def rewritten(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        start: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def capture(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            else:
                chunks.append(message.get("body", b""))

        await app(scope, receive, capture)
        raw = b"".join(chunks)
        status = start["status"]
        headers = [(k, v) for k, v in start["headers"] if k.lower() not in (b"content-length", b"content-type")]
        if raw:
            status, body = change(scope["method"], scope["path"], status, json.loads(raw))
            raw = json.dumps(body).encode() if body is not None else b""
        if raw:
            headers.append((b"content-type", content_type or b"application/json"))
        headers.append((b"content-length", str(len(raw)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": raw})

    rewritten.state = app.state  # type: ignore[attr-defined]
    return rewritten


def _with_backend(settings: Settings, clock: Clock, cls: type[Backend]) -> FastAPI:
    base = settings.backend(clock)
    backend = cls(base.catalog, clock, base.delays, accounts=settings.account_specs())
    return create_app(settings, clock=clock, backend=backend)


DETAIL = re.compile(r"^/api/v1/servers/\d+/$")


# -- shapes and codes -------------------------------------------------------------------------------------------


def missing_field(settings: Settings, *, clock: Clock) -> Any:
    """Detail answers lose ipv6_address."""

    def change(method: str, path: str, status: int, body: Body) -> tuple[int, Body]:
        if method == "GET" and DETAIL.match(path) and status == 200:
            body.pop("ipv6_address", None)
        return status, body

    return _rewriting(settings, clock, change)


def wrong_status_code(settings: Settings, *, clock: Clock) -> Any:
    """Create answers 200 instead of 201."""
    return _rewriting(settings, clock, lambda m, p, s, b: (200 if s == 201 else s, b))


def unprocessable_422(settings: Settings, *, clock: Clock) -> Any:
    """Bad fields are answered 422, FastAPI's habit, instead of the documented 400."""
    return _rewriting(settings, clock, lambda m, p, s, b: (422 if s == 400 and "detail" not in b else s, b))


def wrong_content_type(settings: Settings, *, clock: Clock) -> Any:
    """JSON is sent as text/plain."""
    return _rewriting(settings, clock, lambda m, p, s, b: (s, b), content_type=b"text/plain")


def count_wrong(settings: Settings, *, clock: Clock) -> Any:
    """The list's count is the account's total, whatever the filter."""

    def change(method: str, path: str, status: int, body: Body) -> tuple[int, Body]:
        if method == "GET" and path == "/api/v1/servers/" and status == 200:
            body["count"] += 1
        return status, body

    return _rewriting(settings, clock, change)


def server_error(settings: Settings, *, clock: Clock) -> Any:
    """A PATCH that sets the hostname crashes with 500."""

    def change(method: str, path: str, status: int, body: Body) -> tuple[int, Body]:
        if method == "PATCH" and status == 200 and body.get("hostname") is None:
            return 500, {"detail": "Internal server error."}
        return status, body

    return _rewriting(settings, clock, change)


def created_already_active(settings: Settings, *, clock: Clock) -> Any:
    """A create answers active with an address, skipping provisioning."""

    def change(method: str, path: str, status: int, body: Body) -> tuple[int, Body]:
        if status == 201:
            body.update(status="active", ip_address="203.0.113.99")
        return status, body

    return _rewriting(settings, clock, change)


# -- behaviour --------------------------------------------------------------------------------------------------


def auth_not_enforced(settings: Settings, *, clock: Clock) -> Any:
    """Requests without credentials are served as the default account."""
    app = create_app(settings, clock=clock)

    async def lenient(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and not any(name == b"authorization" for name, _ in scope["headers"]):
            scope = {**scope, "headers": [*scope["headers"], (b"authorization", f"Bearer {settings.token}".encode())]}
        await app(scope, receive, send)

    lenient.state = app.state  # type: ignore[attr-defined]
    return lenient


def filter_ignored(settings: Settings, *, clock: Clock) -> FastAPI:
    """The status filter is ignored."""

    class Ignoring(Backend):
        def list_servers(self, account: Account, status: Any = None, location: Any = None) -> list[Server]:
            return super().list_servers(account, None, location)

    return _with_backend(settings, clock, Ignoring)


def delete_does_not_delete(settings: Settings, *, clock: Clock) -> FastAPI:
    """DELETE answers 204 and keeps the server."""

    class Keeping(Backend):
        def delete_server(self, account: Account, server_id: int) -> None:
            self.get_server(account, server_id)

    return _with_backend(settings, clock, Keeping)


def cross_account_visible(settings: Settings, *, clock: Clock) -> FastAPI:
    """A server id is found in whichever account holds it."""

    class Leaky(Backend):
        def get_server(self, account: Account, server_id: int) -> Server:
            for other in [account, *self.accounts.values()]:
                if server_id in other.servers:
                    return super().get_server(other, server_id)
            raise NotFound()

    return _with_backend(settings, clock, Leaky)


def default_changed(settings: Settings, *, clock: Clock) -> FastAPI:
    """Backups are on unless asked otherwise."""

    class Generous(Backend):
        def create_server(self, account: Account, **fields: Any) -> Server:
            if not fields.get("backups_enabled"):
                fields["backups_enabled"] = True
            return super().create_server(account, **fields)

    return _with_backend(settings, clock, Generous)


def put_accepts_partial(settings: Settings, *, clock: Clock) -> Any:
    """PUT behaves like PATCH: fields may be left out."""
    return _put_as_patch(create_app(settings, clock=clock))


def _put_as_patch(app: FastAPI) -> Any:
    async def routed(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] == "PUT":
            scope = {**scope, "method": "PATCH"}
        await app(scope, receive, send)

    routed.state = app.state  # type: ignore[attr-defined]
    return routed


def patch_changes_other_fields(settings: Settings, *, clock: Clock) -> FastAPI:
    """PATCH resets the fields it was not given."""

    class Resetting(Backend):
        def update_server(self, account: Account, server_id: int, changes: ServerChanges) -> Server:
            full = ServerChanges(hostname=None, backups_enabled=False)
            full.update(changes)
            return super().update_server(account, server_id, full)

    return _with_backend(settings, clock, Resetting)


def updated_at_frozen(settings: Settings, *, clock: Clock) -> FastAPI:
    """updated_at keeps the creation time forever."""

    class Frozen(Backend):
        def update_server(self, account: Account, server_id: int, changes: ServerChanges) -> Server:
            server = super().update_server(account, server_id, changes)
            server.updated_at = server.created_at
            return server

        def _settle(self, server: Server, now: Any) -> None:
            super()._settle(server, now)
            server.updated_at = server.created_at

    return _with_backend(settings, clock, Frozen)


def _with_rules(settings: Settings, clock: Clock, edit: Callable[[dict[Any, Any], dict[Any, Any]], None]) -> FastAPI:
    actions = {a: lifecycle.ActionRule(dict(r.moves), dict(r.refusals), r.otherwise, r.message)
               for a, r in lifecycle.ACTIONS.items()}  # fmt: skip
    settles = dict(lifecycle.SETTLES)
    edit(actions, settles)

    class Rewired(Backend):
        def _act(self, account: Account, server_id: int, action: lifecycle.Action) -> Server:
            saved = dict(lifecycle.ACTIONS)
            lifecycle.ACTIONS.update(actions)
            try:
                return super()._act(account, server_id, action)
            finally:
                lifecycle.ACTIONS.update(saved)

        def _settle(self, server: Server, now: Any) -> None:
            saved = dict(lifecycle.SETTLES)
            lifecycle.SETTLES.clear()
            lifecycle.SETTLES.update(settles)
            try:
                super()._settle(server, now)
            finally:
                lifecycle.SETTLES.clear()
                lifecycle.SETTLES.update(saved)

    return _with_backend(settings, clock, Rewired)


def start_of_running_accepted(settings: Settings, *, clock: Clock) -> FastAPI:
    """Start is accepted from active too."""
    S = ServerStatus  # noqa: N806
    return _with_rules(settings, clock, lambda a, s: a[lifecycle.Action.START].moves.update({S.ACTIVE: S.STARTING}))


def reboot_of_stopped_accepted(settings: Settings, *, clock: Clock) -> FastAPI:
    """Reboot is accepted from stopped too."""
    S = ServerStatus  # noqa: N806
    return _with_rules(settings, clock, lambda a, s: a[lifecycle.Action.REBOOT].moves.update({S.STOPPED: S.REBOOTING}))


def stop_leads_to_active(settings: Settings, *, clock: Clock) -> FastAPI:
    """A stopping server comes back active instead of stopped."""
    S = ServerStatus  # noqa: N806
    return _with_rules(settings, clock, lambda a, s: s.update({S.STOPPING: (S.ACTIVE, lifecycle.DelayKind.ACTION)}))


def never_active(settings: Settings, *, clock: Clock) -> FastAPI:
    """Provisioning never ends."""
    slow = settings.model_copy(update={"provisioning_delay": timedelta(days=3650).total_seconds()})
    return create_app(slow, clock=clock)


MUTANTS = sorted(
    name
    for name, value in dict(globals()).items()
    if callable(value) and not name.startswith("_") and value.__module__ == __name__ and name != "faithful"
    and value.__doc__
)  # fmt: skip
