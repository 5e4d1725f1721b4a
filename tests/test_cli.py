"""`mockvps serve` as a real process on a free port, driven over HTTP."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.documentation import examples

TOKEN = "cli-test-token"


class Served:
    """`mockvps serve` in a child process; its output goes to a file, so a chatty server never blocks.

    With `stderr_apart`, standard error goes to a file of its own (`errors()`) instead of joining the output.
    """

    def __init__(self, *args: str, env: dict[str, str] | None = None, stderr_apart: bool = False) -> None:
        self.log = tempfile.NamedTemporaryFile(mode="w+", suffix=".log", delete=False)  # noqa: SIM115
        self.error_log = None
        if stderr_apart:
            self.error_log = tempfile.NamedTemporaryFile(mode="w+", suffix=".err", delete=False)  # noqa: SIM115
        self.process = subprocess.Popen(
            [sys.executable, "-m", "mockvps", "serve", "--port", "0", *args],
            stdout=self.log,
            stderr=self.error_log or subprocess.STDOUT,
            text=True,
            env={**os.environ, **(env or {})},
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and "  token:" not in self.output() and self.process.poll() is None:
            time.sleep(0.02)
        match = re.search(r"listening on (http://\S+)", self.output())
        assert match, self.output()
        self.url = match.group(1)
        self.banner = self.output()

    def output(self) -> str:
        return Path(self.log.name).read_text()

    def errors(self) -> str:
        assert self.error_log is not None, "start it with stderr_apart=True"
        return Path(self.error_log.name).read_text()

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=10)
        finally:
            self.log.close()
            if self.error_log is not None:
                self.error_log.close()


@pytest.fixture
def served() -> Iterator[Served]:
    server = Served("--token", TOKEN, "--provisioning-delay", "0.3", "--action-delay", "0.2", "--log-level", "warning")
    yield server
    if server.process.poll() is None:
        server.stop()


def wait_for_status(client: httpx.Client, server_id: int, status: str, timeout: float = 10) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while True:
        body: dict[str, object] = client.get(f"/api/v1/servers/{server_id}/").json()
        if body["status"] == status or time.monotonic() > deadline:
            return body
        time.sleep(0.05)


def test_the_banner_says_where_it_listens_and_which_token_to_use(served: Served) -> None:
    text = served.banner
    assert f"token: {TOKEN}" in text
    assert f"Authorization: Bearer {TOKEN}" in text
    assert httpx.get(served.url + "/_mockvps/health").json() == {"status": "ok"}


def test_a_real_server_runs_a_whole_lifecycle_over_http(served: Served) -> None:
    with httpx.Client(base_url=served.url, headers={"Authorization": f"Bearer {TOKEN}"}) as client:
        created = client.post("/api/v1/servers/", json={"name": "cli", "plan_id": 1, "os_id": 5,
                                                          "location": "us-west"})  # fmt: skip
        assert created.status_code == 201
        server_id = created.json()["id"]
        assert server_id == 12347
        active = wait_for_status(client, server_id, "active")
        assert active["status"] == "active" and active["ip_address"]
        assert client.post(f"/api/v1/servers/{server_id}/stop/").json()["server"]["status"] == "stopping"
        assert wait_for_status(client, server_id, "stopped")["status"] == "stopped"
        assert client.delete(f"/api/v1/servers/{server_id}/").status_code == 204
        assert client.get(f"/api/v1/servers/{server_id}/").status_code == 404
    assert served.stop() == 0


@pytest.mark.skipif(shutil.which("curl") is None, reason="needs the curl binary")
def test_the_documentation_s_curl_commands_work_verbatim_against_a_real_server(served: Served) -> None:
    by_method = {(e.curl.method, e.path): e for e in examples()}
    listing = by_method[("GET", "/api/v1/servers/")]
    create = by_method[("POST", "/api/v1/servers/")]
    detail = by_method[("GET", "/api/v1/servers/{server_id}/")]
    for example in (listing, create, detail):
        result = subprocess.run(example.curl.argv(served.url, TOKEN), capture_output=True, text=True, timeout=30)
        assert result.returncode == 0, result.stderr
        answer = json.loads(result.stdout)
        assert example.answer is not None
        assert answer.keys() == example.answer.keys()
    assert answer["id"] == 12345


def test_empty_starts_without_servers_and_the_next_id_is_still_12347() -> None:
    server = Served("--empty", env={"MOCKVPS_TOKEN": "env-token", "MOCKVPS_LOG_LEVEL": "warning"})
    try:
        with httpx.Client(base_url=server.url, headers={"Authorization": "Bearer env-token"}) as client:
            assert client.get("/api/v1/servers/").json() == {"count": 0, "results": []}
            body = {"name": "x", "plan_id": 1, "os_id": 5, "location": "us-west"}
            assert client.post("/api/v1/servers/", json=body).json()["id"] == 12347
    finally:
        assert server.stop() == 0


def test_sigterm_stops_the_server_promptly(served: Served) -> None:
    started = time.monotonic()
    assert served.stop() == 0
    assert time.monotonic() - started < 5


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (["--catalog", "/nonexistent/catalog.json"], "catalog file"),
        (["--provisioning-delay", "-1"], "invalid setting provisioning_delay: expected a non-negative number"),
        (["--provisioning-delay", "1e300"], "invalid setting provisioning_delay: expected a number <= 31536000"),
        (["--action-delay", "nan"], "invalid setting action_delay: expected a finite number"),
        (["--balance", "1e9999999999"], "invalid setting balance: expected a number <= 1000000000000"),
    ],
)
def test_bad_configuration_exits_2_with_one_line(args: list[str], complaint: str) -> None:
    result = subprocess.run([sys.executable, "-m", "mockvps", "serve", "--port", "0", *args],
                            capture_output=True, text=True, timeout=30)  # fmt: skip
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert complaint in result.stderr


def test_a_catalog_file_replaces_the_catalog(tmp_path: Path) -> None:
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps({"locations": ["eu-central"]}))
    server = Served("--empty", "--catalog", str(path), "--log-level", "warning")
    try:
        auth = {"Authorization": "Bearer mockvps-dev-token"}
        body = {"name": "x", "plan_id": 1, "os_id": 5, "location": "us-west"}
        refused = httpx.post(server.url + "/api/v1/servers/", json=body, headers=auth)
        assert refused.json() == {"location": ['"us-west" is not a valid choice.']}
        accepted = httpx.post(server.url + "/api/v1/servers/", json={**body, "location": "eu-central"}, headers=auth)
        assert accepted.status_code == 201
    finally:
        server.stop()


def test_python_dash_m_and_the_console_script_agree() -> None:
    result = subprocess.run([sys.executable, "-m", "mockvps", "serve", "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "--provisioning-delay" in result.stdout
    script = Path(sys.executable).with_name("mockvps")
    if script.exists():
        assert subprocess.run([str(script), "serve", "--help"], capture_output=True, text=True).stdout == result.stdout


def test_a_dropped_connection_over_real_http_is_quiet_and_passes(served: Served) -> None:
    from mockvps.testing import ControlClient

    with ControlClient(served.url) as control, httpx.Client(base_url=served.url) as client:
        control.add_fault(method="GET", drop=True, times=1)
        auth = {"Authorization": f"Bearer {TOKEN}"}
        with pytest.raises(httpx.HTTPError):
            client.get("/api/v1/servers/", headers=auth)
        assert [rule["matched"] for rule in control.faults()] == [1]  # the drop was the mock's, and it is spent
        fresh = httpx.Client(base_url=served.url)  # a connection of its own: nothing left of the dropped one
        assert fresh.get("/api/v1/servers/", headers=auth).status_code == 200
        fresh.close()
    served.stop()
    assert "Traceback" not in served.output()


def test_every_log_line_goes_to_stdout() -> None:
    process = subprocess.Popen([sys.executable, "-m", "mockvps", "serve", "--port", "0"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)  # fmt: skip
    assert process.stdout is not None
    seen: list[str] = []
    while not seen or not seen[-1].startswith("  token:"):  # the banner's last line: the server is up
        line = process.stdout.readline()
        assert line, "".join(seen)
        seen.append(line)
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=10)
    out = "".join(seen) + out
    assert process.returncode == 0
    assert "Application startup complete" in out and "mockvps listening on" in out
    assert err == ""


@pytest.fixture
def unfrozen() -> Iterator[None]:
    """gc.freeze() is the whole process's: give back to the collector what a test froze."""
    import gc

    yield
    gc.unfreeze()


