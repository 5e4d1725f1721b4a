#!/usr/bin/env python3
"""Benchmark mockvps against the bare-ASGI ceiling, WireMock and Prism, on loopback, with wrk; mockvps with
`--data-dir` against mockvps in memory; and what `mockvps proxy` adds to a request when it stands in front of
mockvps.

    python bench/run.py                 # the full run: about 9 minutes (8 min 37 s on 2026-12-01)
    python bench/run.py --quick         # a smoke run: seconds, no Prism, no WireMock
    python bench/run.py --duration 5 --targets mockvps,data-dir,wiremock,ceiling --workloads detail,list100,create
    python bench/run.py --targets mockvps,proxy --workloads detail   # what the proxy adds to GET detail

Targets (--targets): mockvps, data-dir (mockvps --data-dir, a fresh directory each start; POST create only),
proxy (mockvps proxy in front of mockvps; GET detail only), ceiling (bench/bare.py), wiremock (static stubs
answering the bytes mockvps answered; needs java, its jar is installed by npm into bench/.wiremock), prism
(static examples of openapi/openapi.json; installed by npm into bench/.prism). Every server logs no requests.
Before its first timed run, each target gets an untimed --warmup run of each of its workloads (the JVM's JIT
compiles on the same CPU as the server runs: without it WireMock's first workload would be measured cold).

Servers run pinned to CPU 0 and the load generator to CPU 1 (when there are two). Every request goes to
127.0.0.1; every loop is bounded in time. It prints figures and the goals as ratios within the run, each marked
pass or short; it asserts nothing about speed and exits 0 whatever the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PRISM = ROOT / "bench" / ".prism" / "node_modules" / ".bin" / "prism"
PRISM_VERSION = "5.16.0"
WIREMOCK_VERSION = "3.13.2"
WIREMOCK = ROOT / "bench" / ".wiremock" / "node_modules" / "wiremock" / "build"
WIREMOCK_JAR = WIREMOCK / f"wiremock-standalone-{WIREMOCK_VERSION}.jar"
TOKEN = "mockvps-dev-token"
ORDER = {"name": "bench-server", "plan_id": 1, "os_id": 5, "location": "us-west"}
SERVER_CPU, LOAD_CPU = "0", "1"


def pinned(cpu: str) -> list[str]:
    return ["taskset", "-c", cpu] if shutil.which("taskset") and (os.cpu_count() or 1) > 1 else []


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_mb(pid: int) -> float:
    """Resident memory of a process and its children, in MB."""
    total = 0
    pids = [pid]
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        pids += [int(c) for c in children]
    except OSError:
        pass
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def request(port: int, method: str, path: str, body: Any = None, token: str = TOKEN) -> tuple[int, Any]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        payload = json.dumps(body).encode() if body is not None else None
        conn.request(
            method, path, body=payload, headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        )
        response = conn.getresponse()
        raw = response.read()
        return response.status, json.loads(raw) if raw else None
    finally:
        conn.close()


@dataclass
class Target:
    name: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    port: int = 0
    process: subprocess.Popen[bytes] | None = None
    stateful: bool = False
    upstream: Target | None = None
    """Started first; `{upstream}` in argv is its URL (the proxy's mockvps)."""
    workloads: tuple[str, ...] | None = None
    """The workloads it runs (None: all; "session" is one)."""
    fresh_dir: bool = False
    """`{data_dir}` in argv is a new empty directory each start, removed after."""

    @contextmanager
    def running(self, extra: list[str] | None = None) -> Iterator[Target]:
        with ExitStack() as stack:
            upstream = stack.enter_context(self.upstream.running()) if self.upstream else None
            self.port = free_port()
            argv = [a.replace("{port}", str(self.port)) for a in self.argv] + (extra or [])
            if self.fresh_dir:
                data_dir = stack.enter_context(tempfile.TemporaryDirectory(prefix="mockvps-bench-"))
                argv = [a.replace("{data_dir}", data_dir) for a in argv]
            if upstream is not None:
                argv = [a.replace("{upstream}", f"http://127.0.0.1:{upstream.port}") for a in argv]
            self.process = subprocess.Popen(
                pinned(SERVER_CPU) + argv,
                cwd=ROOT,
                env={**os.environ, **self.env},
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
            try:
                self.wait_ready(60)
                yield self
            finally:
                self.stop()

    def wait_ready(self, timeout: float) -> float:
        started = time.perf_counter()
        while time.perf_counter() - started < timeout:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}")
            try:
                if request(self.port, "GET", "/api/v1/servers/12345/")[0] < 500:  # answered: ready
                    return time.perf_counter() - started
            except (OSError, http.client.HTTPException, ValueError):
                time.sleep(0.002)
        raise RuntimeError(f"{self.name} did not answer within {timeout} s")

    def runs(self, kind: str) -> bool:
        return self.workloads is None or kind in self.workloads

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()

    def startup_seconds(self, runs: int) -> float:
        """Median time from launching the process to its first answer."""
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            with self.running():
                times.append(time.perf_counter() - started)
        return statistics.median(times)


MOCK_ARGS = ("--log-level", "warning", "--balance", "1000000000", "--provisioning-delay", "0", "--action-delay", "0")
"""How the benchmarks run mockvps: quiet, rich, and no waiting for transitions, so client sessions never wait."""


def checkout(code: Path | None, *args: str, name: str = "mockvps", stateful: bool = False) -> Target:
    """`mockvps serve --port {port} *args` run with this interpreter from a checkout (`code`; None: this one).

    `-P`: the working directory never comes first on sys.path, so PYTHONPATH decides which mockvps runs.
    """
    argv = [sys.executable, "-P", "-m", "mockvps", "serve", "--port", "{port}", *args]
    return Target(name, argv, env={"PYTHONPATH": str(code.resolve())} if code else {}, stateful=stateful)


WRK_SCRIPT = """
wrk.method = "{method}"
wrk.headers["Authorization"] = "Bearer {token}"
wrk.headers["Content-Type"] = "application/json"
{body}
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %d %d %d %d %d\\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99), e.connect + e.read + e.write + e.status + e.timeout))
end
"""


def wrk(port: int, method: str, path: str, token: str, body: Any, connections: int, seconds: float) -> dict[str, float]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        lua_body = f"wrk.body = {json.dumps(json.dumps(body))}" if body is not None else ""
        script.write(WRK_SCRIPT.format(method=method, token=token, body=lua_body))
    try:
        argv = [
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{max(1, round(seconds))}s",
            "--timeout",
            "5s",
            "-s",
            script.name,
            f"http://127.0.0.1:{port}{path}",
        ]
        out = subprocess.run([*pinned(LOAD_CPU), *argv], capture_output=True, text=True, timeout=seconds + 60).stdout
    finally:
        os.unlink(script.name)
    line = next(ln for ln in out.splitlines() if ln.startswith("RESULT"))
    requests, duration_us, p50, p99, errors = map(int, line.split()[1:])
    return {
        "rps": requests / (duration_us / 1e6),
        "p50_ms": p50 / 1000,
        "p99_ms": p99 / 1000,
        "errors": errors,
        "requests": requests,
    }


async def sessions(port: int, token: str, seconds: float, concurrency: int) -> dict[str, float]:
    """Client sessions: create, poll until active, stop, poll until stopped, start, poll until active, delete."""
    import httpx

    latencies: list[float] = []
    done = failed = 0
    deadline = time.monotonic() + seconds
    headers = {"Authorization": f"Bearer {token}"}

    async def call(client: httpx.AsyncClient, method: str, path: str, body: Any = None) -> httpx.Response:
        started = time.perf_counter()
        response = await client.request(method, path, json=body)
        latencies.append(time.perf_counter() - started)
        return response

    async def wait(client: httpx.AsyncClient, path: str, status: str) -> bool:
        for _ in range(50):
            if (await call(client, "GET", path)).json().get("status") == status:
                return True
        return False

    async def worker() -> None:
        nonlocal done, failed
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=10) as client:
            while time.monotonic() < deadline:
                created = await call(client, "POST", "/api/v1/servers/", ORDER)
                path = f"/api/v1/servers/{created.json()['id']}/"
                ok = created.status_code == 201 and await wait(client, path, "active")
                ok = ok and (await call(client, "POST", path + "stop/")).status_code == 200
                ok = ok and await wait(client, path, "stopped")
                ok = ok and (await call(client, "POST", path + "start/")).status_code == 200
                ok = ok and await wait(client, path, "active")
                ok = ok and (await call(client, "DELETE", path)).status_code == 204
                done, failed = (done + 1, failed) if ok else (done, failed + 1)

    started = time.monotonic()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.monotonic() - started
    latencies.sort()
    latencies = latencies or [0.0]  # a run too short (or a machine too busy) for one answer still reports
    return {
        "rps": len(latencies) / elapsed,
        "sessions_per_s": done / elapsed,
        "failed": failed,
        "p50_ms": latencies[len(latencies) // 2] * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99)] * 1000,
        "errors": failed,
    }


def interleaved(direct_port: int, proxy_port: int, requests: int) -> dict[str, float]:
    """GET detail on one keep-alive connection each, straight to mockvps and through the proxy in turns (so both
    see the same moment of a busy machine): the latency the proxy adds to one request."""

    def timed(conn: http.client.HTTPConnection) -> float:
        started = time.perf_counter()
        conn.request("GET", "/api/v1/servers/12345/", headers={"Authorization": f"Bearer {TOKEN}"})
        conn.getresponse().read()
        return time.perf_counter() - started

    direct = http.client.HTTPConnection("127.0.0.1", direct_port, timeout=30)
    proxied = http.client.HTTPConnection("127.0.0.1", proxy_port, timeout=30)
    times: tuple[list[float], list[float]] = ([], [])
    try:
        for i in range(requests + 50):
            pair = (timed(direct), timed(proxied))
            if i >= 50:  # warm-up
                times[0].append(pair[0])
                times[1].append(pair[1])
    finally:
        direct.close()
        proxied.close()
    at = {name: sorted(t) for name, t in zip(("direct", "proxy"), times, strict=True)}
    result = {}
    for name, q in (("p50", 0.5), ("p99", 0.99)):
        for who in ("direct", "proxy"):
            result[f"{who}_{name}_ms"] = at[who][int(len(at[who]) * q)] * 1000
        result[f"added_{name}_ms"] = result[f"proxy_{name}_ms"] - result[f"direct_{name}_ms"]
    return result


def drain(port: int) -> None:
    """Wait until the server has worked off what the last load left queued (bounded: 30 s)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        started = time.monotonic()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:  # any answer will do (WireMock and Prism have no health check)
            conn.request("GET", "/_mockvps/health")
            conn.getresponse().read()
        finally:
            conn.close()
        if time.monotonic() - started < 0.02:
            return


def seed_account(port: int, name: str, servers: int) -> str:
    status, account = request(
        port, "POST", "/_mockvps/accounts", {"name": name, "balance": "1000000000", "mode": "immediate"}
    )
    assert status == 201, account
    for i in range(servers):
        request(
            port,
            "POST",
            f"/_mockvps/accounts/{name}/servers",
            {"name": f"s{i}", "plan_id": 1, "os_id": 5, "location": "us-west"},
        )
    return str(account["tokens"][0])


def create_many(port: int, token: str, count: int) -> int:
    """Create servers through the public API on one keep-alive connection; answers how many were created."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    body = json.dumps(ORDER).encode()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    created = 0
    try:
        for _ in range(count):
            conn.request("POST", "/api/v1/servers/", body=body, headers=headers)
            response = conn.getresponse()
            response.read()
            created += response.status == 201
    finally:
        conn.close()
    return created


@dataclass(frozen=True)
class Captured:
    """One answer of mockvps, as it came: what the ceiling and WireMock answer in its place."""

    status: int
    content_type: str
    body: str


WORKLOADS = (
    # label, method, path (the query names the workload for the ceiling and WireMock), kind, body
    ("GET detail", "GET", "/api/v1/servers/12345/?bench=detail", "detail", None),
    ("GET list of 100", "GET", "/api/v1/servers/?bench=list100", "list100", None),
    ("GET list of 10,000", "GET", "/api/v1/servers/?bench=list10000", "list10000", None),
    ("POST create", "POST", "/api/v1/servers/?bench=create", "create", ORDER),
)
READY_PATH = "/api/v1/servers/12345/"
"""What Target.wait_ready asks for: WireMock answers it as GET detail, so its start-up ends at a 200 too."""


def capture(port: int, method: str, path: str, body: Any, token: str) -> Captured:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        payload = json.dumps(body).encode() if body is not None else None
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        conn.request(method, path, body=payload, headers=headers)
        response = conn.getresponse()
        raw = response.read()
        return Captured(response.status, response.getheader("Content-Type", ""), raw.decode())
    finally:
        conn.close()


def wiremock_mappings(captured: dict[str, Captured], root: Path) -> list[Path]:
    """WireMock stubs (`root/mappings/*.json`, for `--root-dir root`): each workload's request, matched on its
    method and its whole URL (path and `?bench=...`), answered with the status, Content-Type and body bytes that
    mockvps answered it; and GET of READY_PATH answered as GET detail."""
    mappings = root / "mappings"
    mappings.mkdir(parents=True, exist_ok=True)
    requests = [(kind, method, path) for _, method, path, kind, _ in WORKLOADS]
    requests.append(("ready", "GET", READY_PATH))
    written = []
    for name, method, url in requests:
        answer = captured.get("detail" if name == "ready" else name)
        if answer is None:
            continue
        stub = {
            "request": {"method": method, "url": url},
            "response": {
                "status": answer.status,
                "headers": {"Content-Type": answer.content_type},
                "body": answer.body,
            },
        }
        path = mappings / f"{name}.json"
        path.write_text(json.dumps(stub, ensure_ascii=False), encoding="utf-8")
        written.append(path)
    return written


def npm_install(prefix: Path, package: str) -> None:
    argv = ["npm", "install", "--no-audit", "--no-fund", "--prefix", str(prefix), package]
    subprocess.run(argv, check=True, capture_output=True)


def unavailable(chosen: list[str], which: Any = shutil.which) -> dict[str, str]:
    """The peers asked for that cannot run here, each with what to install."""
    missing = {}
    if "wiremock" in chosen:
        if not which("java"):
            missing["wiremock"] = "java is needed for WireMock: apt-get install openjdk-17-jre-headless"
        elif not WIREMOCK_JAR.exists() and not which("npm"):
            missing["wiremock"] = "npm is needed to install WireMock's jar: apt-get install npm"
    if "prism" in chosen and not PRISM.exists() and not which("npm"):
        missing["prism"] = "npm is needed to install Prism: apt-get install npm"
    return missing


WIREMOCK_ARGS = (
    *("--bind-address", "127.0.0.1", "--disable-request-logging", "--no-request-journal", "--disable-banner"),
    *("--use-chunked-encoding", "never"),
)
"""WireMock as it comes (Jetty's threads, the JVM's default heap and collector), logging and keeping no requests,
and framing answers with Content-Length as mockvps does (its default is chunked)."""
PRISM_ARGS = ("--errors", "false", "-v", "warn")
"""Prism answering its static examples, logging warnings only (not each request)."""
MOCKVPS, DATA_DIR, PROXY = "mockvps", "mockvps --data-dir", "mockvps proxy -> mockvps"
CEILING, WIREMOCK_NAME, PRISM_NAME = "bare ASGI (ceiling)", f"WireMock {WIREMOCK_VERSION}", f"Prism {PRISM_VERSION}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per workload (default 10)")
    parser.add_argument("--targets", default="mockvps,data-dir,proxy,ceiling,wiremock,prism")
    parser.add_argument("--connections", default="16,64")
    parser.add_argument(
        "--warmup",
        type=float,
        default=3.0,
        help="seconds of untimed load per workload, all of a target's workloads before its first timed run "
        "(default 3; 0: none, the JVM cold)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a smoke run: 1 s per workload, 16 connections, no warm-up, no Prism, no WireMock, "
        "no 10,000 or 100,000 servers",
    )
    parser.add_argument(
        "--workloads",
        default="detail,list100,list10000,create,session,100k",
        help="which to run (default all): detail, list100, list10000, create, session, 100k",
    )
    parser.add_argument("--mockvps-args", default="", help="extra flags for mockvps serve (e.g. --page-size 50)")
    args = parser.parse_args()
    if args.quick:
        args.duration, args.connections, args.warmup = 1.0, "16", 0.0
        args.targets = ",".join(t for t in args.targets.split(",") if t not in ("prism", "wiremock"))
    if not shutil.which("wrk"):
        print("wrk is needed: apt-get install wrk", file=sys.stderr)
        return 2
    chosen = args.targets.split(",")
    known = ("mockvps", "data-dir", "proxy", "ceiling", "wiremock", "prism")
    if set(chosen) - set(known):
        print(f"unknown targets {sorted(set(chosen) - set(known))}; known: {', '.join(known)}", file=sys.stderr)
        return 2
    skipped = unavailable(chosen)
    for key, why in skipped.items():
        print(f"{why}; running without {key}", file=sys.stderr)
    chosen = [t for t in chosen if t not in skipped]
    wanted = set(args.workloads.split(","))
    connections = [int(c) for c in args.connections.split(",")]
    if "prism" in chosen and not PRISM.exists():
        print(f"installing Prism {PRISM_VERSION} into bench/.prism ...", file=sys.stderr)
        npm_install(PRISM.parents[2], f"@stoplight/prism-cli@{PRISM_VERSION}")
    if "wiremock" in chosen and not WIREMOCK_JAR.exists():
        print(f"installing WireMock {WIREMOCK_VERSION} into bench/.wiremock ...", file=sys.stderr)
        npm_install(WIREMOCK.parents[2], f"wiremock@{WIREMOCK_VERSION}")
    with tempfile.TemporaryDirectory(prefix="mockvps-bench-") as scratch:
        bodies, stubs = Path(scratch) / "bodies.json", Path(scratch) / "wiremock"
        mock_args = (*MOCK_ARGS, *args.mockvps_args.split())
        targets = {
            "mockvps": checkout(None, *mock_args, stateful=True),
            "data-dir": Target(
                DATA_DIR,
                checkout(None, *mock_args, "--data-dir", "{data_dir}").argv,
                stateful=True,
                workloads=("create",),
                fresh_dir=True,
            ),
            "ceiling": Target(
                CEILING,
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    "bare:app",
                    "--app-dir",
                    "bench",
                    "--port",
                    "{port}",
                    "--log-level",
                    "warning",
                    "--no-access-log",
                ],
                env={"BENCH_BODIES": str(bodies)},
                workloads=("detail", "list100", "list10000", "create"),
            ),
            "proxy": Target(
                PROXY,
                [sys.executable, "-m", "mockvps", "proxy", "--upstream", "{upstream}", "--port", "{port}"],
                upstream=checkout(None, *mock_args, name="mockvps (behind the proxy)"),
                workloads=("detail",),
            ),
            "wiremock": Target(
                WIREMOCK_NAME,
                ["java", "-jar", str(WIREMOCK_JAR), "--port", "{port}", "--root-dir", str(stubs), *WIREMOCK_ARGS],
                workloads=("detail", "list100", "list10000", "create"),
            ),
            "prism": Target(
                PRISM_NAME,
                [str(PRISM), "mock", "openapi/openapi.json", "-h", "127.0.0.1", "-p", "{port}", *PRISM_ARGS],
            ),
        }
        rows: list[tuple[str, str, int, dict[str, float]]] = []
        extra: dict[str, dict[str, float]] = {}
        print(
            f"machine: {os.cpu_count()} CPUs, {platform()}; {args.duration:g} s per workload"
            f"{f' after {args.warmup:g} s of warm-up per workload' if args.warmup else ''}; "
            f"server on CPU {SERVER_CPU}, load on CPU {LOAD_CPU}",
            flush=True,
        )
        for key in ["mockvps", *[t for t in chosen if t != "mockvps"]]:
            target = targets[key]
            try:
                with target.running():
                    facts = extra.setdefault(target.name, {})
                    facts["rss_idle_mb"] = rss_mb(target.process.pid)  # type: ignore[union-attr]
                    tokens = {"detail": TOKEN, "list100": TOKEN, "list10000": TOKEN, "create": TOKEN}
                    if target.stateful:
                        if target.runs("list100") or key == "mockvps":
                            tokens["list100"] = seed_account(target.port, "bench-100", 100)
                        if target.runs("list10000") or key == "mockvps":
                            many = 10_000 if "list10000" in wanted and not args.quick else 100
                            tokens["list10000"] = seed_account(target.port, "bench-10000", many)
                        tokens["create"] = seed_account(target.port, "bench-create", 0)
                    if key == "mockvps":  # what the ceiling and WireMock answer in its place
                        captured = {
                            kind: capture(target.port, method, path, body, tokens[kind])
                            for _, method, path, kind, body in WORKLOADS
                        }
                        if target.stateful:
                            request(target.port, "POST", "/_mockvps/accounts/bench-create/reset")
                        bodies.write_text(json.dumps({k: [c.status, c.body] for k, c in captured.items()}))
                        wiremock_mappings(captured, stubs)
                    plan = []  # (label, method, path, kind, body, connection counts)
                    for label, method, path, kind, body in WORKLOADS:
                        if not target.runs(kind) or kind not in wanted or (kind == "list10000" and args.quick):
                            continue
                        # With the proxy in the run, GET detail on one connection too: what it adds to one request.
                        single = [1] if kind == "detail" and "proxy" in chosen and key in ("mockvps", "proxy") else []
                        cells = [c for c in single + connections if kind != "list10000" or c == connections[0]]
                        plan.append((label, method, path, kind, body, cells))
                    for _, method, path, kind, body, cells in plan if args.warmup else []:
                        # Untimed, every workload of the target before any is timed, at the most connections of the
                        # run: the JVM's JIT has compiled the code they share (the first timed run is not the cold one).
                        wrk(target.port, method, path, tokens[kind], body, max(cells), args.warmup)
                        drain(target.port)
                        if target.stateful and kind == "create":
                            request(target.port, "POST", "/_mockvps/accounts/bench-create/reset")
                    for label, method, path, kind, body, cells in plan:
                        for conns in cells:
                            result = wrk(target.port, method, path, tokens[kind], body, conns, args.duration)
                            drain(target.port)
                            rows.append((target.name, label, conns, result))
                            print(
                                f"  {target.name:<22} {label:<20} {conns:>3} conns {result['rps']:>9,.0f} req/s",
                                flush=True,
                            )
                            if target.stateful and kind == "create":
                                request(target.port, "POST", "/_mockvps/accounts/bench-create/reset")
                    if target.runs("session") and "session" in wanted:
                        os.sched_setaffinity(0, {int(LOAD_CPU)}) if (os.cpu_count() or 1) > 1 else None
                        result = asyncio.run(sessions(target.port, TOKEN, args.duration, 16))
                        rows.append((target.name, "mixed session", 16, result))
                        print(
                            f"  {target.name:<22} {'mixed session':<20}  16 conns {result['rps']:>9,.0f} req/s",
                            flush=True,
                        )
                    if key == "proxy" and target.upstream is not None:
                        os.sched_setaffinity(0, {int(LOAD_CPU)}) if (os.cpu_count() or 1) > 1 else None
                        facts.update(interleaved(target.upstream.port, target.port, 200 if args.quick else 2000))
                    facts["rss_loaded_mb"] = rss_mb(target.process.pid)  # type: ignore[union-attr]
            except RuntimeError as exc:  # a peer that does not start (a broken npm install, say) ends only its rows
                if key == "mockvps":
                    raise
                skipped[key] = str(exc)
                print(f"  {target.name:<22} not measured: {exc}", flush=True)
                continue
            if key != "proxy":
                facts["startup_s"] = target.startup_seconds(5)
        if "mockvps" in chosen and not args.quick and "100k" in wanted:
            mock = targets["mockvps"]
            with mock.running():
                token = seed_account(mock.port, "bench-100k", 0)
                created = create_many(mock.port, token, 100_000)
                extra[mock.name]["rss_100k_mb"] = rss_mb(mock.process.pid)  # type: ignore[union-attr]
                extra[mock.name]["servers_100k"] = created
    report(rows, extra, skipped)
    return 0


