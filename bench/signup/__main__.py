"""Sign-up benchmark: completed sign-ups per second through the real HTTP stack on PostgreSQL.

    python -m bench.signup [--duration 30] [--connections 64] [--workers 1] [--profile]
                           [--in-process 2000]

uvicorn (httptools + uvloop) serves the production app pinned to CPU 0; wrk, the load generator,
is pinned to CPU 1; PostgreSQL runs unpinned on the same machine. Every request is a realistic
sign-up (3 skills, 5 availability windows, a real postcode from all over the country) with a phone
number never used before. Baselines measured in the same run against the same server:
``GET /healthz`` (the bare HTTP stack) and ``POST /bench/minimal-insert`` (JSON body + one row
in one transaction). Afterwards the database is checked: every accepted sign-up is there exactly
once with exactly one verification SMS queued, and re-sending numbers creates no second volunteer.
Last, ``--in-process`` sign-ups call the service directly in this process (one transaction
each, no HTTP): the CPU time of the sign-up logic itself, per sign-up.
"""

from __future__ import annotations

import argparse
import json
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from sqlalchemy import text

from bench.common import (
    db_backend_pids,
    machine,
    postgres_database,
    print_table,
    process_tree,
    run_wrk,
    server,
    write_result,
    wrk_script,
)
from bench.common import (
    signup_body_template as _body_template,
)
from bench.common import (
    signup_postcodes as _postcodes,
)
from bench.sms.profiling import CpuMeter
from brigades import clock, migrate
from brigades.db import make_engine, session_scope
from brigades.demo.service import seed_region
from brigades.ratelimit.local import ClientRef, LocalRateLimiter
from brigades.settings import Environment, Settings
from brigades.volunteers import service as volunteers_service
from brigades.volunteers.schemas import VolunteerSignUp
from geo import load_reference_data
from tests.support.live_server import free_port

HERE = Path(__file__).resolve().parent
GOAL_RPS = 1000.0
GOAL_P99_MS = 200.0


def _prepare(url: str) -> None:
    engine = make_engine(url)
    migrate.upgrade(engine)
    with session_scope(engine) as session:
        for region in sorted(load_reference_data().regions):
            seed_region(session, region=region, volunteers=0, seed=1, now=clock.now())
    with engine.begin() as conn:
        conn.execute(
            text(
                "CREATE TABLE bench_minimal_insert (id bigserial PRIMARY KEY, "
                "phone varchar(16) NOT NULL UNIQUE)"
            )
        )
    engine.dispose()


def _in_process(url: str, n: int, secret: str) -> dict[str, float]:
    """``n`` sign-ups through the service, one committed transaction each: CPU and wall per one."""
    settings = Settings(
        database_url=url,
        secret_key=secret,
        env=Environment.PRODUCTION,
        public_url="http://127.0.0.1",
        worker_in_process=False,
        signup_limit_per_client=(1_000_000_000, 3600),
    )
    engine = make_engine(url, pool_size=2)
    body = _body_template()
    postcodes = _postcodes()
    client = ClientRef("192.0.2.1", LocalRateLimiter())

    def one(i: int) -> None:
        data = VolunteerSignUp.model_validate(
            {**body, "phone": f"+3168{i:07d}", "postcode": postcodes[i % len(postcodes)]}
        )
        with session_scope(engine) as session:
            volunteers_service.sign_up(session, data=data, client=client, settings=settings)

    for i in range(200):  # warm the caches (support points, skill codes, prepared statements)
        one(i)
    wall0, cpu0 = time.perf_counter(), time.process_time()
    for i in range(200, 200 + n):
        one(i)
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    engine.dispose()
    return {
        "sign_ups": n,
        "cpu_ms_per_sign_up": round(1000 * cpu / n, 3),
        "wall_ms_per_sign_up": round(1000 * wall / n, 3),
        "sign_ups_per_s_one_thread": round(n / wall, 1),
    }


