"""Per-client limits counted in this process's memory.

Per-client counters (one IP address) are hot: behind carrier-grade NAT thousands of phones share
one address, and a database counter row for it would be locked by every concurrent sign-up until
its transaction commits — a sign-up surge would queue behind one row. These counters therefore
live in memory, per process: with N API processes a client can make up to N times its limit.
That is the right trade for a limit whose job is to stop abuse from one source, not to be exact.
Per-number limits (what protects a person's phone) stay in the database, shared by all processes.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass


class LocalRateLimiter:
    """Fixed-window counters in memory; thread-safe; bounded in size."""

    def __init__(self, max_keys: int = 100_000) -> None:
        self._counts: dict[str, tuple[int, int]] = {}  # key -> (window start, count)
        self._lock = threading.Lock()
        self._max_keys = max_keys

    def hit(self, key: str, *, limit: tuple[int, int], now_ts: int) -> int:
        """Count one request; returns 0 when allowed, else the seconds until the window ends."""
        allowed, window = limit
        if allowed <= 0:
            return 0
        start = now_ts - now_ts % window
        with self._lock:
            previous = self._counts.get(key)
            count = previous[1] + 1 if previous and previous[0] == start else 1
            if len(self._counts) >= self._max_keys and key not in self._counts:
                self._purge(now_ts, window)
            self._counts[key] = (start, count)
        return 0 if count <= allowed else max(1, start + window - now_ts)

    def _purge(self, now_ts: int, window: int) -> None:
        # Drop counters of windows that have ended; if that frees nothing, start afresh rather
        # than grow without bound (an attacker spraying addresses only resets their own count).
        stale = [k for k, (start, _) in self._counts.items() if start + window <= now_ts]
        for k in stale:
            del self._counts[k]
        if len(self._counts) >= self._max_keys:
            self._counts.clear()


@dataclass(frozen=True)
class ClientRef:
    """Who is calling, for rate limits: the address and this process's per-client counters."""

    address: str
    limiter: LocalRateLimiter
