"""Concurrency and shutdown against a real `mockvps serve`."""

from __future__ import annotations

import asyncio
import signal
import time
from decimal import Decimal
from typing import Any

import httpx
import pytest

from tests.test_cli import Served

AUTH = {"Authorization": "Bearer mockvps-dev-token"}
ORDER = {"name": "load", "plan_id": 1, "os_id": 5, "location": "us-west"}


@pytest.fixture
def served() -> Any:
    server = Served("--provisioning-delay", "0", "--action-delay", "0", "--balance", "100000",
                    "--log-level", "warning")  # fmt: skip
    yield server
    if server.process.poll() is None:
        server.stop()


async def _many(url: str, requests: list[tuple[str, str, Any]], connections: int = 100) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=connections)
    timeout = httpx.Timeout(60, pool=None)  # a request waits for a connection as long as it takes: no pool timeout
    async with httpx.AsyncClient(base_url=url, headers=AUTH, limits=limits, timeout=timeout) as client:
        return await asyncio.gather(*(client.request(m, p, json=b) for m, p, b in requests))


@pytest.mark.xdist_group("heavy")  # many clients at once: alone with the other heavy tests, not beside them
def test_a_thousand_concurrent_creates_stay_exact(served: Served) -> None:
    answers = asyncio.run(_many(served.url, [("POST", "/api/v1/servers/", ORDER)] * 1000))
    assert [a.status_code for a in answers] == [201] * 1000
    ids = [a.json()["id"] for a in answers]
    assert len(set(ids)) == 1000 and set(ids) == set(range(12347, 13347))
    listing = httpx.get(f"{served.url}/api/v1/servers/", headers=AUTH).json()
    assert listing["count"] == 1002 == len(listing["results"])
    addresses = [s["ip_address"] for s in listing["results"]]
    assert len(set(addresses)) == 1002 and None not in addresses
    account = httpx.get(f"{served.url}/_mockvps/accounts/default").json()
    assert Decimal(account["balance"]) == Decimal("100000") - 1000 * Decimal("12.00")


@pytest.mark.xdist_group("heavy")  # many clients at once: alone with the other heavy tests, not beside them
def test_concurrent_actions_on_one_server_leave_it_in_a_contract_state(served: Served) -> None:
    path = "/api/v1/servers/12345/"
    mix = [("POST", path + "stop/", None), ("POST", path + "start/", None), ("POST", path + "reboot/", None),
           ("PATCH", path, {"name": "renamed"})] * 50 + [("DELETE", path, None)] * 3  # fmt: skip
    answers = asyncio.run(_many(served.url, mix, connections=30))
    assert {a.status_code for a in answers} <= {200, 204, 400, 404}
    assert sum(a.status_code == 204 for a in answers) == 1  # deleted exactly once
    for answer in answers:
        if answer.status_code == 400:
            assert set(answer.json()) == {"detail"}
    assert httpx.get(f"{served.url}{path}", headers=AUTH).status_code == 404
    survivor = httpx.get(f"{served.url}/api/v1/servers/12346/", headers=AUTH).json()
    assert survivor["status"] == "active"


@pytest.mark.parametrize("signal_name", ["SIGTERM", "SIGINT"])
def test_a_stop_signal_lets_requests_in_flight_finish(served: Served, signal_name: str) -> None:
    httpx.post(f"{served.url}/_mockvps/faults", json={"method": "GET", "latency_ms": 800})  # under the 1 s grace

    async def scenario() -> tuple[list[httpx.Response], float]:
        pending = asyncio.ensure_future(_many(served.url, [("GET", "/api/v1/servers/", None)] * 20, connections=20))
        async with httpx.AsyncClient(base_url=served.url) as control:  # until all 20 wait on the fault's latency
            while (await control.get("/_mockvps/faults")).json()[0]["matched"] < 20:
                await asyncio.sleep(0.02)
        started = time.monotonic()
        served.process.send_signal(getattr(signal, signal_name))
        answers = await pending
        return answers, started

    answers, signalled = asyncio.run(scenario())
    assert [a.status_code for a in answers] == [200] * 20
    assert served.process.wait(timeout=10) == 0
    assert time.monotonic() - signalled < 5
