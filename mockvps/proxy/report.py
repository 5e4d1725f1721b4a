"""The drift report: `drift.json` and `drift.md`, from the departures counted so far.

`drift.json` is `{"upstream", "exchanges", "checked", "departures": [{"side", "operation", "kind", "severity",
"count", "detail", "example"}]}`; `drift.md` says the same per side and operation, with each departure's first
example as a curl command (token as `$TOKEN`) and the start of the answer. Both are written whole to a
temporary file and renamed, so a reader never sees half a report.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mockvps.departures import KINDS, Departure, Severity, Side, Tally, render_markdown

__all__ = ["DriftReport", "write_atomically"]


@dataclass
class DriftReport:
    upstream: str
    document: str
    tally: Tally = field(default_factory=Tally)
    exchanges: int = 0
    """Every exchange forwarded."""
    checked: int = 0
    """Those the contract document speaks of (under the API's prefix)."""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, departures: list[Departure], checked: bool) -> None:
        with self.lock:
            self.exchanges += 1
            self.checked += checked
            self.tally.extend(departures)

    def errors(self) -> list[Departure]:
        with self.lock:
            return self.tally.errors()

    def as_json(self) -> dict[str, Any]:
        with self.lock:
            return {
                "upstream": self.upstream,
                "document": self.document,
                "exchanges": self.exchanges,
                "checked": self.checked,
                "departures": self.tally.as_json(),
            }

    def markdown(self) -> str:
        with self.lock:
            departures = list(self.tally)
            summary = self.tally.summary()
            exchanges, checked = self.exchanges, self.checked
        lines = [
            "# Drift: where the service and the documentation part ways",
            "",
            f"- upstream: `{self.upstream}`",
            f"- contract document: `{self.document}`",
            f"- exchanges: {exchanges} ({checked} checked against the document)",
            f"- departures: {summary}",
            f"- written: {datetime.now(UTC).strftime('%Y-%m-%dT%H:%M:%SZ')}",
            "",
            "`error`: would break a client written against the documentation; `warning`: additive.",
            "",
        ]
        lines += render_markdown(departures)
        used = {d.kind for d in departures}
        if used:
            lines += ["", "## Kinds", "", "| kind | severity | meaning |", "|---|---|---|"]
            lines += [f"| {k.name} | {k.severity.value} | {k.meaning} |" for k in KINDS.values() if k.name in used]
        return "\n".join(lines) + "\n"

    def write(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        write_atomically(directory / "drift.json", json.dumps(self.as_json(), indent=2, ensure_ascii=False) + "\n")
        write_atomically(directory / "drift.md", self.markdown())

    def closing_line(self) -> str:
        with self.lock:
            errors = {side: len(self.tally.errors(side)) for side in Side}
            warnings = sum(d.severity is Severity.WARNING for d in self.tally)
            exchanges = self.exchanges
        return (
            f"mockvps proxy: {exchanges} exchanges; {errors[Side.SERVICE]} service errors, "
            f"{errors[Side.CLIENT]} client errors, {warnings} warnings"
        )


def write_atomically(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)
