"""The group commit under attack: writes that race a reset, a removal or a failing group; whatever happens, the
state in memory and what a restart loads from the store agree, and no answer is a 500."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mockvps.app import MockApp, create_app
from mockvps.clock import VirtualClock
from mockvps.errors import StoreFailed
from mockvps.persistence.snapshot import export_state
from mockvps.persistence.store import Store
from mockvps.settings import Settings
from tests.conftest import CREATE
from tests.test_group_commit import _client, _store

SERVERS = "/api/v1/servers/"


def _in_memory(app: MockApp) -> dict[str, Any]:
    return export_state(app.state.backend)


def _restarted(directory: Path, clock: VirtualClock) -> dict[str, Any]:
    again = create_app(Settings(data_dir=directory), clock=clock)
    try:
        return export_state(again.state.backend)
    finally:
        again.close()


def _held_then_lost(store: Store) -> tuple[threading.Event, threading.Event]:
    """The store's next group waits for `release`, then fails (rolled back, as when SQLite's COMMIT fails): every
    write made meanwhile is queued behind it and lost with it."""
    entered, release = threading.Event(), threading.Event()
    real = store.write

    def write(batch: Any) -> Callable[[], None]:
        commit = real(batch)
        if entered.is_set():
            return commit

        def lost() -> None:
            entered.set()
            release.wait(5)
            try:
                store._fail(StoreFailed("database or disk is full"))
            finally:
                store._using.release()

        return lost

    store.write = write  # type: ignore[method-assign]
    return entered, release


def _slow_body(body: bytes, go: asyncio.Event) -> Any:
    """A request body that arrives once `go` is set: the request is routed, its body read later."""

    async def chunks() -> Any:
        await go.wait()
        yield body

    return chunks()


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("POST", "/_mockvps/reset", 204),  # the whole state replaced
        ("DELETE", "/_mockvps/accounts/default", 204),  # the account removed: a restart must not bring it back
        ("POST", "/_mockvps/accounts/default/reset", 200),  # the account replaced by a fresh one
    ],
)
def test_a_write_read_before_its_state_was_replaced_is_refused_and_not_stored(
    tmp_path: Path, method: str, path: str, status: int
) -> None:
    clock = VirtualClock()
    app = create_app(Settings(data_dir=tmp_path), clock=clock)

    async def main() -> list[int]:
        async with _client(app) as client:
            go = asyncio.Event()
            content = _slow_body(b'{"name":"ghost","plan_id":1,"os_id":5,"location":"us-west"}', go)
            create = asyncio.ensure_future(
                client.post(SERVERS, content=content, headers={"content-type": "application/json"})
            )
            await asyncio.sleep(0.05)  # the create holds the backend and account of before, waiting for its body
            replaced = await client.request(method, path)
            go.set()
            return [replaced.status_code, (await create).status_code]

    assert asyncio.run(main()) == [status, 503]
    memory = _in_memory(app)
    assert all(s["name"] != "ghost" for a in memory["accounts"] for s in a["servers"])
    app.close()
    assert _restarted(tmp_path, clock) == memory


def test_a_write_to_the_first_of_two_accounts_keeps_their_order_after_a_restart(tmp_path: Path) -> None:
    clock = VirtualClock()
    app = create_app(Settings(data_dir=tmp_path), clock=clock)

    async def main() -> None:
        async with _client(app) as client:
            await client.post("/_mockvps/accounts", json={"name": "other", "tokens": ["other-token"]})
            assert (await client.post(SERVERS, json=CREATE)).status_code == 201  # a write to "default"

    asyncio.run(main())
    memory = _in_memory(app)
    assert [a["name"] for a in memory["accounts"]] == ["default", "other"]
    app.close()
    assert _restarted(tmp_path, clock) == memory


def test_servers_settled_under_a_lost_clock_move_or_mode_change_go_back_with_it(tmp_path: Path) -> None:
    clock = VirtualClock()
    app = create_app(Settings(data_dir=tmp_path), clock=clock)
    store = _store(app)

    async def main() -> list[int]:
        async with _client(app) as client:
            created = (await client.post(SERVERS, json=CREATE)).json()["id"]
            statuses: list[int] = []
            for method, path, body in (
                ("POST", "/_mockvps/clock/advance", {"seconds": 3600}),
                ("PATCH", "/_mockvps/accounts/default", {"mode": "immediate"}),
            ):
                entered, release = _held_then_lost(store)
                held = asyncio.ensure_future(client.patch(f"{SERVERS}12345/", json={"name": f"held-{len(statuses)}"}))
                await asyncio.to_thread(entered.wait, 5)
                change = client.request(method, path, json=body)
                answers = asyncio.gather(change, client.get(f"{SERVERS}{created}/"))  # settled: active
                await asyncio.sleep(0.1)
                release.set()
                statuses += [a.status_code for a in [await held, *await answers]]
                shown = await client.get(f"{SERVERS}{created}/")
                assert shown.json()["status"] == "provisioning", path
            return statuses

    assert asyncio.run(main()) == [503] * 6
    memory = _in_memory(app)
    app.close()
    assert _restarted(tmp_path, clock) == memory


def test_a_server_seeded_with_a_low_id_keeps_its_place_in_the_list_after_a_restart(tmp_path: Path) -> None:
    clock = VirtualClock()
    app = create_app(Settings(data_dir=tmp_path), clock=clock)
    seed = {"id": 5, "status": "active", "name": "seeded", "plan_id": 1, "os_id": 5, "location": "us-west"}

    async def main() -> None:
        async with _client(app) as client:
            assert (await client.post("/_mockvps/accounts/default/servers", json=seed)).status_code == 201
            assert (await client.patch(f"{SERVERS}12345/", json={"name": "renamed"})).status_code == 200

    asyncio.run(main())
    memory = _in_memory(app)
    assert [s["id"] for s in memory["accounts"][0]["servers"]] == [12345, 12346, 5]
    app.close()
    assert _restarted(tmp_path, clock) == memory


def test_a_lost_group_of_every_kind_of_write_leaves_memory_as_a_restart_loads_it(tmp_path: Path) -> None:
    clock = VirtualClock()
    app = create_app(Settings(data_dir=tmp_path), clock=clock)
    store = _store(app)

    async def main() -> list[int]:
        async with _client(app) as client:
            await client.post("/_mockvps/accounts", json={"name": "other", "tokens": ["other-token"]})
            await client.post(SERVERS, json=CREATE)
            await client.put("/_mockvps/accounts/default/next-provisioning", json={"outcome": "fail"})
            before = _in_memory(app)
            entered, release = _held_then_lost(store)
            first = asyncio.ensure_future(client.delete(f"{SERVERS}12346/"))
            await asyncio.to_thread(entered.wait, 5)
            later = asyncio.gather(
                client.post(SERVERS, json=CREATE),  # may take 12346's addresses
                client.patch(f"{SERVERS}12345/", json={"name": "lost"}),
                client.post("/_mockvps/clock/advance", json={"seconds": 3600}),
                client.get(SERVERS),  # settles the failing provisioning: a refund
                client.post("/_mockvps/accounts/other/reset"),
                client.delete("/_mockvps/accounts/other"),
                client.post("/_mockvps/accounts/default/clock/advance", json={"seconds": 60}),
                client.put("/_mockvps/state", json=before),
                client.post("/_mockvps/reset"),
            )
            await asyncio.sleep(0.2)  # every request has made its write, queued behind the held group
            release.set()
            answers = [await first, *await later]
            assert _in_memory(app) == before  # the server settled under the advanced clock too

            return [a.status_code for a in answers]

    statuses = asyncio.run(main())
    assert statuses == [503] * 10, statuses
    memory = _in_memory(app)
    app.close()
    assert _restarted(tmp_path, clock) == memory


def test_writes_queued_behind_a_group_lost_at_shutdown_are_not_stored_without_it(tmp_path: Path) -> None:
    clock = VirtualClock()
    app = create_app(Settings(data_dir=tmp_path), clock=clock)
    before = _in_memory(app)
    entered, release = _held_then_lost(_store(app))
    backend = app.state.backend
    account = backend.accounts["default"]

    async def main() -> None:
        async with _client(app) as client:
            deleted = asyncio.ensure_future(client.delete(f"{SERVERS}12346/"))
            await asyncio.to_thread(entered.wait, 5)
            backend.create_server(account, name="after", plan_id=1, os_id=5, location="us-west")  # 12346's addresses
            release.set()
            app.close()  # shut down (the lifespan's end) while the group is lost, before the loop hears of it
            deleted.cancel()

    asyncio.run(main())
    assert _restarted(tmp_path, clock) == before  # neither the lost delete nor the create that took its addresses
