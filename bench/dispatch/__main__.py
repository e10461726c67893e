"""Dispatch benchmark (see BENCHMARKS.md, "Dispatch").

1. Candidate search: top-50 eligible for one task over 1,000,000 synthetic volunteers, with
   every filter (skill, level, availability, region, reachability, own and task distance, 1 %
   of volunteers excluded as busy). The index (:mod:`geo.candidates`) against two baselines in
   the same run on the same data and queries: a naive numpy scan over all volunteers (written
   independently here), and PostgreSQL/PostGIS with a GiST index (``ST_DWithin`` + the same
   filters, ranked by the same score; plus a pure KNN ``ORDER BY geog <-> point`` check with the
   ranking weights set to zero). All three must return the same top 50.
2. Joint planning: 10,000 tasks (k = 3 offers per slot) against the same 1,000,000 volunteers:
   batch candidate generation plus the optimal matching, timed; and a contention scenario
   (many tasks, few volunteers in one region): offers planned, unfilled tasks and travel km,
   joint against greedy one-by-one.
"""

from __future__ import annotations

import argparse
import io
import math
import os
import time
from typing import Any

import numpy as np

from bench.common import machine, postgres_database, print_table, write_result
from bench.dispatch import population
from brigades.dispatch import planner
from geo.candidates import CandidateIndex, Hits, Query, VolunteerRows, Weights, tie_keys
from geo.distance import haversine_km_many

SEARCH_P50_GOAL_MS = 2.0
SEARCH_P99_GOAL_MS = 10.0
PLAN_GOAL_S = 2.0


def percentiles(samples: list[float]) -> dict[str, float]:
    """p50/p99/mean/max of durations in seconds, as milliseconds."""
    ms = np.array(samples) * 1000
    return {
        "p50_ms": float(np.percentile(ms, 50)),
        "p99_ms": float(np.percentile(ms, 99)),
        "mean_ms": float(ms.mean()),
        "max_ms": float(ms.max()),
        "n": len(samples),
    }


# --- baseline 1: a naive numpy scan ------------------------------------------------------------


class NaiveScan:
    """Every filter over every volunteer, then sort: the obvious implementation."""

    def __init__(self, rows: VolunteerRows) -> None:
        self.rows = rows

    def search(self, q: Query) -> tuple[np.ndarray, np.ndarray]:
        r = self.rows
        ok = r.reachable & (r.vetting_level >= q.min_level)
        ok &= (r.skills & np.uint64(q.skills)) == np.uint64(q.skills)
        if q.regions is not None:
            ok &= np.isin(r.region, list(q.regions))
        if q.availability is not None:
            fits = np.zeros(len(r), dtype=np.bool_)
            for mask in q.availability:
                fits |= np.all((r.availability & mask) == mask, axis=1)
            ok &= fits
        idx = np.flatnonzero(ok)
        km = haversine_km_many(q.lat, q.lon, r.lats[idx], r.lons[idx])
        near = (km <= q.radius_km) & (km <= r.max_distance_km[idx])
        idx, km = idx[near], km[near]
        if q.exclude:
            keep = ~np.isin(r.ids[idx], np.fromiter(q.exclude, dtype=np.int64))
            idx, km = idx[keep], km[keep]
        w = q.weights
        score = km + w.load_km * r.recent_load[idx] + w.unreliability_km * (1 - r.reliability[idx])
        order = np.lexsort((tie_keys(r.ids[idx], q.seed), score))[: q.limit]
        return r.ids[idx][order], score[order]


def same_ranking(
    a_ids: np.ndarray, a_scores: np.ndarray, b_ids: np.ndarray, b_scores: np.ndarray
) -> bool:
    """Same top list; scores within 1e-6 km may swap or be cut differently at the end (the
    implementations compute the same distance with different formulas or precision)."""
    if a_ids.size != b_ids.size or not np.allclose(a_scores, b_scores, atol=1e-6):
        return False
    if np.array_equal(a_ids, b_ids):
        return True
    last = a_scores[-1] if a_scores.size else 0.0
    for i in range(a_ids.size):
        if a_ids[i] != b_ids[i]:
            near = np.abs(a_scores - a_scores[i]) < 1e-6
            if set(a_ids[near]) != set(b_ids[near]) and abs(a_scores[i] - last) > 1e-6:
                return False
    return True


# --- baseline 2: PostGIS -----------------------------------------------------------------------


