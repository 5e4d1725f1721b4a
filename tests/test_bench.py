"""A smoke run of the benchmark: it runs and prints its table and its goals. It asserts nothing about speed.

And the WireMock peer's stubs: written from mockvps' captured answers, they answer the same status, Content-Type
and body bytes to the same method and URL (checked without java; and against a running WireMock when java and
the jar that `bench/run.py` installs are both here: the tests install nothing).
"""

from __future__ import annotations

import http.client
import importlib.util
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]


def bench_run() -> ModuleType:
    """bench/run.py as a module (bench/ is no package)."""
    if "bench_run" not in sys.modules:
        spec = importlib.util.spec_from_file_location("bench_run", ROOT / "bench" / "run.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules["bench_run"] = module  # dataclasses look their module up while the class is made
        spec.loader.exec_module(module)
    return sys.modules["bench_run"]


@pytest.mark.xdist_group("heavy")  # pins CPUs and loads them
def test_the_benchmark_runs_and_reports() -> None:
    command = [sys.executable, "bench/run.py", "--quick", "--targets", "mockvps,data-dir,proxy,ceiling"]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    table = result.stdout
    for row in ("| mockvps | GET detail | 16 |", "| mockvps | POST create | 16 |", "| mockvps | mixed session | 16 |",
                "| bare ASGI (ceiling) | GET detail | 16 |", "| mockvps proxy -> mockvps | GET detail | 16 |",
                "| mockvps proxy -> mockvps | GET detail | 1 |",
                "| mockvps --data-dir | POST create | 16 |"):  # fmt: skip
        assert row in table
    assert "| mockvps --data-dir | GET detail |" not in table  # the store's target runs POST create only
    assert "WireMock" not in table.split("Goals, as ratios within this run:")[0]  # --quick: no java needed
    goals = (
        r"  POST create at 16 connections, mockvps --data-dir / in memory: [\d,]+ / [\d,]+ req/s = \d+\.\d\d "
        r"\(goal >= 0\.5: (pass|short)\)",
        r"  POST create at 16 connections, mockvps / WireMock: not measured \(WireMock not in this run\)",
        r"  p99 of mockvps POST create at 64 connections: not measured \(no run at 64 connections\)",
        r"  mockvps start-up to first answer: \d+ ms \(goal < 500 ms: (pass|short)\)",
        r"  mockvps idle RSS: \d+ MB \(goal < 60 MB: (pass|short)\)",
    )
    for goal in goals:
        assert re.search(goal, table), goal
    assert "mockvps proxy adds to one GET detail (one connection, in turns with mockvps direct): p50 +" in table
    assert "mockvps errors under load: 0" in table
    assert "mockvps --data-dir errors under load: 0" in table


def captured_answers() -> dict[str, Any]:
    run = bench_run()
    return {
        "detail": run.Captured(200, "application/json", '{"id":12345,"name":"caf\u00e9"}'),
        "list100": run.Captured(200, "application/json", '{"servers":[],"total":0}'),
        "create": run.Captured(201, "application/json; charset=utf-8", '{"id":12346,"status":"provisioning"}'),
    }


def test_wiremock_stubs_answer_mockvps_bytes_to_each_workload_s_method_and_url(tmp_path: Path) -> None:
    run = bench_run()
    captured = captured_answers()
    written = run.wiremock_mappings(captured, tmp_path)
    assert sorted(path.name for path in written) == ["create.json", "detail.json", "list100.json", "ready.json"]
    assert all(path.parent == tmp_path / "mappings" for path in written)  # what `--root-dir tmp_path` loads
    workloads = {kind: (method, url) for _, method, url, kind, _ in run.WORKLOADS}
    for path in written:
        stub = json.loads(path.read_bytes().decode("utf-8"))
        kind = path.stem
        answer = captured["detail" if kind == "ready" else kind]
        method, url = ("GET", run.READY_PATH) if kind == "ready" else workloads[kind]
        assert stub["request"] == {"method": method, "url": url}  # the whole URL: the path and its ?bench=
        assert stub["response"] == {
            "status": answer.status,
            "headers": {"Content-Type": answer.content_type},
            "body": answer.body,
        }
    assert workloads["create"] == ("POST", "/api/v1/servers/?bench=create")
    assert workloads["detail"] == ("GET", "/api/v1/servers/12345/?bench=detail")


def test_without_java_the_benchmark_says_what_to_install_and_runs_without_wiremock() -> None:
    run = bench_run()
    missing = run.unavailable(["mockvps", "wiremock"], which=lambda name: None if name == "java" else f"/bin/{name}")
    assert missing == {"wiremock": "java is needed for WireMock: apt-get install openjdk-17-jre-headless"}
    assert run.unavailable(["mockvps", "ceiling"], which=lambda name: None) == {}


def test_every_peer_logs_no_requests() -> None:
    run = bench_run()
    assert {"--disable-request-logging", "--no-request-journal"} <= set(run.WIREMOCK_ARGS)
    assert run.PRISM_ARGS[run.PRISM_ARGS.index("-v") + 1] == "warn"
    assert run.MOCK_ARGS[:2] == ("--log-level", "warning")


def answer(port: int, method: str, url: str, body: Any, token: str) -> tuple[int, str, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        payload = json.dumps(body).encode() if body is not None else None
        conn.request(method, url, body=payload, headers={"Authorization": f"Bearer {token}"})
        response = conn.getresponse()
        raw = response.read()
        assert response.getheader("Content-Length") == str(len(raw))  # framed as mockvps frames it, not chunked
        return response.status, response.getheader("Content-Type", ""), raw
    finally:
        conn.close()


@pytest.mark.skipif(
    shutil.which("java") is None or not bench_run().WIREMOCK_JAR.exists(),
    reason="needs java (apt-get install openjdk-17-jre-headless) and WireMock's jar, which `python bench/run.py "
    "--targets wiremock` installs into bench/.wiremock with npm; tests download nothing",
)
@pytest.mark.xdist_group("heavy")  # pins CPUs
def test_a_running_wiremock_answers_what_mockvps_answered(tmp_path: Path) -> None:
    run = bench_run()
    mock = run.checkout(None, *run.MOCK_ARGS)
    wiremock = run.Target("WireMock", ["java", "-jar", str(run.WIREMOCK_JAR), "--port", "{port}", "--root-dir",
                                       str(tmp_path), *run.WIREMOCK_ARGS])  # fmt: skip
    with mock.running():
        captured = {kind: run.capture(mock.port, method, url, body, run.TOKEN) for _, method, url, kind, body in
                    run.WORKLOADS if kind != "list10000"}  # fmt: skip
    run.wiremock_mappings(captured, tmp_path)
    with wiremock.running():
        for _, method, url, kind, body in run.WORKLOADS:
            if kind in captured:
                expected = captured[kind]
                assert answer(wiremock.port, method, url, body, run.TOKEN) == (
                    expected.status,
                    expected.content_type,
                    expected.body.encode(),
                )


@pytest.mark.xdist_group("heavy")  # pins CPUs and loads them
def test_the_a_b_comparison_runs_each_checkout_s_own_code(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "mockvps", tmp_path / "mockvps", ignore=shutil.ignore_patterns("__pycache__"))
    settings = tmp_path / "mockvps" / "settings.py"  # the copy's default token differs: it answers 401
    settings.write_text(settings.read_text().replace('DEFAULT_TOKEN = "mockvps-dev-token"', 'DEFAULT_TOKEN = "other"'))
    command = [sys.executable, "bench/ab.py", "--code", str(tmp_path), "--rounds", "1", "--duration", "1"]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert f"before: {tmp_path}; after: {ROOT}" in result.stdout
    assert "after/before: median" in result.stdout
    errors = re.search(r"errors (\d+)", result.stdout)
    assert errors is not None and int(errors.group(1)) > 0  # the copy's own code answered (this one's: 200)


@pytest.mark.xdist_group("heavy")  # pins CPUs and loads them
def test_the_durable_benchmark_runs_in_turns_and_reports_the_ratio_and_the_disk() -> None:
    command = [sys.executable, "bench/durable.py", "--rounds", "1", "--duration", "1", "--connections", "16",
               "--servers", "100", "--writes", "2"]  # fmt: skip
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    out = result.stdout
    assert "round 1: POST create, 16 connections, in memory:" in out
    assert "round 1: POST create, 16 connections, --data-dir:" in out
    assert re.search(r"16 connections: --data-dir / in-memory create: median \d+\.\d\d \(rounds: ", out)
    assert re.search(r"the disk: a 16 KiB overwrite and fdatasync takes \d+\.\d\d ms", out)
    assert re.search(r"control write \(clock advance\) with 100 stored servers: median", out)
    assert re.findall(r"(\d+) errors", out) == ["0", "0"]  # each create run answered every request
