"""The state of one running mock, shared by the public API and the control API."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from mockvps.backend import Backend, Change, Server, Undo
from mockvps.errors import StoreFailed
from mockvps.persistence.store import Store
from mockvps.settings import Settings
from mockvps.shared.coverage import Coverage
from mockvps.shared.faults import FaultSet
from mockvps.shared.journal import Journal

__all__ = ["MockState"]


@dataclass(slots=True, eq=False)
class MockState:
    """Everything a mock holds. `backend` is replaced whole by a reset or an import (`replace_backend`)."""

    settings: Settings
    backend: Backend
    fresh_backend: Callable[[], Backend]
    """The state as the mock started (its settings, or the --state file): what a reset returns to."""
    store: Store | None = None
    """Where changes are kept (--data-dir), or None."""
    journal: Journal = field(init=False)
    faults: FaultSet = field(default_factory=FaultSet)
    coverage: Coverage = field(init=False)
    """What clients were answered and shown, counted; kept across resets and imports (see `Coverage`)."""

    def __post_init__(self) -> None:
        self.journal = Journal(self.settings.journal_size)
        self.coverage = Coverage(live=self._servers)
        if self.store is not None:
            self.backend.on_change = self._record

    def _servers(self) -> Iterator[Server]:
        for account in self.backend.accounts.values():
            yield from account.servers.values()

    def _record(self, backend: Backend, change: Change, undo: Undo) -> None:
        """The store's hook. A request that took the backend before a reset or an import may write to it after:
        refused (and undone), or its rows would land on the state that replaced it."""
        if backend is not self.backend:
            raise StoreFailed("the state was reset or imported while this request was read")
        assert self.store is not None
        self.store.record(backend, change, undo)

    def replace_backend(self, backend: Backend) -> None:
        """A whole new state (reset, import), in force at once; with a store, queued like any write (and the
        state before it put back should the store fail to keep it)."""
        old, self.backend = self.backend, backend
        if self.store is not None:
            backend.on_change = self._record
            self.store.replace_all(backend, undo=lambda: setattr(self, "backend", old))