def load_postgis(url: str, rows: VolunteerRows, exclude: frozenset[int]) -> Any:
    """Copy the volunteers into PostgreSQL with a GiST index; returns an open connection."""
    import psycopg

    conn = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True)
    conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    conn.execute(
        "CREATE UNLOGGED TABLE staging (id bigint, lat float8, lon float8, max_km float8,"
        " level int, skills bigint, a0 bigint, a1 bigint, a2 bigint, region int,"
        " reachable boolean, load float8, rel float8)"
    )
    avail = rows.availability.view(np.int64)
    buf = io.StringIO()
    columns = (
        rows.ids,
        np.char.mod("%.17g", rows.lats),
        np.char.mod("%.17g", rows.lons),
        rows.max_distance_km,
        rows.vetting_level,
        rows.skills.view(np.int64),
        avail[:, 0],
        avail[:, 1],
        avail[:, 2],
        rows.region,
        np.where(rows.reachable, "t", "f"),
        rows.recent_load,
        np.char.mod("%.17g", rows.reliability),
    )
    for line in zip(*(c.tolist() for c in columns), strict=True):
        buf.write("\t".join(map(str, line)) + "\n")
    with conn.cursor() as cur, cur.copy("COPY staging FROM STDIN") as copy:
        copy.write(buf.getvalue())
    conn.execute(
        "CREATE TABLE volunteer AS SELECT id, max_km, level, skills, a0, a1, a2, region,"
        " reachable, load, rel, ST_SetSRID(ST_MakePoint(lon, lat), 4326)::geography AS geog"
        " FROM staging"
    )
    conn.execute("DROP TABLE staging")
    conn.execute("CREATE INDEX volunteer_geog ON volunteer USING gist (geog)")
    conn.execute("CREATE TABLE busy (id bigint PRIMARY KEY)")
    with conn.cursor() as cur, cur.copy("COPY busy FROM STDIN") as copy:
        copy.write("".join(f"{i}\n" for i in sorted(exclude)))
    conn.execute("VACUUM ANALYZE volunteer")
    conn.execute("VACUUM ANALYZE busy")
    return conn


def _sql_filters(q: Query) -> tuple[str, dict[str, Any]]:
    params: dict[str, Any] = {
        "lon": q.lon,
        "lat": q.lat,
        "radius_m": q.radius_km * 1000,
        "level": q.min_level,
        "skills": int(np.uint64(q.skills).view(np.int64)),
        "regions": [int(r) for r in q.regions or []],
        "w_load": q.weights.load_km,
        "w_rel": q.weights.unreliability_km,
        "limit": q.limit,
    }
    masks = []
    assert q.availability is not None
    for j, mask in enumerate(np.asarray(q.availability).view(np.int64)):
        parts = []
        for w in range(3):
            if int(mask[w]):
                params[f"m{j}_{w}"] = int(mask[w])
                parts.append(f"(a{w} & %(m{j}_{w})s) = %(m{j}_{w})s")
        masks.append("(" + " AND ".join(parts or ["true"]) + ")")
    where = (
        "reachable AND level >= %(level)s AND (skills & %(skills)s) = %(skills)s"
        " AND region = ANY(%(regions)s) AND (" + " OR ".join(masks) + ")"
        " AND NOT EXISTS (SELECT 1 FROM busy b WHERE b.id = v.id)"
    )
    return where, params


def postgis_search(conn: Any, q: Query) -> tuple[np.ndarray, np.ndarray]:
    """Top ``limit`` by score among the eligible within the radius (GiST by ST_DWithin)."""
    where, params = _sql_filters(q)
    sql = (
        "WITH p AS (SELECT ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326)::geography AS g)"
        " SELECT id, d + %(w_load)s * load + %(w_rel)s * (1 - rel) AS score FROM ("
        "  SELECT v.*, ST_Distance(v.geog, p.g, false) / 1000 AS d FROM volunteer v, p"
        "  WHERE ST_DWithin(v.geog, p.g, %(radius_m)s, false) AND " + where + ") s"
        " WHERE d <= max_km AND d <= %(radius_m)s / 1000.0"
        " ORDER BY score, id LIMIT %(limit)s"
    )
    found = conn.execute(sql, params).fetchall()
    return np.array([r[0] for r in found], dtype=np.int64), np.array([r[1] for r in found])


