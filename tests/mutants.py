"""Deliberately broken variants of the mock, each naming the one test of the contract suite that must catch it.

Each variant is an app factory `(settings, *, clock) -> app` for
`pytest mockvps/conformance --app-factory tests.mutants:NAME`, and `VARIANTS[NAME].caught_by` names the test that
must fail on it: a node id from the repository's root, or the prefix of a parametrized test's ids.
`tests/test_contract_suite.py` runs the whole suite on each and checks that exactly that test failed, with a
finding, and that the mock did not crash: a variant is caught by the test it was written for, never by accident.
So each variant breaks one thing, and breaks it only where its test looks.

A variant changes the mock through its public seams only: the lifecycle tables its backend follows
(`Backend(..., lifecycle=...)`), a public backend method, or the HTTP exchange around the app.
"""

from __future__ import annotations

import functools
import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Protocol

from starlette.types import Message, Receive, Scope, Send

from mockvps.app import create_app
from mockvps.backend import Account, Backend, Server, ServerChanges
from mockvps.clock import Clock
from mockvps.lifecycle import ACTIONS, LIFECYCLE, SETTLES, Action, DelayKind, Lifecycle, ServerStatus
from mockvps.settings import Settings
from mockvps.shared.state import MockState
from mockvps.tokens import Token

__all__ = [
    "ACCOUNT",
    "BEHAVIOUR",
    "MUTANTS",
    "PROTOCOL",
    "SCHEMA",
    "VARIANTS",
    "Answer",
    "App",
    "AppFactory",
    "Exchange",
    "Request",
    "Variant",
    "Watched",
    "caught_by",
    "crashing",
    "faithful",
]

S = ServerStatus
ACCOUNT = "mockvps/conformance/test_account.py::"
BEHAVIOUR = "mockvps/conformance/test_behaviour.py::"
PROTOCOL = "mockvps/conformance/test_protocol.py::"
SCHEMA = "mockvps/conformance/test_schema.py::"
SERVERS = "/api/v1/servers/"
DETAIL = re.compile(r"^/api/v1/servers/\d+/$")

log = logging.getLogger("mockvps.mutants")


class App(Protocol):
    """What the suite's in-process target needs: an ASGI app with the mock's state."""

    state: MockState

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None: ...


class AppFactory(Protocol):
    __name__: str

    def __call__(self, settings: Settings, *, clock: Clock) -> App: ...


@dataclass(frozen=True)
class Variant:
    doc: str
    caught_by: tuple[str, ...]
    """The tests that must fail on it, and no other: one, unless the comment at the variant says why not."""


VARIANTS: dict[str, Variant] = {}


def caught_by(*tests: str) -> Callable[[AppFactory], AppFactory]:
    """Register a variant and the test that must catch it; its app is watched for exceptions that escape it."""

    def register(factory: AppFactory) -> AppFactory:
        @functools.wraps(factory)
        def watched(settings: Settings, *, clock: Clock) -> App:
            return Watched(factory(settings, clock=clock))

        VARIANTS[factory.__name__] = Variant(doc=factory.__doc__ or "", caught_by=tests)
        return watched

    return register


class Watched:
    """A variant's app; an exception that escapes it is logged under `mockvps`, where the self-test sees crashes."""

    def __init__(self, app: App) -> None:
        self.state = app.state
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self._app(scope, receive, send)
        except Exception:
            log.exception("the variant crashed on %s %s", scope.get("method"), scope.get("path"))
            raise


def faithful(settings: Settings, *, clock: Clock) -> App:
    """The real mock, through the same harness: the suite must pass on it."""
    return Watched(create_app(settings, clock=clock))


def crashing(settings: Settings, *, clock: Clock) -> App:
    """Not a variant: a mock whose listing dies of a TypeError (a 500), as variants that overrode private
    methods with the wrong signature did. The self-test must tell this from a departure."""

    class Broken(Backend):
        def list_servers(
            self, account: Account, status: ServerStatus | None = None, location: str | None = None
        ) -> list[Server]:
            raise TypeError("list_servers() takes 2 positional arguments but 4 were given")

    return Watched(_with_backend(settings, clock, Broken))


