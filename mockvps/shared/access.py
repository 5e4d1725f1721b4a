"""Which Host names the mock answers: its defence against DNS rebinding.

A page on a domain its owner re-points at 127.0.0.1 is, to the browser, of the same origin as the mock, so it
may read every answer; only the Host header it sends ("evil.example:8000") gives it away. The mock answers loopback
names, the address it was told to listen on and whatever `allowed_hosts` adds; listening on every address
(0.0.0.0, ::) with nothing configured, it answers any name, as a container reached by a service name must.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

__all__ = ["HostRule", "host_name", "is_loopback"]

# What Starlette's TestClient sends: in-process clients (mockvps.testing.ControlClient.for_app) keep working.
IN_PROCESS = "testserver"


def host_name(authority: str) -> str:
    """The name in a Host header or an origin's authority, lower case, without port or brackets.

    "Example.COM:8000" -> "example.com"; "[::1]:8000" -> "::1"; "localhost." -> "localhost".
    """
    authority = authority.strip().lower()
    if authority.startswith("["):
        return authority[1:].partition("]")[0]
    if authority.count(":") > 1:  # a bare IPv6 address, as a configured --host is written
        return _canonical(authority)
    return _canonical(authority.partition(":")[0].rstrip("."))


def _canonical(name: str) -> str:
    try:
        return ipaddress.ip_address(name).compressed
    except ValueError:
        return name


def is_loopback(name: str) -> bool:
    """localhost, *.localhost, 127.0.0.0/8 and ::1."""
    name = host_name(name)
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _is_wildcard(address: str) -> bool:
    try:
        return not address or ipaddress.ip_address(address.strip("[]")).is_unspecified
    except ValueError:
        return False


class HostRule:
    """Decides whether a Host name (or an origin's host) is one the mock answers."""

    def __init__(self, listen_on: str, allowed: Iterable[str] = ()) -> None:
        configured = {name.strip().lower() if name.strip().startswith("*") else host_name(name) for name in allowed}
        self.any = "*" in configured or (not configured and _is_wildcard(listen_on))
        self._suffixes = tuple(name[1:] for name in configured if name.startswith("*."))
        self._configured = frozenset(name for name in configured if not name.startswith("*"))
        self._names = self._configured | {IN_PROCESS}
        if not _is_wildcard(listen_on):
            self._names |= {host_name(listen_on)}
        self._verdicts: dict[bytes, bool] = {}

    def allows(self, name: str) -> bool:
        """`name` as `host_name` gives it."""
        return self.any or name in self._names or is_loopback(name) or self.configured(name)

    def configured(self, name: str) -> bool:
        """Named by `allowed_hosts` itself, not by a default nor by '*': what the host of an origin other than the
        mock's own must be for that origin's pages to write (a proxy's public name, say)."""
        return name in self._configured or name.endswith(self._suffixes)

    def allows_header(self, value: bytes) -> bool:
        """The raw Host header, decided once per distinct value (the public API's hot path asks on every call)."""
        verdict = self._verdicts.get(value)
        if verdict is None:
            verdict = self.allows(host_name(value.decode("latin-1")))
            if len(self._verdicts) >= 1024:
                self._verdicts.clear()
            self._verdicts[value] = verdict
        return verdict
