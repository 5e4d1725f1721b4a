"""Domain objects rendered as the documentation's JSON shapes, key order included."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson

from mockvps.backend import Server
from mockvps.lifecycle import ACTIONS, Action

__all__ = ["action_result", "created", "detail", "list_item", "server_list", "timestamp"]

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


def server_list(servers: list[Server]) -> bytes:
    """The list as JSON, joined from each server's cached list item: a list costs little more than its bytes."""
    items = b",".join([_list_item_json(s) for s in servers])
    return b'{"count":%d,"results":[%s]}' % (len(servers), items)


def _list_item_json(server: Server) -> bytes:
    cached = server.rendered
    if cached is None or cached[0] != server.revision:
        cached = server.rendered = (server.revision, orjson.dumps(list_item(server)))
    return cached[1]  # type: ignore[no-any-return]


def created(server: Server) -> dict[str, Any]:
    body = list_item(server)
    updated_at = body.pop("updated_at")
    created_at = body.pop("created_at")
    body.update(
        backups_enabled=server.backups_enabled, created_at=created_at, updated_at=updated_at, message=CREATED_MESSAGE
    )
    return body


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


def action_result(server: Server, action: Action) -> dict[str, Any]:
    return {
        "status": "success",
        "message": ACTIONS[action].message,
        "server": {"id": server.id, "name": server.name, "status": server.status.value},
    }
