"""Results as findings: a terminal summary, and a Markdown report with a curl command for each first failure.

Each finding is also a departure in the vocabulary `mockvps proxy` uses (`mockvps.departures`): the side (the
service), the operation, the kind and its severity. A check names its kind with `@pytest.mark.departure(kind,
operation)`; a wait that meets a departure says which (`client.DepartureSeen`); schemathesis' findings are read
from its report. `conformance.md` lists them as the drift report does, and `departures.json` holds them in the
shape of drift.json's `departures`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from mockvps.conformance.client import DepartureSeen
from mockvps.conformance.document import load_document
from mockvps.departures import Departure, Example, Side, Tally, render_markdown

__all__ = ["Entry", "Report", "departure_of"]

_CURL = re.compile(r"^\s*(curl -X .+)$", re.MULTILINE)
_UNREACHABLE = ("ConnectionError", "ConnectTimeout", "ReadTimeout", "Max retries exceeded")


@dataclass
class Entry:
    section: str
    title: str
    outcome: str  # passed, finding (a departure), unreachable, error (the suite could not run it), skipped
    detail: str = ""
    curl: str = ""
    departure: Departure | None = None


class Report:
    def __init__(self, directory: str | None, suite: Path) -> None:
        self.directory = Path(directory) if directory else None
        self.suite = suite
        self.ours: set[str] = set()
        self.our_files: set[str] = set()
        self.entries: dict[str, Entry] = {}
        self.ledger_summary = ""
        self.target = ""

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        self.ours = {item.nodeid for item in items if item.path.is_relative_to(self.suite)}
        self.our_files = {nodeid.partition("::")[0] for nodeid in self.ours}

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
        report = yield
        if item.nodeid not in self.ours:
            return report
        funcargs: dict[str, Any] = getattr(item, "funcargs", {})
        if report.failed and "api" in funcargs and funcargs["api"].history:
            report.user_properties.append(("curl", funcargs["api"].history[-1]))
        if report.failed:
            seen = call.excinfo.value if call.excinfo is not None else None
            if isinstance(seen, DepartureSeen):
                report.user_properties.append(("departure", seen.departure))
            else:
                marker = item.get_closest_marker("departure")
                if marker is not None:
                    report.user_properties.append(("departure-marker", (marker.args, funcargs)))
        if not self.target and "target" in funcargs:
            self.target = funcargs["target"].name
        return report

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.nodeid.partition("::")[0] not in self.our_files:
            return
        if report.when == "setup" and not report.skipped and not report.failed:
            return
        if report.when == "teardown" and not report.failed:
            return
        entry = self.entries.get(report.nodeid) or Entry(*_describe(report.nodeid), outcome="passed")
        self.entries[report.nodeid] = entry
        if report.skipped and entry.outcome == "passed":
            entry.outcome = "skipped"
            longrepr = report.longrepr
            entry.detail = str(longrepr[2] if isinstance(longrepr, tuple) else longrepr).removeprefix("Skipped: ")
        elif report.failed and entry.outcome in ("passed", "skipped"):
            text = report.longreprtext
            if any(m in text for m in _UNREACHABLE):
                entry.outcome = "unreachable"
            else:
                entry.outcome = "finding" if report.when == "call" else "error"
            entry.detail = _first_problem(text)
            properties = dict(report.user_properties)
            curl = properties.get("curl") or next(iter(_CURL.findall(text)), "")
            entry.curl = str(curl).strip()
            if entry.outcome == "finding":
                entry.departure = departure_of(entry, text, properties)

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for entry in self.entries.values():
            counts[entry.outcome] = counts.get(entry.outcome, 0) + 1
        return counts

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if not self.entries:
            return
        write = terminalreporter.write_line
        terminalreporter.section("conformance")
        write(f"target: {self.target or 'unknown'}")
        for entry in self.entries.values():
            if entry.outcome in ("finding", "unreachable", "error"):
                d = entry.departure
                named = f" [{d.severity.value} {d.operation} {d.kind}]" if d else ""
                write(f"  {entry.outcome.upper()}: {entry.section} / {entry.title}: {entry.detail}{named}")
                if entry.curl:
                    write(f"      reproduce: {entry.curl}")
        counts = self.counts()
        write("  " + ", ".join(f"{n} {k}" for k, n in sorted(counts.items())))
        if self.ledger_summary:
            write(f"  {self.ledger_summary}")
        if self.directory:
            write(f"  report: {self.directory / 'conformance.md'}")

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self.directory and self.entries:
            self.directory.mkdir(parents=True, exist_ok=True)
            (self.directory / "conformance.md").write_text(self.markdown(), encoding="utf-8")
            found = {"target": self.target, "departures": self.departures().as_json()}
            (self.directory / "departures.json").write_text(json.dumps(found, indent=2) + "\n", encoding="utf-8")

    def departures(self) -> Tally:
        tally = Tally()
        tally.extend(e.departure for e in self.entries.values() if e.departure is not None)
        return tally

    def markdown(self) -> str:
        marks = {
            "passed": "pass",
            "finding": "**FAIL**",
            "unreachable": "**UNREACHABLE**",
            "error": "**ERROR**",
            "skipped": "skipped",
        }
        counts = self.counts()
        lines = [
            "# VPS.org Servers API: conformance report",
            "",
            f"- target: `{self.target or 'unknown'}`",
            f"- finished: {datetime.now(UTC).strftime('%Y-%m-%dT%H:%M:%SZ')}",
            "- results: " + ", ".join(f"{n} {k}" for k, n in sorted(counts.items())),
        ]
        if self.ledger_summary:
            lines.append(f"- {self.ledger_summary}")
        for section in ("Operations", "Stateful sequences", "Behaviours"):
            entries = [e for e in self.entries.values() if e.section == section]
            if not entries:
                continue
            lines += ["", f"## {section}", "", "| check | result | first failure |", "|---|---|---|"]
            for e in entries:
                detail = e.detail.replace("|", "\\|").replace("\n", " ")
                lines.append(f"| {e.title} | {marks[e.outcome]} | {detail} |")
        departures = self.departures()
        if len(departures):
            lines += ["", f"# Departures: {departures.summary()}", ""]
            lines += render_markdown(departures)
        failing = [e for e in self.entries.values() if e.outcome in ("finding", "unreachable", "error")]
        if failing:
            lines += ["", "## How to reproduce", ""]
            for e in failing:
                lines += [f"### {e.section}: {e.title}", "", e.detail, ""]
                if e.curl:
                    lines += ["```sh", e.curl, "```", ""]
        return "\n".join(lines) + "\n"


def _describe(nodeid: str) -> tuple[str, str]:
    name = nodeid.split("::")[-1]
    if "[" in name and name.startswith("test_operation"):
        return "Operations", name[name.index("[") + 1 : -1]
    if name.startswith("test_stateful"):
        return "Stateful sequences", name.removeprefix("test_").replace("_", " ")
    base, _, param = name.partition("[")
    title = base.removeprefix("test_").replace("_", " ")
    return "Behaviours", f"{title} [{param[:-1]}]" if param else title


def _first_problem(text: str) -> str:
    """The first line that says what went wrong, from pytest's or schemathesis' report."""
    for line in text.splitlines():
        stripped = line.strip(" |+-")
        if stripped.startswith(("E ", "ST", "AssertionError", "TransitionTimeout")) and len(stripped) > 3:
            return stripped.removeprefix("E ").strip()[:300]
        if re.match(r"^- [A-Z]", line.strip(" |")):
            return line.strip(" |").removeprefix("- ")[:300]
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return lines[-1][:300] if lines else ""


# What schemathesis calls a failure, as a kind of departure (the first title found in its report wins).
_SCHEMATHESIS = [
    ("Server error", "server-error"),
    ("Undocumented HTTP status code", "undocumented-status"),
    ("Undocumented Content-Type", "wrong-content-type"),
    ("Missing Content-Type", "wrong-content-type"),
    ("JSON deserialization error", "wrong-content-type"),
    ("Missing required header", "missing-header"),
    ("Missing header", "missing-header"),
    ("Use after free", "deleted-still-readable"),
    ("Resource availability", "created-not-readable"),
    ("API accepted schema-violating request", "invalid-request-accepted"),
    ("API rejected schema-compliant request", "valid-request-refused"),
    ("Authentication declared but not enforced", "unauthenticated-success"),
    ("API accepts requests without authentication", "unauthenticated-success"),
    ("Unsupported methods", "wrong-status"),
]
_SCHEMA_MESSAGES = [
    ("is a required property", "missing-field"),
    ("is not of type", "wrong-type"),
    ("is not one of", "undocumented-value"),
    ("was expected", "undocumented-value"),
    ("is not a '", "wrong-format"),
    ("Additional properties", "extra-field"),
]
_REQUEST = re.compile(r"\b(GET|POST|PUT|PATCH|DELETE) '?(?:https?://[^/\s']+)?(/api/v1/servers/[^\s']*)")


def _operation_of(method: str, path: str) -> str | None:
    """The operationId of a request (`GET /api/v1/servers/12/` -> getServer), from the contract document."""
    for template, item in load_document()["paths"].items():
        pattern = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$"
        if re.match(pattern, path.split("?")[0]) and method.lower() in item:
            return str(item[method.lower()]["operationId"])
    return None


def departure_of(entry: Entry, text: str, properties: dict[str, Any]) -> Departure:
    """A finding of the suite as a departure: the kind its check names, or what its failure says."""
    example = Example(entry.curl) if entry.curl else None
    seen = properties.get("departure")
    if isinstance(seen, Departure):
        return seen
    operation = None
    request = _REQUEST.search(entry.curl) or _REQUEST.search(text)
    if entry.section == "Operations":
        method, _, path = entry.title.partition(" ")
        operation = _operation_of(method, path)
    kind = None
    marked = properties.get("departure-marker")
    if marked is not None:
        args, funcargs = marked
        kind = args[0]
        operation = args[1] if len(args) > 1 else None
        if operation is None and "method" in funcargs and "path" in funcargs:
            operation = (
                _operation_of(funcargs["method"], funcargs["path"]) or f"{funcargs['method']} {funcargs['path']}"
            )
    if kind is None:
        kind = next((k for title, k in _SCHEMATHESIS if title in text), "other")
        if kind == "other" and "Response violates schema" in text:
            kind = next((k for message, k in _SCHEMA_MESSAGES if message in text), "other")
    if operation is None and request is not None:
        operation = _operation_of(request.group(1), request.group(2))
    return Departure(Side.SERVICE, operation or "every operation", kind, entry.detail, example)
