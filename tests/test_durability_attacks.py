"""The data dir under attack and bad luck, with a real process, a real socket and a real filesystem.

A full disk, a second process, and store files that are not whole: an acknowledged change is never lost, a
refused one leaves nothing behind, and a store that cannot be trusted is refused with one line, untouched.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import AUTH, CREATE
from tests.test_cli import Served

SERVERS = "/api/v1/servers/"
ARGS = ("--provisioning-delay", "0", "--balance", "100000", "--log-level", "warning")


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 1 MiB tmpfs (needs root, as CI has); skipped, saying why, where it cannot be mounted."""
    mount = tmp_path / "disk"
    mount.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here ({mounted.stderr.decode().strip() or 'not root'})")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(disk: Path) -> Path:
    """Take every free byte of the disk."""
    filler = disk / "filler"
    with contextlib.suppress(OSError), filler.open("wb") as handle:
        while True:
            handle.write(b"\0" * 4096)
            handle.flush()
    return filler


def state_of(url: str) -> tuple[object, object, object]:
    servers = httpx.get(f"{url}{SERVERS}", headers=AUTH).json()
    account = httpx.get(f"{url}/_mockvps/accounts/default").json()
    clock = httpx.get(f"{url}/_mockvps/accounts/default/clock").json()
    return servers, account, (clock["offset_seconds"], clock["frozen"])  # "now" moves with the wall clock


def test_a_full_disk_answers_503_and_changes_nothing(small_disk: Path) -> None:
    data = small_disk / "data"
    server = Served("--data-dir", str(data), *ARGS)
    try:
        kept = httpx.post(f"{server.url}{SERVERS}", json=CREATE, headers=AUTH).json()["id"]
        filler = fill(small_disk)
        before = state_of(server.url)
        refusals = [
            httpx.post(f"{server.url}{SERVERS}", json=CREATE, headers=AUTH),
            httpx.delete(f"{server.url}{SERVERS}12345/", headers=AUTH),
            httpx.patch(f"{server.url}{SERVERS}{kept}/", json={"name": "renamed"}, headers=AUTH),
            httpx.post(f"{server.url}{SERVERS}12345/stop/", headers=AUTH),
            httpx.patch(f"{server.url}/_mockvps/accounts/default", json={"balance": "5"}),
            httpx.post(f"{server.url}/_mockvps/accounts/default/clock/advance", json={"seconds": 60}),
            httpx.post(f"{server.url}/_mockvps/accounts", json={"name": "more"}),
            httpx.delete(f"{server.url}/_mockvps/accounts/default"),
            httpx.post(f"{server.url}/_mockvps/reset"),
        ]
        for answer in refusals:
            assert answer.status_code == 503, (answer.request.method, answer.request.url, answer.text)
            assert answer.json()["detail"].startswith("The mock could not store the change (")
        assert state_of(server.url) == before  # nothing a refused write did is visible
        filler.unlink()
        created = httpx.post(f"{server.url}{SERVERS}", json=CREATE, headers=AUTH)
        assert created.status_code == 201  # with room again, writes are kept again
        acknowledged = state_of(server.url)
    finally:
        assert server.stop() == 0
    restarted = Served("--data-dir", str(data), *ARGS)
    try:
        assert state_of(restarted.url)[:2] == acknowledged[:2]  # exactly what was acknowledged, no more
    finally:
        restarted.stop()


def test_a_second_process_is_refused_with_one_line_naming_the_first(tmp_path: Path) -> None:
    first = Served("--data-dir", str(tmp_path), *ARGS)
    try:
        second = subprocess.run([sys.executable, "-m", "mockvps", "serve", "--port", "0", "--data-dir", str(tmp_path)],
                                capture_output=True, text=True, timeout=30)  # fmt: skip
        assert second.returncode == 2
        assert second.stderr.strip().splitlines() == [
            f"mockvps: data dir {tmp_path} is in use by mockvps pid {first.process.pid}; "
            "stop it or choose another --data-dir"
        ]
        assert httpx.post(f"{first.url}{SERVERS}", json=CREATE, headers=AUTH).status_code == 201
    finally:
        first.stop()


