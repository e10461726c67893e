"""The candidate index against a plain-Python reference, and each filter on its own."""

from __future__ import annotations

import functools
import random
from dataclasses import replace
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from geo import candidates
from geo.candidates import (
    CandidateIndex,
    Hits,
    Query,
    VolunteerRows,
    Weights,
    availability_masks,
    hour_words,
    tie_keys,
    words_to_hours,
)
from geo.distance import haversine_km

UTRECHT = (52.0907, 5.1240)
ALL_WEEK = hour_words(range(168))


def rows_from(people: list[dict[str, Any]]) -> VolunteerRows:
    def column(name: str, default: Any) -> list[Any]:
        return [p.get(name, default) for p in people]

    return VolunteerRows.build(
        ids=column("id", 0),
        lats=column("lat", UTRECHT[0]),
        lons=column("lon", UTRECHT[1]),
        max_distance_km=column("max_km", 50.0),
        vetting_level=column("level", 3),
        skills=column("skills", 0b111),
        availability=np.array(column("avail", ALL_WEEK), dtype=np.uint64).reshape(-1, 3),
        region=column("region", 0),
        reachable=column("reachable", True),
        recent_load=column("load", 0.0),
        reliability=column("rel", 0.5),
    )


@functools.cache
def hours_of(words: tuple[int, ...]) -> frozenset[int]:
    return frozenset(words_to_hours(words))


def reference(people: list[dict[str, Any]], q: Query) -> list[tuple[int, float, bool]]:
    """(id, score, boosted) best first, by the rules in the module doc, one person at a time."""
    found = []
    masks = None if q.availability is None else [tuple(int(w) for w in m) for m in q.availability]
    regions = None if q.regions is None else set(q.regions)
    all_ids = np.array([p["id"] for p in people], dtype=np.int64)
    keys = dict(zip(all_ids.tolist(), tie_keys(all_ids, q.seed).tolist(), strict=True))
    for p in people:
        if q.require_reachable and not p.get("reachable", True):
            continue
        if p.get("level", 3) < q.min_level or (p.get("skills", 0b111) & q.skills) != q.skills:
            continue
        if regions is not None and p.get("region", 0) not in regions:
            continue
        if masks is not None:
            hours = hours_of(tuple(p.get("avail", ALL_WEEK)))
            if not any(hours_of(m) <= hours for m in masks):
                continue
        km = haversine_km(q.lat, q.lon, p.get("lat", UTRECHT[0]), p.get("lon", UTRECHT[1]))
        if km > q.radius_km or km > p.get("max_km", 50.0) or p["id"] in q.exclude:
            continue
        score = (
            km
            + q.weights.load_km * p.get("load", 0.0)
            + q.weights.unreliability_km * (1 - p.get("rel", 0.5))
        )
        found.append((p["id"] not in q.boost, score, keys[p["id"]], p["id"]))
    found.sort()
    return [(i, s, not nb) for nb, s, _, i in found[: q.limit]]


def assert_same(hits: Hits, expected: list[tuple[int, float, bool]]) -> None:
    """Same ranking; scores from two formulas may differ in the last bits, so near-equal
    scores may swap places (and the last group may be cut differently)."""
    got = list(zip(hits.ids.tolist(), hits.score.tolist(), hits.boosted.tolist(), strict=True))
    assert len(got) == len(expected)
    assert [b for _, _, b in got] == [b for _, _, b in expected]
    assert np.allclose([s for _, s, _ in got], [s for _, s, _ in expected], atol=1e-9)
    if [i for i, _, _ in got] == [i for i, _, _ in expected]:
        return
    ref_scores = {i: s for i, s, _ in expected}
    for i, s, _ in got:
        assert i in ref_scores or abs(s - expected[-1][1]) < 1e-9


