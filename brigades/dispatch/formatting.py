"""How the dispatcher writes times and distances for people (Dutch, Amsterdam time)."""

from __future__ import annotations

from datetime import datetime

from brigades import clock

WEEKDAYS_NL = ("ma", "di", "wo", "do", "vr", "za", "zo")


def when(start: datetime, end: datetime) -> str:
    """'di 24-11 10:00-12:00' (or across days: 'di 24-11 22:00-wo 25-11 02:00')."""
    a, b = clock.local(start), clock.local(end)
    first = f"{WEEKDAYS_NL[a.weekday()]} {a:%d-%m %H:%M}"
    if a.date() == b.date():
        return f"{first}-{b:%H:%M}"
    return f"{first}-{WEEKDAYS_NL[b.weekday()]} {b:%d-%m %H:%M}"


def thousands(n: int) -> str:
    """'200.000' (Dutch thousands separator)."""
    return f"{n:,}".replace(",", ".")


def km(distance: float) -> str:
    """'1,2 km' (Dutch decimal comma)."""
    return f"{distance:.1f}".replace(".", ",") + " km"