def start(data: Path, *more: str) -> subprocess.CompletedProcess[str]:
    """`mockvps serve` that is expected to refuse (it would otherwise serve until the timeout)."""
    command = [sys.executable, "-m", "mockvps", "serve", "--port", "0", "--data-dir", str(data), *more]
    return subprocess.run(command, capture_output=True, text=True, timeout=30)


def stored(tmp_path: Path) -> Path:
    """A data dir holding a real store: the default account and one created server."""
    server = Served("--data-dir", str(tmp_path), *ARGS)
    httpx.post(f"{server.url}{SERVERS}", json=CREATE, headers=AUTH)
    server.stop()
    return tmp_path / "mockvps.sqlite3"


def edit(db: Path, statement: str) -> None:
    """What another tool does to the file: change it, commit, close (so the change is in the file itself)."""
    with contextlib.closing(sqlite3.connect(db)) as conn:
        conn.execute(statement)
        conn.commit()


def emptied_accounts(db: Path) -> None:
    edit(db, "DELETE FROM accounts")


def dropped_servers(db: Path) -> None:
    edit(db, "DROP TABLE servers")


def bad_header(db: Path) -> None:
    raw = bytearray(db.read_bytes())
    raw[:16] = b"not a database!!"
    db.write_bytes(bytes(raw))


def truncated(db: Path) -> None:
    db.write_bytes(db.read_bytes()[:1500])


def row_not_json(db: Path) -> None:
    edit(db, "UPDATE servers SET data = '{not json'")


def row_out_of_bounds(db: Path) -> None:
    edit(db, "UPDATE accounts SET data = json_set(data, '$.balance', '1e9999')")


def foreign(db: Path) -> None:
    db.unlink()
    edit(db, "CREATE TABLE notes (text TEXT)")


@pytest.mark.parametrize(
    ("damage", "why"),
    [
        (emptied_accounts, "is not a whole mockvps store (it recorded 1 accounts and holds 0)"),
        (dropped_servers, "is not a whole mockvps store (table servers)"),
        (bad_header, "cannot be read as a mockvps store (file is not a database)"),
        (truncated, "cannot be read as a mockvps store ("),
        (foreign, "is not a mockvps store"),
        (row_not_json, "is not a whole mockvps store (a row is not JSON: "),
        (row_out_of_bounds, "is not a whole mockvps store (snapshot.accounts[0].balance: expected a number <= "),
    ],
)
def test_a_store_that_is_not_whole_is_refused_untouched(tmp_path: Path, damage: object, why: str) -> None:
    db = stored(tmp_path)
    assert callable(damage)
    damage(db)
    before = db.read_bytes()
    refused = start(tmp_path)
    assert refused.returncode == 2
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"mockvps: {db} {why}"), refused.stderr
    assert lines[0].endswith("pass --data-dir-start-over to move it aside and start anew")
    assert db.read_bytes() == before  # untouched
    assert sorted(p.name for p in tmp_path.iterdir() if "broken" in p.name) == []


def test_start_over_moves_the_bad_store_aside_and_begins_anew(tmp_path: Path) -> None:
    db = stored(tmp_path)
    bad_header(db)
    broken = db.read_bytes()
    server = Served("--data-dir", str(tmp_path), "--data-dir-start-over", *ARGS)
    try:
        listing = httpx.get(f"{server.url}{SERVERS}", headers=AUTH).json()
        assert [s["id"] for s in listing["results"]] == [12345, 12346]  # a fresh start
    finally:
        server.stop()
    aside = [p for p in tmp_path.iterdir() if p.name.startswith("mockvps.sqlite3.broken-")]
    assert [p.read_bytes() for p in aside if not p.name.endswith(("-wal", "-shm"))] == [broken]


def test_an_unreadable_data_dir_is_one_line(tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("not a directory")
    refused = start(blocked / "data")
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines() == [f"mockvps: data dir {blocked / 'data'}: Not a directory"]


def test_the_store_refuses_when_the_lock_is_held_in_this_process_too(tmp_path: Path) -> None:
    from mockvps.errors import ConfigurationError
    from mockvps.persistence.store import Store

    held = Store(tmp_path)
    try:
        with pytest.raises(ConfigurationError, match=f"in use by mockvps pid {os.getpid()}"):
            Store(tmp_path)
    finally:
        held.close()
    Store(tmp_path).close()  # let go: the next one may
