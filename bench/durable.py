#!/usr/bin/env python3
"""What `--data-dir` costs: creates with and without it, and a control write while the store holds many servers.

    python bench/durable.py                          # this checkout
    python bench/durable.py --code /work/wt-old      # another checkout of mockvps, run with this interpreter
    python bench/durable.py --servers 20000 --duration 5 --rounds 5 --connections 16,64

It starts `mockvps serve` (server pinned to CPU 0, wrk and the client on CPU 1, as bench/run.py does) and
prints: POST create per second in memory and with a data dir, in turns, `--rounds` times at each number of
connections (each round's ratio and their median: the turns put the moods of a busy machine on both alike);
what the disk itself takes for a sync (the floor under a group commit); the median and worst time of a control
write (`POST /_mockvps/clock/advance`) while the store holds `--servers` servers, and how many GET detail
another client got answered meanwhile. It asserts nothing: the tests hold the behaviour.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import TOKEN, checkout, request, wrk

CREATE = {"name": "bench", "plan_id": 1, "os_id": 5, "location": "us-west"}


def snapshot_with(servers: int) -> dict[str, object]:
    """A snapshot whose default account holds `servers` active servers, its token in clear (any version reads it)."""
    records = [
        {
            "id": 20000 + i,
            "name": f"s{i}",
            "hostname": None,
            "plan_id": 1,
            "os_id": 5,
            "location": "us-west",
            "backups_enabled": False,
            "ssh_key_id": None,
            "status": "active",
            "since": "2025-01-16T15:30:00Z",
            "created_at": "2025-01-16T15:30:00Z",
            "updated_at": "2025-01-16T15:30:00Z",
            "ipv4": f"198.18.{i // 250}.{i % 250 + 1}",
            "ipv6": f"2001:db8::{i + 16:x}",
            "activated": True,
        }
        for i in range(servers)
    ]
    account = {"name": "default", "tokens": [TOKEN], "balance": "1000000000", "servers": records}
    return {"version": 1, "accounts": [account]}


def control_writes(port: int, count: int) -> tuple[list[float], int]:
    """Times of `count` clock advances, and the GET detail another client had answered meanwhile."""
    answered = 0
    stop = threading.Event()

    def reader() -> None:
        nonlocal answered
        while not stop.is_set():
            if request(port, "GET", "/api/v1/servers/20000/")[0] == 200:
                answered += 1

    thread = threading.Thread(target=reader)
    thread.start()
    times = []
    try:
        for _ in range(count):
            started = time.perf_counter()
            status, _ = request(port, "POST", "/_mockvps/clock/advance", {"seconds": 1})
            times.append(time.perf_counter() - started)
            assert status == 200, status
    finally:
        stop.set()
        thread.join()
    return times, answered


def disk_sync(directory: Path, seconds: float = 2.0) -> tuple[float, float]:
    """Median and 99th percentile, in ms, of a 16 KiB overwrite and fdatasync in `directory` (the disk's floor)."""
    path = directory / "sync-probe"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    times = []
    try:
        os.write(fd, b"\0" * (16384 * 64))
        os.fsync(fd)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            os.pwrite(fd, os.urandom(16384), 16384 * (len(times) % 64))
            started = time.perf_counter()
            os.fdatasync(fd)
            times.append(time.perf_counter() - started)
    finally:
        os.close(fd)
        path.unlink()
    times.sort()
    return times[len(times) // 2] * 1000, times[int(len(times) * 0.99)] * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--code", type=Path, help="a checkout of mockvps to run instead of the installed one")
    parser.add_argument("--servers", type=int, default=20_000, help="servers the store holds (default 20000)")
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per create run (default 5)")
    parser.add_argument("--writes", type=int, default=20, help="control writes timed (default 20)")
    parser.add_argument("--rounds", type=int, default=3, help="in-memory and data-dir runs in turns (default 3)")
    parser.add_argument("--connections", default="16,64", help="wrk connections, comma-separated (default 16,64)")
    args = parser.parse_args()
    serve = ("--log-level", "error", "--provisioning-delay", "0", "--balance", "1000000000")
    print(f"code: {args.code or 'this checkout'}", flush=True)
    for conns in (int(c) for c in args.connections.split(",")):
        ratios = []
        for round_ in range(1, args.rounds + 1):
            rates = {}
            for label, extra in (("in memory", []), ("--data-dir", ["--data-dir", tempfile.mkdtemp()])):
                with checkout(args.code, *serve).running(extra) as target:
                    result = wrk(target.port, "POST", "/api/v1/servers/", TOKEN, CREATE, conns, args.duration)
                rates[label] = result["rps"]
                print(
                    f"round {round_}: POST create, {conns} connections, {label}: {result['rps']:,.0f} req/s, "
                    f"p50 {result['p50_ms']:.2f} ms, p99 {result['p99_ms']:.2f} ms, {result['errors']:.0f} errors",
                    flush=True,
                )
            ratios.append(rates["--data-dir"] / rates["in memory"])
        rounds = ", ".join(f"{r:.2f}" for r in ratios)
        print(
            f"  {conns} connections: --data-dir / in-memory create: median {statistics.median(ratios):.2f} "
            f"(rounds: {rounds}; goal >= 0.5)",
            flush=True,
        )
    median, p99 = disk_sync(Path(tempfile.mkdtemp()))
    print(f"the disk: a 16 KiB overwrite and fdatasync takes {median:.2f} ms (median), {p99:.2f} ms (p99)", flush=True)
    state = Path(tempfile.mkstemp(suffix=".json")[1])
    state.write_text(json.dumps(snapshot_with(args.servers)))
    data_dir = tempfile.mkdtemp()
    with checkout(args.code, *serve).running(["--data-dir", data_dir, "--state", str(state)]) as target:
        times, answered = control_writes(target.port, args.writes)
    print(
        f"control write (clock advance) with {args.servers:,} stored servers: median "
        f"{statistics.median(times) * 1000:.1f} ms, worst {max(times) * 1000:.1f} ms; "
        f"{answered:,} GET detail answered meanwhile ({sum(times):.2f} s)",
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