# -- the seams ----------------------------------------------------------------------------------------------------


def _with_backend(
    settings: Settings, clock: Clock, cls: type[Backend] = Backend, lifecycle: Lifecycle = LIFECYCLE
) -> App:
    """The mock on a backend of class `cls` (one that overrides public methods only) following `lifecycle`."""

    def build() -> Backend:
        return cls(settings.load_catalog(), clock, settings.delays(), accounts=settings.account_specs(),
                   limits=settings.limits(), lifecycle=lifecycle)  # fmt: skip

    app = create_app(settings, clock=clock, backend=build())
    app.state.fresh_backend = build  # a reset through the control API keeps the variant
    return app


def _allowing(action: Action, source: ServerStatus, target: ServerStatus) -> Lifecycle:
    """The documentation's lifecycle, but `action` is also accepted from `source`, leading to `target`."""
    rule = ACTIONS[action]
    looser = replace(rule, moves={**rule.moves, source: target})
    return replace(LIFECYCLE, actions={**ACTIONS, action: looser})


@dataclass
class Request:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    """Lower-case names."""
    body: bytes = b""
    """As much of the body as the mock read (all of it, when it answered 2xx)."""

    def json(self) -> Any:
        """The body, parsed; None when it is not JSON."""
        try:
            return json.loads(self.body)
        except ValueError:
            return None


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    """Lower-case names; content-length is set afresh from the body."""
    body: Any
    """The JSON answer, parsed (None when there was no body)."""


Change = Callable[[Request, Answer], None]


def _unchanged(request: Request, answer: Answer) -> None:
    pass


def _same_method(request: Request) -> str:
    return request.method


class Exchange:
    """The mock behind a middleware that may change a request's method, and rewrites its JSON answers."""

    def __init__(self, app: App, change: Change = _unchanged, method: Callable[[Request], str] = _same_method) -> None:
        self.state = app.state
        self.app = app
        self.change = change
        self.method = method

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(
            method=scope["method"],
            path=scope["path"],
            query=scope["query_string"].decode("latin-1"),
            headers={k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]},
        )
        start: Message = {}
        chunks: list[bytes] = []
        read: list[bytes] = []

        async def reading() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                read.append(message.get("body", b""))
            return message

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            else:
                chunks.append(message.get("body", b""))

        await self.app({**scope, "method": self.method(request)}, reading, capture)
        request.body = b"".join(read)
        raw = b"".join(chunks)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in start["headers"]}
        answer = Answer(start["status"], headers, json.loads(raw) if raw else None)
        self.change(request, answer)
        raw = json.dumps(answer.body).encode() if answer.body is not None else b""
        answer.headers["content-length"] = str(len(raw))
        encoded = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in answer.headers.items()]
        await send({"type": "http.response.start", "status": answer.status, "headers": encoded})
        await send({"type": "http.response.body", "body": raw})


def _rewriting(settings: Settings, clock: Clock, change: Change) -> App:
    return Exchange(create_app(settings, clock=clock), change)


def _servers_in(body: Any) -> list[dict[str, Any]]:
    """The server objects of an answer: a detail, or each result of a list."""
    if isinstance(body, dict) and isinstance(body.get("results"), list):
        return [s for s in body["results"] if isinstance(s, dict)]
    return [body] if isinstance(body, dict) and "created_at" in body else []


# -- authentication -------------------------------------------------------------------------------------------


