"""A coverage report (GET /_mockvps/coverage) as people read it: several combined into one, as a terminal table,
as Markdown or JSON, and held against a bar.

    report = load(control.coverage())
    print(table(report))
    if not reaches(report, 80): ...

`combine` adds the counts of several reports of the same catalogue (pytest-xdist's workers each have a mock of
their own); a behaviour is seen when any of them saw it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Literal, TypeVar

from mockvps.control.coverage import FAULT_KINDS, summary_of
from mockvps.control.schemas import (
    CoverageReport,
    FaultCoverage,
    OperationCoverage,
    RefusalCoverage,
    StatusCoverage,
    TransitionCoverage,
)
from mockvps.lifecycle import ServerStatus

__all__ = ["FORMATS", "Format", "combine", "label", "load", "markdown", "reaches", "render", "shortfall", "table"]

Format = Literal["table", "md", "json"]
FORMATS: tuple[Format, ...] = ("table", "md", "json")
E = TypeVar("E", TransitionCoverage, RefusalCoverage, FaultCoverage)

UNSEEN = "-"
"""A documented behaviour never seen; a blank cell is one the operation does not document."""
LEGEND = f"  (a count: seen; {UNSEEN}: never seen; blank: not documented there; !: seen, not documented)"


def load(data: Mapping[str, Any] | str) -> CoverageReport:
    """A report from its JSON (text, or as parsed)."""
    if isinstance(data, str):
        return CoverageReport.model_validate_json(data)
    return CoverageReport.model_validate(data)


def combine(reports: Sequence[CoverageReport]) -> CoverageReport:
    """One report with the counts of all: seen where any saw it, hints only where none did."""
    if not reports:
        raise ValueError("nothing to combine")
    rows: dict[tuple[str | None, str, str | None], dict[str, StatusCoverage]] = {}
    for report in reports:
        for row in report.operations:
            statuses = rows.setdefault((row.operation, row.method, row.path), {})
            for code, entry in row.statuses.items():
                mine = statuses.get(code)
                statuses[code] = entry.model_copy() if mine is None else _added(mine, entry)
    operations = [
        OperationCoverage(
            operation=op,
            method=method,
            path=path,
            statuses={code: statuses[code] for code in sorted(statuses, key=int)},
        )
        for (op, method, path), statuses in rows.items()
    ]
    transitions = _merged([r.transitions for r in reports], lambda t: (t.from_, t.to))
    refusals = _merged(
        [r.refusals for r in reports], lambda r: (r.operation, r.method, r.path, r.kind, r.status, r.field)
    )
    faults = _merged([r.faults for r in reports], lambda f: (f.operation, f.method, f.path, f.kind))
    accounts = {r.account for r in reports}
    return CoverageReport(
        account=accounts.pop() if len(accounts) == 1 else None,
        operations=operations,
        transitions=transitions,
        refusals=refusals,
        faults=faults,
        summary=summary_of(operations, transitions, refusals, faults),
    )


def _added(mine: StatusCoverage, theirs: StatusCoverage) -> StatusCoverage:
    seen = mine.seen + theirs.seen
    return StatusCoverage(
        documented=mine.documented or theirs.documented, seen=seen, hint=None if seen else mine.hint or theirs.hint
    )


def _merged(lists: Iterable[list[E]], key: Callable[[E], tuple[object, ...]]) -> list[E]:
    merged: dict[tuple[object, ...], E] = {}
    for entries in lists:
        for entry in entries:
            mine = merged.get(key(entry))
            if mine is None:
                merged[key(entry)] = entry.model_copy()
                continue
            mine.seen += entry.seen
            mine.documented = mine.documented or entry.documented
            mine.hint = None if mine.seen else mine.hint or entry.hint
    return list(merged.values())


def reaches(report: CoverageReport, bar: float) -> bool:
    """Whether the share of documented behaviours seen is at least `bar` percent (compared exactly)."""
    summary = report.summary
    return summary.seen * 100 >= bar * summary.documented


def shortfall(report: CoverageReport, bar: float) -> str:
    """The line that says a report misses its bar (as pytest-cov says it)."""
    summary = report.summary
    return (
        f"FAIL Required mockvps coverage of {bar:g}% not reached: {summary.seen} of {summary.documented} "
        f"documented behaviours seen ({summary.percent:g}%)"
    )


def render(report: CoverageReport, form: Format) -> str:
    if form == "json":
        return json.dumps(report.model_dump(mode="json"), indent=2) + "\n"
    if form == "md":
        return markdown(report)
    return table(report)


# -- what each behaviour is called --------------------------------------------------------------------------------


def label(entry: object, operation: str | None = None, code: str | None = None) -> str:
    """A behaviour in a few words: `402 on createServer`, `active -> stopping`, `startServer refused: active`."""
    if isinstance(entry, StatusCoverage):
        return f"{code} on {operation}"
    if isinstance(entry, TransitionCoverage):
        return f"{entry.from_.value} -> {entry.to.value}"
    if isinstance(entry, RefusalCoverage):
        why = {
            "lifecycle": f"server {entry.status.value if entry.status else '?'}",
            "field": f"bad {entry.field}",
            "insufficient_balance": "insufficient balance",
            "malformed_json": "malformed JSON",
        }.get(entry.kind, entry.kind.replace("_", " "))
        return f"{_name(entry.operation, entry.method, entry.path)} refused: {why}"
    if isinstance(entry, FaultCoverage):
        what = {"status": "fault answer", "latency": "fault latency", "drop": "dropped connection"}[entry.kind]
        return f"{what} on {_name(entry.operation, entry.method, entry.path)}"
    raise TypeError(f"not a coverage entry: {entry!r}")


def _name(operation: str | None, method: str, path: str | None) -> str:
    return operation or f"{method} {_short(path)}"


def _short(path: str | None) -> str:
    return "(no such path)" if path is None else path.removeprefix("/api/v1")


def _unseen(report: CoverageReport) -> list[tuple[str, str]]:
    """Every documented behaviour never seen, with its hint, in the report's order."""
    found = [
        (label(entry, row.operation, code), entry.hint or "")
        for row in report.operations
        for code, entry in row.statuses.items()
        if entry.documented and not entry.seen
    ]
    for entries in (report.transitions, report.refusals, report.faults):
        found += [(label(e), e.hint or "") for e in entries if e.documented and not e.seen]
    return found


