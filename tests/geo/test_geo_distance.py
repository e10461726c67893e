"""Great-circle distances."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from geo import EARTH_RADIUS_KM, haversine_km, haversine_km_many

DOM_UTRECHT = (52.0907, 5.1214)
DAM_AMSTERDAM = (52.3731, 4.8926)

lats = st.floats(-90, 90)
lons = st.floats(-180, 180)


def test_utrecht_to_amsterdam() -> None:
    assert abs(haversine_km(*DOM_UTRECHT, *DAM_AMSTERDAM) - 35.0) < 1.0


def test_known_extremes() -> None:
    assert haversine_km(52.0, 5.0, 52.0, 5.0) == 0.0
    assert math.isclose(haversine_km(0, 0, 0, 180), math.pi * EARTH_RADIUS_KM)
    assert math.isclose(haversine_km(90, 0, -90, 0), math.pi * EARTH_RADIUS_KM)
    # One degree of latitude is ~111.2 km anywhere.
    assert math.isclose(haversine_km(52, 5, 53, 5), 111.19, abs_tol=0.01)


@given(lats, lons, lats, lons)
def test_symmetric_and_bounded(lat1: float, lon1: float, lat2: float, lon2: float) -> None:
    d = haversine_km(lat1, lon1, lat2, lon2)
    assert math.isclose(d, haversine_km(lat2, lon2, lat1, lon1), abs_tol=1e-9)
    assert 0.0 <= d <= math.pi * EARTH_RADIUS_KM + 1e-9


@given(lats, lons, st.lists(st.tuples(lats, lons), min_size=1, max_size=20))
def test_many_agrees_with_scalar(lat: float, lon: float, points: list[tuple[float, float]]) -> None:
    many = haversine_km_many(
        lat, lon, np.array([p[0] for p in points]), np.array([p[1] for p in points])
    )
    assert many.dtype == np.float64 and many.shape == (len(points),)
    for d, (plat, plon) in zip(many, points, strict=True):
        assert math.isclose(d, haversine_km(lat, lon, plat, plon), rel_tol=1e-9, abs_tol=1e-6)
