"""The clock notifications code is handed (``brigades.clock`` provides it; never imported here)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol


class Clock(Protocol):
    """Anything with ``now()`` returning a timezone-aware UTC datetime."""

    def now(self) -> datetime: ...
