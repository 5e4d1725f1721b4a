"""A pytest plugin for the contract suite's self-test: which tests failed, how, and whether the mock crashed.

    pytest mockvps/conformance -p tests.suite_outcome --outcome-file PATH --app-factory tests.mutants:NAME

writes PATH as JSON: `failed` maps the node id (from the repository's root) of each test that did not pass to
the suite's own verdict on it (`finding`: a departure; `error`: the suite could not run it; `unreachable`), and
`crashes` lists every error the mock logged (an exception inside it, answered 500) or that escaped a variant.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import TypedDict

import pytest

from mockvps.conformance.report import Report

__all__ = ["CrashLog", "Outcome", "outcome"]

_KEY = pytest.StashKey["CrashLog"]()


class Outcome(TypedDict):
    failed: dict[str, str]
    """Node id (from the repository's root) of each test that did not pass: finding, error or unreachable."""
    crashes: list[str]


class CrashLog(logging.Handler):
    """Errors logged under `mockvps`: the dispatcher logs every exception it turns into a 500 there."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.crashes: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        error = record.exc_info[1] if record.exc_info else None
        self.crashes.append(f"{record.getMessage()}: {error!r}" if error else record.getMessage())


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--outcome-file", default=None, help="write what failed, and any crash of the mock, as JSON")


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("--outcome-file"):
        log = CrashLog()
        logging.getLogger("mockvps").addHandler(log)
        config.stash[_KEY] = log


def pytest_unconfigure(config: pytest.Config) -> None:
    path = config.getoption("--outcome-file")
    if path:
        log = config.stash[_KEY]
        logging.getLogger("mockvps").removeHandler(log)
        report: Report = config.pluginmanager.getplugin("contract-report")
        Path(path).write_text(json.dumps(outcome(config, report, log)), encoding="utf-8")


def outcome(config: pytest.Config, report: Report, log: CrashLog) -> Outcome:
    failed = {}
    for nodeid, entry in report.entries.items():
        if entry.outcome not in ("passed", "skipped"):
            file, _, name = nodeid.partition("::")
            where = os.path.relpath(config.rootpath / file, config.invocation_params.dir)
            failed[f"{Path(where).as_posix()}::{name}"] = entry.outcome
    return Outcome(failed=failed, crashes=log.crashes)
