"""py-spy sampling and CPU accounting for the SMS benchmark."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path

PYSPY = Path(sys.executable).with_name("py-spy")
_TICKS = os.sysconf("SC_CLK_TCK")

# Leaf-most frame from one of these packages decides where a sample's time is booked.
_PACKAGES = (
    "psycopg",
    "psycopg_pool",
    "sqlalchemy",
    "sqlmodel",
    "httpx",
    "httpcore",
    "h11",
    "anyio",
    "starlette",
    "fastapi",
    "uvicorn",
    "pydantic",
    "pydantic_core",
    "python_multipart",
    "multipart",
    "twilio",
    "jinja2",
    "notifications",
    "brigades",
    "geo",
    "bench",
    "concurrent",
    "threading",
    "logging",
    "json",
    "email",
    "http",
    "urllib",
    "ssl",
    "socket",
    "selectors",
    "queue",
    "asyncio",
    "hmac",
    "base64",
    "re",
    "datetime",
    "random",
    "uuid",
    "typing",
    "enum",
    "functools",
    "contextlib",
    "dataclasses",
)


def record(pid: int, seconds: int, out: Path, *, gil: bool = True) -> Path | None:
    """Sample ``pid`` with py-spy for ``seconds`` (raw collapsed stacks); None if unavailable."""
    if not PYSPY.exists():
        return None
    cmd = [str(PYSPY), "record", "-p", str(pid), "-d", str(seconds), "-f", "raw", "-o", str(out)]
    cmd += ["--nonblocking", "--threads"] if not gil else ["--nonblocking", "--gil"]
    subprocess.run(cmd, capture_output=True, check=False)
    return out if out.exists() and out.stat().st_size else None


def _stacks(raw: Path) -> Iterable[tuple[list[str], int]]:
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if count.isdigit():
            yield stack.split(";"), int(count)


def _package(frame: str) -> str | None:
    # "func (package/module.py:123)"
    start = frame.rfind("(")
    if start < 0:
        return None
    path = frame[start + 1 :].split(":")[0]
    head = path.split("/")[0].removesuffix(".py")
    return head if head in _PACKAGES else None


def summarise(raw: Path, *, top: int = 25) -> dict[str, object]:
    """Self time by package, the hottest frames, and inclusive time of our own functions."""
    total = 0
    by_package: Counter[str] = Counter()
    self_time: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    for frames, n in _stacks(raw):
        total += n
        self_time[frames[-1]] += n
        package = next((p for f in reversed(frames) if (p := _package(f))), "other")
        by_package[package] += n
        for frame in set(frames):
            if _package(frame) in ("notifications", "brigades", "bench"):
                inclusive[frame] += n
    if not total:
        return {"samples": 0}

    def share(counter: Counter[str], k: int) -> list[tuple[str, float]]:
        return [(name, round(100 * n / total, 1)) for name, n in counter.most_common(k)]

    return {
        "samples": total,
        "self_by_package_pct": dict(share(by_package, 20)),
        "top_self_frames_pct": share(self_time, top),
        "our_functions_inclusive_pct": share(inclusive, top),
    }


def format_summary(title: str, summary: dict[str, object]) -> str:
    """A readable rendering of :func:`summarise`."""
    lines = [f"{title} ({summary.get('samples', 0)} samples, GIL holder only)"]
    packages = summary.get("self_by_package_pct")
    if isinstance(packages, dict):
        lines.append(
            "  self time by package: " + ", ".join(f"{k} {v}%" for k, v in packages.items())
        )
    for key, label in (
        ("our_functions_inclusive_pct", "inclusive, our code"),
        ("top_self_frames_pct", "hottest frames (self)"),
    ):
        rows = summary.get(key)
        if isinstance(rows, list):
            lines.append(f"  {label}:")
            lines += [f"    {pct:5.1f}%  {frame}" for frame, pct in rows[:15]]
    return "\n".join(lines)


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of one process so far (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    # After the command name: state is field 3, utime 14, stime 15 (1-based over the full line).
    return (int(fields[11]) + int(fields[12])) / _TICKS


def machine_busy_seconds() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, all CPUs."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    total = sum(values[:8])
    return (total - idle) / _TICKS, total / _TICKS


class CpuMeter:
    """CPU seconds spent by some processes (and the whole machine) between start and stop."""

    def __init__(self, pids: Callable[[], dict[str, list[int]]]) -> None:
        self._pids = pids
        self._start: dict[int, float] = {}
        self._machine: tuple[float, float] = (0.0, 0.0)

    def start(self) -> None:
        """Remember the counters now."""
        self._start = {
            pid: process_cpu_seconds(pid) for group in self._pids().values() for pid in group
        }
        self._machine = machine_busy_seconds()

    def stop(self, wall_seconds: float, units: int = 0) -> dict[str, object]:
        """CPU seconds per group since start (and per unit of work, in ms), and the machine's
        busy share of all CPUs (other users of the machine included)."""
        result: dict[str, object] = {}
        for name, group in self._pids().items():
            used = sum(process_cpu_seconds(pid) - self._start.get(pid, 0.0) for pid in group)
            result[f"{name}_cpu_s"] = round(used, 2)
            result[f"{name}_cores"] = round(used / wall_seconds, 2) if wall_seconds else None
            if units:
                result[f"{name}_cpu_ms_per_unit"] = round(1000 * used / units, 3)
        busy, total = machine_busy_seconds()
        spent = total - self._machine[1]
        result["machine_busy_pct"] = (
            round(100 * (busy - self._machine[0]) / spent, 1) if spent else None
        )
        return result
