"""Durable state (`mockvps serve --data-dir DIR`): SQLite from the standard library, in WAL mode.

Every acknowledged change is committed, with an fsync, before the answer leaves: the backend tells the store
what each write changed (`record`, its `on_change` hook), and the store writes those rows alone. Statuses that
pass with time need no writes: they follow from (status, since, now) again after a restart. The journal and
fault rules are not kept.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from mockvps.backend import Account, Backend, Change
from mockvps.errors import ConfigurationError, StoreFailed
from mockvps.persistence.snapshot import SNAPSHOT_VERSION, account_record, clock_record, server_record

__all__ = ["APPLICATION_ID", "SCHEMA_VERSION", "Store"]

APPLICATION_ID = 0x6D767073  # "mvps": SQLite's application_id marks the file as a mockvps store
SCHEMA_VERSION = 1  # SQLite's user_version: the layout below
SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE accounts (name TEXT PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE servers (account TEXT NOT NULL, id INTEGER NOT NULL, data TEXT NOT NULL, PRIMARY KEY (account, id));
"""
TABLES = {"meta": ["key", "value"], "accounts": ["name", "data"], "servers": ["account", "id", "data"]}
FILE_NAME = "mockvps.sqlite3"


class Store:
    """One data dir, held by one process at a time (an exclusive lock on `mockvps.lock`).

    Opening refuses, with one line, a directory another mockvps holds, a file that is not a mockvps store of
    this version, and a store that is not whole (a table missing, accounts missing for stored servers, fewer
    accounts than it recorded). `start_over` moves such a file aside (`mockvps.sqlite3.broken-<time>`) and
    begins anew.
    """

    def __init__(self, directory: Path, *, start_over: bool = False) -> None:
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigurationError(f"data dir {directory}: {exc.strerror}") from None
        self.path = directory / FILE_NAME
        self._lock = _lock(directory)
        try:
            self._db = self._open(start_over)
        except BaseException:
            self._lock.close()
            raise

    def _open(self, start_over: bool) -> sqlite3.Connection:
        try:
            return _connect(self.path)
        except ConfigurationError:
            if not start_over:
                raise
        aside = self.path.with_name(f"{FILE_NAME}.broken-{time.strftime('%Y%m%dT%H%M%S')}")
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                Path(f"{self.path}{suffix}").rename(f"{aside}{suffix}")
        return _connect(self.path)

    def load(self) -> dict[str, Any] | None:
        """The stored state as a snapshot, or None when nothing is stored yet."""
        meta = dict(self._db.execute("SELECT key, value FROM meta").fetchall())
        if not meta:
            return None
        rows = self._db.execute("SELECT name, data FROM accounts ORDER BY rowid").fetchall()
        servers: dict[str, list[Any]] = {}
        try:
            for account, data in self._db.execute("SELECT account, data FROM servers ORDER BY account, id"):
                servers.setdefault(account, []).append(json.loads(data))
            accounts = [json.loads(data) for _, data in rows]
            clock = json.loads(meta["clock"]) if "clock" in meta else None
        except ValueError as exc:
            raise self.refuse(f"a row is not JSON: {exc}") from None
        names = {name for name, _ in rows}
        if clock is None or meta.get("accounts") != str(len(rows)):
            raise self.refuse(f"it recorded {meta.get('accounts', '?')} accounts and holds {len(rows)}")
        if set(servers) - names:
            raise self.refuse(f"servers of unknown accounts: {', '.join(sorted(set(servers) - names))}")
        return {
            "version": SNAPSHOT_VERSION,
            "token_salt": meta.get("token_salt", ""),
            "clock": clock,
            "accounts": [
                {**record, "servers": servers.get(name, [])} for (name, _), record in zip(rows, accounts, strict=True)
            ],
        }

    def replace_all(self, backend: Backend) -> None:
        """The whole state, instead of what is stored (the first start, a reset, an import)."""
        with self._transaction() as db:
            db.execute("DELETE FROM servers")
            db.execute("DELETE FROM accounts")
            db.execute("INSERT OR REPLACE INTO meta VALUES ('clock', ?)", (json.dumps(clock_record(backend)),))
            db.execute("INSERT OR REPLACE INTO meta VALUES ('token_salt', ?)", (backend.token_salt.hex(),))
            for account in backend.accounts.values():
                self._put_account(db, backend, account, all_servers=True)
            _count_accounts(db)

    def record(self, backend: Backend, change: Change) -> None:
        """One write, as the backend tells it (its `on_change` hook): the rows it touched, in one transaction."""
        with self._transaction() as db:
            if change.clock:
                db.execute("INSERT OR REPLACE INTO meta VALUES ('clock', ?)", (json.dumps(clock_record(backend)),))
            if change.removed is not None:
                db.execute("DELETE FROM servers WHERE account = ?", (change.removed,))
                db.execute("DELETE FROM accounts WHERE name = ?", (change.removed,))
                _count_accounts(db)
            account = change.account
            if account is not None:
                self._put_account(db, backend, account, all_servers=change.all_servers)
                if change.all_servers:  # a new account, or one reset
                    _count_accounts(db)
                if change.server_id is not None:
                    server = None if change.server_gone else account.servers.get(change.server_id)
                    if server is None:
                        db.execute("DELETE FROM servers WHERE account = ? AND id = ?", (account.name, change.server_id))
                    else:
                        db.execute(
                            "INSERT OR REPLACE INTO servers VALUES (?, ?, ?)",
                            (account.name, server.id, _dump(server_record(server))),
                        )

    @staticmethod
    def _put_account(db: sqlite3.Connection, backend: Backend, account: Account, *, all_servers: bool) -> None:
        db.execute(
            "INSERT OR REPLACE INTO accounts VALUES (?, ?)", (account.name, _dump(account_record(backend, account)))
        )
        if all_servers:
            db.execute("DELETE FROM servers WHERE account = ?", (account.name,))
            db.executemany(
                "INSERT INTO servers VALUES (?, ?, ?)",
                [(account.name, s.id, _dump(server_record(s))) for s in account.servers.values()],
            )

    @property
    def rows_written(self) -> int:
        """Rows inserted, replaced or deleted since the store was opened (SQLite's total_changes)."""
        return self._db.total_changes

    def close(self) -> None:
        """Close the database (SQLite checkpoints its log into the file), then let go of the data dir."""
        try:
            self._db.close()
        finally:
            self._lock.close()

    def refuse(self, why: str) -> ConfigurationError:
        """The error that refuses this store: what is wrong with it, and how to start over."""
        return ConfigurationError(f"{self.path} is not a whole mockvps store ({why}); {START_OVER}")

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One transaction, committed with an fsync; any failure rolls it back and reads as StoreFailed."""
        try:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            if self._db.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    self._db.execute("ROLLBACK")
            raise StoreFailed(str(exc)) from exc


START_OVER = "pass --data-dir-start-over to move it aside and start anew"


def _count_accounts(db: sqlite3.Connection) -> None:
    db.execute("INSERT OR REPLACE INTO meta VALUES ('accounts', (SELECT COUNT(*) FROM accounts))")


def _lock(directory: Path) -> TextIO:
    """Hold the data dir: a second process refuses at once, naming the holder."""
    path = directory / "mockvps.lock"
    try:
        handle = path.open("a+", encoding="utf-8")
    except OSError as exc:
        raise ConfigurationError(f"data dir {directory}: {exc.strerror}") from None
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.seek(0)
        holder = handle.read().strip() or "another process"
        handle.close()
        raise ConfigurationError(
            f"data dir {directory} is in use by {holder}; stop it or choose another --data-dir"
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"mockvps pid {os.getpid()}\n")
    handle.flush()
    return handle


def _connect(path: Path) -> sqlite3.Connection:
    """Open the store, making it when the file is new; ConfigurationError when the file is not ours.

    An existing file is judged through a read-only connection first, so a refused file is left as it was.
    """
    if path.exists() and path.stat().st_size > 0:
        _judge(sqlite3.connect(f"file:{path}?mode=ro", uri=True), path, make=False)
    return _judge(sqlite3.connect(path, isolation_level=None, check_same_thread=False), path, make=True)


def _judge(db: sqlite3.Connection, path: Path, *, make: bool) -> sqlite3.Connection:
    try:
        if make and db.execute("PRAGMA application_id").fetchone()[0] == 0 and not _tables(db):
            db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            db.executescript(SCHEMA)
        _check(db, path)
        if not make:
            db.close()
            return db
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")  # the commit is on disk when it returns
    except sqlite3.Error as exc:
        db.close()
        raise ConfigurationError(f"{path} cannot be read as a mockvps store ({exc}); {START_OVER}") from None
    except ConfigurationError:
        db.close()
        raise
    return db


def _tables(db: sqlite3.Connection) -> list[str]:
    return [row[0] for row in db.execute("SELECT name FROM sqlite_master")]


def _check(db: sqlite3.Connection, path: Path) -> None:
    application_id = db.execute("PRAGMA application_id").fetchone()[0]
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if application_id != APPLICATION_ID:
        raise ConfigurationError(f"{path} is not a mockvps store; {START_OVER}")
    if version != SCHEMA_VERSION:
        raise ConfigurationError(f"{path} is a mockvps store of version {version}, not {SCHEMA_VERSION}; {START_OVER}")
    for table, columns in TABLES.items():
        found = [row[1] for row in db.execute(f"PRAGMA table_info({table})")]
        if found != columns:
            raise ConfigurationError(f"{path} is not a whole mockvps store (table {table}); {START_OVER}")


def _dump(record: dict[str, Any]) -> str:
    return json.dumps(record, separators=(",", ":"))