def test_serve_leaves_what_start_up_made_to_reference_counting(monkeypatch: pytest.MonkeyPatch, unfrozen: None) -> None:
    # A full collection walked every object start-up made, on every growth of the heap by a quarter: `mockvps
    # serve` freezes them before it serves, and the control API's once it is built (on its first request).
    import gc

    import uvicorn

    from mockvps.cli import main

    seen: dict[str, Any] = {}

    def run(server: uvicorn.Server, sockets: list[Any]) -> None:
        seen["frozen"] = gc.get_freeze_count()
        seen["app"] = server.config.app
        for sock in sockets:
            sock.close()

    gc.unfreeze()
    monkeypatch.setattr(uvicorn.Server, "run", run)
    monkeypatch.setattr(uvicorn.Config, "configure_logging", lambda config: None)  # this process's logging
    monkeypatch.setattr(signal, "signal", lambda signum, handler: None)  # and its signal handlers stay
    assert main(["serve", "--port", "0", "--log-level", "warning"]) == 0
    assert seen["frozen"] > 1000
    gc.unfreeze()
    seen["app"].control  # noqa: B018 - built on first use
    assert gc.get_freeze_count() > 1000


def test_the_control_api_is_built_once_and_says_so_once() -> None:
    from mockvps.app import create_app

    app = create_app()
    built: list[object] = []
    app.after_control_built = lambda: built.append(app._control)
    assert app.control is app.control
    assert built == [app.control]


@pytest.mark.parametrize(("level", "logged"), [("warning", False), ("error", False), ("info", True), ("debug", True)])
def test_access_lines_are_made_only_where_the_log_level_shows_them(
    monkeypatch: pytest.MonkeyPatch, unfrozen: None, level: str, logged: bool
) -> None:
    # uvicorn builds an access line's parts for every request unless told there are none to write.
    import uvicorn

    from mockvps.cli import main

    seen: dict[str, Any] = {}

    def run(server: uvicorn.Server, sockets: list[Any]) -> None:
        seen["access_log"] = server.config.access_log
        for sock in sockets:
            sock.close()

    monkeypatch.setattr(uvicorn.Server, "run", run)
    monkeypatch.setattr(uvicorn.Config, "configure_logging", lambda config: None)
    monkeypatch.setattr(signal, "signal", lambda signum, handler: None)
    assert main(["serve", "--port", "0", "--log-level", level]) == 0
    assert seen["access_log"] is logged