def _people(draw: Any) -> list[dict[str, Any]]:
    centres = draw(
        st.lists(st.tuples(st.floats(51.9, 52.3), st.floats(4.9, 5.4)), min_size=1, max_size=5)
    )
    n = draw(st.integers(0, 120))
    rng = random.Random(draw(st.integers(0, 10**6)))
    ids = rng.sample(range(1, 10_000), n)
    people = []
    for i in ids:
        lat, lon = rng.choice(centres)
        jitter = rng.random() < 0.5
        people.append(
            {
                "id": i,
                "lat": lat + (rng.uniform(-0.02, 0.02) if jitter else 0.0),
                "lon": lon + (rng.uniform(-0.03, 0.03) if jitter else 0.0),
                "max_km": rng.choice([2.0, 5.0, 10.0, 40.0]),
                "level": rng.randrange(4),
                "skills": rng.randrange(8),
                "avail": hour_words(h for h in range(168) if rng.random() < 0.6),
                "region": rng.randrange(3),
                "reachable": rng.random() < 0.9,
                "load": float(rng.choice([0, 0, 1, 2, 5])),
                "rel": rng.choice([0.5, 0.5, 0.0, 1.0, rng.random()]),
            }
        )
    return people


@st.composite
def scenario(draw: Any) -> tuple[list[dict[str, Any]], list[Query]]:
    people = _people(draw)
    ids = [p["id"] for p in people]
    queries = []
    for _ in range(draw(st.integers(1, 4))):
        start = draw(st.integers(0, 167))
        queries.append(
            Query(
                lat=draw(st.floats(51.9, 52.3)),
                lon=draw(st.floats(4.9, 5.4)),
                radius_km=draw(st.sampled_from([0.5, 3.0, 10.0, 30.0])),
                skills=draw(st.integers(0, 7)),
                min_level=draw(st.integers(0, 3)),
                availability=draw(
                    st.sampled_from(
                        [None, availability_masks(range(start, start + 3), draw(st.integers(1, 3)))]
                    )
                ),
                regions=draw(st.sampled_from([None, [0], [1, 2], []])),
                exclude=frozenset(draw(st.lists(st.sampled_from(ids), max_size=10)) if ids else []),
                boost=frozenset(draw(st.lists(st.sampled_from(ids), max_size=5)) if ids else []),
                limit=draw(st.integers(1, 30)),
                seed=draw(st.integers(0, 1000)),
                weights=Weights(
                    draw(st.sampled_from([0.0, 0.5])), draw(st.sampled_from([0.0, 2.0]))
                ),
                require_reachable=draw(st.booleans()),
            )
        )
    return people, queries


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario(), st.sampled_from([0.3, 1.0, 5.0]))
def test_search_scan_and_batch_agree_with_the_reference(
    case: tuple[list[dict[str, Any]], list[Query]], cell_km: float
) -> None:
    people, queries = case
    index = CandidateIndex(rows_from(people), cell_km=cell_km, first_box_km=0.5)
    batch = index.search_many(queries, thresholds=(0.5, 2.0))
    for q, from_batch in zip(queries, batch, strict=True):
        expected = reference(people, q)
        assert_same(index.search(q), expected)
        assert_same(index.scan(q), expected)
        assert_same(from_batch, expected)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario(), st.sampled_from([1, 5, 40]))
def test_a_joint_search_read_in_parts_gives_the_same_answers(
    case: tuple[list[dict[str, Any]], list[Query]], budget: int
) -> None:
    """Many wide queries over a dense area are joined in parts of at most ``budget`` pairs."""
    people, queries = case
    index = CandidateIndex(rows_from(people), cell_km=1.0, first_box_km=0.5)
    saved = candidates.JOIN_MAX_PAIRS
    candidates.JOIN_MAX_PAIRS = budget
    try:
        batch = index.search_many(queries, thresholds=(0.5, 2.0))
    finally:
        candidates.JOIN_MAX_PAIRS = saved
    for q, from_batch in zip(queries, batch, strict=True):
        assert_same(from_batch, reference(people, q))


