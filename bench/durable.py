#!/usr/bin/env python3
"""What `--data-dir` costs: creates with and without it, and a control write while the store holds many servers.

    python bench/durable.py                          # this checkout
    python bench/durable.py --code /work/wt-old      # another checkout of mockvps, run with this interpreter
    python bench/durable.py --servers 20000 --duration 5

It starts `mockvps serve` (server pinned to CPU 0, wrk and the client on CPU 1, as bench/run.py does) and
prints: POST create per second at 16 connections in memory and with a data dir (the ratio too); the median and
worst time of a control write (`POST /_mockvps/clock/advance`) while the store holds `--servers` servers, and
how many GET detail another client got answered meanwhile. It asserts nothing: the tests hold the behaviour.
"""

from __future__ import annotations

import argparse
import json
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--code", type=Path, help="a checkout of mockvps to run instead of the installed one")
    parser.add_argument("--servers", type=int, default=20_000, help="servers the store holds (default 20000)")
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per create run (default 5)")
    parser.add_argument("--writes", type=int, default=20, help="control writes timed (default 20)")
    args = parser.parse_args()
    serve = ("--log-level", "error", "--provisioning-delay", "0", "--balance", "1000000000")
    print(f"code: {args.code or 'this checkout'}", flush=True)
    rates = {}
    for label, extra in (("in memory", []), ("--data-dir", ["--data-dir", tempfile.mkdtemp()])):
        with checkout(args.code, *serve).running(extra) as target:
            result = wrk(target.port, "POST", "/api/v1/servers/", TOKEN, CREATE, 16, args.duration)
        rates[label] = result["rps"]
        print(
            f"POST create, 16 connections, {label}: {result['rps']:,.0f} req/s, p50 {result['p50_ms']:.2f} ms, "
            f"p99 {result['p99_ms']:.2f} ms, {result['errors']:.0f} errors",
            flush=True,
        )
    print(f"  with --data-dir: {rates['--data-dir'] / rates['in memory']:.0%} of in-memory create", flush=True)
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
