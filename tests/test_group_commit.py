"""Group commit (`--data-dir`): the writes that arrive while one group is written share the next commit; no
answer leaves before the group that holds its writes is on disk; a group that cannot be kept is undone."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from mockvps.app import MockApp, create_app
from mockvps.clock import VirtualClock
from mockvps.errors import StoreFailed, SyncFailed
from mockvps.persistence.commits import GroupCommit
from mockvps.persistence.store import Store
from mockvps.settings import Settings
from mockvps.shared.journal import JournalQuery
from tests.conftest import AUTH, CREATE

SERVERS = "/api/v1/servers/"


class FakeLog:
    """A log whose writes record the groups (each write's number) and can be made to wait or fail."""

    def __init__(self) -> None:
        self.queue: list[int] = []
        self.groups: list[list[int]] = []
        self.undone: list[int] = []
        self.gate: threading.Event | None = None
        self.entered = threading.Event()
        self.fail: Exception | None = None

    def take(self) -> list[int]:
        batch, self.queue = self.queue, []
        return batch

    def write(self, batch: list[int]) -> Callable[[], None]:
        def commit() -> None:
            self.entered.set()
            if self.gate is not None:
                self.gate.wait(5)
            if self.fail is not None:
                raise self.fail
            self.groups.append(batch)

        return commit

    def lose(self, batch: list[int]) -> None:
        undone, self.queue = batch + self.queue, []
        self.undone += reversed(undone)


def _write(log: FakeLog, commits: GroupCommit[list[int]]) -> int:
    commits.wrote()
    log.queue.append(commits.committed)
    return commits.committed


def test_fifty_concurrent_writes_share_one_or_two_groups_and_each_waits_for_its_own() -> None:
    log = FakeLog()
    commits = GroupCommit(log)

    async def write_then_settle() -> None:
        _write(log, commits)
        await commits.settled()

    async def main() -> None:
        await asyncio.gather(*(write_then_settle() for _ in range(50)))

    asyncio.run(main())
    assert commits.done == commits.committed == 50
    assert [n for group in log.groups for n in group] == list(range(1, 51))  # each written once, in order
    assert 1 <= commits.groups <= 2  # a commit per write would be 50


def test_a_write_made_in_the_turn_after_a_group_was_started_joins_it() -> None:
    log = FakeLog()
    commits = GroupCommit(log)

    async def late() -> None:
        await asyncio.sleep(0)  # the next turn of the loop: the group was started, not yet taken
        _write(log, commits)
        await commits.settled()

    async def main() -> None:
        _write(log, commits)
        await asyncio.gather(commits.settled(), late())

    asyncio.run(main())
    assert log.groups == [[1, 2]]  # one group, not [[1], [2]]


def test_settled_returns_at_once_when_nothing_is_pending() -> None:
    log = FakeLog()
    commits = GroupCommit(log)
    asyncio.run(commits.settled())
    assert commits.groups == 0 and not log.entered.is_set()


def test_a_write_made_while_a_group_is_written_waits_for_the_next_group() -> None:
    log = FakeLog()
    log.gate = threading.Event()
    commits = GroupCommit(log)

    async def main() -> None:
        _write(log, commits)
        first = asyncio.ensure_future(commits.settled())
        await asyncio.to_thread(log.entered.wait, 5)
        _write(log, commits)  # the first group was taken before it: not in it
        second = asyncio.ensure_future(commits.settled())
        log.gate.set()  # type: ignore[union-attr]
        await first
        assert log.groups == [[1]] and not second.done()
        await second
        assert log.groups == [[1], [2]]

    asyncio.run(main())


def test_a_lost_group_undoes_it_and_all_after_it_newest_first_and_the_mock_goes_on() -> None:
    log = FakeLog()
    log.gate = threading.Event()
    log.fail = StoreFailed("database or disk is full")
    commits = GroupCommit(log)

    async def settle() -> str:
        try:
            await commits.settled()
        except StoreFailed as exc:
            return exc.detail
        return "kept"

    async def main() -> list[str]:
        _write(log, commits)
        _write(log, commits)
        first = asyncio.ensure_future(settle())
        await asyncio.to_thread(log.entered.wait, 5)
        _write(log, commits)  # queued behind the failing group: undone with it
        second = asyncio.ensure_future(settle())
        log.gate.set()  # type: ignore[union-attr]
        answers = [await first, await second]
        log.fail, log.gate = None, None
        _write(log, commits)  # after the loss: written as usual
        answers.append(await settle())
        return answers

    answers = asyncio.run(main())
    assert (
        answers[0]
        == answers[1]
        == "The mock could not store the change (database or disk is full); nothing was changed."
    )
    assert answers[2] == "kept"
    assert log.undone == [3, 2, 1]
    assert log.groups == [[4]]
    assert commits.failure is None


def test_a_failed_sync_refuses_every_later_answer() -> None:
    log = FakeLog()
    log.fail = SyncFailed("disk I/O error")
    commits = GroupCommit(log)

    async def main() -> None:
        _write(log, commits)
        with pytest.raises(SyncFailed):
            await commits.settled()
        with pytest.raises(SyncFailed):
            await commits.settled()  # nothing pending, still refused: the disk's state is unknown

    asyncio.run(main())
    assert log.undone == []  # not undone: whether it reached the disk is unknown


# The store and the app


def _client(app: MockApp) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://localhost", headers=AUTH)


def _store(app: MockApp) -> Store:
    assert app.state.store is not None
    return app.state.store


def _stored_ids(directory: Path) -> set[int]:
    with sqlite3.connect(f"file:{directory / 'mockvps.sqlite3'}?mode=ro", uri=True) as db:
        return {row[0] for row in db.execute("SELECT id FROM servers WHERE account = 'default'")}


def _gated(store: Store) -> tuple[threading.Event, threading.Event]:
    """Make the store's group writes wait for `release`; `entered` is set when one begins."""
    entered, release = threading.Event(), threading.Event()
    real = store.write

    def write(batch: Any) -> Callable[[], None]:
        commit = real(batch)

        def gated() -> None:
            entered.set()
            release.wait(5)
            commit()

        return gated

    store.write = write  # type: ignore[method-assign]
    return entered, release


def test_an_answer_waits_for_its_group_while_the_loop_goes_on_serving(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path), clock=VirtualClock())
    store = _store(app)
    entered, release = _gated(store)
    account = app.state.backend.accounts["default"]

    async def main() -> None:
        async with _client(app) as client:
            first = asyncio.ensure_future(client.post(SERVERS, json=CREATE))
            await asyncio.to_thread(entered.wait, 5)
            second = asyncio.ensure_future(client.post(SERVERS, json=CREATE))
            while account.next_id < 12349:  # the second create ran while the first group was being written
                await asyncio.sleep(0.01)
            assert not first.done() and not second.done()
            assert 12347 not in _stored_ids(tmp_path)  # made in memory, not yet on disk: no answer yet
            release.set()
            assert [(await first).status_code, (await second).status_code] == [201, 201]

    asyncio.run(main())
    assert {12347, 12348} <= _stored_ids(tmp_path)
    assert store.commits.groups == 2
    app.close()


