"""Dispatch rounds at scale: how fast ``run_round`` sends the first wave of many tasks.

    python -m bench.dispatch_round [--volunteers 200000] [--tasks 2000] [--region VR09]
                                   [--time-limit 300] [--batch 50] [--profile]

On a fresh PostgreSQL database (migrated through ``brigades.migrate``):

1. Seed ``--volunteers`` synthetic volunteers over all 25 regions (split by inhabitants, the demo
   generator's rows loaded with COPY, as ``bench.national`` does), then one open code-zwart
   incident in ``--region`` with ``--tasks`` tasks (boodschappen, one slot, an 8-hour window,
   spread over the region's PC4 areas by inhabitants).
2. The seeded database is cloned (``CREATE DATABASE … TEMPLATE``) once per path, so both start
   from the same rows: the per-task path (``wave_batch=1``: one transaction and one
   :func:`~brigades.dispatch.service.run_wave` per task, as before) and the batched path
   (``wave_batch=--batch`` tasks per transaction).
3. Per path: the candidate index is built first (timed apart; its maximum age is raised so it is
   not rebuilt during the rounds), then ``run_round`` runs until no task is due or
   ``--time-limit`` seconds have passed. Reported: tasks waved per second, offers per second,
   SQL statements per task (a ``before_cursor_execute`` counter), and with ``--profile`` the
   top functions of a cProfile of the rounds (profiling slows both paths alike).

Nobody answers: each task gets exactly one wave, so the rounds end when every task had its
first wave (or was found unfillable). Writes ``bench/results/dispatch_round.json``.
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import io
import pstats
import random
import time
from collections import Counter
from datetime import timedelta
from typing import Any

from sqlalchemy import create_engine, event, text
from sqlmodel import Session, col, func, select

from bench.common import PG_SERVER, machine, print_table, write_result
from bench.national.__main__ import seed
from brigades import clock
from brigades.db import make_engine, session_scope
from brigades.dispatch import index, jobs
from brigades.dispatch.models import TaskDispatch
from brigades.incidents import service as incidents
from brigades.incidents.models import IncidentKind
from brigades.settings import Settings
from brigades.tasks.models import CareTask, Offer, TaskPriority, TaskState
from geo import load_reference_data
from tests.incidents.factories import ACTOR, ADMIN


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def add_incident(url: str, region: str, count: int, seed_value: int = 3) -> dict[str, Any]:
    """One open code-zwart incident in ``region`` with ``count`` one-slot tasks."""
    reference = load_reference_data()
    areas = [a for a in reference.pc4s.values() if a.vr_code == region and a.inwoners > 0]
    rng = random.Random(seed_value)
    picks = rng.choices(areas, weights=[a.inwoners for a in areas], k=count)
    now = clock.now()
    local = clock.local(now)
    start = local.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    if start.hour > 15:  # keep the 8-hour window inside one day
        start = (start + timedelta(days=1)).replace(hour=9)
    end = start + timedelta(hours=8)
    engine = make_engine(url)
    with session_scope(engine) as session:
        incident = incidents.open_incident(
            session,
            actor=ACTOR,
            scope=ADMIN,
            kind=IncidentKind.CODE_ZWART,
            name="Griepgolf (benchmark)",
            level=1,
            vr_code=region,
            gm_codes=None,
            polygon_geojson=None,
            allow_overlap=True,
            now=now,
        )
        for i, area in enumerate(picks):
            session.add(
                CareTask(
                    incident_id=incident.id or 0,
                    vr_code=region,
                    gm_code=area.gm_code,
                    type_code="boodschappen",
                    postcode=f"{area.pc4}",
                    pc4=area.pc4,
                    house_number=str(i % 150 + 1),
                    lat=area.lat,
                    lon=area.lon,
                    window_start=start,
                    window_end=end,
                    duration_minutes=60,
                    slots=1,
                    priority=TaskPriority.NORMAL,
                    description="Boodschappen halen",
                    state=TaskState.OPEN,
                    state_changed_at=now,
                    created_at=now,
                    updated_at=now,
                )
            )
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    engine.dispose()
    return {"tasks": count, "region": region, "window": f"{start:%H:%M}-{end:%H:%M}"}


def clone(template: str, name: str) -> str:
    admin = create_engine(PG_SERVER + "postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    admin.dispose()
    return PG_SERVER + name


def drop(name: str) -> None:
    admin = create_engine(PG_SERVER + "postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def run_path(
    url: str, *, wave_batch: int, time_limit: float, profile: bool, tasks: int
) -> dict[str, Any]:
    """Rounds of ``run_round`` on one clone until nothing is due; timed and counted."""
    settings = Settings(database_url=url, dispatch_index_max_age_seconds=24 * 3600)
    engine = make_engine(url)
    statements = {"n": 0}
    kinds: Counter[str] = Counter()

    @event.listens_for(engine, "before_cursor_execute")
    def _count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements["n"] += 1
        kinds[" ".join(statement.split())[:90]] += 1

    index.invalidate()
    started = time.perf_counter()
    with Session(engine) as session:
        index.snapshot(session, settings=settings, now=clock.now())
    index_seconds = time.perf_counter() - started
    statements["n"] = 0
    kinds.clear()
    rounds: list[dict[str, Any]] = []
    profiler = cProfile.Profile() if profile else None
    started = time.perf_counter()
    while time.perf_counter() - started < time_limit:
        before = statements["n"]
        t0 = time.perf_counter()
        if profiler is not None:
            profiler.enable()
        report = jobs.run_round(lambda: session_scope(engine), settings, wave_batch=wave_batch)
        if profiler is not None:
            profiler.disable()
        rounds.append(
            {
                "seconds": round(time.perf_counter() - t0, 2),
                "waves": report.waves,
                "offers": report.offers,
                "unfillable": report.unfillable,
                "statements": statements["n"] - before,
            }
        )
        say(f"  round {len(rounds)}: {rounds[-1]}")
        if report.waves == 0 and report.unfillable == 0 and report.enlisted == 0:
            break
    elapsed = time.perf_counter() - started
    with Session(engine) as session:
        waved = session.exec(
            select(func.count()).select_from(TaskDispatch).where(col(TaskDispatch.waves) > 0)
        ).one()
        offers = session.exec(select(func.count()).select_from(Offer)).one()
        unfillable = session.exec(
            select(func.count())
            .select_from(CareTask)
            .where(col(CareTask.state) == TaskState.UNFILLABLE)
        ).one()
        still_due = session.exec(
            select(func.count())
            .select_from(TaskDispatch)
            .where(col(TaskDispatch.due_at).is_not(None))
        ).one()
        doubled = session.exec(
            text(
                "SELECT count(*) FROM (SELECT task_id, volunteer_id FROM offer "
                "GROUP BY task_id, volunteer_id HAVING count(*) > 1) d"
            )
        ).one()[0]
        pairs = session.exec(
            text("SELECT task_id, volunteer_id FROM offer ORDER BY task_id, volunteer_id")
        ).all()
    engine.dispose()
    digest = hashlib.sha256(repr([tuple(p) for p in pairs]).encode()).hexdigest()[:16]
    handled = int(waved) + int(unfillable)
    result: dict[str, Any] = {
        "wave_batch": wave_batch,
        "index_build_seconds": round(index_seconds, 1),
        "rounds": rounds,
        "seconds": round(elapsed, 1),
        "tasks": tasks,
        "tasks_waved": int(waved),
        "tasks_unfillable": int(unfillable),
        "tasks_still_due": int(still_due),
        "offers": int(offers),
        "offers_twice_to_same_volunteer": int(doubled),
        # The same (task, volunteer) offers on both paths give the same digest.
        "offers_digest": digest,
        "tasks_per_second": round(handled / elapsed, 1) if elapsed else None,
        "offers_per_second": round(int(offers) / elapsed, 1) if elapsed else None,
        "statements_per_task": round(statements["n"] / handled, 1) if handled else None,
    }
    result["top_statements"] = [
        {"statement": k, "per_task": round(n / handled, 2) if handled else None}
        for k, n in kinds.most_common(15)
    ]
    for row in result["top_statements"]:
        print(f"    {row['per_task']:>6}  {row['statement']}")
    if profiler is not None:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(30)
        result["profile_top"] = out.getvalue().splitlines()[:60]
        print(out.getvalue()[:6000])
    return result


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--volunteers", type=int, default=200_000)
    parser.add_argument("--tasks", type=int, default=2_000)
    parser.add_argument("--region", default="VR09")
    parser.add_argument("--time-limit", type=float, default=300.0)
    parser.add_argument("--batch", type=int, default=jobs.WAVE_BATCH)
    parser.add_argument(
        "--paths", default="per-task,batched", help="comma list of per-task, batched"
    )
    parser.add_argument("--profile", action="store_true")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    base = f"zb_dispatch_round_{int(time.time())}"
    admin = create_engine(PG_SERVER + "postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{base}"'))
    admin.dispose()
    clones: list[str] = []
    try:
        say(f"seeding {args.volunteers:,} volunteers")
        seeded = seed(PG_SERVER + base, args.volunteers)
        incident = add_incident(PG_SERVER + base, args.region, args.tasks)
        say(f"seeded: {seeded['seed_seconds']} s; incident {incident}")
        paths: dict[str, dict[str, Any]] = {}
        for name in args.paths.split(","):
            batch = 1 if name == "per-task" else args.batch
            clone_name = f"{base}_{name.replace('-', '_')}"
            clones.append(clone_name)
            url = clone(base, clone_name)
            say(f"path {name} (wave_batch={batch})")
            paths[name] = run_path(
                url,
                wave_batch=batch,
                time_limit=args.time_limit,
                profile=args.profile,
                tasks=args.tasks,
            )
            drop(clone_name)
    finally:
        for name in [*clones, base]:
            drop(name)
    rows = [
        {
            "path": name,
            "wave_batch": r["wave_batch"],
            "seconds": r["seconds"],
            "waved": r["tasks_waved"],
            "unfillable": r["tasks_unfillable"],
            "still_due": r["tasks_still_due"],
            "tasks/s": r["tasks_per_second"],
            "offers/s": r["offers_per_second"],
            "stmts/task": r["statements_per_task"],
            "index_s": r["index_build_seconds"],
            "twice": r["offers_twice_to_same_volunteer"],
        }
        for name, r in paths.items()
    ]
    print_table(
        rows,
        [
            "path",
            "wave_batch",
            "seconds",
            "waved",
            "unfillable",
            "still_due",
            "tasks/s",
            "offers/s",
            "stmts/task",
            "index_s",
            "twice",
        ],
    )
    ratios: dict[str, Any] = {}
    if "per-task" in paths and "batched" in paths:
        old, new = paths["per-task"], paths["batched"]
        if old["tasks_per_second"] and new["tasks_per_second"]:
            ratios["tasks_per_second"] = round(new["tasks_per_second"] / old["tasks_per_second"], 2)
        if old["statements_per_task"] and new["statements_per_task"]:
            ratios["statements_per_task"] = round(
                new["statements_per_task"] / old["statements_per_task"], 2
            )
        ratios["same_offers"] = old["offers_digest"] == new["offers_digest"]
        print(f"batched / per-task: {ratios}")
    path = write_result(
        "dispatch_round",
        {
            "machine": {**machine(), "note": "2 vCPU, shared"},
            "args": vars(args),
            "seeded": {k: v for k, v in seeded.items() if k != "per_region"},
            "incident": incident,
            "paths": paths,
            "ratios_batched_over_per_task": ratios,
        },
    )
    say(f"wrote {path}")


if __name__ == "__main__":
    main()
