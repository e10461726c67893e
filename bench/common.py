"""Shared helpers for the benchmarks: databases, servers, wrk, result files."""

from __future__ import annotations

import json
import os
import platform
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import Engine, create_engine, text

from brigades import clock, migrate
from brigades.accounts import tokens
from brigades.accounts.models import ApiToken, Role, TokenKind
from brigades.accounts.schemas import UserCreate
from brigades.accounts.service import create_user
from brigades.audit.service import CLI
from brigades.db import make_engine, session_scope

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
PG_SERVER = os.environ.get("ZB_BENCH_PG_SERVER", "postgresql+psycopg://postgres@127.0.0.1:5432/")


def machine() -> dict[str, object]:
    """What the numbers were measured on."""
    return {
        "cpus": os.cpu_count(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
    }


@contextmanager
def postgres_database(prefix: str) -> Iterator[str]:
    """A fresh PostgreSQL database for one benchmark run; dropped afterwards."""
    name = f"{prefix}_{int(time.time())}"
    admin = create_engine(PG_SERVER + "postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_SERVER + name
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


class AutoAnalyze:
    """PostgreSQL's autoanalyze, for a server that runs with ``autovacuum = off`` (as the
    reference machine's does): every ``naptime`` seconds, ``ANALYZE`` each table changed by more
    than 50 rows + 10 % since its last analysis (the defaults of ``autovacuum_analyze_threshold``
    and ``autovacuum_analyze_scale_factor``). Without it a benchmark runs on the statistics of
    its empty schema or of its seed: a sign-up surge adds hundreds of thousands of outbox rows
    and the claim's plan, chosen for a few hundred, sorted them all (seconds per claim), which no
    installation with autovacuum on would do. Does nothing when autovacuum is on."""

    STALE = """SELECT s.relname FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
               WHERE s.n_mod_since_analyze > 50 + 0.1 * greatest(c.reltuples, 0)"""

    def __init__(self, url: str, naptime: float = 60.0) -> None:
        self.url = url
        self.naptime = naptime
        self.runs: list[tuple[list[str], float]] = []  # (tables analysed, seconds)
        self.enabled = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="autoanalyze", daemon=True)

    def __enter__(self) -> AutoAnalyze:
        engine = create_engine(self.url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            self.enabled = conn.execute(text("SHOW autovacuum")).scalar_one() != "on"
        engine.dispose()
        if self.enabled:
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(600)

    def _run(self) -> None:
        engine = create_engine(self.url, isolation_level="AUTOCOMMIT")
        try:
            while not self._stop.wait(self.naptime):
                try:
                    with engine.connect() as conn:
                        tables = [str(t) for t in conn.execute(text(self.STALE)).scalars()]
                        started = time.perf_counter()
                        for table in tables:
                            conn.execute(text(f'ANALYZE "{table}"'))
                except Exception as exc:  # the database went away with the run
                    print(f"autoanalyze: {type(exc).__name__}", file=sys.stderr)
                    continue
                if tables:
                    self.runs.append((tables, time.perf_counter() - started))
        finally:
            engine.dispose()

    def report(self) -> dict[str, object]:
        return {
            "standing_in_for_autovacuum": self.enabled,
            "runs": len(self.runs),
            "seconds": round(sum(seconds for _, seconds in self.runs), 1),
            "tables": sorted({table for tables, _ in self.runs for table in tables}),
        }


@contextmanager
def server(
    app: str, env: dict[str, str], *, port: int, cpus: str | None = None, workers: int = 1
) -> Iterator[subprocess.Popen[bytes]]:
    """uvicorn with httptools + uvloop (``uvicorn[standard]``), optionally pinned to CPUs."""
    cmd = [
        sys.executable,
        "-m",
        "uvicorn",
        app,
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--loop",
        "uvloop",
        "--http",
        "httptools",
        "--no-access-log",
        "--log-level",
        "warning",
        "--workers",
        str(workers),
        "--backlog",
        "4096",
    ]
    if cpus and shutil.which("taskset"):
        cmd = ["taskset", "-c", cpus, *cmd]
    proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, **env})
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited with {proc.returncode}")
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("server did not start")
            time.sleep(0.2)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


@dataclass
class WrkResult:
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    non_2xx: int
    socket_errors: int
    extra: dict[str, object]


def run_wrk(
    url: str,
    *,
    script: Path | None,
    duration: int,
    connections: int,
    threads: int = 1,
    cpus: str | None = None,
    script_args: list[str] | None = None,
) -> WrkResult:
    """Run wrk and parse its summary (the Lua ``done`` hook prints a JSON line)."""
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency"]
    cmd += ["--timeout", "10s"]
    if script:
        cmd += ["-s", str(script)]
    cmd.append(url)
    if script_args:
        cmd += ["--", *script_args]
    if cpus and shutil.which("taskset"):
        cmd = ["taskset", "-c", cpus, *cmd]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    summary: dict[str, object] = {}
    for line in out.splitlines():
        if line.startswith("JSON "):
            try:
                summary = json.loads(line[5:])
            except json.JSONDecodeError as exc:
                raise RuntimeError(f"cannot parse wrk summary: {line!r}") from exc
    m = re.search(r"(\d+) requests in ([\d.]+)(\w+)", out)
    if not m:
        raise RuntimeError("cannot parse wrk output:\n" + out)
    requests = int(m.group(1))
    seconds = float(m.group(2)) * {"s": 1, "m": 60, "ms": 0.001}.get(m.group(3), 1)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    lat = summary.get("latency_us", {}) if summary else {}
    assert isinstance(lat, dict)
    return WrkResult(
        requests=requests,
        seconds=seconds,
        rps=requests / seconds,
        p50_ms=float(lat.get("p50", 0)) / 1000,
        p90_ms=float(lat.get("p90", 0)) / 1000,
        p99_ms=float(lat.get("p99", 0)) / 1000,
        max_ms=float(lat.get("max", 0)) / 1000,
        non_2xx=int(non2xx.group(1)) if non2xx else 0,
        socket_errors=sum(int(x) for x in errors.groups()) if errors else 0,
        extra=summary,
    )


