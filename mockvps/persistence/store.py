"""Durable state (`mockvps serve --data-dir DIR`): SQLite from the standard library, in WAL mode.

Every acknowledged change is committed, with an fsync, before the answer leaves: the backend tells the store
what each write changed (`record`, its `on_change` hook), and the store writes those rows alone. Statuses that
pass with time need no writes: they follow from (status, since, now) again after a restart. The journal and
fault rules are not kept.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from mockvps.backend import Account, Backend, Change
from mockvps.persistence.snapshot import SNAPSHOT_VERSION, account_record, clock_record, server_record

__all__ = ["Store"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS accounts (name TEXT PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS servers (
    account TEXT NOT NULL, id INTEGER NOT NULL, data TEXT NOT NULL, PRIMARY KEY (account, id)
);
"""


class Store:
    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / "mockvps.sqlite3"
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")  # the commit is on disk when it returns
        self._db.executescript(SCHEMA)

    def load(self) -> dict[str, Any] | None:
        """The stored state as a snapshot, or None when nothing is stored yet."""
        rows = self._db.execute("SELECT name, data FROM accounts ORDER BY rowid").fetchall()
        if not rows:
            return None
        servers: dict[str, list[Any]] = {}
        for account, data in self._db.execute("SELECT account, data FROM servers ORDER BY account, id"):
            servers.setdefault(account, []).append(json.loads(data))
        clock = self._db.execute("SELECT value FROM meta WHERE key = 'clock'").fetchone()
        return {
            "version": SNAPSHOT_VERSION,
            "clock": json.loads(clock[0]) if clock else None,
            "accounts": [{**json.loads(data), "servers": servers.get(name, [])} for name, data in rows],
        }

    def replace_all(self, backend: Backend) -> None:
        """The whole state, instead of what is stored (the first start, a reset, an import)."""
        with self._transaction() as db:
            db.execute("DELETE FROM servers")
            db.execute("DELETE FROM accounts")
            db.execute("INSERT OR REPLACE INTO meta VALUES ('clock', ?)", (json.dumps(clock_record(backend)),))
            for account in backend.accounts.values():
                self._put_account(db, backend, account, all_servers=True)

    def record(self, backend: Backend, change: Change) -> None:
        """One write, as the backend tells it (its `on_change` hook): the rows it touched, in one transaction."""
        with self._transaction() as db:
            if change.clock:
                db.execute("INSERT OR REPLACE INTO meta VALUES ('clock', ?)", (json.dumps(clock_record(backend)),))
            if change.removed is not None:
                db.execute("DELETE FROM servers WHERE account = ?", (change.removed,))
                db.execute("DELETE FROM accounts WHERE name = ?", (change.removed,))
            account = change.account
            if account is not None:
                self._put_account(db, backend, account, all_servers=change.all_servers)
                if change.server_id is not None:
                    server = account.servers.get(change.server_id)
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
        self._db.close()

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db)


class _Transaction:
    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> sqlite3.Connection:
        self.db.execute("BEGIN IMMEDIATE")
        return self.db

    def __exit__(self, kind: object, error: object, trace: object) -> None:
        self.db.execute("ROLLBACK" if error else "COMMIT")


def _dump(record: dict[str, Any]) -> str:
    return json.dumps(record, separators=(",", ":"))
