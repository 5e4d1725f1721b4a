"""What no schema says, checked across a session from what the proxy has seen.

Per account (told apart by a digest of the credential, never the credential): a server created is then
readable and listed; after a 204 DELETE it answers 404 and leaves the list; an action answered 200 is
followed by its documented statuses (`mockvps.lifecycle`'s tables: stop -> stopping -> stopped) as later
reads show them, and was allowed from the status the server was last seen in; a filtered list holds only
matching servers and `count` is the number of `results`; `created_at` never changes and `updated_at` never
goes back; a request without valid credentials is never answered 2xx; once `account/me` has told a token's
permissions, a request they do not allow (`servers:read` writing) is never answered 2xx.

Only what the proxy saw counts: a read that began before a create, delete or action had been answered says
nothing about it, and another client's changes are not seen. A server may always turn up `suspended` (an
operator's doing). A call to a mock's control API (`/_mockvps/`, not a read) may change anything: the session
forgets what it knew.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from mockvps.departures import Departure, Example, Side, excerpt
from mockvps.lifecycle import ACTIONS, SETTLES, Action, ServerStatus
from mockvps.proxy.exchange import Exchange
from mockvps.proxy.validation import Route
from mockvps.tokens import allows

__all__ = ["ACCOUNT_ME", "ACTION_OPERATIONS", "Pending", "Seen", "Session"]

_STATUSES = frozenset(s.value for s in ServerStatus)
ACTION_OPERATIONS = {"startServer": Action.START, "stopServer": Action.STOP, "rebootServer": Action.REBOOT}
ACCOUNT_ME = "getAccountMe"
"""Tells a token its permissions: the session holds the token's later requests to them."""


@dataclass
class Pending:
    """An action (or a create) answered 200 (201), whose documented statuses later reads should show."""

    operation: str
    verb: str
    path: tuple[str, ...]
    """The statuses a read may show from now on, the last one where it ends."""
    answered: float
    """When the answer came (epoch seconds): reads that began before it say nothing."""
    since: float
    """When it was seen (the session's clock), for the transition timeout."""


@dataclass
class Seen:
    """A server as this session has seen it."""

    created_at: str | None = None
    updated_at: datetime | None = None
    status: str | None = None
    status_at: float = 0.0
    """When the exchange that showed `status` began (an action's: when it was answered): an older read is stale."""
    created: float | None = None
    """When this session saw it created (epoch seconds the answer came), if it did."""
    deleted: float | None = None
    """When this session saw it deleted with 204 (epoch seconds), if it did."""
    pending: Pending | None = None


@dataclass
class _Account:
    servers: dict[str, Seen] = field(default_factory=dict)
    permissions: tuple[str, ...] | None = None
    """The token's permissions, once `account/me` has told them."""

    def server(self, server_id: str) -> Seen:
        return self.servers.setdefault(server_id, Seen())


