#!/usr/bin/env python3
"""Soak: a bounded loopback run of at least 500,000 mixed requests against `mockvps serve`.

    python bench/soak.py                      # 90 s of load; prints RSS over time and the totals
    python bench/soak.py --seconds 20         # shorter

The mix, from one wrk connection pool: GET detail, GET list, POST create, and a DELETE of every server created
(so the account does not grow without end), PATCH, stop/start. It asserts nothing; it prints what to look at:
RSS flat after warm-up, no error, the journal at its bound.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import LOAD_CPU, MOCK_ARGS, ROOT, TOKEN, checkout, pinned, request, rss_mb

MIX = r"""
local queue = {}
local n = 0
local auth = "Bearer %(token)s"
local headers = {["Authorization"] = auth, ["Content-Type"] = "application/json"}
local body = '{"name":"soak","plan_id":1,"os_id":5,"location":"us-west"}'
request = function()
  n = n + 1
  if #queue > 0 and n %% 2 == 0 then
    return wrk.format("DELETE", "/api/v1/servers/" .. table.remove(queue, 1) .. "/", headers)
  end
  local k = n %% 8
  if k == 0 then return wrk.format("POST", "/api/v1/servers/", headers, body) end
  if k == 1 then return wrk.format("GET", "/api/v1/servers/", headers) end
  if k == 2 then return wrk.format("PATCH", "/api/v1/servers/12346/", headers, '{"name":"soaked"}') end
  if k == 3 then return wrk.format("POST", "/api/v1/servers/12346/stop/", headers) end
  if k == 4 then return wrk.format("POST", "/api/v1/servers/12346/start/", headers) end
  return wrk.format("GET", "/api/v1/servers/12345/", headers)
end
response = function(status, headers, body)
  if status == 201 then
    local id = string.match(body, '"id":(%%d+)')
    if id then table.insert(queue, id) end
  end
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %%d %%d %%d %%d\n", summary.requests, summary.duration, e.status,
    e.connect + e.read + e.write + e.timeout))
end
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=90)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        print("wrk is needed: apt-get install wrk", file=sys.stderr)
        return 2
    target = checkout(None, *MOCK_ARGS)
    samples: list[tuple[float, float]] = []
    with target.running(), tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(MIX % {"token": TOKEN})
        script.flush()
        stop = threading.Event()

        def sample() -> None:
            started = time.monotonic()
            while not stop.wait(1.0):
                samples.append((time.monotonic() - started, rss_mb(target.process.pid)))  # type: ignore[union-attr]

        sampler = threading.Thread(target=sample)
        sampler.start()
        argv = [
            "wrk",
            "-t1",
            f"-c{args.connections}",
            f"-d{args.seconds}s",
            "--timeout",
            "5s",
            "-s",
            script.name,
            f"http://127.0.0.1:{target.port}",
        ]
        out = subprocess.run(
            [*pinned(LOAD_CPU), *argv], capture_output=True, text=True, cwd=ROOT, timeout=args.seconds + 60
        ).stdout
        stop.set()
        sampler.join()
        entries = request(target.port, "GET", "/_mockvps/journal?limit=100000")[1]
        journal = len(entries)
        statuses: dict[int, int] = {}
        for entry in entries:
            statuses[entry["status"]] = statuses.get(entry["status"], 0) + 1
    line = next(ln for ln in out.splitlines() if ln.startswith("RESULT"))
    total, duration_us, non_2xx, socket_errors = map(int, line.split()[1:])
    print(
        f"requests: {total:,} in {duration_us / 1e6:.0f} s ({total / (duration_us / 1e6):,.0f} req/s); "
        f"answers >= 400: {non_2xx:,}; "
        f"socket errors: {socket_errors}; journal entries: {journal:,} (bound 1,000)"
    )
    print(
        "statuses of the last journal entries:",
        dict(sorted(statuses.items())),
        "(400s: a stop or start while the server is already stopping or starting)",
    )
    print("RSS over time (s, MB):", ", ".join(f"{t:.0f}:{m:.0f}" for t, m in samples[:: max(1, len(samples) // 15)]))
    warm = [m for t, m in samples if t >= 10]
    if warm:
        print(f"after warm-up (10 s on): min {min(warm):.0f} MB, max {max(warm):.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
