"""Group commit: the writes that arrive while one group is written go to disk together, in the next group.

A write changes the state in memory at once and is queued (`Log.take` hands over the queue); its answer then
waits in `settled()` until a group that holds the write is on disk. One group is written at a time: its rows
on the event loop (quick, and no thread waits for the interpreter lock once per row), its commit and sync in a
thread, while the loop goes on serving. A burst of N writes costs about two commits and two syncs, not N, and
"acknowledged means on disk" holds as it did with a commit per write.

A group that cannot be written (`StoreFailed`: a full disk, say) is rolled back on disk and undone in memory
with every write queued after it, newest first (`Log.lose`); the answers waiting for them say 503, nothing was
changed, and the mock goes on. A failed sync (`SyncFailed`: an I/O error) leaves it unknown what the disk
holds: from then on every answer is refused, until the mock is restarted, rather than acknowledge or show a
change that may not be kept.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from typing import Generic, Protocol, TypeVar

from mockvps.errors import StoreFailed, SyncFailed

__all__ = ["GroupCommit", "Log"]

log = logging.getLogger("mockvps")
Batch = TypeVar("Batch")


class Log(Protocol[Batch]):
    def take(self) -> Batch:
        """The writes queued so far, to be written as one group (on the event loop)."""

    def write(self, batch: Batch) -> Callable[[], None]:
        """Begin a group (on the loop) and return its commit, on disk when it returns (run in a thread). Either
        raises StoreFailed, or SyncFailed, when the group is not kept."""

    def lose(self, batch: Batch) -> None:
        """The group could not be written: undo it, and every write queued after it, newest first (on the loop)."""


class GroupCommit(Generic[Batch]):
    """Numbers every write (`committed`) and knows how far they are settled: on disk, or lost and undone."""

    def __init__(self, log: Log[Batch]) -> None:
        self._log = log
        self.committed = 0
        """Writes made in memory (and queued), counted from the start."""
        self.done = 0
        """Every write up to this number is settled: on disk, or lost (`lost`) and undone."""
        self.groups = 0
        """How many groups were written (fewer than writes when writes come together)."""
        self.failure: SyncFailed | None = None
        self.lost: deque[tuple[int, int, StoreFailed]] = deque(maxlen=256)
        """The ranges of writes (after, through] that a failed group lost, with why."""
        self._running: asyncio.Future[None] | None = None

    def wrote(self) -> None:
        """A write was made in memory and queued."""
        self.committed += 1

    @property
    def pending(self) -> bool:
        return self.done < self.committed or self.failure is not None

    def refuse_if_failed(self) -> None:
        if self.failure is not None:
            raise self.failure

    async def settled(self) -> None:
        """Return once every write made so far is on disk; StoreFailed when one of them was lost (it was undone,
        with all after it), SyncFailed when a sync failed."""
        target = self.committed
        while True:
            self.refuse_if_failed()
            for after, through, why in self.lost:
                if after < target <= through:
                    raise why
            if target <= self.done:
                return
            if self._running is None:
                self._running = asyncio.ensure_future(self._write_group())
            await asyncio.shield(self._running)

    def write_now(self) -> None:
        """Write what is queued in this thread (start-up and shut-down). Nothing while a group is being written:
        whether it is kept is not known here, and the writes queued behind it (no answer acknowledged them) must
        not reach the disk without it."""
        if self._running is not None:
            return
        target, batch = self.committed, self._log.take()
        self._log.write(batch)()
        self.done = max(self.done, target)

    async def _write_group(self) -> None:
        # One turn of the loop first: the requests read in the same turn as the one that started the group make
        # their writes and join it, instead of waiting a whole group for the next (at 16 connections, --data-dir
        # creates went up by 13 to 36% in bench runs in turns; more turns gained nothing).
        await asyncio.sleep(0)
        target, batch = self.committed, self._log.take()
        try:
            await asyncio.to_thread(self._log.write(batch))
            self.done = max(self.done, target)
        except SyncFailed as exc:
            self.failure = exc
        except Exception as exc:
            why = exc if isinstance(exc, StoreFailed) else StoreFailed(f"{type(exc).__name__}: {exc}")
            if not isinstance(exc, StoreFailed):
                log.exception("writing a group of changes failed")
            self._log.lose(batch)
            self.lost.append((self.done, self.committed, why))
            self.done = self.committed
        finally:
            self.groups += 1
            self._running = None
