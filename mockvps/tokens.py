"""Tokens and what they may do: a name, permissions `<resource>:<action>` with wildcards, resolved once.

VPS.org's tokens carry permissions such as `servers:read`, `servers:*` and `*:*` (its client's documentation also
names `domains:*`, `dns:*`, `ssh_keys:*`). On the Servers API `servers:read` allows reading and `servers:write`
every change; `*` stands for any resource or any action. What a token's permissions allow is worked out once,
when the mock learns the token (`Token.resolve`), so that no request parses a permission.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = [
    "ALL_PERMISSIONS",
    "DEFAULT_TOKEN_NAME",
    "PERMISSION_PATTERN",
    "Token",
    "TokenSpec",
    "allows",
    "is_permission",
]

DEFAULT_TOKEN_NAME = "Production API"
"""A token's name unless configured (the Account API page's example token begins "Pr"; the rest is ours)."""
ALL_PERMISSIONS: tuple[str, ...] = ("*:*",)
"""What a token configured as a plain string may do: everything."""
PERMISSION_PATTERN = r"^(\*|[a-z][a-z0-9_]*):(\*|[a-z][a-z0-9_]*)$"
_PERMISSION = re.compile(PERMISSION_PATTERN)


def is_permission(text: str) -> bool:
    """`<resource>:<action>`, each a lower-case name or `*`: `servers:read`, `servers:*`, `*:*`, `dns:*`."""
    return _PERMISSION.fullmatch(text) is not None


def allows(permissions: Iterable[str], resource: str, action: str) -> bool:
    """Whether any of the permissions names the resource and the action, or a wildcard for either."""
    for permission in permissions:
        held_resource, _, held_action = permission.partition(":")
        if held_resource in ("*", resource) and held_action in ("*", action):
            return True
    return False


@dataclass(frozen=True, slots=True)
class TokenSpec:
    """A token as configured: its secret in clear (None: generated, where the caller allows it), or only its
    salted digest (a snapshot's), with its name and permissions."""

    secret: str | None = None
    name: str = DEFAULT_TOKEN_NAME
    permissions: tuple[str, ...] = ALL_PERMISSIONS
    digest: bytes | None = None


@dataclass(frozen=True, slots=True)
class Token:
    """A token the mock knows, by its salted digest, with what its permissions allow on the Servers API."""

    digest: bytes
    name: str
    permissions: tuple[str, ...]
    reads_servers: bool
    """`servers:read` or a wildcard for it: lists, details (GET, HEAD, OPTIONS)."""
    writes_servers: bool
    """`servers:write` or a wildcard for it: every change."""

    @classmethod
    def resolve(cls, digest: bytes, name: str, permissions: Iterable[str]) -> Token:
        held = tuple(permissions)
        return cls(digest, name, held, allows(held, "servers", "read"), allows(held, "servers", "write"))
