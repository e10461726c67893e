"""National-scale run: 1,000,000 volunteers, a sign-up surge, a code-zwart incident (issue 9).

    python -m bench.national [--quick] [--volunteers 1000000] [--surge-seconds 600]
                             [--connections 64] [--api-workers 2] [--tasks 10000]

On a fresh PostgreSQL database (migrated through ``brigades.migrate``):

1. Seed ``--volunteers`` synthetic volunteers over all 25 veiligheidsregio's, split by inhabitants
   (``brigades.drills.population.split_by_inhabitants``), each region through the demo generator
   (multi-row inserts, ``synthetic=True``). Timed.
2. Sign-up surge: the production app (``brigades.app:served_app``, as ``zorgbrigade serve`` runs
   it: uvicorn with ``--api-workers`` processes; 2 on the 2-core reference machine) under wrk
   with ``bench/signup/signup.lua`` for ``--surge-seconds``; ``GET /healthz`` on the same server
   in the same run is the baseline.
   Checked afterwards: every 202 has a volunteer row, no number twice.
3. Code-zwart incident in ``--region``: ``--tasks`` tasks dispatched by two worker processes over
   the fake Twilio with faults and simulated replies; see :mod:`bench.national.incident`.

Peak memory is sampled per process tree: the API (all its uvicorn processes) and each worker
(``dispatcherN``: the outbox and the dispatch rounds); the goal counts their sum.

``--quick``: 50,000 volunteers, a 60 s surge, 500 tasks; writes ``national-quick.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, text
from sqlmodel import col, select

from bench.common import (
    AutoAnalyze,
    machine,
    postgres_database,
    print_table,
    process_tree,
    rss_mb,
    run_wrk,
    server,
    signup_body_template,
    signup_postcodes,
    write_result,
    wrk_script,
)
from brigades import clock, migrate
from brigades.db import make_engine, session_scope
from brigades.demo import population
from brigades.demo.service import seed_region
from brigades.drills.population import split_by_inhabitants
from brigades.supportpoints.models import SupportPoint
from brigades.volunteers.models import Volunteer
from geo import load_reference_data
from tests.support.live_server import free_port

SIGNUP = Path(__file__).resolve().parents[1] / "signup"
GOAL_SIGNUP_RPS = 1000.0
GOAL_SURGE_SECONDS = 600
GOAL_RSS_MB = 1.5 * 1024


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


class RssSampler:
    """Peak VmRSS of process trees, sampled every ``every`` seconds on a thread."""

    def __init__(self, every: float = 0.5) -> None:
        self.every = every
        self.roots: dict[str, int] = {}
        self.peak: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def watch(self, name: str, pid: int) -> None:
        self.roots[name] = pid
        self.peak.setdefault(name, 0.0)

    def forget(self, name: str) -> None:
        self.roots.pop(name, None)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            for name, pid in list(self.roots.items()):
                total = sum(rss_mb(p) for p in process_tree(pid))
                self.peak[name] = max(self.peak.get(name, 0.0), total)


def seed(url: str, total: int) -> dict[str, Any]:
    """Migrate, then ``total`` synthetic volunteers over all regions (one transaction each).

    The rows are the demo generator's (``brigades.demo.population.generate``: realistic skills,
    evidence, availability, and the vetting checks behind each level); they are loaded with
    PostgreSQL ``COPY`` (a million volunteers through the ORM's multi-row inserts would take
    most of an hour on the reference machine).
    """
    engine = make_engine(url)
    started = time.perf_counter()
    migrate.upgrade(engine, "head")
    migrated = time.perf_counter() - started
    reference = load_reference_data()
    counts = split_by_inhabitants(reference, sorted(reference.regions), total)
    started = time.perf_counter()
    for n, (region, count) in enumerate(sorted(counts.items()), start=1):
        with session_scope(engine) as session:
            copy_region(session, reference, region, count)
        say(f"  seeded {region}: {count:,} ({n}/{len(counts)})")
    with engine.begin() as conn:
        for table in ("volunteer", "volunteer_skill"):
            conn.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT max(id) FROM {table}))"
                )
            )
        conn.execute(text("ANALYZE"))
    seconds = time.perf_counter() - started
    with engine.connect() as conn:
        in_db = conn.execute(text("SELECT count(*) FROM volunteer WHERE synthetic")).scalar_one()
        regions = conn.execute(
            text("SELECT count(DISTINCT vr_code) FROM volunteer WHERE synthetic")
        ).scalar_one()
        checks = conn.execute(text("SELECT count(*) FROM vetting_check")).scalar_one()
    engine.dispose()
    return {
        "volunteers": int(in_db),
        "regions": int(regions),
        "vetting_checks": int(checks),
        "per_region": counts,
        "migrate_seconds": round(migrated, 1),
        "seed_seconds": round(seconds, 1),
        "rows_per_second": round(in_db / seconds, 1) if seconds else None,
    }


def copy_region(session: Any, reference: Any, region: str, count: int) -> None:
    """One region's buurtsteunpunten and ``count`` generated volunteers, loaded with COPY."""
    now = clock.now()
    seed_region(session, region=region, volunteers=0, seed=1, now=now)
    points = list(session.exec(select(SupportPoint).where(col(SupportPoint.vr_code) == region)))
    point_names = {p.id: p.name for p in points}
    conn = session.connection()
    next_volunteer = int(conn.execute(text("SELECT coalesce(max(id), 0) FROM volunteer")).scalar())
    next_skill = int(
        conn.execute(text("SELECT coalesce(max(id), 0) FROM volunteer_skill")).scalar()
    )
    rows: dict[str, list[dict[str, Any]]] = {
        "volunteer": [],
        "volunteer_skill": [],
        "availability_window": [],
        "vetting_check": [],
    }
    for batch in population.generate(
        session, reference, region, points, count=count, seed=1, now=now
    ):
        for volunteer in batch:
            next_volunteer += 1
            vid = next_volunteer
            rows["volunteer"].append({**volunteer.row, "id": vid})
            skills = []
            for skill in volunteer.skills:
                next_skill += 1
                rows["volunteer_skill"].append({**skill, "id": next_skill, "volunteer_id": vid})
                skills.append((next_skill, skill))
            rows["availability_window"] += [
                {**window, "volunteer_id": vid} for window in volunteer.windows
            ]
            rows["vetting_check"] += population.checks_for(
                vid, volunteer.row, skills, point_names, now=now
            )
    # Parents first: skills and windows refer to volunteers, checks to both.
    for name, table_rows in rows.items():
        copy_rows(conn, Volunteer.metadata.tables[name], table_rows)


