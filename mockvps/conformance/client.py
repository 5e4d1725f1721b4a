"""A small client of the Servers API for the scenario tests: paced, recorded, and tidy."""

from __future__ import annotations

import json as jsonlib
import time
from collections.abc import Callable
from functools import cache
from typing import Any

import requests

from mockvps.conformance.document import load_document
from mockvps.conformance.ledger import Ledger
from mockvps.conformance.target import Target
from mockvps.departures import Departure, Example, Side, curl_command, excerpt

__all__ = [
    "SERVERS",
    "Api",
    "DepartureSeen",
    "Pacer",
    "TransitionTimeout",
    "curl_command",
    "documented_statuses",
    "fresh",
]

SERVERS = "/api/v1/servers/"
_DEFAULT = object()


def fresh(target: Target, ledger: Ledger) -> None:
    """A fresh mock where the target can start afresh; the ledger forgets what the old state held."""
    if target.reset():
        ledger.reset()


class TransitionTimeout(AssertionError):
    pass


class DepartureSeen(AssertionError):
    """An answer that is itself a departure from the documentation, seen while waiting for something else."""

    def __init__(self, departure: Departure) -> None:
        super().__init__(f"{departure.kind} ({departure.operation}): {departure.detail}")
        self.departure = departure


@cache
def documented_statuses() -> frozenset[str]:
    """The server statuses the contract document has."""
    return frozenset(load_document()["components"]["schemas"]["ServerStatus"]["enum"])


class Pacer:
    """At most `rate` requests per second, shared by everything the suite sends."""

    def __init__(self, rate: float | None) -> None:
        self.interval = 1 / rate if rate else 0.0
        self._next = 0.0

    def wait(self) -> None:
        if self.interval:
            now = time.monotonic()
            if now < self._next:
                time.sleep(self._next - now)
            self._next = max(now, self._next) + self.interval


class Api:
    def __init__(self, target: Target, ledger: Ledger, pacer: Pacer, session: requests.Session | None = None) -> None:
        self.target = target
        self.ledger = ledger
        self.pacer = pacer
        self.session = session or target.session()
        self.token = target.token
        self.history: list[str] = []

    def as_token(self, token: str | None) -> Api:
        """The same client speaking for another account (None: no credentials at all)."""
        other = Api(self.target, self.ledger, self.pacer, self.session)
        other.token = token  # type: ignore[assignment]
        other.history = self.history
        return other

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = _DEFAULT,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
    ) -> requests.Response:
        sent = {"Content-Type": "application/json"}
        if self.token is not None:
            sent["Authorization"] = f"Bearer {self.token}"
        sent.update(headers or {})
        body = content if json is _DEFAULT else jsonlib.dumps(json).encode()
        url = self.target.base_url + path
        self.pacer.wait()
        response = self.session.request(
            method, url, data=body, headers=sent, params=params, allow_redirects=False, timeout=60
        )
        self.history.append(curl_command(method, response.request.url or url, sent, body))
        if method == "DELETE" and response.status_code in (204, 404) and path.count("/") == 5:
            self.ledger.forget(self.token or "", int(path.rstrip("/").rsplit("/", 1)[1]))
        return response

    def get(self, path: str, **kw: Any) -> requests.Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> requests.Response:
        return self.request("POST", path, **kw)

    def put(self, path: str, **kw: Any) -> requests.Response:
        return self.request("PUT", path, **kw)

    def patch(self, path: str, **kw: Any) -> requests.Response:
        return self.request("PATCH", path, **kw)

    def delete(self, path: str, **kw: Any) -> requests.Response:
        return self.request("DELETE", path, **kw)

    def create(self, body: dict[str, Any]) -> requests.Response:
        """POST a server, making room first and recording it so it is deleted whatever happens."""
        self.ledger.make_room()
        response = self.post(SERVERS, json=body)
        if response.status_code == 201:
            self.ledger.add(self.token or "", int(response.json()["id"]))
        return response

    def wait_for(self, server_id: int, until: Callable[[dict[str, Any]], bool], timeout: float) -> dict[str, Any]:
        """Poll the server until `until(detail)` holds; the timeout counts the target's own time.

        An answer that is itself a departure (an error status, not JSON, no `status`, a status the documentation
        does not have) ends the wait at once with `DepartureSeen`: no later answer can make up for it, and
        waiting out the timeout (minutes, against the live service) would only hide it.
        """
        deadline = self.target.monotonic() + timeout
        while True:
            detail = self._read_while_waiting(server_id)
            if until(detail):
                return detail
            if self.target.monotonic() >= deadline:
                raise TransitionTimeout(f"server {server_id} still {detail.get('status')!r} after {timeout:g} s")
            self.target.sleep(self.target.poll_interval)

    def _read_while_waiting(self, server_id: int) -> dict[str, Any]:
        response = self.get(f"{SERVERS}{server_id}/")

        def seen(kind: str, detail: str) -> DepartureSeen:
            example = Example(self.history[-1], response.status_code, excerpt(response.content))
            return DepartureSeen(Departure(Side.SERVICE, "getServer", kind, detail, example))

        where = f"server {server_id}, while waiting for a transition"
        if response.status_code != 200:
            kind = "undocumented-status" if response.status_code not in (301, 401, 404, 405) else "wrong-status"
            raise seen(kind, f"{where}: answered {response.status_code}")
        try:
            detail = response.json()
        except ValueError:
            raise seen("wrong-content-type", f"{where}: the answer is not JSON") from None
        if not isinstance(detail, dict) or "status" not in detail:
            raise seen("missing-field", f"{where}: `status` is missing")
        if detail["status"] not in documented_statuses():
            raise seen(
                "undocumented-value",
                f"{where}: `status` is {detail['status']!r}, which the documentation does not have",
            )
        return detail
