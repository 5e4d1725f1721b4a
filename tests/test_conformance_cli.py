"""`mockvps conformance` says in one line why a run cannot tell anything, instead of reporting departures."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.test_cli import Served


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    server = Served("--log-level", "warning")
    yield server
    server.stop()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def conformance(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mockvps", "conformance", *args],
                          capture_output=True, text=True, timeout=120)  # fmt: skip


def test_a_rejected_token_is_one_line(served: Served) -> None:
    result = conformance("--base-url", served.url, "--token", "wrong")
    assert (result.returncode, result.stderr) == (2, "mockvps conformance: token rejected: 401 Invalid token.\n")
    assert "FINDING" not in result.stdout


def test_an_unreachable_service_is_one_line() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    result = conformance("--base-url", url, "--token", "t")
    assert (result.returncode, result.stderr) == (2, f"mockvps conformance: cannot reach {url}: Connection refused\n")


def test_something_else_than_the_api_is_one_line(served: Served) -> None:
    result = conformance("--base-url", served.url + "/_mockvps/ui", "--token", "mockvps-dev-token")
    assert result.returncode == 2
    assert result.stderr.startswith(f"mockvps conformance: not the Servers API at {served.url}/_mockvps/ui: ")
    assert len(result.stderr.splitlines()) == 1


def test_the_suite_itself_stops_at_once_on_a_rejected_token(served: Served) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "mockvps/conformance", "-p", "no:cacheprovider", "-q",
         "--base-url", served.url, "--token", "wrong"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == pytest.ExitCode.USAGE_ERROR
    assert "token rejected: 401 Invalid token." in result.stdout + result.stderr
    assert "passed" not in result.stdout and "failed" not in result.stdout


def test_every_option_of_the_suite_is_described_in_help() -> None:
    help_text = subprocess.run([sys.executable, "-m", "mockvps", "conformance", "--help"],
                               capture_output=True, text=True, timeout=60).stdout  # fmt: skip
    for flag in ("--second-token", "--profile", "--max-servers", "--rate", "--transition-timeout", "--plan-id",
                 "--os-id", "--location", "--as-remote"):  # fmt: skip
        line = next(line for line in help_text.splitlines() if line.strip().startswith(flag))
        described = line.split(flag, 1)[1].split(maxsplit=1)
        assert described, flag  # the flag's help follows it on its line or the next
    assert "pip install 'mockvps[conformance]'" in help_text


def test_the_suite_s_options_reach_it(served: Served) -> None:
    result = conformance("--base-url", served.url, "--token", "mockvps-dev-token", "--as-remote", "--rate", "50",
                         "-k", "list")  # fmt: skip
    assert result.returncode == 0, result.stdout[-2000:]
    assert "read-only" in result.stdout or "skipped" in result.stdout  # --as-remote: writes were skipped


def test_openapi_has_a_description_and_check_says_what_is_missing(tmp_path: Path) -> None:
    help_text = subprocess.run([sys.executable, "-m", "mockvps", "openapi", "--help"],
                               capture_output=True, text=True, timeout=60).stdout  # fmt: skip
    assert "Write the contract document" in help_text
    result = subprocess.run([sys.executable, "-m", "mockvps", "openapi", "--check"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=60)  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.splitlines()[0].startswith("openapi/openapi.json not found: ")
    assert "out of date" not in result.stderr