def _profile(pid: int, seconds: int, out: Path) -> str | None:
    """Sample the server with py-spy (if installed); returns the top self-time frames."""
    pyspy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(pyspy).exists():
        return None
    raw = out.with_suffix(".txt")
    subprocess.run(
        [
            pyspy,
            "record",
            "-p",
            str(pid),
            "-d",
            str(seconds),
            "-f",
            "raw",
            "-o",
            str(raw),
            "--nonblocking",
        ],
        capture_output=True,
        check=False,
    )
    if not raw.exists():
        return None
    self_time: dict[str, int] = {}
    inclusive: dict[str, int] = {}
    groups = {
        "brigades (our code)": "/brigades/",
        "sqlalchemy": "/sqlalchemy/",
        "psycopg": "/psycopg/",
        "fastapi/starlette": ("/fastapi/", "/starlette/"),
        "pydantic": "/pydantic",
        "phonenumbers": "/phonenumbers/",
        "uvicorn/httptools": ("/uvicorn/", "httptools"),
        "anyio threads": "/anyio/",
    }
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        total += n
        leaf = stack.split(";")[-1]
        self_time[leaf] = self_time.get(leaf, 0) + n
        for name, needle in groups.items():
            needles = needle if isinstance(needle, tuple) else (needle,)
            if any(x in stack for x in needles):
                inclusive[name] = inclusive.get(name, 0) + n
    if not total:
        return None
    lines = ["inclusive share of samples by package:"]
    lines += [
        f"{100 * n / total:5.1f}%  {name}"
        for name, n in sorted(inclusive.items(), key=lambda kv: -kv[1])
    ]
    lines.append("top self-time frames:")
    top = sorted(self_time.items(), key=lambda kv: -kv[1])[:20]
    lines += [f"{100 * n / total:5.1f}%  {frame}" for frame, n in top]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=30)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument("--server-cpus", default="0")
    parser.add_argument("--load-cpus", default="1")
    parser.add_argument("--profile", action="store_true", help="py-spy profile of the server")
    parser.add_argument(
        "--in-process", type=int, default=2000, help="sign-ups through the service, no HTTP"
    )
    args = parser.parse_args()

    rows: list[dict[str, object]] = []
    result: dict[str, object] = {"machine": machine(), "args": vars(args)}
    with postgres_database("zb_bench_signup") as url:
        print("preparing database (migrations, buurtsteunpunten for all 25 regions)…", flush=True)
        _prepare(url)
        tmp = Path(tempfile.mkdtemp())
        template = tmp / "body.json"
        template.write_text(json.dumps(_body_template()))
        postcodes = tmp / "postcodes.txt"
        postcodes.write_text("\n".join(_postcodes()) + "\n")
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        limits = json.dumps([1_000_000_000, 3600])
        env = {
            "DATABASE_URL": url,
            "ZB_ENV": "production",
            "ZB_SECRET_KEY": secrets.token_urlsafe(48),
            "ZB_PUBLIC_URL": base,
            "ZB_WORKER_IN_PROCESS": "false",
            # 20 (+20 overflow) connections in all, split over the processes: PostgreSQL's
            # max_connections (100) is shared with everything else on the machine.
            "ZB_DB_POOL_SIZE": str(max(5, 20 // args.workers)),
            # One load generator on one address: the per-client limits are lifted for the run;
            # the per-number limits stay as configured (every number is new).
            "ZB_SIGNUP_LIMIT_PER_CLIENT": limits,
            "ZB_CODE_LIMIT_PER_CLIENT": limits,
        }
        result["rate_limits"] = (
            "per client raised to 1e9/h (still counted, in memory); per number unchanged (3/h)"
        )
        cpus = args.server_cpus if args.workers == 1 else None
        with server(
            "bench.signup.app:create_bench_app", env, port=port, cpus=cpus, workers=args.workers
        ) as proc:
            signup = wrk_script(HERE / "signup.lua")
            common = {
                "duration": args.duration,
                "connections": args.connections,
                "cpus": args.load_cpus,
            }
            print("warming up…", flush=True)
            run_wrk(
                base + "/api/v1/volunteers",
                script=signup,
                duration=5,
                connections=args.connections,
                cpus=args.load_cpus,
                script_args=[str(template), str(postcodes), "9"],
            )
            print("baseline: GET /healthz", flush=True)
            health = run_wrk(base + "/healthz", script=wrk_script(HERE / "healthz.lua"), **common)
            print("baseline: POST /bench/minimal-insert", flush=True)
            minimal = run_wrk(
                base + "/bench/minimal-insert", script=wrk_script(HERE / "minimal.lua"), **common
            )
            print("sign-up: POST /api/v1/volunteers", flush=True)
            meter_engine = make_engine(url, pool_size=1)
            meter = CpuMeter(
                lambda: {
                    "server": process_tree(proc.pid),
                    "postgres": db_backend_pids(meter_engine),
                }
            )
            meter.start()
            real = run_wrk(
                base + "/api/v1/volunteers",
                script=signup,
                **common,
                script_args=[str(template), str(postcodes), "1"],
            )
            result["cpu"] = meter.stop(real.seconds, real.requests)
            meter_engine.dispose()
            profile_text = None
            if args.profile:
                print("profiling a further sign-up run with py-spy…", flush=True)
                target = proc.pid
                # With taskset the child is uvicorn itself.
                pr = subprocess.Popen(
                    [
                        "wrk",
                        "-t1",
                        f"-c{args.connections}",
                        "-d15s",
                        "-s",
                        str(signup),
                        base + "/api/v1/volunteers",
                        "--",
                        str(template),
                        str(postcodes),
                        "3",
                    ],
                    stdout=subprocess.DEVNULL,
                )
                time.sleep(2)
                profile_text = _profile(target, 10, tmp / "profile")
                pr.wait()
            time.sleep(2)  # let requests still in flight when wrk stopped finish
            engine = make_engine(url)
            with engine.connect() as conn:
                run_rows = conn.execute(
                    text(
                        "SELECT count(*), count(DISTINCT phone) FROM volunteer "
                        "WHERE phone LIKE '+3161%'"
                    )
                ).one()
                outbox_rows = conn.execute(
                    text(
                        "SELECT count(*) FROM outbox_message o JOIN volunteer v "
                        "ON v.id = o.volunteer_id WHERE v.phone LIKE '+3161%'"
                    )
                ).scalar_one()
                before = conn.execute(text("SELECT count(*) FROM volunteer")).scalar_one()
            # Re-send 1,000 numbers that are stored: no second volunteer may appear.
            with engine.connect() as conn:
                known = list(
                    conn.execute(
                        text("SELECT phone FROM volunteer WHERE phone LIKE '+3161%' LIMIT 1000")
                    ).scalars()
                )
            dup_status: dict[int, int] = {}
            with httpx.Client(base_url=base, timeout=30) as client:
                body = _body_template()
                for number in known:
                    body["phone"] = number
                    body["postcode"] = "3512"
                    r = client.post("/api/v1/volunteers", json=body)
                    dup_status[r.status_code] = dup_status.get(r.status_code, 0) + 1
            with engine.connect() as conn:
                after = conn.execute(text("SELECT count(*) FROM volunteer")).scalar_one()
        engine.dispose()
        in_process = None
        if args.in_process:
            print(f"in-process: {args.in_process} sign-ups through the service…", flush=True)
            in_process = _in_process(url, args.in_process, env["ZB_SECRET_KEY"])

    status = real.extra.get("status", {})
    assert isinstance(status, dict)
    accepted = int(status.get("202", 0))
    sent_per_thread = real.extra.get("sent_per_thread", [])
    sent = sum(int(x) for x in sent_per_thread) if isinstance(sent_per_thread, list) else 0
    in_db, distinct = int(run_rows[0]), int(run_rows[1])
    lost = max(0, accepted - in_db)
    duplicated = in_db - distinct
    for name, r in (
        ("GET /healthz", health),
        ("POST minimal insert", minimal),
        ("POST /api/v1/volunteers", real),
    ):
        rows.append(
            {
                "endpoint": name,
                "req/s": r.rps,
                "p50 ms": r.p50_ms,
                "p90 ms": r.p90_ms,
                "p99 ms": r.p99_ms,
                "max ms": r.max_ms,
                "non-2xx": r.non_2xx,
                "errors": r.socket_errors,
            }
        )
    print()
    print_table(
        rows, ["endpoint", "req/s", "p50 ms", "p90 ms", "p99 ms", "max ms", "non-2xx", "errors"]
    )
    print()
    verdict = real.rps >= GOAL_RPS and real.p99_ms <= GOAL_P99_MS and lost == 0 and duplicated == 0
    summary = {
        "signup_rps": round(real.rps, 1),
        "signup_p99_ms": round(real.p99_ms, 1),
        "ratio_signup_to_healthz": round(real.rps / health.rps, 3),
        "ratio_signup_to_minimal_insert": round(real.rps / minimal.rps, 3),
        "accepted_202": accepted,
        "requests_sent": sent,
        "volunteers_in_db": in_db,
        "lost": lost,
        "duplicated_numbers": duplicated,
        "verification_sms_queued": int(outbox_rows),
        "resend_of_1000_known_numbers": {"statuses": dup_status, "new_volunteers": after - before},
        "in_process": in_process,
        "goal": f">= {GOAL_RPS:.0f}/s, p99 <= {GOAL_P99_MS:.0f} ms, 0 lost, 0 duplicated",
        "goal_met": verdict,
    }
    for k, v in summary.items():
        print(f"{k:32} {v}")
    if profile_text:
        print("\nserver profile (self time, top frames):\n" + profile_text)
    result.update({"runs": rows, "summary": summary, "profile": profile_text})
    path = write_result("signup" if args.workers == 1 else f"signup-workers{args.workers}", result)
    print(f"\nresults written to {path}")


if __name__ == "__main__":
    main()
