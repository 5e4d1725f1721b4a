"""The middleware in front of the public API: it applies fault rules and writes the journal."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import orjson
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mockvps.api.deps import bearer_token
from mockvps.api.faults import DropConnection, FaultRule, RequestFacts
from mockvps.api.views import timestamp

__all__ = ["Recorder"]

PUBLIC_PREFIX = "/api/"
JOURNAL_BODY_LIMIT = 64 * 1024


class Recorder:
    def __init__(self, app: ASGIApp, state: Any) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(PUBLIC_PREFIX):
            await self.app(scope, receive, send)
            return
        state = self.state
        method, path = scope["method"], scope["path"]
        token = bearer_token(Headers(scope=scope))
        account = state.backend.account_for_token(token) if token else None
        facts = RequestFacts(method, path, _operation(state.operations, method, path), account and account.name)
        rule = state.faults.pick(facts) if state.faults.rules else None
        chunks: list[bytes] = []
        size = 0

        async def tee() -> Message:
            nonlocal size
            message = await receive()
            if message["type"] == "http.request" and size <= JOURNAL_BODY_LIMIT:
                chunks.append(message.get("body", b""))
                size += len(chunks[-1])
            return message

        status = 500

        async def watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            if rule is not None and await self._apply(rule, tee, watch):
                return
            await self.app(scope, tee, watch)
        finally:
            state.journal.record(
                time=timestamp(state.backend.clock.now()), account=facts.account, method=method, path=path,
                query=scope.get("query_string", b"").decode("latin-1"), operation=facts.operation,
                body=_readable(b"".join(chunks)), status=status, fault=rule.id if rule else None,
            )  # fmt: skip

    @staticmethod
    async def _apply(rule: FaultRule, receive: Receive, send: Send) -> bool:
        """Apply a fault; True when it answered (or dropped) the request itself."""
        delay = rule.latency()
        if delay:
            await asyncio.sleep(delay)
        if not rule.drop and rule.status is None:
            return False
        while (await receive()).get("more_body"):  # read the request, so the journal shows what was sent
            pass
        if rule.drop:
            await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"65536")]})
            raise DropConnection()
        body = orjson.dumps(rule.body) if rule.body is not None else b""
        headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in rule.headers.items()]
        if body:
            headers.append((b"content-type", b"application/json"))
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": rule.status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        return True


def _operation(operations: list[tuple[Any, str, str]], method: str, path: str) -> str | None:
    for pattern, allowed, operation_id in operations:
        if allowed == method and pattern.match(path):
            return operation_id
    return None


def _readable(body: bytes) -> Any:
    if not body:
        return None
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        return body[:JOURNAL_BODY_LIMIT].decode("utf-8", "replace")