LATENCY_LUA = """
-- Shared by every script: the status counts each thread publishes as `statuses`, merged.
function status_json()
  local merged = {}
  for _, t in ipairs(threads) do
    local s = t:get("statuses")
    if s then for k, v in pairs(s) do merged[k] = (merged[k] or 0) + v end end
  end
  local parts = {}
  for k, v in pairs(merged) do parts[#parts + 1] = string.format('"%s": %d', k, v) end
  return "{" .. table.concat(parts, ", ") .. "}"
end

if extra_json == nil then
  extra_json = function() return "" end
end

done = function(summary, latency, requests)
  local parts = {}
  for _, p in ipairs({50, 90, 99, 99.9}) do
    local key = (tostring(p):gsub("%.", "_"))
    parts[#parts + 1] = string.format('"p%s": %d', key, latency:percentile(p))
  end
  io.write(string.format('JSON {"latency_us": {%s, "max": %d}, "requests": %d, "status": %s%s}\\n',
    table.concat(parts, ", "), latency.max, summary.requests, status_json(), extra_json()))
end
"""


def write_result(name: str, payload: dict[str, object]) -> Path:
    """Store a benchmark's results as JSON under bench/results/."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(payload, indent=2, default=str) + "\n")
    return path


def print_table(rows: list[dict[str, object]], columns: list[str]) -> None:
    """A plain fixed-width table on stdout."""
    widths = {c: max(len(c), *(len(_fmt(r.get(c))) for r in rows)) for c in columns}
    print("  ".join(c.ljust(widths[c]) for c in columns))
    print("  ".join("-" * widths[c] for c in columns))
    for r in rows:
        print("  ".join(_fmt(r.get(c)).ljust(widths[c]) for c in columns))


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.1f}" if value >= 100 else f"{value:.2f}"
    return str(value) if value is not None else ""


def wrk_script(path: Path) -> Path:
    """A wrk script with the shared latency/JSON reporter appended (a temporary copy)."""
    source = path.read_text() + LATENCY_LUA
    out = Path(tempfile.mkstemp(suffix=".lua")[1])
    out.write_text(source)
    return out


def signup_body_template() -> dict[str, object]:
    """A realistic sign-up body; ``__PHONE__``/``__POSTCODE__`` are filled in by signup.lua."""
    return {
        "name": "Bench Vrijwilliger",
        "phone": "__PHONE__",
        "postcode": "__POSTCODE__",
        "adult_confirmed": True,
        "consent": True,
        "skills": [
            {"code": "boodschappen"},
            {"code": "gezelschap", "evidence": "life_experience", "detail": "mantelzorger"},
            {"code": "vervoer_auto", "evidence": "self_declared"},
        ],
        "availability": [
            {"weekday": d, "start_minute": 9 * 60, "end_minute": 17 * 60} for d in range(5)
        ],
        "max_distance_km": 5,
        "languages": ["nl", "en"],
        "preferred_channel": "sms",
    }


def signup_postcodes(n: int = 500) -> list[str]:
    """``n`` real postcodes from all over the country, in the forms people type."""
    from geo import load_reference_data

    reference = load_reference_data()
    rng = random.Random(7)
    chosen = rng.sample(sorted(reference.pc4s), n)
    # Mix the forms people type: "3512", "3512 AB", "3512ab".
    forms = ["{}", "{} AB", "{}cd"]
    return [forms[i % 3].format(pc) for i, pc in enumerate(chosen)]


def rss_mb(pid: int) -> float:
    """Resident set size of a process (VmRSS in /proc), in MiB; 0 when it has gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def process_tree(pid: int) -> list[int]:
    """``pid`` and all its descendants (uvicorn's worker processes are children)."""
    found = [pid]
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return found
    for child in children:
        found += process_tree(int(child))
    return found


def coordinator_token(database_url: str, region: str = "VR09") -> str:
    """Migrate, then a regional coordinator of ``region`` with a 3-hour API token."""
    engine = make_engine(database_url)
    migrate.upgrade(engine)
    with session_scope(engine) as session:
        now = clock.now()
        user = create_user(
            session,
            data=UserCreate(
                email=f"bench@{region.lower()}.example",
                name="Bench",
                role=Role.REGIONAL_COORDINATOR,
                password="bench-wachtwoord-lang-genoeg",
                vr_codes=[region],
            ),
            actor=CLI,
            now=now,
        )
        token = tokens.new_access_token()
        assert user.id is not None
        session.add(
            ApiToken(
                token_hash=tokens.hash_token(token),
                prefix=token[:12],
                user_id=user.id,
                kind=TokenKind.ACCESS,
                created_at=now,
                expires_at=now + timedelta(hours=3),
            )
        )
    engine.dispose()
    return token


def db_backend_pids(engine: Engine) -> list[int]:
    """PostgreSQL backends serving the engine's database (other than the asking connection)."""
    with engine.connect() as conn:
        return list(
            conn.execute(
                text(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                    "AND pid <> pg_backend_pid()"
                )
            ).scalars()
        )