class Session:
    def __init__(self, transition_timeout: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.transition_timeout = transition_timeout
        self.clock = clock
        self.accounts: dict[str | None, _Account] = {}
        self.refused: set[str] = set()
        """Credentials the service refused with 401."""

    def forget(self) -> None:
        """The upstream's state was changed behind the API's back (a mock's control API): start over."""
        self.accounts.clear()
        self.refused.clear()

    def observe(self, exchange: Exchange, route: Route, body: Any) -> list[Departure]:
        """The departures this exchange shows, given what came before; then remember what it showed."""
        status = exchange.status
        if status is None or route.template is None:
            return []
        found = _Found(exchange)
        self._credentials(exchange, route, status, found)
        if status == 401 or not route.documented or route.slashless:
            return found.departures
        account = self.accounts.setdefault(exchange.credential, _Account())
        began, ended = exchange.started.timestamp(), exchange.started.timestamp() + exchange.duration
        operation = route.operation
        self._permissions(account, exchange, operation, status, body, found)
        segments = [s for s in exchange.path.split("/") if s]
        path_id = segments[3] if len(segments) > 3 else None
        if operation == "createServer" and status == 201 and isinstance(body, dict) and "id" in body:
            server_id = str(body["id"])
            account.servers[server_id] = Seen(created=ended)
            seen = account.servers[server_id]
            self._server(account, server_id, body, operation, began, found)
            seen.pending = Pending(operation, "create", ("provisioning", "active"), ended, self.clock())
        elif operation == "listServers" and status == 200 and isinstance(body, dict):
            self._list(account, exchange, body, began, found)
        elif operation in ("getServer", "replaceServer", "updateServer") and path_id is not None:
            known = account.servers.get(path_id)
            if status == 200 and isinstance(body, dict):
                if known is not None and known.deleted is not None and known.deleted <= began:
                    found.add(operation, "deleted-still-readable", "a server deleted with 204 is answered 200")
                self._server(account, str(body.get("id", path_id)), body, operation, began, found)
            elif status == 404 and known is not None and known.deleted is None:
                if known.created is not None and known.created <= began:
                    found.add(operation, "created-not-readable", "a server this session created answers 404")
                account.servers.pop(path_id, None)
        elif operation == "deleteServer" and path_id is not None and status == 204:
            seen = account.server(path_id)
            seen.deleted, seen.pending = ended, None
        elif operation in ACTION_OPERATIONS and path_id is not None and status == 200:
            self._action(account, path_id, ACTION_OPERATIONS[operation], operation, body, began, ended, found)
        return found.departures

    # -- the checks ----------------------------------------------------------------------------------------------

    def _credentials(self, exchange: Exchange, route: Route, status: int, found: _Found) -> None:
        if status == 401 and exchange.credential is not None:
            self.refused.add(exchange.credential)
        if not 200 <= status < 300 or exchange.method == "OPTIONS":
            return
        if not exchange.bearer:
            found.add(route.operation, "unauthenticated-success", f"answered {status} to a request without credentials")
        elif exchange.credential in self.refused:
            found.add(route.operation, "unauthenticated-success", f"answered {status} to a token it refused with 401")

    @staticmethod
    def _permissions(
        account: _Account, exchange: Exchange, operation: str, status: int, body: Any, found: _Found
    ) -> None:
        if operation == ACCOUNT_ME:
            token = body.get("token") if status == 200 and isinstance(body, dict) else None
            if isinstance(token, dict) and isinstance(token.get("permissions"), list):
                account.permissions = tuple(p for p in token["permissions"] if isinstance(p, str))
            return
        if account.permissions is None or not 200 <= status < 300:
            return
        action = "read" if exchange.method in ("GET", "HEAD", "OPTIONS") else "write"
        if not allows(account.permissions, "servers", action):
            held = ", ".join(account.permissions) or "none"
            found.add(operation, "permission-not-enforced", f"a {action} by a token whose permissions are {held}")

    def _list(self, account: _Account, exchange: Exchange, body: dict[str, Any], began: float, found: _Found) -> None:
        results = body.get("results")
        if not isinstance(results, list):
            return
        count = body.get("count")
        paginated = "next" in body or "previous" in body
        if isinstance(count, int) and count != len(results):
            why = " (the list is paginated: `next`, `previous`)" if paginated else ""
            found.add("listServers", "count-mismatch", f"`count` is not the number of `results`{why}")
        query = dict(exchange.query_pairs)
        for name in ("status", "location"):
            wanted = query.get(name)
            if wanted is not None and any(isinstance(s, dict) and s.get(name) != wanted for s in results):
                found.add(
                    "listServers", "filter-mismatch", f"the `{name}` filter returned a server that does not match"
                )
        listed = set()
        for item in results:
            if not isinstance(item, dict) or "id" not in item:
                continue
            server_id = str(item["id"])
            listed.add(server_id)
            seen = account.servers.get(server_id)
            if seen is not None and seen.deleted is not None and seen.deleted <= began:
                found.add("listServers", "deleted-still-listed", "a server deleted with 204 is still listed")
                continue
            self._server(account, server_id, item, "listServers", began, found)
        complete = not query and not paginated and count == len(results)
        if complete:
            for server_id, seen in list(account.servers.items()):
                if server_id in listed:
                    continue
                if seen.deleted is None and seen.created is not None and seen.created <= began:
                    found.add("listServers", "created-not-listed", "a server this session created is not listed")
                account.servers.pop(server_id)

    def _server(
        self, account: _Account, server_id: str, data: dict[str, Any], operation: str, began: float, found: _Found
    ) -> None:
        seen = account.server(server_id)
        created_at = data.get("created_at")
        if isinstance(created_at, str):
            if seen.created_at is not None and created_at != seen.created_at:
                found.add(operation, "created-at-changed", "`created_at` of a server changed")
            seen.created_at = seen.created_at or created_at
        updated_at = _moment(data.get("updated_at"))
        if updated_at is not None:
            if seen.updated_at is not None and updated_at < seen.updated_at:
                found.add(operation, "updated-at-wrong", "`updated_at` went back")
            seen.updated_at = max(updated_at, seen.updated_at or updated_at)
        status = data.get("status")
        if status not in _STATUSES or began < seen.status_at:
            return  # an undocumented status is the validation's finding; transitions are judged on documented ones
        pending = seen.pending
        if pending is not None and pending.answered <= began:
            if status == ServerStatus.SUSPENDED or status == pending.path[-1]:
                seen.pending = None
            elif status not in pending.path:
                documented = ", then ".join(pending.path)
                found.add(
                    pending.operation,
                    "transition-not-followed",
                    f"after {pending.verb} answered {201 if pending.verb == 'create' else 200}, a read shows "
                    f"`{status}` (documented: {documented})",
                )
                seen.pending = None
            elif self.clock() - pending.since > self.transition_timeout:
                found.add(
                    pending.operation,
                    "transition-not-followed",
                    f"after {pending.verb} answered 200, reads still show `{status}` past the transition "
                    f"timeout ({self.transition_timeout:g} s)",
                )
                seen.pending = None
        seen.status, seen.status_at = status, began

    def _action(
        self,
        account: _Account,
        server_id: str,
        action: Action,
        operation: str,
        body: Any,
        began: float,
        ended: float,
        found: _Found,
    ) -> None:
        seen = account.server(server_id)
        rule = ACTIONS[action]
        if seen.status is not None and seen.status_at <= began:
            possible = _possible(seen.status)
            if possible and not any(ServerStatus(s) in rule.moves for s in possible):
                found.add(
                    operation,
                    "refused-action-accepted",
                    f"{action.value} answered 200 for a server last seen `{seen.status}`, from which the "
                    f"documentation refuses it",
                )
        via = next(iter(rule.moves.values()))
        path = (via.value, SETTLES[via][0].value)
        seen.pending = Pending(operation, action.value, path, ended, self.clock())
        server = body.get("server") if isinstance(body, dict) else None
        shown = server.get("status") if isinstance(server, dict) else None
        if isinstance(shown, str) and shown not in path:
            found.add(
                operation,
                "transition-not-followed",
                f"{action.value} answered 200 with status `{shown}` (documented: {path[0]})",
            )
        seen.status, seen.status_at = (shown if isinstance(shown, str) else path[0]), ended


def _possible(status: str) -> list[str]:
    """The statuses a server last seen in `status` may be in by now, with no action: it and what it settles to."""
    try:
        current = ServerStatus(status)
    except ValueError:
        return []
    chain = [current.value]
    while current in SETTLES:
        current = SETTLES[current][0]
        chain.append(current.value)
    return chain


def _moment(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


class _Found:
    """Service departures of one exchange, each with the exchange as its example."""

    def __init__(self, exchange: Exchange) -> None:
        self.exchange = exchange
        self.departures: list[Departure] = []

    def add(self, operation: str, kind: str, detail: str) -> None:
        exchange = self.exchange
        example = Example(exchange.curl(), exchange.status, excerpt(exchange.response_body))
        self.departures.append(Departure(Side.SERVICE, operation, kind, detail, example))
