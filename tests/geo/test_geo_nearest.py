"""PointIndex against a brute-force haversine sort."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geo import PointIndex, haversine_km, load_reference_data

# The Netherlands and a margin: where the index is used.
nl_points = st.lists(st.tuples(st.floats(50.5, 53.7), st.floats(3.2, 7.3)), min_size=0, max_size=60)
anywhere = st.tuples(st.floats(-89.9, 89.9), st.floats(-180, 180))


def _brute(points: list[tuple[float, float]], lat: float, lon: float) -> list[float]:
    return sorted(haversine_km(lat, lon, p[0], p[1]) for p in points)


@settings(max_examples=200)
@given(nl_points, st.tuples(st.floats(50.5, 53.7), st.floats(3.2, 7.3)), st.integers(1, 70))
def test_nearest_agrees_with_brute_force(
    points: list[tuple[float, float]], query: tuple[float, float], k: int
) -> None:
    index = PointIndex(list(range(len(points))), [p[0] for p in points], [p[1] for p in points])
    found = index.nearest(*query, k=k)
    expected = _brute(points, *query)[:k]
    assert [n.km for n in found] == pytest.approx(expected, abs=1e-6)
    for n in found:  # each id's reported distance is its own
        assert n.km == pytest.approx(haversine_km(*query, *points[n.id]), abs=1e-9)


@settings(max_examples=100)
@given(st.lists(anywhere, min_size=1, max_size=40), anywhere, st.floats(0, 25_000))
def test_max_km_and_within_anywhere_on_earth(
    points: list[tuple[float, float]], query: tuple[float, float], radius: float
) -> None:
    index = PointIndex.from_points((i, p[0], p[1]) for i, p in enumerate(points))
    expected = [d for d in _brute(points, *query) if d <= radius]
    near = index.nearest(*query, k=len(points), max_km=radius)
    within = index.within(*query, radius)
    assert [n.km for n in near] == pytest.approx(expected, abs=1e-6)
    assert [n.km for n in within] == pytest.approx(expected, abs=1e-6)


@settings(max_examples=100)
@given(nl_points, st.integers(1, 10), st.integers(2, 5))
def test_filter(points: list[tuple[float, float]], k: int, modulus: int) -> None:
    index = PointIndex(list(range(len(points))), [p[0] for p in points], [p[1] for p in points])
    kept = [p for i, p in enumerate(points) if i % modulus == 0]
    found = index.nearest(52.1, 5.1, k=k, filter=lambda i: i % modulus == 0)
    assert all(n.id % modulus == 0 for n in found)
    assert [n.km for n in found] == pytest.approx(_brute(kept, 52.1, 5.1)[:k], abs=1e-6)


def test_nearest_pc4_to_the_dom_is_3512() -> None:
    data = load_reference_data()
    index = PointIndex.from_points((a.pc4, a.lat, a.lon) for a in data.pc4s.values())
    assert len(index) == 4067
    assert index.nearest(52.0907, 5.1214)[0].id in {3511, 3512}
    around = index.within(52.0907, 5.1214, 2.0)
    assert around and all(n.km <= 2.0 for n in around)
    assert [n.km for n in around] == sorted(n.km for n in around)


def test_large_index_is_vectorised() -> None:
    rng = np.random.default_rng(7)
    n = 200_000
    lats, lons = rng.uniform(50.7, 53.5, n), rng.uniform(3.4, 7.2, n)
    index = PointIndex(np.arange(n).tolist(), lats, lons)
    found = index.nearest(52.0, 5.0, k=5)
    brute = np.sort(
        2
        * 6371.0088
        * np.arcsin(
            np.sqrt(
                np.sin(np.radians(lats - 52.0) / 2) ** 2
                + math.cos(math.radians(52.0))
                * np.cos(np.radians(lats))
                * np.sin(np.radians(lons - 5.0) / 2) ** 2
            )
        )
    )[:5]
    assert [x.km for x in found] == pytest.approx(brute.tolist(), abs=1e-6)


def test_empty_and_invalid() -> None:
    empty: PointIndex[int] = PointIndex([], [], [])
    assert empty.nearest(52, 5) == [] and empty.within(52, 5, 10) == []
    with pytest.raises(ValueError):
        PointIndex([1], [float("nan")], [5.0])
    with pytest.raises(ValueError):
        PointIndex([1], [91.0], [5.0])
    with pytest.raises(ValueError):
        PointIndex([1, 2], [52.0], [5.0])
    with pytest.raises(ValueError):
        PointIndex([1], [52.0], [5.0]).nearest(52, 5, k=0)