def postgis_knn(conn: Any, q: Query) -> tuple[np.ndarray, np.ndarray]:
    """Nearest eligible first by the GiST KNN operator (distance only: weights must be 0)."""
    where, params = _sql_filters(q)
    sql = (
        "WITH p AS (SELECT ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326)::geography AS g)"
        " SELECT id, d FROM ("
        "  SELECT v.id, v.max_km, ST_Distance(v.geog, p.g, false) / 1000 AS d,"
        "   v.geog <-> p.g AS knn FROM volunteer v, p WHERE " + where + ""
        "  ORDER BY knn LIMIT 20000) s"
        " WHERE d <= max_km AND d <= %(radius_m)s / 1000.0 ORDER BY d, id LIMIT %(limit)s"
    )
    found = conn.execute(sql, params).fetchall()
    return np.array([r[0] for r in found], dtype=np.int64), np.array([r[1] for r in found])


# --- the runs ----------------------------------------------------------------------------------


def selectivity(rows: VolunteerRows, queries: list[Query]) -> dict[str, float]:
    """Share of all volunteers passing each non-spatial filter, averaged over queries."""
    shares: dict[str, list[float]] = {
        "reachable": [],
        "level": [],
        "skill": [],
        "availability": [],
        "region": [],
        "all_non_spatial": [],
    }
    for q in queries:
        level = rows.vetting_level >= q.min_level
        skill = (rows.skills & np.uint64(q.skills)) == np.uint64(q.skills)
        avail = np.zeros(len(rows), dtype=np.bool_)
        assert q.availability is not None
        for mask in q.availability:
            avail |= np.all((rows.availability & mask) == mask, axis=1)
        region = np.isin(rows.region, list(q.regions or []))
        shares["reachable"].append(float(rows.reachable.mean()))
        shares["level"].append(float(level.mean()))
        shares["skill"].append(float(skill.mean()))
        shares["availability"].append(float(avail.mean()))
        shares["region"].append(float(region.mean()))
        shares["all_non_spatial"].append(float((rows.reachable & level & skill & avail).mean()))
    return {k: float(np.mean(v)) for k, v in shares.items()}


def run_search(
    rows: VolunteerRows,
    index: CandidateIndex,
    pc4s: population.Pc4s,
    *,
    count: int,
    baseline_count: int,
    exclude: frozenset[int],
    postgis: bool,
) -> dict[str, Any]:
    tasks = population.tasks(pc4s, count, seed=11, exclude=exclude)
    queries = [t.query for t in tasks]
    for q in queries[:20]:  # warm-up
        index.search(q)
    times, sizes = [], []
    results: list[Hits] = []
    for q in queries:
        start = time.perf_counter()
        hits = index.search(q)
        times.append(time.perf_counter() - start)
        results.append(hits)
        sizes.append(len(hits))
    out: dict[str, Any] = {
        "queries": count,
        "index": percentiles(times),
        "results_full_50": float(np.mean([s == 50 for s in sizes])),
        "results_mean_size": float(np.mean(sizes)),
        "selectivity": selectivity(rows, queries[:50]),
    }
    naive = NaiveScan(rows)
    naive_times, mismatches = [], 0
    for q, hits in zip(queries[:baseline_count], results, strict=False):
        start = time.perf_counter()
        ids, scores = naive.search(q)
        naive_times.append(time.perf_counter() - start)
        mismatches += not same_ranking(hits.ids, hits.score, ids, scores)
    out["naive_scan"] = {**percentiles(naive_times), "mismatches": mismatches}
    if postgis:
        out["postgis"] = run_postgis(rows, index, queries[:baseline_count], results, exclude)
    return out


def run_postgis(
    rows: VolunteerRows,
    index: CandidateIndex,
    queries: list[Query],
    results: list[Hits],
    exclude: frozenset[int],
) -> dict[str, Any]:
    with postgres_database("zb_bench_dispatch") as url:
        start = time.perf_counter()
        conn = load_postgis(url, rows, exclude)
        load_s = time.perf_counter() - start
        try:
            for q in queries[:10]:  # warm-up: plans and the buffer cache
                postgis_search(conn, q)
            times, mismatches = [], 0
            for q, hits in zip(queries, results, strict=False):
                start = time.perf_counter()
                ids, scores = postgis_search(conn, q)
                times.append(time.perf_counter() - start)
                mismatches += not same_ranking(hits.ids, hits.score, ids, scores)
            zero = Weights(0.0, 0.0)
            knn_times, knn_index, knn_mismatches = [], [], 0
            for q in queries:
                qz = Query(**{**_fields(q), "weights": zero})
                start = time.perf_counter()
                hits = index.search(qz)
                knn_index.append(time.perf_counter() - start)
                start = time.perf_counter()
                ids, km = postgis_knn(conn, qz)
                knn_times.append(time.perf_counter() - start)
                knn_mismatches += not same_ranking(hits.ids, hits.distance_km, ids, km)
        finally:
            conn.close()
    return {
        "load_seconds": load_s,
        "score": {**percentiles(times), "mismatches": mismatches},
        "knn_distance_only": {**percentiles(knn_times), "mismatches": knn_mismatches},
        "index_distance_only": percentiles(knn_index),
    }