def test_fifty_concurrent_creates_take_a_few_commits_and_all_are_stored(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path, balance=Decimal("100000")), clock=VirtualClock())
    store = _store(app)
    before = store.commits.groups

    async def main() -> list[int]:
        async with _client(app) as client:
            answers: list[httpx.Response] = await asyncio.gather(
                *(client.post(SERVERS, json=CREATE) for _ in range(50))
            )
        return [a.json()["id"] for a in answers if a.status_code == 201]

    created = asyncio.run(main())
    assert len(created) == 50
    assert store.commits.groups - before < 25  # grouped: a commit per write would be 50
    assert set(created) <= _stored_ids(tmp_path)  # before the store is closed: each answer waited for its commit
    assert store._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL: a group's commit syncs the log
    app.close()


def _failing_once(store: Store, why: Callable[[], Exception]) -> threading.Event:
    entered = threading.Event()
    real = store.write

    def write(batch: Any) -> Callable[[], None]:
        commit = real(batch)

        def failing_once() -> None:
            if not entered.is_set():
                entered.set()
                try:
                    store._fail(why())  # rolled back, as when SQLite's COMMIT fails
                finally:
                    store._using.release()
            commit()

        return failing_once

    store.write = write  # type: ignore[method-assign]
    return entered


def test_a_group_the_store_cannot_keep_is_undone_in_memory_and_answered_503(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path), clock=VirtualClock())
    store = _store(app)
    backend = app.state.backend
    account = backend.accounts["default"]

    async def main() -> list[httpx.Response]:
        async with _client(app) as client:
            listing = (await client.get(SERVERS)).json()
            balance = account.balance
            _failing_once(store, lambda: StoreFailed("database or disk is full"))
            answers = list(
                await asyncio.gather(
                    client.post(SERVERS, json=CREATE),
                    client.delete(f"{SERVERS}12346/"),
                    client.patch(f"{SERVERS}12345/", json={"name": "lost"}),
                    client.get(SERVERS),
                )
            )
            assert account.balance == balance and account.next_id == 12347
            assert (await client.get(SERVERS)).json() == listing  # as before: same servers, same order, same names
            answers.append(await client.post(SERVERS, json=CREATE))  # the next group is kept
            return answers

    answers = asyncio.run(main())
    assert [a.status_code for a in answers] == [503, 503, 503, 503, 201]
    assert answers[0].json() == {
        "detail": "The mock could not store the change (database or disk is full); nothing was changed."
    }
    assert answers[4].json()["id"] == 12347
    assert _stored_ids(tmp_path) == {12345, 12346, 12347}
    statuses = sorted(e.status for e in app.state.journal.find(JournalQuery()) if e.status != 200)
    assert statuses == [201, 503, 503, 503, 503]  # the journal shows what was answered
    app.close()


def test_a_disk_error_refuses_every_answer_until_a_restart(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path), clock=VirtualClock())
    store = _store(app)
    _failing_once(store, lambda: SyncFailed("disk I/O error"))

    async def main() -> list[httpx.Response]:
        async with _client(app) as client:
            return [
                await client.post(SERVERS, json=CREATE),
                await client.get(SERVERS),
                await client.patch(f"{SERVERS}12345/", json={"name": "after"}),
                await client.get("/_mockvps/health"),
            ]

    answers = asyncio.run(main())
    assert [a.status_code for a in answers] == [503, 503, 503, 503]
    detail = answers[0].json()["detail"]
    assert detail == (
        "The mock could not put its changes on disk (disk I/O error); whether the latest were kept is unknown, "
        "so it answers nothing more until it is restarted."
    )
    assert answers[3].json()["detail"] == detail
    assert app.state.backend.accounts["default"].servers[12345].name != "after"  # the write after it: refused
    app.close()