# Not enforcing authentication is caught wherever a request goes without credentials, and the suite sends such
# requests on purpose from three tests: schemathesis probes every operation without them (in the stateless and
# the stateful run), and the protocol test pins the exact 401 answer. No narrower variant would still be this
# departure; `wrong_token_forbidden` below is the protocol test's alone.
@caught_by(
    PROTOCOL + "test_every_operation_refuses_a_missing_or_wrong_token_with_401",
    SCHEMA + "test_operation_conforms",
    SCHEMA + "test_stateful_sequences",
)
def auth_not_enforced(settings: Settings, *, clock: Clock) -> App:
    """Requests without credentials are served as the default account."""
    app = create_app(settings, clock=clock)

    @dataclass
    class Lenient:
        state: MockState

        async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] == "http" and not any(name == b"authorization" for name, _ in scope["headers"]):
                credentials = (b"authorization", f"Bearer {settings.token}".encode())
                scope = {**scope, "headers": [*scope["headers"], credentials]}
            await app(scope, receive, send)

    return Lenient(app.state)


@caught_by(PROTOCOL + "test_every_operation_refuses_a_missing_or_wrong_token_with_401[wrong token-")
def wrong_token_forbidden(settings: Settings, *, clock: Clock) -> App:
    """A wrong token is answered 403 instead of 401 (a missing one still gets 401)."""

    def change(request: Request, answer: Answer) -> None:
        if answer.status == 401 and "authorization" in request.headers:
            answer.status = 403

    return _rewriting(settings, clock, change)


# Schemathesis compares Allow with the document on OPTIONS only (on a 405 it asks for an Allow, whatever it
# says); the protocol test reads it on the 405s of the other methods, where this variant lists them all.
@caught_by(PROTOCOL + "test_an_undocumented_method_is_405_with_an_allow_listing_the_documented_ones")
def allow_lists_every_method(settings: Settings, *, clock: Clock) -> App:
    """A 405 answer's Allow lists every method, not the documented ones (OPTIONS, answered apart, is right)."""

    def change(request: Request, answer: Answer) -> None:
        if answer.status == 405 and request.method != "OPTIONS":
            answer.headers["allow"] = "GET, POST, PUT, PATCH, DELETE"

    return _rewriting(settings, clock, change)


# -- shapes and codes -----------------------------------------------------------------------------------------


# The stateless run reads the documentation's active example servers; the stateful run follows links from what
# it creates (never active long enough there to lose the field). The scenarios never read resource_usage.
@caught_by(SCHEMA + "test_operation_conforms")
def missing_field(settings: Settings, *, clock: Clock) -> App:
    """Answers about an active server lack resource_usage."""

    def change(request: Request, answer: Answer) -> None:
        if DETAIL.match(request.path) and answer.status == 200 and answer.body.get("status") == "active":
            answer.body.pop("resource_usage", None)

    return _rewriting(settings, clock, change)


# The stateful run lists with generated filters too, and checks the answer against the document as the
# stateless run does: an invalid filter answered 200 departs in both.
@caught_by(SCHEMA + "test_operation_conforms[GET /api/v1/servers/]", SCHEMA + "test_stateful_sequences")
def invalid_filter_accepted(settings: Settings, *, clock: Clock) -> App:
    """A list with an invalid filter answers 200 and no servers, instead of 400."""

    def change(request: Request, answer: Answer) -> None:
        if request.method == "GET" and request.path == SERVERS and answer.status == 400:
            answer.status, answer.body = 200, {"count": 0, "results": []}

    return _rewriting(settings, clock, change)


@caught_by(SCHEMA + "test_operation_conforms[POST /api/v1/servers/]")
def unprocessable_422(settings: Settings, *, clock: Clock) -> App:
    """A create with bad fields is answered 422, FastAPI's habit, instead of the documented 400."""

    def change(request: Request, answer: Answer) -> None:
        if (
            request.method == "POST"
            and request.path == SERVERS
            and answer.status == 400
            and "detail" not in answer.body
        ):
            answer.status = 422

    return _rewriting(settings, clock, change)