def platform() -> str:
    import platform as p

    return f"{p.system()} {p.machine()}, Python {p.python_version()}"


def report(
    rows: list[tuple[str, str, int, dict[str, float]]],
    extra: dict[str, dict[str, float]],
    skipped: dict[str, str] | None = None,
) -> None:
    print()
    print("| target | workload | conns | req/s | p50 ms | p99 ms | errors |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for name, label, conns, r in rows:
        print(
            f"| {name} | {label} | {conns} | {r['rps']:,.0f} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | "
            f"{int(r['errors'])} |"
        )
    print()
    print("| target | start-up to first 200 (median of 5) | RSS idle | RSS after load | RSS with 100,000 servers |")
    print("|---|---:|---:|---:|---:|")
    for name, f in extra.items():
        hundred_k = f"{f['rss_100k_mb']:.0f} MB" if "rss_100k_mb" in f else "-"
        startup = f"{f['startup_s'] * 1000:.0f} ms" if "startup_s" in f else "-"
        print(f"| {name} | {startup} | {f['rss_idle_mb']:.0f} MB | {f['rss_loaded_mb']:.0f} MB | {hundred_k} |")
    ratios(rows, extra, skipped or {})


def mark(met: bool) -> str:
    return "pass" if met else "short"


def ratios(
    rows: list[tuple[str, str, int, dict[str, float]]],
    extra: dict[str, dict[str, float]],
    skipped: dict[str, str] | None = None,
) -> None:
    """The goals, each as a ratio (or a figure) within this run with pass or short; the other comparisons after."""

    def cell(target: str, label: str, conns: int = 16) -> dict[str, float] | None:
        return next((r for n, lab, c, r in rows if n == target and lab == label and c == conns), None)

    def rps(target: str, label: str, conns: int = 16) -> float | None:
        found = cell(target, label, conns)
        return found["rps"] if found else None

    def absent(who: str, key: str, conns: int) -> str:
        if (skipped or {}).get(key):
            return f"not measured ({(skipped or {})[key]})"
        if not any(c == conns for _, _, c, _ in rows):
            return f"not measured (no run at {conns} connections)"
        return f"not measured ({who} not in this run)"

    print()
    print("Goals, as ratios within this run:")
    for conns in (16, 64):
        mock, peer = rps(MOCKVPS, "POST create", conns), rps(WIREMOCK_NAME, "POST create", conns)
        head = f"  POST create at {conns} connections, mockvps / WireMock:"
        if mock and peer:
            print(f"{head} {mock:,.0f} / {peer:,.0f} req/s = {mock / peer:.2f} (goal > 1.0: {mark(mock / peer > 1)})")
        else:
            print(f"{head} {absent('WireMock' if mock else 'mockvps', 'wiremock', conns)}")
    for label in ("GET detail", "GET list of 100", "POST create"):
        found = cell(MOCKVPS, label, 64)
        head = f"  p99 of mockvps {label} at 64 connections:"
        if found:
            print(f"{head} {found['p99_ms']:.2f} ms (goal <= 10 ms: {mark(found['p99_ms'] <= 10)})")
        else:
            print(f"{head} not measured (no run at 64 connections)")
    for conns in (16, 64):
        durable, memory = rps(DATA_DIR, "POST create", conns), rps(MOCKVPS, "POST create", conns)
        head = f"  POST create at {conns} connections, mockvps --data-dir / in memory:"
        if durable and memory:
            ratio = durable / memory
            print(f"{head} {durable:,.0f} / {memory:,.0f} req/s = {ratio:.2f} (goal >= 0.5: {mark(ratio >= 0.5)})")
        else:
            print(f"{head} {absent('mockvps --data-dir' if memory else 'mockvps', 'data-dir', conns)}")
    mock = extra.get(MOCKVPS, {})
    if "startup_s" in mock:
        ms = mock["startup_s"] * 1000
        print(f"  mockvps start-up to first answer: {ms:.0f} ms (goal < 500 ms: {mark(ms < 500)})")
    if "rss_idle_mb" in mock:
        mb = mock["rss_idle_mb"]
        print(f"  mockvps idle RSS: {mb:.0f} MB (goal < 60 MB: {mark(mb < 60)})")
    print()
    print("Other comparisons within this run (16 connections unless said):")
    for label in ("GET detail", "GET list of 100", "POST create"):
        mock_rps = rps(MOCKVPS, label)
        for peer, name in ((PRISM_NAME, "Prism"), (WIREMOCK_NAME, "WireMock")):
            other = rps(peer, label)
            if mock_rps and other:
                print(f"  {label}: {mock_rps / other:.1f}x {name}")
        ceiling = rps(CEILING, label)
        if mock_rps and ceiling:
            print(f"  {label}: {mock_rps / ceiling:.0%} of the ceiling")
    small, large = rps(MOCKVPS, "GET list of 100"), rps(MOCKVPS, "GET list of 10,000")
    if small and large:
        print(f"  list cost: {(1 / large - 1 / small) / 9_900 * 1e6:.2f} us per server (from 100 to 10,000 servers)")
    for conns in (1, 16, 64):
        direct, proxied = cell(MOCKVPS, "GET detail", conns), cell(PROXY, "GET detail", conns)
        if direct and proxied:
            speeds = f"{proxied['rps']:,.0f} vs {direct['rps']:,.0f} req/s"
            print(
                f"  mockvps proxy adds to GET detail at {conns} connection{'s' if conns > 1 else ''}: "
                f"p50 +{proxied['p50_ms'] - direct['p50_ms']:.2f} ms, "
                f"p99 +{proxied['p99_ms'] - direct['p99_ms']:.2f} ms ({speeds})"
            )
    added = extra.get(PROXY, {})
    if "added_p50_ms" in added:
        print(
            f"  mockvps proxy adds to one GET detail (one connection, in turns with mockvps direct): "
            f"p50 +{added['added_p50_ms']:.2f} ms ({added['direct_p50_ms']:.2f} -> {added['proxy_p50_ms']:.2f}), "
            f"p99 +{added['added_p99_ms']:.2f} ms ({added['direct_p99_ms']:.2f} -> {added['proxy_p99_ms']:.2f})"
        )
    for name in (MOCKVPS, DATA_DIR):
        if any(n == name for n, _, _, _ in rows):
            errors = sum(int(r["errors"]) for n, _, _, r in rows if n == name)
            print(f"  {name} errors under load: {errors}")
    if mock:
        print(
            f"  mockvps start-up {mock.get('startup_s', 0) * 1000:.0f} ms, idle RSS {mock['rss_idle_mb']:.0f} MB"
            + (f", 100,000 servers {mock['rss_100k_mb']:.0f} MB" if "rss_100k_mb" in mock else "")
        )


if __name__ == "__main__":
    raise SystemExit(main())
