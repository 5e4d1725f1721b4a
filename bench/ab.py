#!/usr/bin/env python3
"""Two checkouts of mockvps at once, on one CPU: what a change costs, measured where other load cancels out.

    python bench/ab.py --code /work/main                   # another checkout against this one, GET detail
    python bench/ab.py --code /work/main --rounds 10 --duration 10 --workload list
    python bench/ab.py --code /work/main --workload create --connections 64

Both servers are pinned to CPU 0 and each is loaded by its own wrk on CPU 1 for the same seconds, so the
scheduler shares CPU 0 between them and whatever else loads the machine loads both alike: the ratio of their
throughputs is the ratio of their costs per request. (Run one after the other on a busy machine, the same code
differs by tens of percent from run to run.) Each server runs its own checkout's code (`python -P`, the checkout
on PYTHONPATH) with this interpreter, started as bench/run.py starts it. Every round starts both afresh: creates
(POST, bench/run.py's order) begin from an empty account each round. It prints each round, with each side's p99,
and the median ratio; it asserts nothing.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import MOCK_ARGS, ORDER, ROOT, TOKEN, Target, checkout, wrk

WORKLOADS = {
    "detail": ("GET", "/api/v1/servers/12345/", None),
    "list": ("GET", "/api/v1/servers/", None),
    "create": ("POST", "/api/v1/servers/", ORDER),
}


def serving(code: Path) -> Target:
    return checkout(code, *MOCK_ARGS, name=str(code))


def _load(
    port: int, workload: str, connections: int, seconds: float, results: dict[str, dict[str, float]], side: str
) -> None:
    method, path, body = WORKLOADS[workload]
    results[side] = wrk(port, method, f"{path}?bench=ab", TOKEN, body, connections, seconds)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--code", type=Path, required=True, help="the other checkout of mockvps (the 'before')")
    parser.add_argument("--rounds", type=int, default=6, help="rounds, each with both at once (default 6)")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per round (default 10)")
    parser.add_argument("--workload", choices=sorted(WORKLOADS), default="detail")
    parser.add_argument("--connections", type=int, default=16, help="wrk's connections to each (default 16)")
    args = parser.parse_args()
    method, path, _ = WORKLOADS[args.workload]
    sides = {"before": args.code, "after": ROOT}
    print(
        f"before: {args.code}; after: {ROOT}; {method} {path}, {args.connections} connections each, both servers on "
        "CPU 0",
        flush=True,
    )
    ratios: list[float] = []
    rates: dict[str, list[float]] = {"before": [], "after": []}
    tails: dict[str, list[float]] = {"before": [], "after": []}
    for number in range(args.rounds):
        targets = {side: serving(code) for side, code in sides.items()}
        results: dict[str, dict[str, float]] = {}
        with targets["before"].running(), targets["after"].running():
            for target in targets.values():
                wrk(target.port, "GET", WORKLOADS["detail"][1], TOKEN, None, 16, 1)  # warm up
            order = ("before", "after") if number % 2 else ("after", "before")
            threads = [
                threading.Thread(
                    target=_load,
                    args=(targets[side].port, args.workload, args.connections, args.duration, results, side),
                )
                for side in order
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        before, after = results["before"]["rps"], results["after"]["rps"]
        rates["before"].append(before)
        rates["after"].append(after)
        ratios.append(after / before)
        for side in tails:
            tails[side].append(results[side]["p99_ms"])
        errors = results["before"]["errors"] + results["after"]["errors"]
        print(
            f"round {number}: before {before:,.0f} req/s, after {after:,.0f} req/s, after/before "
            f"{after / before:.3f}, p99 before {results['before']['p99_ms']:.1f} ms, after "
            f"{results['after']['p99_ms']:.1f} ms, errors {errors:.0f}",
            flush=True,
        )
    print(
        f"median: before {statistics.median(rates['before']):,.0f} req/s, after "
        f"{statistics.median(rates['after']):,.0f} req/s (each on its share of CPU 0)"
    )
    print(f"after/before: median {statistics.median(ratios):.3f}, from {min(ratios):.3f} to {max(ratios):.3f}")
    print(
        f"p99 (both sharing CPU 0, so longer than alone): median before {statistics.median(tails['before']):.1f} ms, "
        f"after {statistics.median(tails['after']):.1f} ms"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