def copy_rows(conn: Any, table: Any, rows: list[dict[str, Any]]) -> None:
    """COPY dict rows into a table: the columns the rows name or that have a default."""
    if not rows:
        return
    named = set().union(*(r.keys() for r in rows[:1000]))
    columns = [c for c in table.columns if c.name in named or c.default is not None]
    defaults = {
        c.name: c.default.arg for c in columns if c.default is not None and c.default.is_scalar
    }
    factories = {
        c.name: c.default.arg for c in columns if c.default is not None and c.default.is_callable
    }
    as_json = {c.name for c in columns if isinstance(c.type, JSON)}
    raw = conn.connection.driver_connection
    names = ", ".join(f'"{c.name}"' for c in columns)
    with raw.cursor() as cur, cur.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:
        for row in rows:
            values = []
            for c in columns:
                if c.name in row:
                    value = row[c.name]
                elif c.name in factories:
                    value = factories[c.name](None)
                else:
                    value = defaults.get(c.name)
                if c.name in as_json:
                    value = json.dumps(value)
                values.append(value)
            copy.write_row(values)


def api_env(url: str, base: str) -> dict[str, str]:
    limits = json.dumps([1_000_000_000, 3600])
    return {
        "DATABASE_URL": url,
        "ZB_ENV": "production",
        "ZB_SECRET_KEY": secrets.token_urlsafe(48),
        "ZB_PUBLIC_URL": base,
        "ZB_WORKER_IN_PROCESS": "false",
        "ZB_DB_POOL_SIZE": "20",
        # One load generator on one address: the per-client limits are lifted for the run;
        # the per-number limits stay as configured (every number is new).
        "ZB_SIGNUP_LIMIT_PER_CLIENT": limits,
        "ZB_CODE_LIMIT_PER_CLIENT": limits,
    }


