"""Durable state (`mockvps serve --data-dir DIR`): SQLite from the standard library, in WAL mode.

Every acknowledged change is on disk before the answer leaves: the backend tells the store what each write
changed (`record`, its `on_change` hook), the store queues those rows alone, and the writes that arrive while
one group is written are committed together, with one fsync, in the next group (`commits`, a group commit; the
app holds every answer until the group that holds its writes is on disk). Statuses that
pass with time need no writes: they follow from (status, since, now) again after a restart. The journal and
fault rules are not kept.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn, TextIO

import orjson

from mockvps.backend import Account, Backend, Change, Undo
from mockvps.errors import ConfigurationError, StoreFailed, SyncFailed
from mockvps.persistence.commits import GroupCommit
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
SQLITE_IOERR = 10  # an I/O error: a write or sync the disk refused (the low byte of an extended result code)

Row = tuple[str, tuple[Any, ...]]
"""One statement and its parameters."""
Batch = list[tuple[list[Row], Undo]]
"""Queued writes: each one's rows, and how to undo it in memory."""


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
        self._holder = _lock(directory)
        try:
            self._db = self._open(start_over)
        except BaseException:
            self._holder.close()
            raise
        self._using = threading.Lock()
        """The connection, used by one thread at a time (the group writer's, or start-up and shut-down)."""
        self._queue: Batch = []
        self.commits = GroupCommit[Batch](self)

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
            for account, data in self._db.execute("SELECT account, data FROM servers ORDER BY rowid"):
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

    def replace_all(self, backend: Backend, undo: Undo | None = None) -> None:
        """The whole state, instead of what is stored (the first start, a reset, an import); queued like a write.
        `undo` puts the state before it back if it cannot be kept."""
        rows: list[Row] = [
            ("DELETE FROM servers", ()),
            ("DELETE FROM accounts", ()),
            (PUT_META, ("clock", _dump(clock_record(backend)))),
            (PUT_META, ("token_salt", backend.token_salt.hex())),
        ]
        for account in backend.accounts.values():
            self._account_rows(rows, backend, account, all_servers=True)
        rows.append(COUNT_ACCOUNTS)
        self._queued(rows, undo or _nothing)

    def record(self, backend: Backend, change: Change, undo: Undo) -> None:
        """One write, as the backend tells it (its `on_change` hook): the rows it touched, queued for the next
        group (`commits`), with its undo, should the group fail.

        A write to an account that is no longer the backend's (a request took it before the account was removed
        or reset) is refused (and undone): its rows would bring it back over what replaced it."""
        if change.account is not None and backend.accounts.get(change.account.name) is not change.account:
            raise StoreFailed("the account was removed or reset while this request was read")
        rows: list[Row] = []
        if change.clock:
            rows.append((PUT_META, ("clock", _dump(clock_record(backend)))))
        if change.removed is not None:
            rows += [
                ("DELETE FROM servers WHERE account = ?", (change.removed,)),
                ("DELETE FROM accounts WHERE name = ?", (change.removed,)),
                COUNT_ACCOUNTS,
            ]
        account = change.account
        if account is not None:
            self._account_rows(rows, backend, account, all_servers=change.all_servers)
            if change.all_servers:  # a new account, or one reset
                rows.append(COUNT_ACCOUNTS)
            if change.server_id is not None:
                server = account.servers.get(change.server_id)
                if server is None:
                    rows.append(("DELETE FROM servers WHERE account = ? AND id = ?", (account.name, change.server_id)))
                else:
                    rows.append((PUT_SERVER, (account.name, server.id, _dump(server_record(server)))))
        self._queued(rows, undo)

    def _queued(self, rows: list[Row], undo: Undo) -> None:
        self.commits.refuse_if_failed()
        self._queue.append((rows, undo))
        self.commits.wrote()

    @staticmethod
    def _account_rows(rows: list[Row], backend: Backend, account: Account, *, all_servers: bool) -> None:
        rows.append((PUT_ACCOUNT, (account.name, _dump(account_record(backend, account)))))
        if all_servers:
            rows.append(("DELETE FROM servers WHERE account = ?", (account.name,)))
            rows += [(PUT_SERVER, (account.name, s.id, _dump(server_record(s)))) for s in account.servers.values()]

    # the group commit's log (`commits`)

    def take(self) -> Batch:
        batch, self._queue = self._queue, []
        return batch

    def write(self, batch: Batch) -> Callable[[], None]:
        """The group's rows in one transaction, now; its commit, with an fsync, when the returned function runs
        (in the group writer's thread; the connection is held until then)."""
        if not batch:
            return _nothing
        self._using.acquire()
        try:
            self._db.execute("BEGIN IMMEDIATE")
            for rows, _ in batch:
                for statement, parameters in rows:
                    self._db.execute(statement, parameters)
        except BaseException as exc:
            try:
                self._fail(exc)  # rolled back before the connection is let go
            finally:
                self._using.release()

        def commit() -> None:
            try:
                self._db.execute("COMMIT")
            except BaseException as exc:
                self._fail(exc)
            finally:
                self._using.release()

        return commit

    def lose(self, batch: Batch) -> None:
        undone, self._queue = batch + self._queue, []
        for _, undo in reversed(undone):
            undo()

    @property
    def rows_written(self) -> int:
        """Rows inserted, replaced or deleted since the store was opened (SQLite's total_changes)."""
        return self._db.total_changes

    def close(self) -> None:
        """Write what is still queued, close the database (SQLite checkpoints its log into the file), then let
        go of the data dir."""
        try:
            if self.commits.failure is None:
                self.commits.write_now()
        finally:
            with self._using:
                try:
                    self._db.close()
                finally:
                    self._holder.close()

    def refuse(self, why: str) -> ConfigurationError:
        """The error that refuses this store: what is wrong with it, and how to start over."""
        return ConfigurationError(f"{self.path} is not a whole mockvps store ({why}); {START_OVER}")

    def _fail(self, exc: BaseException) -> NoReturn:
        """Roll back, and raise StoreFailed (nothing was kept), or SyncFailed when the disk refused a write or a
        sync (what it holds is then unknown); anything but SQLite's errors as it is."""
        if self._db.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                self._db.execute("ROLLBACK")
        if not isinstance(exc, sqlite3.Error):
            raise exc
        if getattr(exc, "sqlite_errorcode", 0) & 0xFF == SQLITE_IOERR:
            raise SyncFailed(str(exc)) from exc
        raise StoreFailed(str(exc)) from exc