# Both schemathesis runs send bad fields and check the content type of every answer; the scenarios do not look.
@caught_by(SCHEMA + "test_operation_conforms", SCHEMA + "test_stateful_sequences")
def wrong_content_type(settings: Settings, *, clock: Clock) -> App:
    """Field errors are sent as text/plain."""

    def change(request: Request, answer: Answer) -> None:
        if answer.status == 400 and "detail" not in answer.body:
            answer.headers["content-type"] = "text/plain"

    return _rewriting(settings, clock, change)


# The documentation's own PATCH example ({"name": "new-server-name"}) is sent by the stateless run's examples
# phase alone: the scenarios rename to names of their own and the stateful run generates its bodies.
@caught_by(SCHEMA + "test_operation_conforms[PATCH /api/v1/servers/{server_id}/]")
def server_error(settings: Settings, *, clock: Clock) -> App:
    """A PATCH with the documentation's example body crashes with 500."""

    def change(request: Request, answer: Answer) -> None:
        sent = request.json()
        example = isinstance(sent, dict) and sent.get("name") == "new-server-name"
        if request.method == "PATCH" and example:
            answer.status, answer.body = 500, {"detail": "Internal server error."}

    return _rewriting(settings, clock, change)


# -- lists ------------------------------------------------------------------------------------------------------


@caught_by(BEHAVIOUR + "test_list_count_equals_the_number_of_results")
def count_wrong(settings: Settings, *, clock: Clock) -> App:
    """The unfiltered list's count is one more than the servers it lists."""

    def change(request: Request, answer: Answer) -> None:
        if request.method == "GET" and request.path == SERVERS and not request.query and answer.status == 200:
            answer.body["count"] += 1

    return _rewriting(settings, clock, change)


@caught_by(BEHAVIOUR + "test_status_filter_returns_only_matching_servers")
def filter_ignored(settings: Settings, *, clock: Clock) -> App:
    """The status filter is ignored."""

    class Ignoring(Backend):
        def list_servers(
            self, account: Account, status: ServerStatus | None = None, location: str | None = None
        ) -> list[Server]:
            return super().list_servers(account, None, location)

    return _with_backend(settings, clock, Ignoring)


@caught_by(BEHAVIOUR + "test_an_unknown_location_gives_an_empty_list")
def unknown_location_ignored(settings: Settings, *, clock: Clock) -> App:
    """A location no server is in lists every server, instead of none."""

    class Forgiving(Backend):
        def list_servers(
            self, account: Account, status: ServerStatus | None = None, location: str | None = None
        ) -> list[Server]:
            return super().list_servers(account, status, location) or super().list_servers(account, status)

    return _with_backend(settings, clock, Forgiving)


# -- lifecycle --------------------------------------------------------------------------------------------------


@caught_by(BEHAVIOUR + "test_a_created_server_provisions_without_an_address_then_is_active_with_one")
def created_already_active(settings: Settings, *, clock: Clock) -> App:
    """A create answers active with an address, skipping provisioning."""

    def change(request: Request, answer: Answer) -> None:
        if answer.status == 201:
            answer.body.update(status="active", ip_address="203.0.113.99")

    return _rewriting(settings, clock, change)


@caught_by(BEHAVIOUR + "test_a_created_server_provisions_without_an_address_then_is_active_with_one")
def never_addressed(settings: Settings, *, clock: Clock) -> App:
    """A server becomes active but never shows its addresses."""

    def change(request: Request, answer: Answer) -> None:
        for server in _servers_in(answer.body):
            server.update(ip_address=None, ipv6_address=None)

    return _rewriting(settings, clock, change)


@caught_by(BEHAVIOUR + "test_stop_leads_to_stopped_start_to_active_and_reboot_back_to_active")
def reboot_leads_to_stopped(settings: Settings, *, clock: Clock) -> App:
    """A rebooting server comes back stopped instead of active."""
    lifecycle = replace(LIFECYCLE, settles={**SETTLES, S.REBOOTING: (S.STOPPED, DelayKind.ACTION)})
    return _with_backend(settings, clock, lifecycle=lifecycle)


