"""The contract suite itself: it passes on the mock, over HTTP too, and fails on every kind of departure."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from mockvps.backend import Backend
from mockvps.clock import VirtualClock
from mockvps.lifecycle import ACTIONS, SETTLES
from mockvps.settings import Settings
from tests import mutants
from tests.mutants import BEHAVIOUR, MUTANTS, VARIANTS
from tests.suite_outcome import Outcome
from tests.test_cli import Served

ROOT = Path(__file__).resolve().parents[1]


def run_suite(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "mockvps/conformance", "-p", "no:cacheprovider", "-q", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip


def run_on(factory: str, tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], Outcome]:
    """The whole suite (no -x: every test that fails counts) on `tests.mutants:factory`, and what failed.

    With plain asserts: rewriting them recompiles every module of schemathesis (a pytest plugin's package) in
    each run when no bytecode is written (PYTHONDONTWRITEBYTECODE), some 4 s of CPU a run, and what is read
    here is which tests failed, not how their asserts explain it.
    """
    written = tmp_path / "outcome.json"
    result = run_suite("--assert=plain", "--app-factory", f"tests.mutants:{factory}", "-p", "tests.suite_outcome",
                       "--outcome-file", str(written), *args)  # fmt: skip
    assert written.exists(), result.stdout[-3000:] + result.stderr[-3000:]
    outcome: Outcome = json.loads(written.read_text(encoding="utf-8"))
    return result, outcome


def names(target: str, nodeid: str) -> bool:
    """Does `target` name the test `nodeid`: that test, or one of a parametrized test's ids it is a prefix of?"""
    return nodeid == target or nodeid.startswith(target if "[" in target else target + "[")


def test_a_name_is_a_test_or_a_prefix_of_its_parametrized_ids() -> None:
    assert names("t.py::test_a", "t.py::test_a")
    assert names("t.py::test_a", "t.py::test_a[x-1]")
    assert names("t.py::test_a[x-", "t.py::test_a[x-1]")
    assert not names("t.py::test_a", "t.py::test_ab")
    assert not names("t.py::test_a[x-", "t.py::test_a[y-1]")


def test_there_are_at_least_a_dozen_kinds_of_departure() -> None:
    assert len(MUTANTS) >= 12


def test_each_variant_names_its_tests_and_changes_the_mock_through_public_seams_only() -> None:
    tables = (dict(ACTIONS), dict(SETTLES))
    for name in MUTANTS:
        variant = VARIANTS[name]
        assert variant.doc and variant.caught_by, name
        assert all(t.startswith("mockvps/conformance/test_") and "::test_" in t for t in variant.caught_by), name
        app = getattr(mutants, name)(Settings(), clock=VirtualClock())
        backend = app.state.backend
        overridden = {n for cls in type(backend).__mro__[: type(backend).__mro__.index(Backend)] for n in vars(cls)}
        private = {n for n in overridden if n.startswith("_") and not n.startswith("__") and hasattr(Backend, n)}
        assert private == set(), name
    assert (dict(ACTIONS), dict(SETTLES)) == tables  # no variant touched the lifecycle's own tables


def test_the_suite_passes_on_the_real_mock_through_the_same_harness(tmp_path: Path) -> None:
    result, outcome = run_on("faithful", tmp_path)
    assert result.returncode == 0, result.stdout[-3000:]
    assert outcome == {"failed": {}, "crashes": []}


@pytest.mark.parametrize("mutant", MUTANTS)
def test_the_suite_fails_on_a_departure_in_the_test_the_variant_names_and_nowhere_else(
    mutant: str, tmp_path: Path
) -> None:
    expected = VARIANTS[mutant].caught_by
    result, outcome = run_on(mutant, tmp_path)
    assert result.returncode == 1, result.stdout[-3000:]
    # A variant models a departure; one that makes the mock raise (answered 500) is a broken variant.
    assert outcome["crashes"] == [], outcome["crashes"]
    failed = outcome["failed"]
    assert [t for t in expected if not any(names(t, nodeid) for nodeid in failed)] == [], failed
    assert [nodeid for nodeid in failed if not any(names(t, nodeid) for t in expected)] == []
    assert set(failed.values()) == {"finding"}, failed  # departures, not errors of the suite


def test_a_variant_that_crashes_the_mock_is_told_from_a_departure(tmp_path: Path) -> None:
    result, outcome = run_on("crashing", tmp_path, "-k", "test_list_count_equals_the_number_of_results")
    assert result.returncode == 1, result.stdout[-3000:]
    # The suite reads the 500 as a finding, like any departure: only the mock's own log tells the crash.
    assert outcome["failed"] == {f"{BEHAVIOUR}test_list_count_equals_the_number_of_results": "finding"}
    assert len(outcome["crashes"]) == 1
    assert "unexpected error on GET /api/v1/servers/" in outcome["crashes"][0]
    assert "TypeError" in outcome["crashes"][0]


@pytest.fixture
def accounts_file(tmp_path: Path) -> Path:
    path = tmp_path / "accounts.json"
    path.write_text(json.dumps({"accounts": [{"name": "second", "tokens": ["second-token"]}]}))
    return path


def test_conformance_passes_over_http_and_leaves_nothing_behind(tmp_path: Path, accounts_file: Path) -> None:
    server = Served("--provisioning-delay", "0.2", "--action-delay", "0.1", "--accounts", str(accounts_file),
                    "--log-level", "warning")  # fmt: skip
    try:
        auth = {"Authorization": "Bearer mockvps-dev-token"}
        before = [httpx.get(f"{server.url}/api/v1/servers/{i}/", headers=auth).json() for i in (12345, 12346)]
        read_only = {"token": "read-only-token", "permissions": ["servers:read"]}
        assert httpx.post(f"{server.url}/_mockvps/accounts/default/tokens", json=read_only).status_code == 201
        report = tmp_path / "report"
        result = subprocess.run(
            [sys.executable, "-m", "mockvps", "conformance", "--base-url", server.url, "--token", "mockvps-dev-token",
             "--second-token", "second-token", "--read-only-token", "read-only-token", "--report", str(report)],
            capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert result.returncode == 0, result.stdout[-3000:]
        assert "conformance" in result.stdout and "PASSED" in result.stdout
        markdown = (report / "conformance.md").read_text()
        assert "| GET /api/v1/servers/ | pass |" in markdown
        assert "**FAIL**" not in markdown and "skipped" not in markdown
        assert "<testsuite" in (report / "junit.xml").read_text()
        counted = re.search(r"servers created: (\d+).*deleted: (\d+)", markdown)
        assert counted is not None, markdown
        created, deleted = counted.groups()
        assert int(created) > 0 and created == deleted
        listing = httpx.get(f"{server.url}/api/v1/servers/", headers=auth).json()
        assert [s["id"] for s in listing["results"]] == [12345, 12346]
        after = [httpx.get(f"{server.url}/api/v1/servers/{i}/", headers=auth).json() for i in (12345, 12346)]
        assert after == before  # the suite touched no server it had not created itself
    finally:
        server.stop()


def test_a_remote_run_only_reads_unless_writes_are_allowed(tmp_path: Path) -> None:
    server = Served("--log-level", "info")
    try:
        result = subprocess.run(
            [sys.executable, "-m", "mockvps", "conformance", "--base-url", server.url, "--token", "mockvps-dev-token",
             "--as-remote", "--rate", "500", "--report", str(tmp_path)],
            capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert result.returncode == 0, result.stdout[-3000:]
        assert "pass --allow-writes" in (tmp_path / "conformance.md").read_text()
    finally:
        server.stop()
    requests = re.findall(r'"([A-Z]+) /api/v1/servers/\S* HTTP/1\.1"', server.output())
    assert len(requests) > 50
    assert set(requests) == {"GET"}


@pytest.mark.parametrize("signal_name", ["SIGTERM", "SIGINT"])
def test_an_interrupted_run_still_deletes_what_it_created(signal_name: str) -> None:
    import signal
    import time

    server = Served("--provisioning-delay", "60", "--log-level", "warning")
    auth = {"Authorization": "Bearer mockvps-dev-token"}
    try:
        suite = subprocess.Popen(
            [sys.executable, "-m", "mockvps", "conformance", "--base-url", server.url, "--token", "mockvps-dev-token",
             "-k", "provisions_without_an_address"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while httpx.get(f"{server.url}/api/v1/servers/", headers=auth).json()["count"] == 2:
            assert time.monotonic() < deadline and suite.poll() is None
            time.sleep(0.05)
        suite.send_signal(getattr(signal, signal_name))
        assert suite.wait(timeout=60) != 0
        listing = httpx.get(f"{server.url}/api/v1/servers/", headers=auth).json()
        assert [s["id"] for s in listing["results"]] == [12345, 12346]
    finally:
        server.stop()