def _fields(q: Query) -> dict[str, Any]:
    return {name: getattr(q, name) for name in Query.__dataclass_fields__}


def run_plan(
    index: CandidateIndex, pc4s: population.Pc4s, *, count: int, exclude: frozenset[int]
) -> dict[str, Any]:
    """10k tasks: batch candidate generation + matching, against one-by-one searches."""
    draft = population.tasks(pc4s, count, seed=23, exclude=exclude)
    tasks = [
        population.Task(
            Query(**{**_fields(t.query), "limit": max(20, 3 * t.wanted)}), t.pc4_row, t.wanted
        )
        for t in draft
    ]
    queries = [t.query for t in tasks]
    start, cpu = time.perf_counter(), time.process_time()
    found = index.search_many(queries)
    search_s = time.perf_counter() - start
    search_cpu = time.process_time() - cpu
    requests = [
        planner.TaskRequest(
            task_id=i,
            wanted=t.wanted,
            candidates=tuple(zip(h.ids.tolist(), h.score.tolist(), strict=True)),
        )
        for i, (t, h) in enumerate(zip(tasks, found, strict=True))
    ]
    start, cpu = time.perf_counter(), time.process_time()
    joint = planner.plan(requests)
    plan_s = time.perf_counter() - start
    plan_cpu = time.process_time() - cpu
    start = time.perf_counter()
    greedy = planner.greedy(requests)
    greedy_s = time.perf_counter() - start
    sample = queries[:500]
    start = time.perf_counter()
    one_by_one = [index.search(q) for q in sample]
    single_s = (time.perf_counter() - start) * len(queries) / len(sample)
    agree = all(
        np.array_equal(a.ids, b.ids) for a, b in zip(one_by_one, found[: len(sample)], strict=True)
    )
    return {
        "tasks": count,
        "offers_wanted": sum(t.wanted for t in tasks),
        "batch_search_seconds": search_s,
        "matching_seconds": plan_s,
        "total_seconds": search_s + plan_s,
        # CPU time of this process: less sensitive to other processes on a shared machine.
        "total_cpu_seconds": search_cpu + plan_cpu,
        "greedy_seconds": greedy_s,
        "one_by_one_search_seconds_estimated": single_s,
        "batch_equals_one_by_one_on_sample": agree,
        "joint": _quality(requests, joint, found),
        "greedy": _quality(requests, greedy, found),
    }


def _quality(
    requests: list[planner.TaskRequest], chosen: planner.Plan, found: list[Hits]
) -> dict[str, Any]:
    km = 0.0
    offers = 0
    unfilled = 0
    for r, hits in zip(requests, found, strict=True):
        dist = dict(zip(hits.ids.tolist(), hits.distance_km.tolist(), strict=True))
        picked = chosen.get(r.task_id, ())
        offers += len(picked)
        unfilled += not picked
        km += sum(dist[v] for v in picked)
    return {
        "offers_planned": offers,
        "tasks_without_offer": unfilled,
        "km_total": km,
        "km_per_offer": km / offers if offers else math.nan,
    }


