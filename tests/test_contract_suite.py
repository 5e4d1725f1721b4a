"""The contract suite itself: it passes on the mock, over HTTP too, and fails on every kind of departure."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.mutants import MUTANTS
from tests.test_cli import Served

ROOT = Path(__file__).resolve().parents[1]


def run_suite(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "mockvps/conformance", "-p", "no:cacheprovider", "-q", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip


def test_there_are_at_least_a_dozen_kinds_of_departure() -> None:
    assert len(MUTANTS) >= 12


def test_the_suite_passes_on_the_real_mock_through_the_same_harness() -> None:
    result = run_suite("--app-factory", "tests.mutants:faithful")
    assert result.returncode == 0, result.stdout[-3000:]


@pytest.mark.parametrize("mutant", MUTANTS)
def test_the_suite_fails_on_a_departure(mutant: str) -> None:
    result = run_suite("--app-factory", f"tests.mutants:{mutant}", "-x")
    assert result.returncode == 1, result.stdout[-3000:]
    assert "FINDING:" in result.stdout  # a departure reads as a finding, not as a crash of the suite


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
        report = tmp_path / "report"
        result = subprocess.run(
            [sys.executable, "-m", "mockvps", "conformance", "--base-url", server.url, "--token", "mockvps-dev-token",
             "--second-token", "second-token", "--report", str(report)],
            capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert result.returncode == 0, result.stdout[-3000:]
        assert "conformance" in result.stdout and "PASSED" in result.stdout
        markdown = (report / "conformance.md").read_text()
        assert "| GET /api/v1/servers/ | pass |" in markdown
        assert "**FAIL**" not in markdown and "skipped" not in markdown
        assert "<testsuite" in (report / "junit.xml").read_text()
        created, deleted = re.search(r"servers created: (\d+).*deleted: (\d+)", markdown).groups()  # type: ignore[union-attr]
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