@settings(max_examples=40, deadline=None)
@given(scenario(), st.data())
def test_updates_match_a_fresh_index(
    case: tuple[list[dict[str, Any]], list[Query]], data: st.DataObject
) -> None:
    people, queries = case
    index = CandidateIndex(rows_from(people), overflow_limit=5)
    current = {p["id"]: p for p in people}
    for _ in range(data.draw(st.integers(1, 6))):
        action = data.draw(st.sampled_from(["upsert", "remove", "offered"]))
        if action == "upsert":
            fresh = _people(data.draw)
            for p in fresh:
                p["id"] = p["id"] % 50 + 1  # often an id already in the index
            unique = list({p["id"]: p for p in fresh}.values())
            index.upsert(rows_from(unique))
            current.update({p["id"]: p for p in unique})
        elif action == "remove" and current:
            gone = data.draw(st.lists(st.sampled_from(sorted(current)), max_size=5))
            index.remove(gone)
            for i in gone:
                current.pop(i, None)
        elif current:
            bumped = data.draw(st.lists(st.sampled_from(sorted(current)), max_size=5, unique=True))
            index.note_offered(bumped)
            for i in bumped:
                current[i] = {**current[i], "load": current[i].get("load", 0.0) + 1}
    assert len(index) == len(current)
    for q in queries:
        expected = reference(list(current.values()), q)
        assert_same(index.search(q), expected)
        assert_same(index.search_many([q])[0], expected)


def test_equal_scores_are_not_ranked_by_id() -> None:
    # Everyone on one PC4 centroid, no history: every score is the same.
    people = [{"id": i} for i in range(1, 501)]
    index = CandidateIndex(rows_from(people))
    query = Query(lat=UTRECHT[0], lon=UTRECHT[1], radius_km=5, limit=50, seed=7)
    first = index.search(query).ids.tolist()
    assert first != sorted(first)
    assert first != list(range(1, 51))
    # Deterministic per task, different between tasks.
    assert index.search(query).ids.tolist() == first
    assert index.search(replace(query, seed=8)).ids.tolist() != first
    # Over many tasks the low ids are not favoured: about 10% of tasks pick any one volunteer.
    picked = np.zeros(501)
    for seed in range(200):
        picked[index.search(replace(query, seed=seed)).ids] += 1
    assert picked[1:51].mean() == pytest.approx(20, rel=0.25)
    assert picked[451:501].mean() == pytest.approx(20, rel=0.25)


def _only(people: list[dict[str, Any]], q: Query) -> list[int]:
    return CandidateIndex(rows_from(people)).search(q).ids.tolist()


@pytest.mark.parametrize(
    ("change", "query_change"),
    [
        ({"lat": UTRECHT[0] + 0.1}, {}),  # 11 km away, radius 5
        ({"lat": UTRECHT[0] + 0.03, "max_km": 2.0}, {}),  # 3.3 km, beyond their own distance
        ({"level": 1}, {}),
        ({"skills": 0b001}, {}),
        ({"region": 2}, {}),
        ({"reachable": False}, {}),
        ({"avail": hour_words(range(10, 11))}, {}),  # free 10-11 only, task needs 10-12
        ({"id": 99}, {"exclude": frozenset({99})}),
    ],
)
def test_each_filter_excludes(change: dict[str, Any], query_change: dict[str, Any]) -> None:
    base = {"id": 1, "lat": UTRECHT[0] + 0.005, "level": 2, "skills": 0b011}
    query = Query(
        lat=UTRECHT[0],
        lon=UTRECHT[1],
        radius_km=5,
        skills=0b011,
        min_level=2,
        availability=availability_masks([10], 2),
        regions=[0, 1],
        **query_change,
    )
    assert _only([base], query) == [1]
    other = {**base, "id": 2, **change}
    assert _only([base, other], query) == [1]


def test_boosted_rank_first_and_excluded_never_show() -> None:
    near = {"id": 1, "lat": UTRECHT[0] + 0.001}
    far = {"id": 2, "lat": UTRECHT[0] + 0.05}  # 5.6 km
    gone = {"id": 3, "lat": UTRECHT[0] + 0.04}  # 4.4 km
    query = Query(lat=UTRECHT[0], lon=UTRECHT[1], radius_km=10, boost=frozenset({2, 3}))
    hits = CandidateIndex(rows_from([near, far, gone])).search(query)
    assert hits.ids.tolist() == [3, 2, 1]
    assert hits.boosted.tolist() == [True, True, False]
    excluded = replace(query, exclude=frozenset({3}))
    assert CandidateIndex(rows_from([near, far, gone])).search(excluded).ids.tolist() == [2, 1]


