"""Durable state: `--data-dir` keeps every acknowledged change across restarts, and across SIGKILL."""

from __future__ import annotations

import os
import signal
import sqlite3
import threading
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from mockvps.app import create_app
from mockvps.clock import VirtualClock
from mockvps.persistence.snapshot import export_state
from mockvps.settings import Settings
from tests.conftest import AUTH, CREATE
from tests.test_cli import Served

SERVERS = "/api/v1/servers/"


def test_state_survives_a_restart(tmp_path: Path) -> None:
    clock = VirtualClock()
    settings = Settings(data_dir=tmp_path)
    app = create_app(settings, clock=clock)
    with TestClient(app, headers=AUTH) as client:
        created = client.post(SERVERS, json=CREATE).json()["id"]
        client.post(f"{SERVERS}12345/stop/")
        client.patch(f"{SERVERS}12346/", json={"name": "renamed"})
        client.delete(f"{SERVERS}{created}/")
        client.post(SERVERS, json={**CREATE, "name": "kept"})
        client.post("/_mockvps/accounts", json={"name": "ci", "tokens": ["ci-token"]})
        client.post("/_mockvps/accounts/ci/clock/advance", json={"seconds": 30})
        before = export_state(app.state.backend)
    again = create_app(settings, clock=clock)
    assert export_state(again.state.backend) == before
    with TestClient(again, headers=AUTH) as client:
        assert client.get(f"{SERVERS}12346/").json()["name"] == "renamed"
        assert client.get(SERVERS, headers={"Authorization": "Bearer ci-token"}).status_code == 200
        assert client.post(SERVERS, json=CREATE).json()["id"] == 12349  # ids go on where they stopped


def test_a_refused_write_stores_nothing_and_a_reset_is_stored(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    app = create_app(settings, clock=VirtualClock())
    with TestClient(app, headers=AUTH) as client:
        assert client.post(SERVERS, json={"name": "x"}).status_code == 400
        client.post(SERVERS, json=CREATE)
        client.post("/_mockvps/reset")
    again = create_app(settings, clock=VirtualClock())
    assert again.state.backend.accounts["default"].next_id == 12347
    again.close()


@pytest.mark.xdist_group("heavy")  # a stream of fsyncs
def test_every_acknowledged_change_survives_sigkill(tmp_path: Path) -> None:
    args = ("--data-dir", str(tmp_path), "--provisioning-delay", "0", "--balance", "100000", "--log-level", "warning")
    server = Served(*args)
    acknowledged: list[int] = []
    deleted: list[int] = []
    deleting: list[int] = []  # sent; whether its answer came back is in `deleted`
    stop = threading.Event()

    def writer() -> None:
        with httpx.Client(base_url=server.url, headers=AUTH, timeout=5) as client:
            while not stop.is_set():
                try:
                    answer = client.post(SERVERS, json=CREATE)
                    if answer.status_code == 201:
                        acknowledged.append(answer.json()["id"])
                    due = len(acknowledged) % 7 == 0 and acknowledged[-1] not in deleting
                    if due:
                        deleting.append(acknowledged[-1])
                        if client.delete(f"{SERVERS}{acknowledged[-1]}/").status_code == 204:
                            deleted.append(acknowledged[-1])
                except httpx.HTTPError:
                    return

    thread = threading.Thread(target=writer)
    thread.start()
    while len(acknowledged) < 60:
        threading.Event().wait(0.01)
    os.kill(server.process.pid, signal.SIGKILL)  # in the middle of the stream of writes
    stop.set()
    thread.join(timeout=10)
    server.process.wait(timeout=10)
    server.log.close()

    restarted = Served(*args)
    try:
        listing = httpx.get(f"{restarted.url}{SERVERS}", headers=AUTH).json()
        present = {s["id"] for s in listing["results"]} - {12345, 12346}
        # Nothing acknowledged was lost. (A delete in flight at the kill may or may not have reached the disk.)
        in_flight = set(deleting) - set(deleted)
        assert len(in_flight) <= 1
        assert set(acknowledged) - set(deleted) - in_flight <= present
        assert not set(deleted) & present  # no acknowledged delete came back
        account = httpx.get(f"{restarted.url}/_mockvps/accounts/default").json()
        created = int(httpx.post(f"{restarted.url}{SERVERS}", json=CREATE, headers=AUTH).json()["id"]) - 12347
        # Nothing half-applied: every create the store holds was charged exactly once.
        assert Decimal(account["balance"]) == Decimal("100000") - created * Decimal("12.00")
        assert present - set(acknowledged) <= {max(present)}  # at most the one write in flight at the kill
    finally:
        restarted.stop()


def test_a_stop_closes_the_store_and_checkpoints_its_log(tmp_path: Path) -> None:
    server = Served("--data-dir", str(tmp_path), "--log-level", "warning")
    created = httpx.post(f"{server.url}{SERVERS}", json=CREATE, headers=AUTH).json()["id"]
    assert (tmp_path / "mockvps.sqlite3-wal").exists()  # the create is in the write-ahead log
    assert server.stop() == 0
    assert not (tmp_path / "mockvps.sqlite3-wal").exists()  # closed: the log went into the database file
    with sqlite3.connect(f"file:{tmp_path / 'mockvps.sqlite3'}?mode=ro", uri=True) as db:
        assert db.execute("SELECT id FROM servers WHERE id = ?", (created,)).fetchall() == [(created,)]


def test_a_clock_move_writes_one_row_whatever_the_store_holds(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path, provisioning_delay=0), clock=VirtualClock())
    store = app.state.store
    assert store is not None
    with TestClient(app, headers=AUTH) as client:
        for _ in range(50):
            client.post(SERVERS, json=CREATE)
        before = store.rows_written
        assert client.post("/_mockvps/clock/advance", json={"seconds": 60}).status_code == 200
        assert store.rows_written - before == 1  # the mock's clock, not every account and server again
        before = store.rows_written
        client.post("/_mockvps/accounts/default/clock/advance", json={"seconds": 60})
        assert store.rows_written - before == 1  # the account's row
        before = store.rows_written
        client.patch(f"{SERVERS}12345/", json={"name": "renamed"})
        assert store.rows_written - before == 2  # the server and its account
