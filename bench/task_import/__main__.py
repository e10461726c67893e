"""Task import benchmark: a 10,000-row CSV through the real HTTP stack, until the tasks are in.

    python -m bench.task_import [--rows 10000] [--db sqlite|postgresql|both]

uvicorn serves the app on a fresh migrated database (SQLite file and/or PostgreSQL). A regional
coordinator (API token) opens an incident for VR09, uploads the CSV to
``POST /api/v1/incidents/{id}/tasks/import`` and polls ``GET /api/v1/imports/{id}`` until it is
done. Measured: the upload answer (file checks, queued), and the total until every task is
stored (row checks, inserts with their audit events, progress commits). Afterwards the database
is checked: exactly ``rows`` tasks and as many ``task.created`` audit events.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import httpx
from sqlalchemy import text

from bench.common import (
    coordinator_token,
    machine,
    postgres_database,
    print_table,
    server,
    write_result,
)
from brigades import clock
from brigades.db import make_engine
from tests.support.live_server import free_port

GOAL_SECONDS = 10.0
POSTCODES = ["3512 JK", "3581 AB", "3701 AA", "3811 AA", "3431 AA", "3905 AA", "3941 AA"]
HEADER = (
    "type;postcode;huisnummer;straat;plaats;datum;van;tot;duur_minuten;aantal;prioriteit;"
    "omschrijving;contact_instructie;externe_referentie"
)


def csv_bytes(rows: int) -> bytes:
    """A CSV of ``rows`` valid tasks for tomorrow in VR09."""
    day = (clock.local(clock.now()) + timedelta(days=1)).strftime("%d-%m-%Y")
    lines = [HEADER]
    for i in range(rows):
        lines.append(
            f"boodschappen;{POSTCODES[i % len(POSTCODES)]};{i % 200 + 1};Dorpsstraat;;{day};"
            f"{8 + i % 8:02d}:00;{10 + i % 8:02d}:00;60;1;normaal;Boodschappen halen;"
            f"Bel aan;BENCH-{i}"
        )
    return ("\ufeff" + "\r\n".join(lines) + "\r\n").encode()


def run_one(database_url: str, label: str, rows: int) -> dict[str, object]:
    """Upload one CSV and wait for the import; returns the timings."""
    token = coordinator_token(database_url)
    port = free_port()
    env = {
        "DATABASE_URL": database_url,
        "ZB_ENV": "development",
        "ZB_SECRET_KEY": "bench-secret-key-0123456789abcdef0123456789",
        "ZB_WORKER_IN_PROCESS": "false",
    }
    data = csv_bytes(rows)
    auth = {"Authorization": f"Bearer {token}"}
    with server("brigades.app:served_app", env, port=port):
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base, timeout=120, headers=auth) as client:
            incident = client.post("/api/v1/incidents", json={"name": "Bench", "vr_code": "VR09"})
            incident.raise_for_status()
            started = time.perf_counter()
            response = client.post(
                f"/api/v1/incidents/{incident.json()['id']}/tasks/import",
                files={"file": ("bench.csv", data, "text/csv")},
            )
            answered = time.perf_counter() - started
            response.raise_for_status()
            status_url = response.json()["status_url"]
            while True:
                status = client.get(status_url).json()
                if status["state"] in ("done", "failed"):
                    break
                time.sleep(0.05)
            total = time.perf_counter() - started
    engine = make_engine(database_url)
    with engine.connect() as conn:
        tasks = conn.execute(text("SELECT count(*) FROM care_task")).scalar_one()
        events = conn.execute(
            text("SELECT count(*) FROM audit_event WHERE action = 'task.created'")
        ).scalar_one()
    engine.dispose()
    assert status["state"] == "done", status.get("message")
    assert tasks == rows and events == rows, (tasks, events)
    return {
        "database": label,
        "rows": rows,
        "megabytes": round(len(data) / 1e6, 2),
        "upload_answer_s": round(answered, 2),
        "total_s": round(total, 2),
        "rows_per_s": round(rows / total),
        "goal_met": total < GOAL_SECONDS,
    }


def main() -> None:
    """Run the benchmark and store bench/results/task_import.json."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    results = []
    if args.db in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            results.append(run_one(f"sqlite:///{Path(tmp) / 'bench.db'}", "sqlite", args.rows))
    if args.db in ("postgresql", "both"):
        with postgres_database("zb_bench_import") as url:
            results.append(run_one(url, "postgresql", args.rows))
    print_table(results, list(results[0]))
    path = write_result(
        "task_import", {"machine": machine(), "goal_seconds": GOAL_SECONDS, "runs": results}
    )
    print(f"\nwritten to {path}")


if __name__ == "__main__":
    main()
