"""In-memory nearest-point search over (id, lat, lon) points.

Points become 3-D unit vectors in a KD-tree: the straight (chord) distance between unit vectors
grows monotonically with the great-circle distance, so the tree's order is the great-circle order.
Returned distances are recomputed with the haversine formula.

An index is a snapshot of the points it was built from; build a new one to refresh it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from typing import Generic, NamedTuple, TypeVar

import numpy as np
import numpy.typing as npt
from scipy.spatial import cKDTree

from geo.distance import EARTH_RADIUS_KM, haversine_km_many

IdT = TypeVar("IdT")

# Slack on the chord bound, so rounding never drops a point exactly at max_km (scipy's bound is
# strict, and max_km may be 0); the exact haversine cut afterwards decides.
_BOUND_SLACK = 1e-9
_BOUND_EPSILON = 1e-12


class Neighbour(NamedTuple, Generic[IdT]):
    """A point found by a search and its great-circle distance in km."""

    id: IdT
    km: float


def _unit_vectors(
    lats: npt.NDArray[np.float64], lons: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    phi, lmb = np.radians(lats), np.radians(lons)
    cos_phi = np.cos(phi)
    return np.column_stack((cos_phi * np.cos(lmb), cos_phi * np.sin(lmb), np.sin(phi)))


def _chord(km: float) -> float:
    # Beyond half the circumference every point is within reach: the chord tops out at 2.
    theta = min(max(km, 0.0) / EARTH_RADIUS_KM, math.pi)
    return 2 * math.sin(theta / 2) * (1 + _BOUND_SLACK) + _BOUND_EPSILON


def _check_coordinates(lats: npt.NDArray[np.float64], lons: npt.NDArray[np.float64]) -> None:
    if not (np.all(np.isfinite(lats)) and np.all(np.isfinite(lons))):
        raise ValueError("coordinates must be finite")
    if np.any(np.abs(lats) > 90) or np.any(np.abs(lons) > 180):
        raise ValueError("latitude must be within ±90 and longitude within ±180 degrees")


class PointIndex(Generic[IdT]):
    """A snapshot spatial index answering nearest and within-radius queries in great-circle km."""

    def __init__(self, ids: Sequence[IdT], lats: npt.ArrayLike, lons: npt.ArrayLike) -> None:
        lat_arr = np.asarray(lats, dtype=np.float64).reshape(-1)
        lon_arr = np.asarray(lons, dtype=np.float64).reshape(-1)
        if not len(ids) == lat_arr.size == lon_arr.size:
            raise ValueError("ids, lats and lons must have the same length")
        _check_coordinates(lat_arr, lon_arr)
        self._ids: list[IdT] = list(ids)
        self._lats = lat_arr
        self._lons = lon_arr
        self._tree = cKDTree(_unit_vectors(lat_arr, lon_arr)) if self._ids else None

    @classmethod
    def from_points(cls, points: Iterable[tuple[IdT, float, float]]) -> PointIndex[IdT]:
        """Build from (id, lat, lon) tuples."""
        rows = list(points)
        return cls([r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows])

    def __len__(self) -> int:
        return len(self._ids)

    def nearest(
        self,
        lat: float,
        lon: float,
        k: int = 1,
        *,
        max_km: float | None = None,
        filter: Callable[[IdT], bool] | None = None,
    ) -> list[Neighbour[IdT]]:
        """Up to k points nearest to (lat, lon), nearest first, within max_km and passing filter."""
        if k < 1:
            raise ValueError("k must be at least 1")
        if self._tree is None:
            return []
        _check_coordinates(np.array([lat]), np.array([lon]))
        query = _unit_vectors(np.array([lat], dtype=np.float64), np.array([lon], dtype=np.float64))
        bound = _chord(max_km) if max_km is not None else np.inf
        n = len(self._ids)
        kept: list[int] = []
        seen: set[int] = set()
        # The filter runs per candidate in Python, so a filter that rejects almost everything scans
        # widely (~1.5 s over 1M points); give such a sub-population its own index instead.
        want = k if filter is None else max(4 * k, 32)
        while True:
            count = min(want, n)
            _, found = self._tree.query(query[0], k=count, distance_upper_bound=bound)
            # scipy marks "no more points within the bound" with index n.
            indices = np.atleast_1d(np.asarray(found, dtype=np.int64))
            indices = indices[indices < n]
            # A wider query can order equidistant points differently, so track what was seen.
            fresh = [i for i in indices.tolist() if i not in seen]
            seen.update(fresh)
            kept.extend(i for i in fresh if filter is None or filter(self._ids[i]))
            # Enough hits, or the tree has nothing more to give (all points or all within bound).
            if len(kept) >= k or count == n or len(indices) < count:
                break
            want = count * 4
        return self._rank(lat, lon, kept, max_km)[:k]

    def within(
        self,
        lat: float,
        lon: float,
        radius_km: float,
        *,
        filter: Callable[[IdT], bool] | None = None,
    ) -> list[Neighbour[IdT]]:
        """All points within radius_km of (lat, lon), nearest first, optionally filtered."""
        if self._tree is None:
            return []
        _check_coordinates(np.array([lat]), np.array([lon]))
        query = _unit_vectors(np.array([lat], dtype=np.float64), np.array([lon], dtype=np.float64))
        found = self._tree.query_ball_point(query[0], r=_chord(radius_km), return_sorted=False)
        indices = [int(i) for i in found]
        if filter is not None:
            indices = [i for i in indices if filter(self._ids[i])]
        return self._rank(lat, lon, indices, radius_km)

    def _rank(
        self, lat: float, lon: float, indices: list[int], max_km: float | None
    ) -> list[Neighbour[IdT]]:
        if not indices:
            return []
        idx = np.asarray(indices, dtype=np.int64)
        km = haversine_km_many(lat, lon, self._lats[idx], self._lons[idx])
        order = np.argsort(km, kind="stable")
        if max_km is not None:
            order = order[km[order] <= max_km]
        return [Neighbour(self._ids[int(idx[j])], float(km[j])) for j in order]
