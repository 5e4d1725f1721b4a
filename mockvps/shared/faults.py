"""Fault rules: make matching public requests slow, fail, or lose their connection, deterministically."""

from __future__ import annotations

import fnmatch
import logging
import random
from dataclasses import dataclass, field
from typing import Any

__all__ = ["DropConnection", "FaultRule", "FaultSet", "QuietDrops", "RequestFacts"]


class DropConnection(Exception):
    """Raised after the response has started: the server closes the connection mid-answer."""


class QuietDrops(logging.Filter):
    """A dropped connection is what a fault rule asked for: uvicorn need not log it as an error."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], DropConnection))


@dataclass(frozen=True, slots=True)
class RequestFacts:
    method: str
    path: str
    operation: str | None
    account: str | None


@dataclass(slots=True)
class FaultRule:
    id: int
    method: str | None = None
    path: str | None = None
    """Exact path, or a glob such as /api/v1/servers/*/start/."""
    operation: str | None = None
    account: str | None = None
    latency_ms: tuple[float, float] | None = None
    """Fixed (a, a) or a range (a, b) drawn from the rule's seeded generator."""
    status: int | None = None
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False
    times: int | None = None
    """How many more requests it applies to; None: no limit."""
    probability: float = 1.0
    seed: int = 0
    matched: int = 0
    _random: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)

    def matches(self, facts: RequestFacts) -> bool:
        return (
            (self.method is None or self.method == facts.method)
            and (self.path is None or fnmatch.fnmatchcase(facts.path, self.path))
            and (self.operation is None or self.operation == facts.operation)
            and (self.account is None or self.account == facts.account)
        )

    def latency(self) -> float:
        if self.latency_ms is None:
            return 0.0
        low, high = self.latency_ms
        return (low if low == high else self._random.uniform(low, high)) / 1000

    def describe(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "method": self.method,
            "path": self.path,
            "operation": self.operation,
            "account": self.account,
            "latency_ms": None if self.latency_ms is None else list(self.latency_ms),
            "status": self.status,
            "body": self.body,
            "headers": self.headers,
            "drop": self.drop,
            "times": self.times,
            "probability": self.probability,
            "seed": self.seed,
            "matched": self.matched,
        }


class FaultSet:
    def __init__(self) -> None:
        self.rules: list[FaultRule] = []
        self._next_id = 1

    def add(self, **spec: Any) -> FaultRule:
        rule = FaultRule(id=self._next_id, **spec)
        self._next_id += 1
        self.rules.append(rule)
        return rule

    def remove(self, rule_id: int) -> bool:
        before = len(self.rules)
        self.rules = [r for r in self.rules if r.id != rule_id]
        return len(self.rules) != before

    def clear(self) -> None:
        self.rules.clear()

    def pick(self, facts: RequestFacts) -> FaultRule | None:
        """The first rule that matches and fires; a rule's count and dice are consumed only when it matches."""
        for rule in self.rules:
            if not rule.matches(facts) or rule.times == 0:
                continue
            if rule.probability < 1.0 and rule._random.random() >= rule.probability:
                continue
            rule.matched += 1
            if rule.times is not None:
                rule.times -= 1
            return rule
        return None