def surge(url: str, args: argparse.Namespace, rss: RssSampler) -> dict[str, Any]:
    """The sign-up surge against the production app, with /healthz as the baseline."""
    tmp = Path(tempfile.mkdtemp(prefix="zb-bench-national-"))
    template = tmp / "body.json"
    template.write_text(json.dumps(signup_body_template()))
    postcodes = tmp / "postcodes.txt"
    postcodes.write_text("\n".join(signup_postcodes()) + "\n")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with server(
        "brigades.app:served_app", api_env(url, base), port=port, workers=args.api_workers
    ) as proc:
        rss.watch("api", proc.pid)
        say(f"surge: GET /healthz baseline ({args.baseline_seconds} s)")
        health = run_wrk(
            base + "/healthz",
            script=wrk_script(SIGNUP / "healthz.lua"),
            duration=args.baseline_seconds,
            connections=args.connections,
        )
        say(f"surge: POST /api/v1/volunteers ({args.surge_seconds} s)")
        real = run_wrk(
            base + "/api/v1/volunteers",
            script=wrk_script(SIGNUP / "signup.lua"),
            duration=args.surge_seconds,
            connections=args.connections,
            script_args=[str(template), str(postcodes), "1"],
        )
        time.sleep(2)  # requests still in flight when wrk stopped
        rss.forget("api")
    engine = make_engine(url)
    with engine.connect() as conn:
        in_db, distinct = conn.execute(
            text("SELECT count(*), count(DISTINCT phone) FROM volunteer WHERE phone LIKE '+3161%'")
        ).one()
    engine.dispose()
    status = real.extra.get("status", {})
    assert isinstance(status, dict)
    accepted = sum(int(n) for code, n in status.items() if str(code).startswith("2"))
    return {
        "api_processes": args.api_workers,
        "connections": args.connections,
        "seconds": round(real.seconds, 1),
        "signup": _wrk(real),
        "healthz": _wrk(health),
        "ratio_signup_to_healthz": round(real.rps / health.rps, 3) if health.rps else None,
        "statuses": status,
        "accepted_2xx": accepted,
        "rows": int(in_db),
        "lost": max(0, accepted - int(in_db)),
        "duplicates": int(in_db) - int(distinct),
        "unacknowledged_rows": max(0, int(in_db) - accepted),
    }


def _wrk(r: Any) -> dict[str, Any]:
    return {
        "requests": r.requests,
        "rps": round(r.rps, 1),
        "p50_ms": round(r.p50_ms, 1),
        "p99_ms": round(r.p99_ms, 1),
        "max_ms": round(r.max_ms, 1),
        "non_2xx": r.non_2xx,
        "socket_errors": r.socket_errors,
    }


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="50k volunteers, 60 s, 500 tasks")
    parser.add_argument("--volunteers", type=int)
    parser.add_argument("--surge-seconds", type=int)
    parser.add_argument("--baseline-seconds", type=int, default=15)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--api-workers", type=int, default=2, help="uvicorn processes")
    parser.add_argument("--tasks", type=int)
    parser.add_argument("--skip-incident", action="store_true")
    parser.add_argument("--region", default="VR09", help="the incident's veiligheidsregio")
    parser.add_argument("--incident-minutes", type=float, default=30, help="longest dispatch phase")
    parser.add_argument(
        "--windows", type=int, default=1, help="cut the tasks' 09:00-17:00 into this many windows"
    )
    args = parser.parse_args()
    quick = {"volunteers": 50_000, "surge_seconds": 60, "tasks": 500}
    full = {"volunteers": 1_000_000, "surge_seconds": GOAL_SURGE_SECONDS, "tasks": 10_000}
    for key, value in (quick if args.quick else full).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    return args