def test_fairness_and_reliability_move_people_down() -> None:
    people = [
        {"id": 1, "lat": UTRECHT[0] + 0.001, "load": 6.0},  # 0.1 km, busy week
        {"id": 2, "lat": UTRECHT[0] + 0.01},  # 1.1 km
        {"id": 3, "lat": UTRECHT[0] + 0.005, "rel": 0.0},  # 0.6 km, never answers
    ]
    query = Query(lat=UTRECHT[0], lon=UTRECHT[1], radius_km=10)
    index = CandidateIndex(rows_from(people))
    assert index.search(query).ids.tolist() == [2, 3, 1]
    index.note_offered([2, 2])  # ids are a set: one offer
    index.note_offered([2])
    assert index.search(query).ids.tolist() == [3, 2, 1]


def test_availability_masks_wrap_around_the_week() -> None:
    masks = availability_masks([167], 2)  # Sunday 23:00 for two hours
    assert [words_to_hours(m) for m in masks] == [[0, 167]]
    assert len(availability_masks([5, 5 + 168], 1)) == 1
    with pytest.raises(ValueError):
        availability_masks([0], 0)


@pytest.mark.parametrize("cell_km", [0.3, 1.0])
def test_a_better_score_further_out_is_found(cell_km: float) -> None:
    # Close by but busy (score 2.1) against farther and rested (score 1.5): the search must
    # look beyond the first box although it already holds enough candidates.
    busy = [{"id": i, "lat": UTRECHT[0] + 0.001, "load": 4.0} for i in range(1, 21)]
    rested = [{"id": i, "lat": UTRECHT[0] + 1.5 / 111.195} for i in range(21, 41)]
    index = CandidateIndex(rows_from(busy + rested), cell_km=cell_km, first_box_km=0.5)
    query = Query(lat=UTRECHT[0], lon=UTRECHT[1], radius_km=2, limit=10, weights=Weights(0.5, 0.0))
    assert set(index.search(query).ids.tolist()) <= set(range(21, 41))
    assert set(index.search_many([query], thresholds=(1.8,))[0].ids.tolist()) <= set(range(21, 41))


class CountingIndex(CandidateIndex):
    """Counts the queries a batch search leaves to the one-by-one search."""

    fallbacks = 0

    def search(self, query: Query) -> Hits:
        self.fallbacks += 1
        return super().search(query)


@pytest.mark.parametrize(
    "weights", [Weights(), Weights(0.2, 1.0), Weights(1.0, 3.0), Weights(0.0, 0.0)]
)
def test_batch_proves_answers_in_a_dense_neighbourhood(weights: Weights) -> None:
    rng = random.Random(3)
    people = [
        {
            "id": i,
            "lat": UTRECHT[0] + rng.uniform(-0.03, 0.03),
            "lon": UTRECHT[1] + rng.uniform(-0.045, 0.045),
            "level": rng.randrange(4),
            "skills": rng.randrange(8),
            "avail": hour_words(h for h in range(168) if rng.random() < 0.7),
            "load": float(rng.choice([0, 0, 1, 3, 8])),
            "rel": rng.choice([0.5, 1.0, 0.0, rng.random()]),
        }
        for i in range(1, 4001)
    ]
    index = CountingIndex(rows_from(people))
    busy = frozenset(rng.sample(range(1, 4001), 300))
    queries = [
        Query(
            lat=UTRECHT[0] + rng.uniform(-0.01, 0.01),
            lon=UTRECHT[1] + rng.uniform(-0.015, 0.015),
            radius_km=5,
            skills=rng.randrange(4),
            min_level=rng.randrange(3),
            availability=availability_masks([rng.randrange(168)], 1),
            regions=[0],
            # One busy set shared by half the queries, an own set for the others.
            exclude=busy if n % 2 else frozenset(rng.sample(range(1, 4001), 200)),
            limit=10,
            seed=n,
            weights=weights,
        )
        for n in range(30)
    ]
    batch = index.search_many(queries, thresholds=(1.0, 2.5, 5.0))
    assert index.fallbacks <= 3
    for q, hits in zip(queries, batch, strict=True):
        assert_same(hits, reference(people, q))
