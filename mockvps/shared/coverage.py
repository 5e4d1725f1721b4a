"""What clients of the public API were answered and shown, counted per account for as long as the mock runs.

The journal keeps the last requests; these counts keep everything, in a few dictionaries. The dispatcher calls
`Coverage.record` once per request with what came of it: the answer's status, the servers the answer showed
(with the status it showed), the error that refused it, the fault rule applied. `control.coverage` reads the
counts against what the contract documents and says what no client has seen yet.

Counts are keyed by what was sent (method, and the path as the operation table writes it, None when no path
of the table matched), so a HEAD or a wrong method is counted as what it was. A transition is counted when an
answer shows a server in another status than the last answer about it showed, whichever client asked.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Literal, TypeVar

from mockvps.backend import Server
from mockvps.errors import (
    ActionNotAllowed,
    AddressPoolExhausted,
    InsufficientBalance,
    LimitReached,
    ValidationFailed,
)
from mockvps.lifecycle import ServerStatus
from mockvps.shared.faults import FaultRule
from mockvps.shared.http_errors import field_errors
from mockvps.shared.requests import BodyInvalid, HttpError

__all__ = [
    "SHOWN_FLOOR",
    "AnswerKey",
    "Coverage",
    "FaultKey",
    "FaultKind",
    "RefusalKey",
    "Shown",
    "Tally",
    "TransitionKey",
    "fault_kinds",
    "refusal_kinds",
]

AnswerKey = tuple[str, str | None, int]
"""(method, path of the table or None, status)."""
TransitionKey = tuple[ServerStatus, ServerStatus]
"""(the status shown before, the status shown now)."""
RefusalKey = tuple[str, str | None, str, str | None]
"""(method, path, kind, subject): the subject is the server's status of a refused action, or a field's name."""
FaultKind = Literal["status", "latency", "drop"]
FaultKey = tuple[str, str | None, FaultKind]
"""(method, path, kind)."""
Shown = tuple[Server, ServerStatus]
"""A server an answer showed, and the status it showed."""

K = TypeVar("K")

SHOWN_FLOOR = 4096
"""The memory of what clients were shown is pruned of servers that are gone once it holds more than this, or
twice what it held after the last pruning."""


class Tally:
    """The counts of one account (or of the requests that named none)."""

    __slots__ = ("answers", "faults", "refusals", "transitions")

    def __init__(self) -> None:
        self.answers: dict[AnswerKey, int] = {}
        self.transitions: dict[TransitionKey, int] = {}
        self.refusals: dict[RefusalKey, int] = {}
        self.faults: dict[FaultKey, int] = {}

    def add(self, other: Tally) -> None:
        """Add another tally's counts to these."""
        _add(self.answers, other.answers)
        _add(self.transitions, other.transitions)
        _add(self.refusals, other.refusals)
        _add(self.faults, other.faults)


def _add(counts: dict[K, int], more: dict[K, int]) -> None:
    for key, count in more.items():
        counts[key] = counts.get(key, 0) + count


class Coverage:
    """Counts per account name (None: requests without a known account), kept across resets of the state.

    `live` names the servers the mock holds now: what was shown of the others is forgotten when the memory
    grows (see `SHOWN_FLOOR`).
    """

    def __init__(self, live: Callable[[], Iterable[Server]] = tuple) -> None:
        self.tallies: dict[str | None, Tally] = {}
        self._retired = Tally()
        self._shown: dict[Server, ServerStatus] = {}
        self._limit = SHOWN_FLOOR
        self._live = live

    def record(
        self,
        account: str | None,
        method: str,
        path: str | None,
        status: int | None,
        shown: Sequence[Shown],
        refused: Exception | None,
        fault: FaultRule | None,
    ) -> None:
        """Count one request: its answer's status (None: no answer, the connection was dropped), what it
        showed, why it was refused, which fault was injected. A few dictionary increments: it runs on every
        request."""
        tally = self.tallies.get(account)
        if tally is None:
            tally = self.tallies[account] = Tally()
        if status is not None:
            answers = tally.answers
            key = (method, path, status)
            answers[key] = answers.get(key, 0) + 1
        if shown:  # inlined: a detail read comes here every time
            last = self._shown
            for server, now in shown:
                before = last.get(server)
                if before is now:
                    continue
                last[server] = now
                if before is not None:
                    transitions = tally.transitions
                    transitions[before, now] = transitions.get((before, now), 0) + 1
                elif len(last) > self._limit:
                    self._prune()
        if refused is not None:
            refusals = tally.refusals
            for kind, subject in refusal_kinds(refused):
                refusal = (method, path, kind, subject)
                refusals[refusal] = refusals.get(refusal, 0) + 1
        if fault is not None:
            faults = tally.faults
            for kind in fault_kinds(fault):
                injected = (method, path, kind)
                faults[injected] = faults.get(injected, 0) + 1

    def _prune(self) -> None:
        live = set(self._live())
        self._shown = {server: status for server, status in self._shown.items() if server in live}
        self._limit = max(SHOWN_FLOOR, 2 * len(self._shown))

    def of(self, account: str) -> Tally:
        """One account's counts (empty when it has none)."""
        return self.tallies.get(account) or Tally()

    def total(self) -> Tally:
        """Every count: each account's, those of accounts that are gone, and those of requests without one."""
        total = Tally()
        total.add(self._retired)
        for tally in self.tallies.values():
            total.add(tally)
        return total

    def retire(self, account: str) -> None:
        """The account is gone: its counts stay in the total, and an account made later under its name starts
        with none."""
        tally = self.tallies.pop(account, None)
        if tally is not None:
            self._retired.add(tally)

    def clear(self) -> None:
        """Forget every count. (What clients were last shown stays known: a transition seen next is real.)"""
        self.tallies.clear()
        self._retired = Tally()


def refusal_kinds(refused: Exception) -> list[tuple[str, str | None]]:
    """The kinds of refusal an error answer shows, each with its subject; none for the other errors (401, 404,
    405, 413, 415, 301), which the answers' statuses say enough about."""
    if isinstance(refused, ActionNotAllowed):
        return [("lifecycle", refused.status)]
    if isinstance(refused, ValidationFailed):
        return [("field", name) for name in refused.fields]
    if isinstance(refused, BodyInvalid):
        return [("field", name) for name in field_errors(refused.errors)]
    if isinstance(refused, InsufficientBalance):
        return [("insufficient_balance", None)]
    if isinstance(refused, LimitReached):
        return [("limit", None)]
    if isinstance(refused, AddressPoolExhausted):
        return [("address_pool", None)]
    if isinstance(refused, HttpError) and refused.status == 400:
        return [("malformed_json", None)]
    return []


def fault_kinds(rule: FaultRule) -> list[FaultKind]:
    """What a fault rule did to a request: waited, answered with its status, or dropped the connection."""
    kinds: list[FaultKind] = ["latency"] if rule.latency_ms is not None else []
    if rule.drop:
        kinds.append("drop")
    elif rule.status is not None:
        kinds.append("status")
    return kinds