def run_contention(pc4s: population.Pc4s, rows: VolunteerRows, *, seed: int) -> dict[str, Any]:
    """Many tasks, few volunteers in one region: one offer per task (k = 1), 1 slot each."""
    rng = np.random.default_rng(seed)
    region = pc4s.region_codes.index("VR09")  # Utrecht
    in_region = np.flatnonzero(rows.region == region)
    keep = rng.choice(in_region, 1500, replace=False)
    few = VolunteerRows.build(
        **{
            name: getattr(rows, field)[keep]
            for name, field in (
                ("ids", "ids"),
                ("lats", "lats"),
                ("lons", "lons"),
                ("max_distance_km", "max_distance_km"),
                ("vetting_level", "vetting_level"),
                ("skills", "skills"),
                ("availability", "availability"),
                ("region", "region"),
                ("reachable", "reachable"),
                ("recent_load", "recent_load"),
                ("reliability", "reliability"),
            )
        }
    )
    index = CandidateIndex(few)
    rows_here = np.flatnonzero(pc4s.region == region)
    tasks = population.tasks(
        pc4s, 1000, seed=seed, wave_factor=1, limit=20, radius_km=15, pc4_rows=rows_here
    )
    tasks = [population.Task(t.query, t.pc4_row, 1) for t in tasks]
    found = index.search_many([t.query for t in tasks])
    requests = [
        planner.TaskRequest(i, 1, tuple(zip(h.ids.tolist(), h.score.tolist(), strict=True)))
        for i, h in enumerate(found)
    ]
    start = time.perf_counter()
    joint = planner.plan(requests)
    joint_s = time.perf_counter() - start
    greedy = planner.greedy(requests)
    return {
        "volunteers": len(few),
        "tasks": len(tasks),
        "tasks_with_any_candidate": sum(len(h) > 0 for h in found),
        "matching_seconds": joint_s,
        "joint": _quality(requests, joint, found),
        "greedy": _quality(requests, greedy, found),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--volunteers", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=2000)
    parser.add_argument("--baseline-queries", type=int, default=200)
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--no-postgis", action="store_true")
    args = parser.parse_args()

    load_before = os.getloadavg()
    pc4s = population.load_pc4s()
    start = time.perf_counter()
    rows, _ = population.volunteers(pc4s, args.volunteers)
    generate_s = time.perf_counter() - start
    start = time.perf_counter()
    index = CandidateIndex(rows)
    build_s = time.perf_counter() - start
    busy_rng = np.random.default_rng(99)
    busy = frozenset(busy_rng.choice(rows.ids, len(rows) // 100, replace=False).tolist())

    search = run_search(
        rows,
        index,
        pc4s,
        count=args.queries,
        baseline_count=args.baseline_queries,
        exclude=busy,
        postgis=not args.no_postgis,
    )
    plan = run_plan(index, pc4s, count=args.tasks, exclude=busy)
    contention = run_contention(pc4s, rows, seed=5)
    result = {
        "machine": machine(),
        "load_average_before": load_before,
        "load_average_after": os.getloadavg(),
        "volunteers": len(rows),
        "generate_seconds": generate_s,
        "index_build_seconds": build_s,
        "busy_excluded": len(busy),
        "search": search,
        "plan": plan,
        "contention": contention,
        "goals": {
            "search_p50_ms": SEARCH_P50_GOAL_MS,
            "search_p99_ms": SEARCH_P99_GOAL_MS,
            "plan_seconds": PLAN_GOAL_S,
        },
    }
    path = write_result("dispatch", result)

    table: list[dict[str, object]] = [
        {"search (top 50)": "index (geo.candidates)", **_row(search["index"])},
        {"search (top 50)": "naive numpy scan", **_row(search["naive_scan"])},
    ]
    if "postgis" in search:
        pg = search["postgis"]
        table.append({"search (top 50)": "PostGIS GiST, ST_DWithin + score", **_row(pg["score"])})
        table.append({"search (top 50)": "index, distance only", **_row(pg["index_distance_only"])})
        table.append(
            {"search (top 50)": "PostGIS KNN <->, distance only", **_row(pg["knn_distance_only"])}
        )
    print_table(table, ["search (top 50)", "p50 ms", "p99 ms", "mean ms", "n", "mismatches"])
    print()
    print(
        f"plan {plan['tasks']} tasks: batch search {plan['batch_search_seconds']:.2f} s + "
        f"matching {plan['matching_seconds']:.2f} s = {plan['total_seconds']:.2f} s "
        f"(CPU {plan['total_cpu_seconds']:.2f} s) "
        f"(one-by-one searches would take ~{plan['one_by_one_search_seconds_estimated']:.1f} s)"
    )
    quality = [
        {"scenario": "10k tasks", "plan": name, **plan[name]} for name in ("joint", "greedy")
    ] + [
        {"scenario": "contention VR09", "plan": name, **contention[name]}
        for name in ("joint", "greedy")
    ]
    print_table(
        quality,
        ["scenario", "plan", "offers_planned", "tasks_without_offer", "km_total", "km_per_offer"],
    )
    print(f"\nselectivity: {search['selectivity']}")
    print(f"written to {path}")


def _row(stats: dict[str, Any]) -> dict[str, object]:
    return {
        "p50 ms": stats["p50_ms"],
        "p99 ms": stats["p99_ms"],
        "mean ms": stats["mean_ms"],
        "n": stats["n"],
        "mismatches": stats.get("mismatches", ""),
    }


if __name__ == "__main__":
    main()