# -- grids ------------------------------------------------------------------------------------------------------

Grid = tuple[list[str], list[tuple[str, list[str]]]]
"""(column headers, rows of (label, cells))."""


def _cell(documented: bool, seen: int) -> str:
    return str(seen) if seen else UNSEEN if documented else ""


_FAULTED = {"status": "faulted", "latency": "slowed", "drop": "dropped"}
"""A fault rule's kinds as the grid of operations names them."""


def _operation_grid(report: CoverageReport) -> Grid:
    """Operations by the statuses they answered, then the faults injected into them."""
    documented = sorted({int(c) for row in report.operations for c, e in row.statuses.items() if e.documented})
    columns = [str(c) for c in documented]
    faults: dict[str, dict[str, FaultCoverage]] = {}
    for f in report.faults:
        faults.setdefault(_name(f.operation, f.method, f.path), {})[f.kind] = f
    rows = []
    for row in report.operations:
        name = _name(row.operation, row.method, row.path)
        documented_here = {c: e for c, e in row.statuses.items() if e.documented}
        cells = [_cell(True, documented_here[c].seen) if c in documented_here else "" for c in columns]
        injected = faults.pop(name, {})
        cells += [_mark(injected[k]) if k in injected else "" for k in FAULT_KINDS]
        other = [f"{c}x{e.seen}" for c, e in row.statuses.items() if not e.documented]
        rows.append((name, [*cells, " ".join(other)]))
    for name, injected in faults.items():  # faults injected into requests that had no answer to count
        rows.append(
            (name, [""] * len(columns) + [_mark(injected[k]) if k in injected else "" for k in FAULT_KINDS] + [""])
        )
    return [*columns, *(_FAULTED[k] for k in FAULT_KINDS), "other"], rows


def _mark(entry: FaultCoverage | RefusalCoverage | TransitionCoverage) -> str:
    return _cell(entry.documented, entry.seen) + ("" if entry.documented else "!")


def _transition_grid(report: CoverageReport) -> Grid:
    order = list(ServerStatus)
    sources = sorted({t.from_ for t in report.transitions}, key=order.index)
    targets = sorted({t.to for t in report.transitions}, key=order.index)
    found = {(t.from_, t.to): t for t in report.transitions}
    rows = []
    for source in sources:
        cells = []
        for target in targets:
            entry = found.get((source, target))
            cells.append("" if entry is None else _mark(entry))  # `!`: a jump, seen but not a move of the tables
        rows.append((source.value, cells))
    return [f"-> {t.value}" for t in targets], rows


_INPUT = {"malformed_json": "json", "insufficient_balance": "balance", "non_field_errors": "non_field"}


