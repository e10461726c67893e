"""Weekly availability: windows, merging, and the page's grid of weekdays × dagdelen.

Windows are Europe/Amsterdam wall-clock minutes of a weekday (0 = Monday), start < end ≤ 1440.
A window over midnight is stored as two windows, one on each day.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

MINUTES_PER_DAY = 1440
MAX_WINDOWS = 50

Window = tuple[int, int, int]  # (weekday, start_minute, end_minute)


@dataclass(frozen=True, slots=True)
class DayPart:
    """A part of the day on the sign-up grid."""

    key: str
    start: int
    end: int  # may be below start: the part runs past midnight into the next day

    @property
    def hours(self) -> str:
        """The hours as the grid shows them, e.g. "08-12"."""
        return f"{self.start // 60:02d}-{self.end // 60:02d}"

    @property
    def label(self) -> str:
        """The part with its hours, e.g. "ochtend (08-12)"."""
        return f"{self.key} ({self.hours})"


DAY_PARTS: tuple[DayPart, ...] = (
    DayPart("ochtend", 8 * 60, 12 * 60),
    DayPart("middag", 12 * 60, 18 * 60),
    DayPart("avond", 18 * 60, 22 * 60),
    DayPart("nacht", 22 * 60, 8 * 60),
)
DAY_PART_KEYS = frozenset(p.key for p in DAY_PARTS)


def merge(windows: Iterable[Window]) -> list[Window]:
    """Sort windows and merge the ones that overlap or touch, per weekday."""
    merged: list[Window] = []
    for day, start, end in sorted(windows):
        if merged and merged[-1][0] == day and start <= merged[-1][2]:
            last = merged[-1]
            merged[-1] = (day, last[1], max(last[2], end))
        else:
            merged.append((day, start, end))
    return merged


def part_windows(weekday: int, part: DayPart) -> list[Window]:
    """The windows one grid cell stands for (two when it runs past midnight)."""
    if part.end > part.start:
        return [(weekday, part.start, part.end)]
    return [(weekday, part.start, MINUTES_PER_DAY), ((weekday + 1) % 7, 0, part.end)]


def grid_windows(cells: Iterable[tuple[int, str]]) -> list[Window]:
    """Merged windows for the ticked (weekday, day part) cells of the grid."""
    parts = {p.key: p for p in DAY_PARTS}
    windows: list[Window] = []
    for day, key in cells:
        windows.extend(part_windows(day, parts[key]))
    return merge(windows)


def _covered(window: Window, stored: list[Window]) -> bool:
    day, start, end = window
    return any(d == day and s <= start and end <= e for d, s, e in stored)


def _subtract(stored: list[Window], cut: list[Window]) -> list[Window]:
    rest: list[Window] = []
    for day, start, end in stored:
        pieces = [(start, end)]
        for d, s, e in cut:
            if d != day:
                continue
            pieces = [
                piece
                for a, b in pieces
                for piece in ((a, min(b, s)), (max(a, e), b))
                if piece[0] < piece[1]
            ]
        rest.extend((day, a, b) for a, b in pieces)
    return rest


def to_grid(stored: Iterable[Window]) -> tuple[set[tuple[int, str]], list[Window]]:
    """The grid cells fully covered by stored windows, and the rest that the grid cannot show."""
    windows = merge(stored)
    cells = {
        (day, part.key)
        for day in range(7)
        for part in DAY_PARTS
        if all(_covered(w, windows) for w in part_windows(day, part))
    }
    return cells, _subtract(windows, grid_windows(cells))
