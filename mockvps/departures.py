"""Departures: where a service or a client parts ways with the documentation, in one vocabulary.

`mockvps conformance` finds departures by testing a service, `mockvps proxy` by watching a client talk to one;
both name each the same way and render them with the same functions, so their reports read alike:

- side: who departs, the `service` (its answers) or the `client` (its requests);
- operation: the documentation's operationId (`getServer`), or `METHOD /path` for what it does not have;
- kind: one of `KINDS` below, each with a fixed severity: `error` would break a client written against the
  documentation (a missing field, a wrong type, an undocumented status, broken semantics), `warning` is
  additive (an undocumented extra field, header or parameter);
- detail: what was seen, in words that do not change from one exchange to the next, so that departures of
  one kind count up instead of listing every instance; and a first example (a curl command, tokens
  redacted, and an excerpt of the answer).

Standard library only: the proxy and the suite import it without each other's dependencies.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

__all__ = [
    "EXCERPT_BYTES",
    "KINDS",
    "REDACTED",
    "SECRET_HEADERS",
    "Departure",
    "Example",
    "Kind",
    "Severity",
    "Side",
    "Tally",
    "curl_command",
    "excerpt",
    "kind",
    "render_markdown",
]

REDACTED = "[redacted]"
SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key"})
"""Headers whose values never leave in clear: not in a report, a recording or a log."""
EXCERPT_BYTES = 600
"""How much of an answer a report quotes."""


class Side(StrEnum):
    SERVICE = "service"
    CLIENT = "client"


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Kind:
    name: str
    severity: Severity
    meaning: str


_E, _W = Severity.ERROR, Severity.WARNING
KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        # What one exchange shows (the proxy validates each against the contract document; the suite too).
        Kind("undocumented-operation", _E, "a method and path the documentation does not have"),
        Kind("undocumented-status", _E, "a status code the documentation does not list for the operation"),
        Kind("wrong-status", _E, "a status the documentation lists, but not the one it gives for this case"),
        Kind("server-error", _E, "a 5xx answer"),
        Kind("unreachable", _E, "no answer: the connection was refused, broke or timed out"),
        Kind("wrong-content-type", _E, "a body that is not of the documented media type (HTML for JSON)"),
        Kind("unexpected-body", _E, "a body where the documentation has none (204)"),
        Kind("missing-field", _E, "a required field is absent"),
        Kind("wrong-type", _E, "a field of another JSON type than documented (a string id, null)"),
        Kind("undocumented-value", _E, "a value outside the documented set (status `running`)"),
        Kind("wrong-format", _E, "a string not in its documented format (date-time, ipv4, ipv6)"),
        Kind("invalid-value", _E, "a value outside the documented bounds or pattern"),
        Kind("missing-header", _E, "a documented header is absent (Location, Allow, WWW-Authenticate)"),
        Kind("missing-redirect", _E, "a path without its trailing slash is not answered 301 to the path with it"),
        Kind("missing-credentials", _E, "a request without `Authorization: Bearer <token>`"),
        Kind("invalid-request-accepted", _E, "a request the documentation refuses was answered 2xx"),
        Kind("valid-request-refused", _E, "a request the documentation allows was refused"),
        Kind("extra-field", _W, "a field the documentation does not list"),
        Kind("extra-header", _W, "a header the documentation does not list (beyond HTTP's own)"),
        Kind("extra-parameter", _W, "a query parameter the documentation does not list (`page`)"),
        Kind(
            "missing-trailing-slash", _W, "a path sent without its trailing slash: answered 301, a POST becomes a GET"
        ),
        # What a session shows across exchanges (what no schema says).
        Kind("created-not-readable", _E, "a server just created answers 404"),
        Kind("created-not-listed", _E, "a server just created is missing from the complete list"),
        Kind("deleted-still-readable", _E, "a server deleted with 204 is still answered 200"),
        Kind("deleted-still-listed", _E, "a server deleted with 204 is still in the list"),
        Kind("refused-action-accepted", _E, "an action the server's status refuses (400) was answered 200"),
        Kind("transition-not-followed", _E, "after an action answered 200, reads do not show its documented statuses"),
        Kind("filter-mismatch", _E, "a filtered list holds a server that does not match the filter"),
        Kind("count-mismatch", _E, "`count` is not the number of `results` (a paginated list)"),
        Kind("created-at-changed", _E, "`created_at` of a server changed"),
        Kind("updated-at-wrong", _E, "`updated_at` went back, or did not move on a change"),
        Kind("unauthenticated-success", _E, "a request without valid credentials was answered 2xx"),
        Kind("update-misapplied", _E, "a PUT or PATCH changed other than what it was given"),
        Kind("wrong-default", _E, "a field left out of a create did not get its documented default"),
        Kind("isolation-broken", _E, "one account sees or changes another's server"),
        Kind(
            "permission-not-enforced",
            _E,
            "a request the token's permissions do not allow (`servers:read` writing) was answered 2xx",
        ),
        Kind("forbidden-reveals-existence", _E, "a 403 that differs for a server that exists and one that does not"),
        Kind("other", _E, "a departure of no other kind"),
    )
}


def kind(name: str) -> Kind:
    """The kind of that name; `other` for a name the vocabulary does not have."""
    return KINDS.get(name, KINDS["other"])


@dataclass(frozen=True, slots=True)
class Example:
    """The first exchange that showed a departure: how to send it again, and what came back."""

    curl: str
    status: int | None = None
    response: str = ""

    def as_json(self) -> dict[str, Any]:
        return {"curl": self.curl, "status": self.status, "response": self.response}


@dataclass(slots=True)
class Departure:
    side: Side
    operation: str
    kind: str
    detail: str
    example: Example | None = None
    count: int = 1

    @property
    def severity(self) -> Severity:
        return kind(self.kind).severity

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.side, self.operation, self.kind, self.detail)

    def as_json(self) -> dict[str, Any]:
        return {
            "side": self.side.value,
            "operation": self.operation,
            "kind": self.kind,
            "severity": self.severity.value,
            "count": self.count,
            "detail": self.detail,
            "example": self.example.as_json() if self.example else None,
        }


@dataclass
class Tally:
    """Departures counted by (side, operation, kind, detail), each with its first example, in order of first sight."""

    departures: dict[tuple[str, str, str, str], Departure] = field(default_factory=dict)

    def add(self, departure: Departure) -> None:
        known = self.departures.get(departure.key)
        if known is None:
            self.departures[departure.key] = Departure(
                departure.side,
                departure.operation,
                departure.kind,
                departure.detail,
                departure.example,
                departure.count,
            )
        else:
            known.count += departure.count
            if known.example is None:
                known.example = departure.example

    def extend(self, departures: Iterable[Departure]) -> None:
        for departure in departures:
            self.add(departure)

    def __iter__(self) -> Iterator[Departure]:
        return iter(list(self.departures.values()))

    def __len__(self) -> int:
        return len(self.departures)

    def errors(self, side: Side | None = None) -> list[Departure]:
        return [d for d in self if d.severity is Severity.ERROR and (side is None or d.side is side)]

    def summary(self) -> str:
        """`2 errors, 1 warning (service: 2, client: 1)`."""
        listed = list(self)
        errors = sum(d.severity is Severity.ERROR for d in listed)
        warnings = len(listed) - errors
        sides = ", ".join(f"{s.value}: {sum(d.side is s for d in listed)}" for s in Side)
        return f"{_plural(errors, 'error')}, {_plural(warnings, 'warning')} ({sides})"

    def as_json(self) -> list[dict[str, Any]]:
        return [d.as_json() for d in self]


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def curl_command(method: str, url: str, headers: Mapping[str, str], body: bytes | str | None) -> str:
    """The request as a curl command; credentials appear as `$TOKEN` and `$COOKIE`, never in clear."""
    parts = ["curl", "-X", method, shlex.quote(url)]
    for name, value in headers.items():
        lower = name.lower()
        if lower in ("authorization", "proxy-authorization"):
            scheme = value.split(" ", 1)[0] if " " in value else "Bearer"
            parts += ["-H", f'"{name}: {scheme} $TOKEN"']
        elif lower in SECRET_HEADERS:
            parts += ["-H", f'"{name}: $COOKIE"' if lower == "cookie" else shlex.quote(f"{name}: {REDACTED}")]
        else:
            parts += ["-H", shlex.quote(f"{name}: {value}")]
    if body:
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
        parts += ["-d", shlex.quote(text)]
    return " ".join(parts)


def excerpt(body: bytes | str | None, limit: int = EXCERPT_BYTES) -> str:
    """The start of an answer, as text, marked where it was cut."""
    if not body:
        return ""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    return text if len(text) <= limit else text[:limit] + " ...(cut)"


def _cell(text: str) -> str:
    return re.sub(r"\s+", " ", text).replace("|", "\\|")


def render_markdown(departures: Iterable[Departure]) -> list[str]:
    """Departures as Markdown, per side and operation: a table each (severity, kind, count, detail), then each
    departure's first example. The drift report and the conformance report both use it."""
    listed = sorted(departures, key=lambda d: (d.side != Side.SERVICE, d.operation, d.severity != _E, d.kind))
    if not listed:
        return ["No departures."]
    lines: list[str] = []
    for side in Side:
        mine = [d for d in listed if d.side is side]
        if not mine:
            continue
        whose = "the service's answers" if side is Side.SERVICE else "the client's requests"
        lines += [f"## {side.value.capitalize()} departures ({whose})", ""]
        for operation in dict.fromkeys(d.operation for d in mine):
            ops = [d for d in mine if d.operation == operation]
            lines += [f"### {operation}", "", "| severity | kind | count | detail |", "|---|---|---:|---|"]
            lines += [f"| {d.severity.value} | {d.kind} | {d.count} | {_cell(d.detail)} |" for d in ops]
            lines.append("")
            for d in ops:
                if d.example is None:
                    continue
                lines += [f"First example of {d.kind} ({_cell(d.detail)}):", "", "```sh", d.example.curl, "```", ""]
                if d.example.status is not None:
                    answer = d.example.response or "(no body)"
                    lines += [f"answered {d.example.status}:", "", "```", answer.replace("```", "` ` `"), "```", ""]
    return lines
