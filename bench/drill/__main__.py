"""Benchmark: a simulated 24-hour surge with 50,000 synthetic volunteers (issue "Readiness drills").

    .venv/bin/python -m bench.drill [--scenario vr09-24u-50k] [--postgres] [--profile FILE]

Runs the real simulator (real dispatcher, real outbox worker with the console provider, the SMS
answer path) in a scratch database and records wall time, peak memory (max RSS), the phases and
the machine's load average before and after in ``bench/results/drill.json``. Goal: under 10
minutes for the 24 h / 50,000-volunteer scenario.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import resource
import tempfile
import time
from pathlib import Path

from bench.common import RESULTS, machine, postgres_database
from brigades import migrate
from brigades.db import make_engine
from brigades.drills import scenario as scenarios
from brigades.drills import service
from brigades.settings import Settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scenario", default="vr09-24u-50k")
    parser.add_argument("--postgres", action="store_true", help="scratch database on PostgreSQL")
    parser.add_argument("--profile", help="write a cProfile of the run to this file")
    args = parser.parse_args()
    scenario = scenarios.load(args.scenario)
    load_before = os.getloadavg()
    phases: list[tuple[float, float, str]] = []
    started = time.perf_counter()

    def progress(share: float, note: str) -> None:
        if not phases or share - phases[-1][1] >= 0.05 or note == "Klaar":
            phases.append((round(time.perf_counter() - started, 1), round(share, 3), note))
            print(f"{phases[-1][0]:>7.1f} s  {100 * share:5.1f}%  {note}", flush=True)

    with tempfile.TemporaryDirectory(prefix="zb-bench-drill-") as directory:
        if args.postgres:
            with postgres_database("zb_bench_drill") as url:
                engine = make_engine(url)
                migrate.upgrade(engine, "head")
                built = _run(engine, url, scenario, progress, args.profile)
        else:
            engine = service.scratch_database(Path(directory))
            built = _run(engine, str(engine.url), scenario, progress, args.profile)
    wall = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result = {
        "benchmark": "drill",
        "scenario": args.scenario,
        "database": "postgresql" if args.postgres else "sqlite",
        "volunteers": built.volunteers,
        "tasks": built.tasks,
        "wall_seconds": round(wall, 1),
        "simulation_seconds": round(built.wall_seconds or 0, 1),
        "peak_rss_mb": round(peak_mb, 1),
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "goal_seconds": 600,
        "met": wall < 600,
        "report": {
            "offers": built.offers,
            "slots": built.slots,
            "slots_filled": built.slots_filled,
            "fill_rate": round(built.fill_rate, 4),
            "response_rate": round(built.response_rate, 4),
            "first_acceptance_minutes": built.first_acceptance_minutes,
            "over_caps": built.over_caps,
            "messages_without_prefix": built.drill_messages_without_prefix,
            "notes": built.notes,
        },
        "phases": phases,
        "machine": machine(),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "drill.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({k: v for k, v in result.items() if k != "phases"}, indent=2))


def _run(engine, url, scenario, progress, profile):  # type: ignore[no-untyped-def]
    settings = Settings(database_url=url, env="development")
    if not profile:
        return service.simulate(engine, settings, scenario, progress=progress)
    profiler = cProfile.Profile()
    profiler.enable()
    try:
        return service.simulate(engine, settings, scenario, progress=progress)
    finally:
        profiler.disable()
        profiler.dump_stats(profile)


if __name__ == "__main__":
    main()
