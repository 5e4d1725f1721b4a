"""Where time comes from.

Every timestamp in mockvps comes from a `Clock`. Production uses `SystemClock`; tests (and later the control
API) use `VirtualClock`, which only moves when told to, so lifecycles can be stepped deterministically.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol

__all__ = ["Clock", "SystemClock", "VirtualClock"]


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware, in UTC."""
        ...


class SystemClock:
    """The wall clock."""

    __slots__ = ()

    def now(self) -> datetime:
        return datetime.now(UTC)


class VirtualClock:
    """A clock that stands still until advanced."""

    __slots__ = ("_now",)

    def __init__(self, start: datetime | None = None) -> None:
        start = start if start is not None else datetime(2025, 1, 16, 15, 30, tzinfo=UTC)
        if start.tzinfo is None:
            raise ValueError("VirtualClock needs a timezone-aware start time")
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, by: timedelta | float) -> datetime:
        """Move forward by a duration (a timedelta or seconds); time never runs backwards."""
        step = by if isinstance(by, timedelta) else timedelta(seconds=by)
        if step < timedelta(0):
            raise ValueError("a clock cannot be advanced by a negative duration")
        self._now += step
        return self._now
