"""`--record FILE`: the session as HAR 1.2, which any browser's developer tools open.

What it holds has already been redacted (`exchange.redact_headers`: `Authorization: Bearer [redacted]`, cookies'
values `[redacted]`). It is bounded: each body is cut at `MAX_BODY_BYTES` (the cut is said in a `comment`), and
when the entries pass `max_bytes` in all, the oldest go first (the newest say what the service last held, which
is what `mockvps serve --state-from FILE.har` reads). A failed exchange is an entry with status 0 and `_error`,
as browsers record one.
"""

from __future__ import annotations

import base64
import json
import threading
from collections import deque
from datetime import UTC
from http import HTTPStatus
from pathlib import Path
from typing import Any

from mockvps.proxy.exchange import Exchange
from mockvps.proxy.report import write_atomically

__all__ = ["DEFAULT_MAX_BYTES", "MAX_BODY_BYTES", "HarRecorder", "har_entry"]

MAX_BODY_BYTES = 64 * 1024
DEFAULT_MAX_BYTES = 50 * 1024 * 1024


def _pairs(headers: list[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"name": n, "value": v} for n, v in headers]


def _cookies(headers: list[tuple[str, str]], name: str) -> list[dict[str, str]]:
    cookies = []
    for header, value in headers:
        if header.lower() == name:
            for part in value.split(";") if name == "cookie" else [value.split(";", 1)[0]]:
                key = part.partition("=")[0].strip()
                if key:
                    cookies.append({"name": key, "value": "[redacted]"})
    return cookies


def _content(body: bytes, mime: str, complete: bool) -> dict[str, Any]:
    kept = body[:MAX_BODY_BYTES]
    content: dict[str, Any] = {"size": len(body), "mimeType": mime}
    if kept:
        try:
            content["text"] = kept.decode("utf-8")
        except UnicodeDecodeError:
            content["text"] = base64.b64encode(kept).decode()
            content["encoding"] = "base64"
    if len(body) > MAX_BODY_BYTES or not complete:
        content["comment"] = f"cut: the first {len(kept)} bytes are kept"
    return content


def har_entry(exchange: Exchange) -> dict[str, Any]:
    started = exchange.started.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    url = exchange.upstream.rstrip("/") + exchange.target
    mime = next((v for n, v in exchange.request_headers if n.lower() == "content-type"), "")
    request: dict[str, Any] = {
        "method": exchange.method,
        "url": url,
        "httpVersion": f"HTTP/{exchange.http_version}",
        "cookies": _cookies(exchange.request_headers, "cookie"),
        "headers": _pairs(exchange.request_headers),
        "queryString": [{"name": n, "value": v} for n, v in exchange.query_pairs],
        "headersSize": -1,
        "bodySize": len(exchange.request_body),
    }
    if exchange.request_body:
        posted = _content(exchange.request_body, mime, exchange.request_complete)
        request["postData"] = {
            "mimeType": mime,
            "text": posted.get("text", ""),
            **({"comment": posted["comment"]} if "comment" in posted else {}),
        }
    status = exchange.status or 0
    response_mime = exchange.response_header("content-type") or ""
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = ""
    response: dict[str, Any] = {
        "status": status,
        "statusText": reason,
        "httpVersion": f"HTTP/{exchange.http_version}",
        "cookies": _cookies(exchange.response_headers, "set-cookie"),
        "headers": _pairs(exchange.response_headers),
        "content": _content(exchange.response_body, response_mime, exchange.response_complete),
        "redirectURL": exchange.response_header("location") or "",
        "headersSize": -1,
        "bodySize": len(exchange.response_body) if exchange.status is not None else -1,
    }
    if exchange.error:
        response["_error"] = exchange.error
    milliseconds = round(exchange.duration * 1000, 3)
    return {
        "startedDateTime": started,
        "time": milliseconds,
        "request": request,
        "response": response,
        "cache": {},
        "timings": {"send": 0, "wait": milliseconds, "receive": 0},
    }


class HarRecorder:
    def __init__(self, path: Path, version: str, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.path = path
        self.version = version
        self.max_bytes = max_bytes
        self.entries: deque[tuple[int, str]] = deque()
        self.size = 0
        self.dropped = 0
        self.dirty = True
        self.lock = threading.Lock()
        """Entries are added on the event loop and written from a thread."""

    def add(self, exchange: Exchange) -> None:
        text = json.dumps(har_entry(exchange), ensure_ascii=False)
        with self.lock:
            self.entries.append((len(text), text))
            self.size += len(text)
            while self.size > self.max_bytes and len(self.entries) > 1:
                size, _ = self.entries.popleft()
                self.size -= size
                self.dropped += 1
            self.dirty = True

    def write(self) -> None:
        with self.lock:
            if not self.dirty:
                return
            entries, dropped = [text for _, text in self.entries], self.dropped
            self.dirty = False
        creator = json.dumps({"name": "mockvps proxy", "version": self.version})
        comment = f"the oldest {dropped} entries were dropped to stay under {self.max_bytes} bytes"
        head = f'{{"log": {{"version": "1.2", "creator": {creator}, "pages": [], '
        if dropped:
            head += f'"comment": {json.dumps(comment)}, '
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(self.path, head + '"entries": [\n' + ",\n".join(entries) + "\n]}}\n")
