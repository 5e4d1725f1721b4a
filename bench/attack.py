#!/usr/bin/env python3
"""The oversized-header attack, measured: one connection sends a 32 MiB header while a client loops on GET detail.

    python bench/attack.py                          # this checkout
    python bench/attack.py --code /work/wt-old      # another checkout of mockvps, run with this interpreter
    python bench/attack.py --attackers 4 --mib 64

It starts `mockvps serve` (server pinned to CPU 0, clients to CPU 1, as bench/run.py does), and prints the
time until each attacker gets its answer (or until its connection is closed), how much of its header it got
to send, how many GET detail the other client made during the attack and the slowest of them, and the
server's RSS (now and at its peak) before and after. It asserts nothing: tests/test_protocol_guard.py holds
the behaviour.
"""

from __future__ import annotations

import argparse
import http.client
import os
import socket
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import LOAD_CPU, TOKEN, checkout, rss_mb

CHUNK = 1024 * 1024


def peak_rss_mb(pid: int) -> float:
    """The most resident memory the process has had (VmHWM), in MB: what a burst costs, even once freed."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


@dataclass
class Attack:
    """One attacker's connection: what it sent, what came back, when."""

    sent: int = 0
    send_error: str = ""
    answer: bytes = b""
    answered_after: float | None = None
    closed_after: float | None = None


@dataclass
class Normal:
    """The other client: the latency of each GET detail it made during the attack."""

    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def attack(port: int, mib: int, result: Attack) -> None:
    head = b"GET /api/v1/servers/12345/ HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: "
    total = len(head) + mib * CHUNK + 4
    sock = socket.create_connection(("127.0.0.1", port), timeout=120)
    started = time.perf_counter()

    def read() -> None:
        while True:
            try:
                data = sock.recv(65536)
            except OSError:
                data = b""
            if data and result.answered_after is None:
                result.answered_after = time.perf_counter() - started
            result.answer += data
            if not data or (b"\r\n\r\n" in result.answer and result.answer.endswith(b"}")):
                result.closed_after = time.perf_counter() - started
                return

    reader = threading.Thread(target=read)
    reader.start()
    padding = b"a" * CHUNK
    try:
        sock.sendall(head)
        result.sent = len(head)
        for _ in range(mib):
            sock.sendall(padding)
            result.sent += CHUNK
        sock.sendall(b"\r\n\r\n")
        result.sent = total
    except OSError as exc:
        result.send_error = type(exc).__name__
    reader.join()
    sock.close()


def normal_client(port: int, stop: threading.Event, during: threading.Event, result: Normal) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Authorization": f"Bearer {TOKEN}"}
    while not stop.is_set():
        started = time.perf_counter()
        try:
            conn.request("GET", "/api/v1/servers/12345/", headers=headers)
            response = conn.getresponse()
            response.read()
            if response.status != 200:
                result.errors.append(str(response.status))
        except (OSError, http.client.HTTPException) as exc:
            result.errors.append(type(exc).__name__)
            conn.close()
        if during.is_set():
            result.latencies.append(time.perf_counter() - started)
    conn.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--code", type=Path, help="a checkout of mockvps to run instead of the installed one")
    parser.add_argument("--mib", type=int, default=32, help="size of the header in MiB (default 32)")
    parser.add_argument("--attackers", type=int, default=1, help="connections attacking at once (default 1)")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > 1:
        os.sched_setaffinity(0, {int(LOAD_CPU)})
    target = checkout(args.code, "--log-level", "error")
    with target.running():
        pid = target.process.pid  # type: ignore[union-attr]
        stop, during, normal = threading.Event(), threading.Event(), Normal()
        client = threading.Thread(target=normal_client, args=(target.port, stop, during, normal))
        client.start()
        time.sleep(1.0)  # warm: the client's connection, the server's caches
        rss_before, peak_before = rss_mb(pid), peak_rss_mb(pid)
        results = [Attack() for _ in range(args.attackers)]
        attackers = [threading.Thread(target=attack, args=(target.port, args.mib, r)) for r in results]
        during.set()
        for thread in attackers:
            thread.start()
        for thread in attackers:
            thread.join()
        during.clear()
        time.sleep(0.5)
        rss_after, peak_after = rss_mb(pid), peak_rss_mb(pid)
        stop.set()
        client.join()
    code = args.code or "this checkout"
    print(f"mockvps from {code}: {args.attackers} attacker(s), each sending a {args.mib} MiB header")
    for i, r in enumerate(results, 1):
        status = r.answer.split(b"\r\n", 1)[0].decode(errors="replace") or "(no answer)"
        body = r.answer.partition(b"\r\n\r\n")[2].decode(errors="replace")
        answered = f"{r.answered_after:.3f} s" if r.answered_after is not None else "never"
        closed = f"{r.closed_after:.3f} s" if r.closed_after is not None else "-"
        print(
            f"  attacker {i}: answer after {answered} ({status} {body}); connection done after {closed}; "
            f"sent {r.sent / CHUNK:,.1f} of {args.mib} MiB{' (' + r.send_error + ')' if r.send_error else ''}"
        )
    worst = max(normal.latencies, default=0.0)
    print(
        f"  normal client during the attack: {len(normal.latencies)} GET detail, worst latency {worst * 1000:.1f} ms, "
        f"errors {len(normal.errors)}{' ' + str(sorted(set(normal.errors))) if normal.errors else ''}"
    )
    print(
        f"  server RSS: {rss_before:.1f} MB before, {rss_after:.1f} MB after (+{rss_after - rss_before:.1f} MB); "
        f"peak (VmHWM) {peak_before:.1f} MB before, {peak_after:.1f} MB after (+{peak_after - peak_before:.1f} MB)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
