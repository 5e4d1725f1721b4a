"""Results as findings: a terminal summary, and a Markdown report with a curl command for each first failure."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

__all__ = ["Entry", "Report"]

_CURL = re.compile(r"^\s*(curl -X .+)$", re.MULTILINE)
_UNREACHABLE = ("ConnectionError", "ConnectTimeout", "ReadTimeout", "Max retries exceeded")


@dataclass
class Entry:
    section: str
    title: str
    outcome: str  # passed, finding (a departure), unreachable, error (the suite could not run it), skipped
    detail: str = ""
    curl: str = ""


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
            curl = dict(report.user_properties).get("curl") or next(iter(_CURL.findall(text)), "")
            entry.curl = str(curl).strip()

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
                write(f"  {entry.outcome.upper()}: {entry.section} / {entry.title}: {entry.detail}")
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
