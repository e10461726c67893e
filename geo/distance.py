"""Great-circle distances on a spherical Earth (the contract: distances are great-circle km)."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

# IUGG mean Earth radius; a sphere is off the ellipsoid by < 0.5 %, far below PC4 precision.
EARTH_RADIUS_KM = 6371.0088


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in km between two WGS84 points given in degrees."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlmb = math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    # Clamp: rounding can push `a` a hair above 1 for antipodal points, and asin would fail.
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def haversine_km_many(
    lat: float, lon: float, lats: npt.ArrayLike, lons: npt.ArrayLike
) -> npt.NDArray[np.float64]:
    """Great-circle distances in km from one point to many points (vectorised)."""
    phi1 = math.radians(lat)
    phi2 = np.radians(np.asarray(lats, dtype=np.float64))
    dlmb = np.radians(np.asarray(lons, dtype=np.float64) - lon)
    a = np.sin((phi2 - phi1) / 2) ** 2 + math.cos(phi1) * np.cos(phi2) * np.sin(dlmb / 2) ** 2
    km: npt.NDArray[np.float64] = 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.minimum(a, 1.0)))
    return km