@caught_by(BEHAVIOUR + "test_start_of_a_running_server_is_refused_with_400")
def start_of_running_accepted(settings: Settings, *, clock: Clock) -> App:
    """Start is accepted from active too."""
    return _with_backend(settings, clock, lifecycle=_allowing(Action.START, S.ACTIVE, S.STARTING))


@caught_by(BEHAVIOUR + "test_reboot_of_a_stopped_server_is_refused_with_400")
def reboot_of_stopped_accepted(settings: Settings, *, clock: Clock) -> App:
    """Reboot is accepted from stopped too."""
    return _with_backend(settings, clock, lifecycle=_allowing(Action.REBOOT, S.STOPPED, S.REBOOTING))


@caught_by(BEHAVIOUR + "test_defaults_are_applied")
def default_changed(settings: Settings, *, clock: Clock) -> App:
    """Backups are on unless asked otherwise."""

    class Generous(Backend):
        def create_server(
            self,
            account: Account,
            *,
            name: str,
            plan_id: int,
            os_id: int,
            location: str,
            hostname: str | None = None,
            ssh_key_id: int | None = None,
            backups_enabled: bool = False,
        ) -> Server:
            return super().create_server(account, name=name, plan_id=plan_id, os_id=os_id, location=location,
                                         hostname=hostname, ssh_key_id=ssh_key_id, backups_enabled=True)  # fmt: skip

    return _with_backend(settings, clock, Generous)


# -- updates ----------------------------------------------------------------------------------------------------


@caught_by(BEHAVIOUR + "test_put_without_all_three_fields_is_refused_and_changes_nothing")
def put_accepts_partial(settings: Settings, *, clock: Clock) -> App:
    """PUT behaves like PATCH: fields may be left out."""

    def as_patch(request: Request) -> str:
        return "PATCH" if request.method == "PUT" else request.method

    return Exchange(create_app(settings, clock=clock), method=as_patch)


@caught_by(BEHAVIOUR + "test_patch_changes_only_the_fields_given")
def patch_changes_other_fields(settings: Settings, *, clock: Clock) -> App:
    """PATCH resets the fields it was not given."""

    class Resetting(Backend):
        def update_server(self, account: Account, server_id: int, changes: ServerChanges) -> Server:
            full = ServerChanges(hostname=None, backups_enabled=False)
            full.update(changes)
            return super().update_server(account, server_id, full)

    return _with_backend(settings, clock, Resetting)


@caught_by(BEHAVIOUR + "test_created_at_never_changes_and_updated_at_moves_forward")
def updated_at_frozen(settings: Settings, *, clock: Clock) -> App:
    """updated_at keeps the creation time forever."""

    def change(request: Request, answer: Answer) -> None:
        for server in _servers_in(answer.body):
            if "updated_at" in server:
                server["updated_at"] = server["created_at"]

    return _rewriting(settings, clock, change)


# -- delete and accounts ----------------------------------------------------------------------------------------


@caught_by(BEHAVIOUR + "test_delete_answers_204_without_a_body_then_404_and_the_server_is_gone")
def deleted_still_listed(settings: Settings, *, clock: Clock) -> App:
    """A deleted server is gone, yet the list still shows it."""

    class Remembering(Backend):
        @functools.cached_property
        def deleted(self) -> dict[str, list[Server]]:
            return {}

        def delete_server(self, account: Account, server_id: int) -> None:
            server = self.get_server(account, server_id)
            super().delete_server(account, server_id)
            self.deleted.setdefault(account.name, []).append(server)

        def list_servers(
            self, account: Account, status: ServerStatus | None = None, location: str | None = None
        ) -> list[Server]:
            return [*super().list_servers(account, status, location), *self.deleted.get(account.name, [])]

    return _with_backend(settings, clock, Remembering)