START_OVER = "pass --data-dir-start-over to move it aside and start anew"


PUT_META = "INSERT OR REPLACE INTO meta VALUES (?, ?)"
PUT_ACCOUNT = "INSERT INTO accounts VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET data = excluded.data"
"""An upsert: an account keeps its row, and so its place in the order a restart loads (a replace would move it
last)."""
PUT_SERVER = "INSERT INTO servers VALUES (?, ?, ?) ON CONFLICT (account, id) DO UPDATE SET data = excluded.data"
"""An upsert, as PUT_ACCOUNT: a server keeps its place in its account's list (a server seeded with a low id
after others is listed after them, as in memory)."""
COUNT_ACCOUNTS: Row = ("INSERT OR REPLACE INTO meta VALUES ('accounts', (SELECT COUNT(*) FROM accounts))", ())


def _nothing() -> None:
    pass


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
            # A new store: its log first, then its marks and tables in one transaction (one sync, not ten).
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(
                f"BEGIN; PRAGMA application_id = {APPLICATION_ID}; PRAGMA user_version = {SCHEMA_VERSION};"
                f"{SCHEMA} COMMIT;"
            )
        _check(db, path)
        if not make:
            db.close()
            return db
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")  # a group's commit is on disk when it returns
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


def _dump(record: Any) -> str:
    """Compact JSON (orjson; the standard library's for what orjson refuses, an integer past 64 bits)."""
    try:
        return orjson.dumps(record).decode()
    except TypeError:
        return json.dumps(record, separators=(",", ":"))
