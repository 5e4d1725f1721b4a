"""The documentation's own example requests and answers: the contract document shows them, and the default
account's servers 12345 and 12346 (and its profile) are made from them."""

from __future__ import annotations

from typing import Any

__all__ = ["ACCOUNT_ME", "ACTION", "CREATED", "CREATE_REQUEST", "DETAIL", "LIST", "PATCH_REQUEST", "PUT_REQUEST"]

_WEB = {
    "id": 12345,
    "name": "web-server-01",
    "hostname": "web01.example.com",
    "status": "active",
    "ip_address": "203.0.113.10",
    "location": "us-west",
    "plan": {"id": 1, "name": "Standard VPS", "vcpus": 2, "memory": 4096, "storage": 80},
    "os": {"id": 5, "name": "Ubuntu 22.04 LTS"},
    "created_at": "2025-01-10T14:30:00Z",
    "updated_at": "2025-01-15T10:20:00Z",
}
_DB = {
    "id": 12346,
    "name": "db-server-01",
    "hostname": "db01.example.com",
    "status": "active",
    "ip_address": "203.0.113.11",
    "location": "us-east",
    "plan": {"id": 2, "name": "Performance VPS", "vcpus": 4, "memory": 8192, "storage": 160},
    "os": {"id": 3, "name": "Debian 12"},
    "created_at": "2025-01-12T09:15:00Z",
    "updated_at": "2025-01-16T08:45:00Z",
}
LIST: dict[str, Any] = {"count": 2, "results": [_WEB, _DB]}

CREATE_REQUEST: dict[str, Any] = {
    "name": "web-server-02",
    "plan_id": 1,
    "os_id": 5,
    "location": "us-west",
    "hostname": "web02.example.com",
    "backups_enabled": True,
}
CREATED: dict[str, Any] = {
    "id": 12347,
    "name": "web-server-02",
    "hostname": "web02.example.com",
    "status": "provisioning",
    "ip_address": None,
    "location": "us-west",
    "plan": {"id": 1, "name": "Standard VPS", "vcpus": 2, "memory": 4096, "storage": 80},
    "os": {"id": 5, "name": "Ubuntu 22.04 LTS"},
    "backups_enabled": True,
    "created_at": "2025-01-16T15:30:00Z",
    "updated_at": "2025-01-16T15:30:00Z",
    "message": "Server is being provisioned. This may take 2-5 minutes.",
}
DETAIL: dict[str, Any] = {
    "id": 12345,
    "name": "web-server-01",
    "hostname": "web01.example.com",
    "status": "active",
    "ip_address": "203.0.113.10",
    "ipv6_address": "2001:0db8::1",
    "location": "us-west",
    "plan": {"id": 1, "name": "Standard VPS", "vcpus": 2, "memory": 4096, "storage": 80, "bandwidth": 2048},
    "os": {"id": 5, "name": "Ubuntu 22.04 LTS"},
    "backups_enabled": True,
    "resource_usage": {"cpu_percent": 23.5, "memory_used": 2048, "disk_used": 35, "bandwidth_used": 450},
    "created_at": "2025-01-10T14:30:00Z",
    "updated_at": "2025-01-16T15:45:00Z",
}
PUT_REQUEST: dict[str, Any] = {
    "name": "web-server-updated",
    "hostname": "web-updated.example.com",
    "backups_enabled": True,
}
PATCH_REQUEST: dict[str, Any] = {"name": "new-server-name"}

# The Account API page's example: its excerpt ends inside `token`, whose name begins "Pr"; "Production API" is
# the mock's completion of it.
ACCOUNT_ME: dict[str, Any] = {
    "account": {
        "email": "john@example.com",
        "first_name": "John",
        "last_name": "Doe",
        "company_name": "Acme Inc.",
        "created_at": "2024-06-15",
    },
    "token": {"name": "Production API", "permissions": ["servers:*"]},
}


def ACTION(status: str, message: str) -> dict[str, Any]:  # noqa: N802 - reads as the constant it builds
    return {
        "status": "success",
        "message": message,
        "server": {"id": 12345, "name": "web-server-01", "status": status},
    }
