"""One request and its answer as the proxy saw them, with every secret already taken out.

An `Exchange` is what forwarding hands to the checks and the recording: headers with credentials redacted
(the scheme of `Authorization` kept, so a check can still tell Bearer from none), bodies kept up to a bound,
and the credential itself only as a salted digest, enough to tell one account's session from another's.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import parse_qsl

from mockvps.departures import REDACTED, SECRET_HEADERS, curl_command

__all__ = ["KEPT_BODY_BYTES", "Exchange", "Secrets", "redact_headers"]

KEPT_BODY_BYTES = 1024 * 1024
"""The most of a body the checks see; a longer one is forwarded whole but not checked."""

_SALT = os.urandom(16)


def _credential(value: str) -> str:
    return hashlib.sha256(_SALT + value.encode("latin-1", "replace")).hexdigest()[:16]


@dataclass
class Secrets:
    """Every credential value seen, so that one echoed in a URL or a body is redacted there too."""

    values: set[str] = field(default_factory=set)

    def remember(self, headers: list[tuple[str, str]]) -> None:
        for name, value in headers:
            lower = name.lower()
            if lower in ("authorization", "proxy-authorization"):
                secret = value.split(" ", 1)[1].strip() if " " in value else value.strip()
                if len(secret) >= 4:
                    self.values.add(secret)
            elif lower in ("cookie", "set-cookie"):
                for part in value.split(";"):
                    secret = part.partition("=")[2].strip()
                    if len(secret) >= 4:
                        self.values.add(secret)

    def scrub(self, text: str) -> str:
        for secret in self.values:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return text

    def scrub_bytes(self, data: bytes) -> bytes:
        for secret in self.values:
            raw = secret.encode("latin-1", "replace")
            if raw in data:
                data = data.replace(raw, REDACTED.encode())
        return data


def redact_headers(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Headers with every credential replaced: `Authorization` keeps its scheme (`Bearer [redacted]`), a cookie
    its name (`sessionid=[redacted]`)."""
    redacted = []
    for name, value in headers:
        lower = name.lower()
        if lower in ("authorization", "proxy-authorization"):
            scheme, _, secret = value.partition(" ")
            value = f"{scheme} {REDACTED}" if secret.strip() else scheme
        elif lower == "cookie":
            value = "; ".join(f"{p.partition('=')[0].strip()}={REDACTED}" for p in value.split(";") if p.strip())
        elif lower == "set-cookie":
            cookie, _, attributes = value.partition(";")
            value = f"{cookie.partition('=')[0].strip()}={REDACTED}" + (f";{attributes}" if attributes else "")
        elif lower in SECRET_HEADERS:
            value = REDACTED
        redacted.append((name, value))
    return redacted


@dataclass
class Exchange:
    """A finished exchange. `status` is None when the upstream never answered (`error` says why)."""

    method: str
    path: str
    query: str
    request_headers: list[tuple[str, str]]
    """Redacted."""
    request_body: bytes
    started: datetime
    upstream: str
    """The upstream's base URL: examples are curl commands against it."""
    credential: str | None = None
    """A salted digest of the `Authorization` header's value, or None without one."""
    status: int | None = None
    response_headers: list[tuple[str, str]] = field(default_factory=list)
    """Redacted."""
    response_body: bytes = b""
    request_complete: bool = True
    response_complete: bool = True
    """False when a body was longer than `KEPT_BODY_BYTES`: it was forwarded whole, but not checked."""
    duration: float = 0.0
    error: str | None = None
    http_version: str = "1.1"

    @classmethod
    def start(
        cls, method: str, path: str, query: str, headers: list[tuple[str, str]], started: datetime, upstream: str
    ) -> Exchange:
        authorization = next((v for n, v in headers if n.lower() == "authorization"), None)
        return cls(
            method=method,
            path=path,
            query=query,
            request_headers=redact_headers(headers),
            request_body=b"",
            started=started,
            upstream=upstream,
            credential=_credential(authorization) if authorization else None,
        )

    def request_header(self, name: str) -> str | None:
        return _header(self.request_headers, name)

    def response_header(self, name: str) -> str | None:
        return _header(self.response_headers, name)

    @property
    def target(self) -> str:
        return self.path + (f"?{self.query}" if self.query else "")

    @property
    def query_pairs(self) -> list[tuple[str, str]]:
        return parse_qsl(self.query, keep_blank_values=True)

    @property
    def bearer(self) -> bool:
        """Did the request carry `Authorization: Bearer <something>`?"""
        value = self.request_header("authorization") or ""
        scheme, _, rest = value.partition(" ")
        return scheme.lower() == "bearer" and bool(rest.strip())

    def curl(self) -> str:
        """The request as a curl command against the upstream, credentials as `$TOKEN`."""
        shown = {n: v for n, v in self.request_headers if n.lower() not in _NOT_SHOWN}
        return curl_command(self.method, self.upstream.rstrip("/") + self.target, shown, self.request_body or None)


_NOT_SHOWN = frozenset({"host", "content-length", "connection", "accept-encoding", "user-agent", "accept"})


def _header(headers: list[tuple[str, str]], name: str) -> str | None:
    lower = name.lower()
    return next((v for n, v in headers if n.lower() == lower), None)