def main() -> None:
    args = parse_args()
    result: dict[str, Any] = {
        "benchmark": "national",
        "args": vars(args),
        "machine": machine(),
        "load_average_before": [round(x, 2) for x in os.getloadavg()],
    }
    started = time.perf_counter()
    with (
        postgres_database("zb_bench_national") as url,
        RssSampler() as rss,
        AutoAnalyze(url) as analyzed,
    ):
        say(f"seeding {args.volunteers:,} synthetic volunteers over all regions")
        result["seed"] = seed(url, args.volunteers)
        result["surge"] = surge(url, args, rss)
        if not args.skip_incident:
            from bench.national import incident

            result["incident"] = incident.run(url, args, rss, api_env)
        result["peak_rss_mb"] = {k: round(v, 1) for k, v in rss.peak.items()}
        result["autoanalyze"] = analyzed.report()
    result["wall_seconds"] = round(time.perf_counter() - started, 1)
    result["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    result["goals"] = goals(result, args)
    report(result)
    path = write_result("national-quick" if args.quick else "national", result)
    say(f"results written to {path}")


def goals(result: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    s = result["surge"]
    out: dict[str, Any] = {
        "signup_rps": {
            "goal": f">= {GOAL_SIGNUP_RPS:.0f}/s for {GOAL_SURGE_SECONDS} s",
            "measured": s["signup"]["rps"],
            "seconds": s["seconds"],
            "ratio": round(s["signup"]["rps"] / GOAL_SIGNUP_RPS, 3),
            "met": s["signup"]["rps"] >= GOAL_SIGNUP_RPS and s["seconds"] >= GOAL_SURGE_SECONDS,
        },
        "signup_integrity": {"met": s["lost"] == 0 and s["duplicates"] == 0},
    }
    peak = result.get("peak_rss_mb", {})
    dispatchers = [v for k, v in peak.items() if k.startswith("dispatcher")]
    if dispatchers:
        total = peak.get("api", 0.0) + sum(dispatchers)
        out["rss_api_plus_dispatcher"] = {
            "goal_mb": GOAL_RSS_MB,
            "measured_mb": round(total, 1),
            "ratio": round(total / GOAL_RSS_MB, 3),
            "at_volunteers": result["seed"]["volunteers"],
            "met": total <= GOAL_RSS_MB and result["seed"]["volunteers"] >= 1_000_000,
        }
    if "incident" in result:
        out["incident_integrity"] = {"met": bool(result["incident"]["checks"]["all_ok"])}
    return out


def report(result: dict[str, Any]) -> None:
    s = result["surge"]
    rows: list[dict[str, object]] = [
        {"endpoint": "GET /healthz", **s["healthz"]},
        {"endpoint": "POST /api/v1/volunteers", **s["signup"]},
    ]
    print()
    print_table(rows, ["endpoint", "rps", "p50_ms", "p99_ms", "max_ms", "non_2xx", "socket_errors"])
    if "incident" in result:
        i = result["incident"]
        print()
        print_table(
            [
                {
                    "tasks": i["tasks"],
                    "filled": i.get("filled"),
                    "to_50pct_s": i["seconds_to_50pct_filled"],
                    "to_90pct_s": i["seconds_to_90pct_filled"],
                    "sms_per_filled": i.get("messages_per_filled_task"),
                    "sms_per_s": i["sms_out"]["per_second_overall"],
                    "webhook_p99_ms": i["replies"]["webhook_p99_ms"],
                    "all_ok": i["checks"]["all_ok"],
                }
            ],
            [
                "tasks",
                "filled",
                "to_50pct_s",
                "to_90pct_s",
                "sms_per_filled",
                "sms_per_s",
                "webhook_p99_ms",
                "all_ok",
            ],
        )
    print()
    print(json.dumps({k: v for k, v in result.items() if k not in ("machine",)}, indent=2))


if __name__ == "__main__":
    main()
