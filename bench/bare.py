"""The ceiling: an ASGI app that answers fixed bytes, as fast as uvicorn can carry them.

`BENCH_BODIES` names a JSON file {"<workload>": [status, "<body>"]} captured from mockvps, so the ceiling sends
answers of the same size; the benchmark names the workload in its query string (`?bench=list100`), which
mockvps ignores like any unknown parameter.
"""

import json
import os
from urllib.parse import parse_qs

_path = os.environ.get("BENCH_BODIES")
_raw = json.loads(open(_path).read()) if _path else {}  # noqa: SIM115 - read once at import
_BODIES = {name: (status, body.encode()) for name, (status, body) in _raw.items()}
_FALLBACK = (200, b'{"id":12345}')


async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    workload = parse_qs(scope.get("query_string", b"").decode()).get("bench", ["detail"])[0]
    while (await receive()).get("more_body"):
        pass
    status, body = _BODIES.get(workload, _BODIES.get("detail", _FALLBACK))
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
