"""Building the candidate index from the database: time and peak memory at national scale.

    python -m bench.index_build [--volunteers 1000000] [--database URL]

Seeds a fresh PostgreSQL database with ``--volunteers`` synthetic volunteers over all 25
regions (the national run's COPY seeding: the demo generator's skills, evidence, availability
windows and vetting checks), or uses ``--database`` as it is. Then, each in a fresh process so
that the peak resident memory (``ru_maxrss``) is its own:

- ``interpreter``: the imports only (the floor every process pays);
- ``whole rows`` (baseline): the three big reads of the index, each held whole as rows
  (``.all()``), the way the build read them before it streamed;
- ``build``: :func:`brigades.dispatch.index.build` as a worker runs it.

Reported: seconds, peak and final RSS, and the bytes of the finished index's arrays.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from typing import Any

import numpy as np

from bench.common import machine, postgres_database, print_table, write_result

MODES = ("interpreter", "whole rows", "build")


def child(mode: str, url: str) -> dict[str, Any]:
    """One measurement in this process (see the module doc)."""
    from sqlalchemy import select
    from sqlmodel import Session, col

    from brigades import clock
    from brigades.db import make_engine
    from brigades.dispatch import index
    from brigades.settings import Settings
    from brigades.volunteers.models import AvailabilityWindow, Volunteer, VolunteerSkill

    engine = make_engine(url)
    started = time.perf_counter()
    out: dict[str, Any] = {"mode": mode}
    with Session(engine) as session:
        if mode == "whole rows":
            v, k, w = Volunteer, VolunteerSkill, AvailabilityWindow
            reads = (
                (v.id, v.lat, v.lon, v.max_distance_km, v.vetting_level, v.vr_code, v.phone,
                 v.sms_opted_out, v.preferred_channel),
                (k.volunteer_id, k.skill_code, k.evidence_kind, k.verified_at,
                 k.evidence_expires_at),
                (w.volunteer_id, w.weekday, w.start_minute, w.end_minute),
            )  # fmt: skip
            held = [session.execute(select(*(col(c) for c in read))).all() for read in reads]
            out["rows"] = [len(h) for h in held]
        elif mode == "build":
            snap = index.build(session, settings=Settings(database_url=url), now=clock.now())
            out["volunteers"] = len(snap.index)
            out["index_mb"] = round(_nbytes(snap.index) / 2**20, 1)
    out["seconds"] = round(time.perf_counter() - started, 1)
    # VmHWM, not ru_maxrss: on Linux a child's ru_maxrss starts at its parent's size at fork.
    out["peak_rss_mb"] = round(_status_mb("VmHWM"), 1)
    out["rss_after_mb"] = round(_status_mb("VmRSS"), 1)
    engine.dispose()
    return out


def _nbytes(obj: Any, depth: int = 0) -> int:
    """Bytes of the numpy arrays reachable from an object's attributes (two levels)."""
    total = 0
    for value in vars(obj).values() if hasattr(obj, "__dict__") else _slots(obj):
        if isinstance(value, np.ndarray):
            total += value.nbytes
        elif depth < 2 and (hasattr(value, "__dict__") or hasattr(value, "__slots__")):
            total += _nbytes(value, depth + 1)
    return total


def _slots(obj: Any) -> list[Any]:
    return [getattr(obj, name) for name in getattr(obj, "__slots__", ()) if hasattr(obj, name)]


def _status_mb(field: str) -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


def measure(mode: str, url: str) -> dict[str, Any]:
    """``child`` in a fresh interpreter."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.index_build", "--child", mode, "--database", url],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--volunteers", type=int, default=1_000_000)
    parser.add_argument("--database", help="use this database as it is (no seeding)")
    parser.add_argument("--child", choices=MODES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.database)))
        return
    result: dict[str, Any] = {"machine": machine(), "command": " ".join(sys.argv)}
    if args.database:
        result["seed"] = {"database": "given"}
        result["runs"] = [measure(mode, args.database) for mode in MODES]
    else:
        from bench.national.__main__ import say, seed

        with postgres_database("zb_bench_index") as url:
            say(f"seeding {args.volunteers:,} volunteers")
            result["seed"] = seed(url, args.volunteers)
            runs = []
            for mode in MODES:
                say(f"measuring: {mode}")
                runs.append(measure(mode, url))
            result["runs"] = runs
    by_mode = {r["mode"]: r for r in result["runs"]}
    floor = by_mode["interpreter"]["peak_rss_mb"]
    built = by_mode["build"]
    result["summary"] = {
        "volunteers_indexed": built.get("volunteers"),
        "build_peak_over_interpreter_mb": round(built["peak_rss_mb"] - floor, 1),
        "whole_rows_peak_over_interpreter_mb": round(
            by_mode["whole rows"]["peak_rss_mb"] - floor, 1
        ),
        "ratio_build_to_whole_rows": round(
            (built["peak_rss_mb"] - floor) / max(by_mode["whole rows"]["peak_rss_mb"] - floor, 1),
            3,
        ),
    }
    print_table(
        result["runs"],
        ["mode", "seconds", "peak_rss_mb", "rss_after_mb", "index_mb", "volunteers", "rows"],
    )
    print(json.dumps(result["summary"], indent=2))
    path = write_result("index_build", result)
    print(f"results written to {path}")


if __name__ == "__main__":
    main()
