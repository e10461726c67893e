"""The cost of a /metrics scrape on a national-sized history (PostgreSQL).

    python -m bench.metrics [--tasks 10000] [--volunteers 200000] [--offers 36000]
                            [--history 1000000] [--runs 20]

Data: the dashboard benchmark's incident (tasks, volunteers, offers, assignments, outbox rows;
see bench/dashboard), plus ``--history`` more outbox rows of past sends (96 % delivered, 3 %
queued across priorities, 1 % failed with a spread of Twilio error codes). Each run is one
scrape through the real route (``GET /metrics`` from loopback on the app in-process), so it
includes the HTTP metrics, the database gauges and the text rendering.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from fastapi.testclient import TestClient
from sqlalchemy import text

from bench.common import machine, postgres_database, print_table, write_result
from bench.dashboard.__main__ import populate
from brigades.app import create_app
from brigades.db import make_engine
from brigades.settings import Settings

HISTORY_SQL = """
INSERT INTO outbox_message (recipient, channel, provider, body, priority, drill, synthetic,
    state, attempts, next_attempt_at, provider_error_code, segments, created_at, updated_at)
SELECT '+3161' || lpad((i % 10000000)::text, 7, '0'), 'sms', 'twilio', 'Zorgbrigade: bericht',
    (ARRAY[10, 20, 30, 40, 50, 60])[1 + i % 6], false, false,
    CASE WHEN i % 100 < 96 THEN 'delivered' WHEN i % 100 < 99 THEN 'queued' ELSE 'failed' END,
    1, now(),
    CASE WHEN i % 100 = 99 THEN (ARRAY['30003', '30005', '30006', '21610'])[1 + i % 4] END,
    1, now() - (i % 86400) * interval '1 second', now()
FROM generate_series(1, :n) AS i
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--volunteers", type=int, default=200_000)
    parser.add_argument("--offers", type=int, default=36_000)
    parser.add_argument("--history", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    load_before = os.getloadavg()
    with postgres_database("bench_metrics") as url:
        scene = populate(url, tasks=args.tasks, volunteers=args.volunteers, offers=args.offers)
        engine = make_engine(url)
        started = time.perf_counter()
        with engine.begin() as conn:
            conn.execute(text(HISTORY_SQL), {"n": args.history})
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE outbox_message"))
            outbox_rows = conn.execute(text("SELECT count(*) FROM outbox_message")).scalar_one()
        history_seconds = time.perf_counter() - started
        settings = Settings(
            env="development",
            database_url=url,
            worker_in_process=False,
            secret_key="bench-metrics-secret-key-0123456789abcdef",
        )
        app = create_app(settings, engine=engine)
        timings: list[float] = []
        with TestClient(app, client=("127.0.0.1", 40000)) as client:
            for _ in range(args.runs + 1):
                t0 = time.perf_counter()
                response = client.get("/metrics")
                timings.append((time.perf_counter() - t0) * 1000)
                assert response.status_code == 200, response.text
        size = len(response.content)
        engine.dispose()
    warm = sorted(timings[1:])
    result = {
        "machine": machine(),
        "load_average_before": load_before,
        "load_average_after": os.getloadavg(),
        "tasks": args.tasks,
        "volunteers": args.volunteers,
        "offers": scene["offers"],
        "outbox_rows": outbox_rows,
        "history_load_seconds": round(history_seconds, 1),
        "scrape_cold_ms": round(timings[0], 1),
        "scrape_warm_median_ms": round(statistics.median(warm), 1),
        "scrape_warm_max_ms": round(warm[-1], 1),
        "exposition_bytes": size,
        "runs": args.runs,
    }
    path = write_result("metrics", result)
    print_table([result], [k for k in result if k != "machine"])
    print(f"\nwritten to {path}")


if __name__ == "__main__":
    main()
