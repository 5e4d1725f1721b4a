"""Where time comes from.

Every timestamp in mockvps comes from a `Clock`. `SystemClock` is the wall clock; `VirtualClock` only moves
when told to, so unit tests step lifecycles deterministically; `ControllableClock` follows another clock with
an offset and can be frozen: the control API moves the mock's time with it, globally or per account.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol

__all__ = ["MAX_OFFSET", "Clock", "ControllableClock", "SystemClock", "VirtualClock"]

MAX_OFFSET = timedelta(days=36_525)
"""How far a controllable clock may run ahead of the clock it follows: 100 years (dates stay far from year 9999)."""


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


class ControllableClock:
    """Another clock, shifted by an offset, and optionally frozen; it never runs backwards."""

    __slots__ = ("_base", "_frozen_at", "_offset")

    def __init__(self, base: Clock) -> None:
        self._base = base
        self._offset = timedelta(0)
        self._frozen_at: datetime | None = None

    def now(self) -> datetime:
        return self._frozen_at if self._frozen_at is not None else self._base.now() + self._offset

    @property
    def base(self) -> Clock:
        return self._base

    @property
    def offset(self) -> timedelta:
        return self._offset

    @property
    def frozen(self) -> bool:
        return self._frozen_at is not None

    def advance(self, by: timedelta | float) -> datetime:
        """Move forward; ValueError for a negative step or one past `MAX_OFFSET` in all (nothing moves then)."""
        step = by if isinstance(by, timedelta) else timedelta(seconds=by)
        if step < timedelta(0):
            raise ValueError("a clock cannot be advanced by a negative duration")
        if self._offset + step > MAX_OFFSET:
            raise ValueError(f"a clock runs at most {MAX_OFFSET.days} days ahead")
        self._offset += step
        if self._frozen_at is not None:
            self._frozen_at += step
        return self.now()

    def freeze(self) -> datetime:
        if self._frozen_at is None:
            self._frozen_at = self.now()
        return self._frozen_at

    def unfreeze(self) -> datetime:
        """Time runs on from where it stood, as if the frozen while had not happened."""
        if self._frozen_at is not None:
            self._offset = self._frozen_at - self._base.now()
            self._frozen_at = None
        return self.now()

    def state(self) -> tuple[timedelta, datetime | None]:
        """(offset, frozen at): what `restore` takes back."""
        return self._offset, self._frozen_at

    def restore(self, offset: timedelta, frozen_at: datetime | None) -> None:
        self._offset = offset
        self._frozen_at = frozen_at
