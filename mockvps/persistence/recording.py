"""`mockvps serve --state-from FILE.har`: a recording (HAR 1.2, as `mockvps proxy --record` writes it) as a snapshot.

The recording is read in order, as the client saw the service: each server as it last appeared (a create's,
a detail's, a list's or an action's answer, fields merged), gone once deleted (204) or answered 404, and gone
from a complete list (no filter, no page, `count` equal to the results) that no longer holds it. The result is
a snapshot (`snapshot.Snapshot`) whose default account holds those servers, so a live situation can be
reproduced offline. Transient statuses (provisioning, stopping, ...) start their delay when the mock starts.
Addresses the recording did not show (a server never active) are taken from the mock's pools; plans, images
and locations it showed that the catalog lacks are added to the account's catalog (at a price of 0.00).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from mockvps.addresses import default_ipv4_pool, default_ipv6_pool
from mockvps.catalog import Catalog, catalog_to_dict
from mockvps.errors import ConfigurationError
from mockvps.lifecycle import ServerStatus
from mockvps.persistence.snapshot import SNAPSHOT_VERSION

__all__ = ["load_recording", "servers_of_recording", "snapshot_from_recording"]

_LIST = "/api/v1/servers/"
_ONE = re.compile(r"^/api/v1/servers/([^/]+)/$")
_ACTION = re.compile(r"^/api/v1/servers/([^/]+)/(start|stop|reboot)/$")
_STATUSES = {s.value for s in ServerStatus}


def load_recording(path: Path) -> dict[str, Any]:
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigurationError(f"recording {path}: {exc}") from exc
    entries = data.get("log", {}).get("entries") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise ConfigurationError(f"recording {path}: not a HAR file (no log.entries)")
    return data


def _body(response: dict[str, Any]) -> Any:
    content = response.get("content") or {}
    text = content.get("text")
    if not isinstance(text, str) or content.get("encoding") == "base64" or "json" not in content.get("mimeType", ""):
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return None  # cut at the recording's bound, or not JSON after all


def _id(value: Any) -> int | None:
    text = str(value)
    return int(text) if text.isascii() and text.isdigit() and 0 < int(text) < 2**53 else None


def servers_of_recording(recording: dict[str, Any]) -> dict[int, dict[str, Any]]:
    """Each server as the recording last showed it, by id."""
    servers: dict[int, dict[str, Any]] = {}

    def merge(item: Any) -> int | None:
        if not isinstance(item, dict):
            return None
        server_id = _id(item.get("id"))
        if server_id is None:
            return None
        known = servers.setdefault(server_id, {})
        for key, value in item.items():
            if isinstance(value, dict) and isinstance(known.get(key), dict):
                known[key] = {**known[key], **value}
            else:
                known[key] = value
        return server_id

    for entry in recording["log"]["entries"]:
        request, response = entry.get("request") or {}, entry.get("response") or {}
        method, status = request.get("method"), response.get("status")
        url = urlsplit(str(request.get("url", "")))
        body = _body(response)
        one, action = _ONE.match(url.path), _ACTION.match(url.path)
        if url.path == _LIST and method == "GET" and status == 200 and isinstance(body, dict):
            results = body.get("results")
            if isinstance(results, list):
                listed = {merge(item) for item in results}
                if not url.query and body.get("count") == len(results) and "next" not in body:
                    for gone in [i for i in servers if i not in listed]:
                        del servers[gone]
        elif (url.path == _LIST and method == "POST" and status == 201) or (
            one and method in ("GET", "PUT", "PATCH") and status == 200
        ):
            merge(body)
        elif one and ((method == "DELETE" and status == 204) or (method == "GET" and status == 404)):
            server_id = _id(one.group(1))
            if server_id is not None:
                servers.pop(server_id, None)
        elif action and method == "POST" and status == 200 and isinstance(body, dict):
            merge(body.get("server"))
    return servers


def snapshot_from_recording(
    recording: dict[str, Any], token: str, balance: str, catalog: Catalog, now: datetime
) -> dict[str, Any]:
    """A snapshot whose default account (`token`) holds the servers the recording last saw."""
    servers = servers_of_recording(recording)
    extended: dict[str, Any] = dict(catalog_to_dict(catalog))
    plans = {p["id"]: p for p in extended["plans"]}
    images = {o["id"]: o for o in extended["os_images"]}
    locations: list[str] = list(extended["locations"])
    ipv4, ipv6 = default_ipv4_pool(), default_ipv6_pool()
    records = []
    for server_id, seen in sorted(servers.items()):
        where = f"recording: server {server_id}"
        status = seen.get("status")
        if status not in _STATUSES:
            raise ConfigurationError(f"{where} was last seen in status {status!r}, which the mock does not have")
        plan, image, location = seen.get("plan") or {}, seen.get("os") or {}, seen.get("location")
        if _id(plan.get("id")) is None or _id(image.get("id")) is None or not isinstance(location, str):
            raise ConfigurationError(f"{where}: its plan, OS image or location was never shown")
        plan_id, os_id = int(plan["id"]), int(image["id"])
        if plan_id not in plans:
            sizes = {k: int(plan.get(k) or 0) for k in ("vcpus", "memory", "storage", "bandwidth")}
            plans[plan_id] = {"id": plan_id, "name": str(plan.get("name", f"plan {plan_id}")), "price": "0.00", **sizes}
        if os_id not in images:
            images[os_id] = {"id": os_id, "name": str(image.get("name", f"image {os_id}"))}
        if location not in locations:
            locations.append(location)
        records.append(
            {
                "id": server_id,
                "name": seen.get("name") or f"server-{server_id}",
                "hostname": seen.get("hostname"),
                "plan_id": plan_id,
                "os_id": os_id,
                "location": location,
                "backups_enabled": bool(seen.get("backups_enabled", False)),
                "status": status,
                "since": now.astimezone(UTC).isoformat().replace("+00:00", "Z"),
                "created_at": seen.get("created_at"),
                "updated_at": seen.get("updated_at", seen.get("created_at")),
                "ipv4": seen.get("ip_address"),
                "ipv6": seen.get("ipv6_address"),
                "activated": seen.get("ip_address") is not None,
                "usage": _usage(seen.get("resource_usage")),
            }
        )
    _address(records, "ipv4", ipv4)
    _address(records, "ipv6", ipv6)
    account: dict[str, Any] = {"name": "default", "tokens": [token], "balance": balance, "servers": records}
    grown = (len(plans), len(images), len(locations))
    if grown != (len(extended["plans"]), len(extended["os_images"]), len(extended["locations"])):
        account["catalog"] = {
            **extended,
            "plans": list(plans.values()),
            "os_images": list(images.values()),
            "locations": locations,
        }
    return {"version": SNAPSHOT_VERSION, "accounts": [account]}


def _usage(value: Any) -> dict[str, Any] | None:
    keys = ("cpu_percent", "memory_used", "disk_used", "bandwidth_used")
    if not isinstance(value, dict) or not all(isinstance(value.get(k), int | float) for k in keys):
        return None
    return {k: value[k] if k == "cpu_percent" else int(value[k]) for k in keys}


def _address(records: list[dict[str, Any]], key: str, pool: Any) -> None:
    """Addresses as shown (the first server showing one keeps it), the rest from the pool."""
    missing = []
    for record in records:
        if isinstance(record[key], str):
            try:
                pool.reserve(record[key])
                continue
            except ValueError:
                pass
        missing.append(record)
    for record in missing:
        record[key] = pool.allocate()
