from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mockvps.clock import SystemClock, VirtualClock


def test_virtual_clock_stands_still_until_advanced() -> None:
    clock = VirtualClock(datetime(2025, 1, 1, tzinfo=UTC))
    assert clock.now() == clock.now() == datetime(2025, 1, 1, tzinfo=UTC)
    clock.advance(timedelta(minutes=2))
    clock.advance(1.5)
    assert clock.now() == datetime(2025, 1, 1, 0, 2, 1, 500000, tzinfo=UTC)


def test_virtual_clock_never_runs_backwards() -> None:
    with pytest.raises(ValueError, match="negative"):
        VirtualClock().advance(-1)


def test_virtual_clock_needs_an_aware_start() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        VirtualClock(datetime(2025, 1, 1))


def test_system_clock_is_utc_and_current() -> None:
    now = SystemClock().now()
    assert now.tzinfo is UTC
    assert abs(now - datetime.now(UTC)) < timedelta(seconds=5)