@caught_by(BEHAVIOUR + "test_one_account_cannot_see_or_touch_another_s_servers")
def cross_account_visible(settings: Settings, *, clock: Clock) -> App:
    """A server id is found, changed and deleted in whichever account holds it."""

    class Leaky(Backend):
        def holder(self, account: Account, server_id: int) -> Account:
            return next((a for a in [account, *self.accounts.values()] if server_id in a.servers), account)

        def get_server(self, account: Account, server_id: int) -> Server:
            return super().get_server(self.holder(account, server_id), server_id)

        def delete_server(self, account: Account, server_id: int) -> None:
            super().delete_server(self.holder(account, server_id), server_id)

    return _with_backend(settings, clock, Leaky)


# -- tokens and their permissions -------------------------------------------------------------------------------


def _token_of(app: App, authorization: str) -> tuple[Account, Token] | None:
    """The account and token an Authorization header names, as the mock knows them."""
    return app.state.backend.credentials(authorization.removeprefix("Bearer "))


@caught_by(ACCOUNT + "test_a_read_only_token_is_refused_every_write_with_403")
def read_only_token_creates(settings: Settings, *, clock: Clock) -> App:
    """A token that may only read servers may create them (its other writes are refused)."""
    app = create_app(settings, clock=clock)

    @dataclass
    class Lenient:
        state: MockState

        async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] == "http" and (scope["method"], scope["path"]) == ("POST", SERVERS):
                headers = dict(scope["headers"])
                found = _token_of(app, headers.get(b"authorization", b"").decode("latin-1"))
                if found is not None and not found[1].writes_servers:  # served as the token that may do everything
                    headers[b"authorization"] = f"Bearer {settings.token}".encode()
                    scope = {**scope, "headers": list(headers.items())}
            await app(scope, receive, send)

    return Lenient(app.state)


@caught_by(ACCOUNT + "test_a_403_never_tells_whether_a_server_exists")
def permission_checked_after_the_server(settings: Settings, *, clock: Clock) -> App:
    """A read-only token's write to a server that does not exist is answered 404, not 403: the permission is
    checked after the server is looked up, so a 403 tells that a server exists."""
    app = create_app(settings, clock=clock)

    def change(request: Request, answer: Answer) -> None:
        found = _token_of(app, request.headers.get("authorization", ""))
        server_id = re.match(r"^/api/v1/servers/(\d+)/", request.path)
        missing = found is not None and server_id is not None and int(server_id.group(1)) not in found[0].servers
        if answer.status == 403 and missing:
            answer.status, answer.body = 404, {"detail": "Not found."}

    return Exchange(app, change)


@caught_by(ACCOUNT + "test_account_me_answers_any_valid_token_whatever_its_scope")
def account_me_needs_every_permission(settings: Settings, *, clock: Clock) -> App:
    """account/me answers 403 to a token that may not do everything (`*:*`)."""
    app = create_app(settings, clock=clock)

    def change(request: Request, answer: Answer) -> None:
        found = _token_of(app, request.headers.get("authorization", ""))
        if (
            request.method == "GET"
            and request.path == "/api/v1/account/me/"
            and found is not None
            and found[1].permissions != ("*:*",)
        ):
            answer.status, answer.body = 403, {"detail": "You do not have permission to perform this action."}

    return Exchange(app, change)


@caught_by(ACCOUNT + "test_account_me_answers_the_account_and_the_calling_token")
def permissions_not_resource_action(settings: Settings, *, clock: Clock) -> App:
    """account/me writes the token's permissions with a dot (`servers.read`), not as `<resource>:<action>`."""

    def change(request: Request, answer: Answer) -> None:
        if request.method == "GET" and request.path == "/api/v1/account/me/" and answer.status == 200:
            answer.body["token"]["permissions"] = [p.replace(":", ".") for p in answer.body["token"]["permissions"]]

    return _rewriting(settings, clock, change)


MUTANTS = sorted(VARIANTS)
