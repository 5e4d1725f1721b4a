"""The request journal: what clients sent to the public API and what they were answered, bounded in memory."""

from __future__ import annotations

import fnmatch
import json
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson

__all__ = ["KEPT_BYTES", "Journal", "JournalEntry", "JournalQuery"]

KEPT_BYTES = 16 * 1024
"""Of each request body and answer, the journal keeps this much: a bounded journal stays small."""


@dataclass(frozen=True, slots=True)
class JournalEntry:
    id: int
    time: str
    account: str | None
    method: str
    path: str
    query: str
    operation: str | None
    body: bytes
    """Raw, as far as `KEPT_BYTES`: parsed only when somebody reads the journal, never on the hot path."""
    status: int
    fault: int | None
    answer: bytes = b""

    def describe(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "time": self.time,
            "account": self.account,
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "operation": self.operation,
            "body": _readable(self.body),
            "status": self.status,
            "fault": self.fault,
            "answer": _readable(self.answer),
        }


def _readable(raw: bytes) -> Any:
    """JSON when it is JSON the mock can answer with again, text otherwise.

    Parsed exactly (the standard library keeps every integer as sent), then judged by the encoder that renders
    the journal (orjson): a body with an integer beyond 64 bits, a lone surrogate, NaN, or nesting orjson will
    not write reads as text, so no entry can break the journal. Cut answers read as text too.
    """
    if not raw:
        return None
    try:
        value = json.loads(raw, parse_constant=_refuse)
        orjson.dumps(value)
    except (ValueError, RecursionError, orjson.JSONEncodeError):
        return raw.decode("utf-8", "replace")
    return value


def _refuse(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON")


@dataclass(frozen=True, slots=True)
class JournalQuery:
    method: str | None = None
    path: str | None = None
    """Exact path or glob."""
    status: int | None = None
    account: str | None = None
    operation: str | None = None

    def matches(self, entry: JournalEntry) -> bool:
        return (
            (self.method is None or entry.method == self.method.upper())
            and (self.path is None or fnmatch.fnmatchcase(entry.path, self.path))
            and (self.status is None or entry.status == self.status)
            and (self.account is None or entry.account == self.account)
            and (self.operation is None or entry.operation == self.operation)
        )


_Row = tuple[int, str, str | None, str, str, str, str | None, bytes, int, int | None, bytes]
"""A `JournalEntry`'s fields in its order: what the journal keeps (a frozen dataclass costs ten times more to
make, on every request; an entry is made when somebody reads the journal)."""


class Journal:
    def __init__(self, size: int) -> None:
        self._entries: deque[_Row] = deque(maxlen=size)
        self._next_id = 1

    @property
    def size(self) -> int:
        return self._entries.maxlen or 0

    def record(
        self,
        *,
        time: str,
        account: str | None,
        method: str,
        path: str,
        query: str,
        operation: str | None,
        body: bytes,
        status: int,
        fault: int | None,
        answer: bytes = b"",
    ) -> None:
        self._entries.append(
            (self._next_id, time, account, method, path, query, operation, body, status, fault, answer)
        )
        self._next_id += 1

    def find(self, query: JournalQuery) -> Iterator[JournalEntry]:
        """Newest first."""
        return (e for e in map(_entry, reversed(self._entries)) if query.matches(e))

    def count(self, query: JournalQuery) -> int:
        return sum(1 for e in map(_entry, self._entries) if query.matches(e))

    def clear(self, account: str | None = None) -> None:
        if account is None:
            self._entries.clear()
        else:
            kept = [row for row in self._entries if row[2] != account]
            self._entries.clear()
            self._entries.extend(kept)


def _entry(row: _Row) -> JournalEntry:
    return JournalEntry(*row)