def _refusal_grids(report: CoverageReport) -> tuple[Grid, Grid]:
    lifecycle = [r for r in report.refusals if r.kind == "lifecycle"]
    statuses = [s for s in ServerStatus if any(r.status is s for r in lifecycle)]
    actions: dict[str, dict[str, RefusalCoverage]] = {}
    for r in lifecycle:
        actions.setdefault(_name(r.operation, r.method, r.path), {})[r.status.value if r.status else "?"] = r
    action_rows = [
        (name, [_cell(c[s.value].documented, c[s.value].seen) if s.value in c else "" for s in statuses])
        for name, c in actions.items()
    ]
    other = [r for r in report.refusals if r.kind != "lifecycle"]
    columns: list[str] = []
    inputs: dict[str, dict[str, RefusalCoverage]] = {}
    for r in other:
        column = _INPUT.get(r.field or r.kind, r.field or r.kind)
        if column not in columns:
            columns.append(column)
        inputs.setdefault(_name(r.operation, r.method, r.path), {})[column] = r
    input_rows = [(name, [_mark(c[col]) if col in c else "" for col in columns]) for name, c in inputs.items()]
    return ([s.value for s in statuses], action_rows), (columns, input_rows)


def _grids(report: CoverageReport) -> list[tuple[str, Grid]]:
    s = report.summary
    actions, inputs = _refusal_grids(report)
    return [
        (
            f"statuses: {s.statuses.seen} of {s.statuses.documented} seen; faults injected: {s.faults.seen} of "
            f"{s.faults.documented} (a rule's answer, its latency, a dropped connection)",
            _operation_grid(report),
        ),
        (f"transitions clients saw: {s.transitions.seen} of {s.transitions.documented}", _transition_grid(report)),
        (f"refusals: {s.refusals.seen} of {s.refusals.documented}; actions, by the server's status", actions),
        ("refusals of input, by field", inputs),
    ]


def _headline(report: CoverageReport) -> str:
    s = report.summary
    scope = f"account {report.account}" if report.account else "the whole mock"
    return f"mockvps coverage ({scope}): {s.seen} of {s.documented} documented behaviours seen ({s.percent:g}%)"


# -- text -------------------------------------------------------------------------------------------------------


def table(
    report: CoverageReport, *, hints: int = 10, more: str = "`mockvps coverage --format md` lists them all"
) -> str:
    """The compact terminal table: a grid per section (a count: seen; `-`: documented, never seen; blank: not
    documented there; `!`: seen, but not documented), then the first `hints` of what was never seen."""
    lines = [_headline(report), LEGEND]
    for title, (columns, rows) in _grids(report):
        lines += ["", title, *_aligned(columns, rows)]
    unseen = _unseen(report)
    if unseen:
        lines += ["", f"never seen: {len(unseen)}" + (f"; the first {hints}:" if len(unseen) > hints else ":")]
        lines += [f"  {name}: {hint}" for name, hint in unseen[:hints]]
        if len(unseen) > hints:
            lines.append(f"  ... and {len(unseen) - hints} more ({more})")
    return "\n".join(lines) + "\n"


def _aligned(columns: list[str], rows: list[tuple[str, list[str]]]) -> list[str]:
    first = max([len(name) for name, _ in rows] + [9])
    widths = [max([len(c)] + [len(cells[i]) for _, cells in rows]) for i, c in enumerate(columns)]
    header = "  " + " " * first + "".join(f"  {c:>{w}}" for c, w in zip(columns, widths, strict=True))
    body = [
        "  " + f"{name:<{first}}" + "".join(f"  {v:>{w}}" for v, w in zip(cells, widths, strict=True))
        for name, cells in rows
    ]
    return [header.rstrip(), *(line.rstrip() for line in body)]


def markdown(report: CoverageReport) -> str:
    """The report as Markdown: the same grids as tables, then every behaviour never seen with its hint."""
    lines = [f"# {_headline(report)}", "", LEGEND.strip(), ""]
    s = report.summary
    lines += ["| section | documented | seen |", "|---|---:|---:|"]
    for name, section in (
        ("statuses", s.statuses),
        ("transitions", s.transitions),
        ("refusals", s.refusals),
        ("faults", s.faults),
    ):
        lines.append(f"| {name} | {section.documented} | {section.seen} |")
    lines.append(f"| **all** | **{s.documented}** | **{s.seen}** ({s.percent:g}%) |")
    for title, (columns, rows) in _grids(report):
        lines += ["", f"## {title[0].upper()}{title[1:]}", ""]
        lines.append("| | " + " | ".join(columns) + " |")
        lines.append("|---|" + "---:|" * len(columns))
        lines += [f"| {name} | " + " | ".join(cells) + " |" for name, cells in rows]
    unseen = _unseen(report)
    lines += ["", f"## Never seen ({len(unseen)})", ""]
    lines += [f"- **{name}**: {hint}" for name, hint in unseen] or ["Nothing: every documented behaviour was seen."]
    return "\n".join(lines) + "\n"
