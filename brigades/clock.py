"""The one clock of the application.

Everything that needs the time calls :func:`now`. Storage is timezone-aware UTC; what a person sees
is converted to Europe/Amsterdam with :func:`local`. Tests and the drill simulator install a
:class:`ManualClock` (process-wide with :func:`set_clock`, or for one block with :func:`using`) and
drive time forward instead of sleeping.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

AMSTERDAM = ZoneInfo("Europe/Amsterdam")


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    """The wall clock, in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock that only moves when told to; thread-safe so workers can share it."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("ManualClock needs a timezone-aware start time")
        self._now = start.astimezone(UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, delta: timedelta | float) -> datetime:
        """Move the clock forward by a timedelta or a number of seconds."""
        step = delta if isinstance(delta, timedelta) else timedelta(seconds=delta)
        if step < timedelta(0):
            raise ValueError("time does not run backwards")
        with self._lock:
            self._now += step
            return self._now

    def set(self, moment: datetime) -> None:
        """Jump to a moment (forwards only)."""
        with self._lock:
            target = moment.astimezone(UTC)
            if target < self._now:
                raise ValueError("time does not run backwards")
            self._now = target


_current: Clock = SystemClock()


def now() -> datetime:
    """The current time, timezone-aware UTC."""
    return _current.now()


def get_clock() -> Clock:
    """The installed clock (to hand to components that take one, e.g. the outbox worker)."""
    return _current


def set_clock(clock: Clock) -> Clock:
    """Install a clock process-wide; returns the previous one."""
    global _current
    previous, _current = _current, clock
    return previous


@contextlib.contextmanager
def using(clock: Clock) -> Iterator[Clock]:
    """Install a clock for the duration of a block."""
    previous = set_clock(clock)
    try:
        yield clock
    finally:
        set_clock(previous)


def local(moment: datetime) -> datetime:
    """A stored UTC moment as a person in the Netherlands reads it."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(AMSTERDAM)


def as_utc(moment: datetime) -> datetime:
    """Normalise a moment read back from the database (SQLite drops the zone) to aware UTC."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def format_local(moment: datetime, fmt: str = "%d-%m-%Y %H:%M") -> str:
    """Dutch-style display of a moment."""
    return local(moment).strftime(fmt)


def today_local() -> datetime:
    """Midnight today in Amsterdam, as an aware datetime."""
    n = local(now())
    return n.replace(hour=0, minute=0, second=0, microsecond=0)


__all__ = [
    "AMSTERDAM",
    "Clock",
    "ManualClock",
    "SystemClock",
    "as_utc",
    "format_local",
    "get_clock",
    "local",
    "now",
    "set_clock",
    "today_local",
    "using",
]
