"""CORS as django-cors-headers answers it (`--cors-origin`): off unless origins are configured.

The live service's policy is not documented. With origins configured, a preflight (OPTIONS with
`Access-Control-Request-Method`) from an allowed origin is answered 200 before authentication, with what a
browser needs to send the real request; every other answer to an allowed origin carries
`Access-Control-Allow-Origin` (the origin, or `*` when any is allowed) and `Vary: Origin`. A request from
any other origin, or with no `Origin`, gets none of these headers. The headers are made once per origin.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["ALLOW_HEADERS", "ALLOW_METHODS", "MAX_AGE", "CorsPolicy", "Headers"]

ALLOW_HEADERS = "accept, authorization, content-type, user-agent, x-csrftoken, x-requested-with"
ALLOW_METHODS = "DELETE, GET, OPTIONS, PATCH, POST, PUT"
MAX_AGE = "86400"

Headers = tuple[tuple[bytes, bytes], ...]


def _answer(allowed: str) -> Headers:
    return ((b"access-control-allow-origin", allowed.encode("latin-1")), (b"vary", b"Origin"))


def _preflight(allowed: str) -> Headers:
    return (
        *_answer(allowed),
        (b"access-control-allow-headers", ALLOW_HEADERS.encode()),
        (b"access-control-allow-methods", ALLOW_METHODS.encode()),
        (b"access-control-max-age", MAX_AGE.encode()),
    )


class CorsPolicy:
    """Which origins may call the public API from a browser, and the headers each gets."""

    __slots__ = ("_answers", "_any", "_preflights")

    def __init__(self, origins: Iterable[str]) -> None:
        chosen = set(origins)
        self._any = (_answer("*"), _preflight("*")) if "*" in chosen else None
        self._answers = {o: _answer(o) for o in chosen}
        self._preflights = {o: _preflight(o) for o in chosen}

    def answer(self, origin: str) -> Headers | None:
        """The headers of every answer to this origin; None when it is not allowed."""
        return self._any[0] if self._any else self._answers.get(origin)

    def preflight(self, origin: str) -> Headers | None:
        """The headers of a preflight's answer from this origin; None when it is not allowed."""
        return self._any[1] if self._any else self._preflights.get(origin)
