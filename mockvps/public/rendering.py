"""Domain objects rendered as the documentation's JSON shapes, key order included."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson

from mockvps.backend import Account, Profile, Server
from mockvps.lifecycle import ACTIONS, Action, ServerStatus
from mockvps.tokens import Token

__all__ = ["ListCache", "account_me", "action_result", "created", "detail", "list_item", "profile", "timestamp"]

CREATED_MESSAGE = "Server is being provisioned. This may take 2-5 minutes."


def timestamp(moment: datetime) -> str:
    """ISO 8601 in UTC to the second, as the documentation writes it: 2025-01-16T15:30:00Z."""
    return moment.isoformat(timespec="seconds")[:19] + "Z"  # several times faster than strftime


def _plan(server: Server) -> dict[str, Any]:
    p = server.plan
    return {"id": p.id, "name": p.name, "vcpus": p.vcpus, "memory": p.memory, "storage": p.storage}


def list_item(server: Server) -> dict[str, Any]:
    return {
        "id": server.id,
        "name": server.name,
        "hostname": server.hostname,
        "status": server.status.value,
        "ip_address": server.ip_address,
        "location": server.location,
        "plan": _plan(server),
        "os": {"id": server.os.id, "name": server.os.name},
        "created_at": timestamp(server.created_at),
        "updated_at": timestamp(server.updated_at),
    }


class ListCache:
    """Each server's list item as JSON, kept per (server, revision): a list costs little more than its bytes.

    Keyed by the server object itself (servers compare by identity). Entries of servers that are gone are
    dropped when the cache holds more than twice the longest list rendered (and at least `floor` entries).

    Every change of status makes a new revision, so only a server rendered anew can show a status that the
    answers before did not: those are the servers a list names as shown (for coverage), at no cost per server.
    """

    __slots__ = ("_floor", "_items", "_limit")

    def __init__(self, floor: int = 4096) -> None:
        self._items: dict[Server, tuple[int, bytes]] = {}
        self._floor = self._limit = floor

    def __len__(self) -> int:
        return len(self._items)

    def server_list(self, servers: list[Server], shown: list[tuple[Server, ServerStatus]] | None = None) -> bytes:
        """The list answer as JSON; `shown` gets each server rendered anew, with the status it shows."""
        return b'{"count":%d,"results":[%s]}' % (len(servers), self._joined(servers, shown))

    def page(
        self,
        servers: list[Server],
        count: int,
        next_url: str | None,
        previous_url: str | None,
        shown: list[tuple[Server, ServerStatus]] | None = None,
    ) -> bytes:
        """One page of a list of `count` servers as JSON, in DRF's key order; `shown` as for `server_list`."""
        links = b'"next":%s,"previous":%s' % (orjson.dumps(next_url), orjson.dumps(previous_url))
        return b'{"count":%d,%s,"results":[%s]}' % (count, links, self._joined(servers, shown))

    def _joined(self, servers: list[Server], shown: list[tuple[Server, ServerStatus]] | None) -> bytes:
        """The servers' list items, joined by commas: each rendered once per revision."""
        items = self._items
        if len(items) + len(servers) > self._limit:
            kept = {s: items[s] for s in servers if s in items}
            items.clear()
            items.update(kept)
            self._limit = max(self._floor, 2 * len(servers))
        rendered = []
        for server in servers:
            cached = items.get(server)
            if cached is None or cached[0] != server.revision:
                cached = items[server] = (server.revision, orjson.dumps(list_item(server)))
                if shown is not None:
                    shown.append((server, server.status))
            rendered.append(cached[1])
        return b",".join(rendered)


def created(server: Server) -> dict[str, Any]:
    """A list item's keys, then backups_enabled, the two times (one moment, written once) and the message."""
    created_at = timestamp(server.created_at)
    same = server.updated_at == server.created_at
    return {
        "id": server.id,
        "name": server.name,
        "hostname": server.hostname,
        "status": server.status.value,
        "ip_address": server.ip_address,
        "location": server.location,
        "plan": _plan(server),
        "os": {"id": server.os.id, "name": server.os.name},
        "backups_enabled": server.backups_enabled,
        "created_at": created_at,
        "updated_at": created_at if same else timestamp(server.updated_at),
        "message": CREATED_MESSAGE,
    }


def detail(server: Server) -> dict[str, Any]:
    usage = server.resource_usage()
    return {
        "id": server.id,
        "name": server.name,
        "hostname": server.hostname,
        "status": server.status.value,
        "ip_address": server.ip_address,
        "ipv6_address": server.ipv6_address,
        "location": server.location,
        "plan": {**_plan(server), "bandwidth": server.plan.bandwidth},
        "os": {"id": server.os.id, "name": server.os.name},
        "backups_enabled": server.backups_enabled,
        "resource_usage": {
            "cpu_percent": usage.cpu_percent,
            "memory_used": usage.memory_used,
            "disk_used": usage.disk_used,
            "bandwidth_used": usage.bandwidth_used,
        },
        "created_at": timestamp(server.created_at),
        "updated_at": timestamp(server.updated_at),
    }


def profile(shown: Profile) -> dict[str, Any]:
    return {
        "email": shown.email,
        "first_name": shown.first_name,
        "last_name": shown.last_name,
        "company_name": shown.company_name,
        "created_at": shown.created_at.isoformat(),
    }


def account_me(account: Account, token: Token) -> dict[str, Any]:
    return {"account": profile(account.profile), "token": {"name": token.name, "permissions": list(token.permissions)}}


def action_result(server: Server, action: Action) -> dict[str, Any]:
    return {
        "status": "success",
        "message": ACTIONS[action].message,
        "server": {"id": server.id, "name": server.name, "status": server.status.value},
    }
