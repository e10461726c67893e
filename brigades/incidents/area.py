"""The area of an incident: parsing and checking GeoJSON polygons, overlap, containment.

Geometry is computed in a local equirectangular projection in kilometres (x east, y north,
around the region's latitude): accurate to well under 1 % over one region, enough for tolerances
of a few hundred metres, and it needs no projection library. The reference boundaries are
simplified, so every test against them has a tolerance (``BORDER_TOLERANCE_KM``).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import numpy as np
import shapely
from shapely.errors import GEOSException
from shapely.geometry import MultiPolygon, Polygon, shape

import geo
from brigades.errors import InvalidInput
from brigades.incidents.models import AreaKind

# Below the 1 MB request limit, so the form or JSON around it still fits.
MAX_GEOJSON_CHARS = 900_000
MAX_VERTICES = 20_000
MAX_PARTS = 100
MIN_AREA_KM2 = 0.01  # one hectare: anything smaller is a drawing slip
# The reference boundaries are simplified: a border drawn on a detailed map may lie this far
# outside them and still be inside the region.
BORDER_TOLERANCE_KM = 0.3
# Two areas overlap when they share more than this (or half the smaller one); less is the slack
# between simplified boundaries and a drawn line along the same border.
OVERLAP_TOLERANCE_KM2 = 0.05
# Longitude/latitude box around the Netherlands (with its waters): anything else is a mistake.
NL_LON = (3.0, 7.6)
NL_LAT = (50.6, 53.8)

KM_PER_DEGREE_LAT = 110.574
KM_PER_DEGREE_LON_EQUATOR = 111.320


class InvalidArea(InvalidInput):
    """A polygon that cannot be used as an incident area (422, with a Dutch explanation)."""

    code = "invalid_area"


def _fail(message: str) -> InvalidArea:
    return InvalidArea(message, field="polygon_geojson")


# --- projection ---------------------------------------------------------------------------


def _to_km(geometry: Any, lat0: float) -> Any:
    """A lon/lat geometry in kilometres around latitude ``lat0``."""
    kx = KM_PER_DEGREE_LON_EQUATOR * math.cos(math.radians(lat0))

    def project(coords: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        return np.column_stack((coords[:, 0] * kx, coords[:, 1] * KM_PER_DEGREE_LAT))

    return shapely.transform(geometry, project)


def _point_km(lat: float, lon: float, lat0: float) -> tuple[float, float]:
    kx = KM_PER_DEGREE_LON_EQUATOR * math.cos(math.radians(lat0))
    return lon * kx, lat * KM_PER_DEGREE_LAT


@dataclass(frozen=True, slots=True)
class _Region:
    lat0: float
    exact_km: Any
    buffered_km: Any


@cache
def _region(vr_code: str) -> _Region:
    # Reference data is immutable package data: computing each region once per process is safe.
    boundary = geo.load_reference_data().vr_boundary(vr_code)
    lat0 = (boundary.bounds[1] + boundary.bounds[3]) / 2
    exact = _to_km(boundary, lat0)
    buffered = exact.buffer(BORDER_TOLERANCE_KM)
    shapely.prepare(buffered)
    return _Region(lat0, exact, buffered)


@cache
def _gemeente_km(gm_code: str, lat0: float) -> Any:
    return _to_km(geo.load_reference_data().gemeente_boundary(gm_code), lat0)


# --- parsing GeoJSON ----------------------------------------------------------------------


def _geometry_object(document: Any) -> dict[str, Any]:
    """The geometry in a GeoJSON geometry, Feature or FeatureCollection (polygons only)."""
    if not isinstance(document, dict):
        raise _fail("Dit is geen GeoJSON-object. Plak een Polygon, Feature of FeatureCollection.")
    kind = document.get("type")
    if kind == "Feature":
        return _geometry_object(document.get("geometry"))
    if kind == "FeatureCollection":
        features = document.get("features")
        if not isinstance(features, list) or not features:
            raise _fail("De FeatureCollection bevat geen gebied.")
        if len(features) > MAX_PARTS:
            raise _fail(f"Te veel delen: hoogstens {MAX_PARTS} vlakken per gebied.")
        polygons: list[Any] = []
        for feature in features:
            geometry = _geometry_object(feature)
            if geometry["type"] == "Polygon":
                polygons.append(geometry["coordinates"])
            else:
                polygons.extend(geometry["coordinates"])
        return {"type": "MultiPolygon", "coordinates": polygons}
    if kind in ("Polygon", "MultiPolygon"):
        if "coordinates" not in document:
            raise _fail("De polygoon heeft geen coördinaten.")
        return document
    if kind in ("Point", "MultiPoint", "LineString", "MultiLineString"):
        raise _fail(
            "Dit is een punt of lijn, geen vlak. Teken een gesloten gebied (Polygon of "
            "MultiPolygon)."
        )
    raise _fail("Onbekend GeoJSON-type. Gebruik een Polygon of MultiPolygon.")


def _coordinates(geometry: Any) -> Any:
    return shapely.get_coordinates(geometry)


def parse_polygon(text: str) -> Any:
    """A GeoJSON (Multi)Polygon as a shapely geometry (lon, lat); InvalidArea if unusable."""
    if not text or not text.strip():
        raise _fail("Plak of upload een GeoJSON-gebied.")
    if len(text) > MAX_GEOJSON_CHARS:
        raise _fail(
            "Het gebied is te groot als bestand (meer dan 900 kB). Vereenvoudig de lijnen en "
            "probeer het opnieuw."
        )
    try:
        document = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise _fail("Dit is geen geldige GeoJSON (de JSON is niet te lezen).") from exc
    geometry_object = _geometry_object(document)
    try:
        geometry = shape(geometry_object)
    except (ValueError, TypeError, KeyError, IndexError, AttributeError, GEOSException) as exc:
        raise _fail(
            "De coördinaten van de polygoon kloppen niet. Elke ring heeft minstens vier "
            "punten [lengtegraad, breedtegraad] en eindigt op het beginpunt."
        ) from exc
    if not isinstance(geometry, Polygon | MultiPolygon) or geometry.is_empty:
        raise _fail("Het gebied is leeg.")
    parts = len(geometry.geoms) if isinstance(geometry, MultiPolygon) else 1
    if parts > MAX_PARTS:
        raise _fail(f"Te veel delen: hoogstens {MAX_PARTS} vlakken per gebied.")
    coords = _coordinates(geometry)
    if len(coords) > MAX_VERTICES:
        raise _fail(
            f"Het gebied heeft {len(coords)} hoekpunten; hoogstens {MAX_VERTICES}. "
            "Vereenvoudig de lijnen."
        )
    if not np.isfinite(coords).all():
        raise _fail("De polygoon bevat ongeldige getallen.")
    lon_ok = (coords[:, 0] >= NL_LON[0]) & (coords[:, 0] <= NL_LON[1])
    lat_ok = (coords[:, 1] >= NL_LAT[0]) & (coords[:, 1] <= NL_LAT[1])
    if not (lon_ok & lat_ok).all():
        swapped_lon = (coords[:, 1] >= NL_LON[0]) & (coords[:, 1] <= NL_LON[1])
        swapped_lat = (coords[:, 0] >= NL_LAT[0]) & (coords[:, 0] <= NL_LAT[1])
        if (swapped_lon & swapped_lat).all():
            raise _fail(
                "De coördinaten lijken omgedraaid: GeoJSON schrijft eerst de lengtegraad "
                "(bijvoorbeeld 5.12) en dan de breedtegraad (52.09)."
            )
        raise _fail(
            "Het gebied ligt (deels) buiten Nederland. Gebruik coördinaten in WGS84 "
            "[lengtegraad, breedtegraad]."
        )
    _check_valid(geometry)
    return geometry


def _check_valid(geometry: Any) -> None:
    reason = shapely.is_valid_reason(geometry)
    if reason == "Valid Geometry":
        return
    where = ""
    if "[" in reason:
        numbers = reason[reason.index("[") + 1 : reason.rindex("]")].split()
        if len(numbers) >= 2:
            lon, lat = float(numbers[0]), float(numbers[1])
            where = f" bij lengtegraad {lon:.5f}, breedtegraad {lat:.5f}"
        reason = reason[: reason.index("[")]
    explained = {
        "Self-intersection": f"De rand van het gebied kruist zichzelf{where} (een 'strikje'). "
        "Teken de rand zonder dat lijnen elkaar snijden.",
        "Ring Self-intersection": f"Een ring van het gebied raakt zichzelf{where}. "
        "Teken de rand zonder dat lijnen elkaar raken.",
        "Too few points in geometry component": f"Een deel van het gebied heeft te weinig "
        f"punten{where}: een vlak heeft minstens drie verschillende hoekpunten.",
        "Hole lies outside shell": f"Een gat in het gebied ligt buiten de buitenrand{where}.",
        "Nested shells": f"Twee vlakken van het gebied liggen in elkaar{where}.",
        "Interior is disconnected": f"Gaten in het gebied delen het vlak in stukken{where}.",
        "Self-intersecting ring": f"Een ring van het gebied kruist zichzelf{where}.",
        "Duplicate Rings": "Het gebied bevat dezelfde ring twee keer.",
        "Ring not closed": "Een ring is niet gesloten: het laatste punt moet gelijk zijn aan "
        "het eerste.",
    }
    raise _fail(
        explained.get(reason.strip(), f"Het gebied is geen geldige polygoon ({reason.strip()}).")
    )


def check_within_region(geometry: Any, vr_code: str) -> None:
    """Refuse a polygon that is too small or reaches outside the region (with tolerance)."""
    region = _region(vr_code)
    polygon_km = _to_km(geometry, region.lat0)
    if polygon_km.area < MIN_AREA_KM2:
        raise _fail("Het gebied is te klein (minder dan een hectare). Teken een groter gebied.")
    if region.buffered_km.contains(polygon_km):
        return
    points = shapely.points(_coordinates(polygon_km))
    furthest = float(np.max(shapely.distance(region.exact_km, points)))
    name = geo.load_reference_data().regions[vr_code].name
    raise _fail(
        f"Het gebied ligt voor een deel buiten Veiligheidsregio {name} (tot {furthest:.1f} km "
        f"buiten de grens; {int(BORDER_TOLERANCE_KM * 1000)} m speling is toegestaan). Teken "
        "het gebied binnen de regio."
    )


def polygon_for_region(text: str, vr_code: str) -> Any:
    """Parse and check a GeoJSON polygon for an incident of this region."""
    geometry = parse_polygon(text)
    check_within_region(geometry, vr_code)
    return geometry


def to_geojson(geometry: Any) -> str:
    """The geometry as stored: a GeoJSON geometry object."""
    return str(shapely.to_geojson(geometry))


# --- areas: overlap and containment -------------------------------------------------------


@dataclass(frozen=True)
class AreaSpec:
    """An incident's area as data: kind, region, gemeenten, and the polygon for POLYGON."""

    kind: AreaKind
    vr_code: str
    gm_codes: frozenset[str] = frozenset()
    geojson: str | None = None
    _km: list[Any] = field(default_factory=list, compare=False, repr=False)

    def geometry_km(self) -> Any:
        """The area in the region's kilometre projection (computed once)."""
        if not self._km:
            region = _region(self.vr_code)
            if self.kind is AreaKind.VR:
                geometry = region.exact_km
            elif self.kind is AreaKind.GEMEENTEN:
                geometry = shapely.union_all(
                    [_gemeente_km(code, region.lat0) for code in sorted(self.gm_codes)]
                )
            else:
                assert self.geojson is not None
                geometry = _to_km(shapely.from_geojson(self.geojson), region.lat0)
            shapely.prepare(geometry)
            self._km.append(geometry)
        return self._km[0]


def overlaps(a: AreaSpec, b: AreaSpec) -> bool:
    """Whether two areas share ground (same region; gemeenten in common; polygons that meet)."""
    if a.vr_code != b.vr_code:
        return False
    if AreaKind.VR in (a.kind, b.kind):
        return True
    if a.kind is AreaKind.GEMEENTEN and b.kind is AreaKind.GEMEENTEN:
        return bool(a.gm_codes & b.gm_codes)
    first, second = a.geometry_km(), b.geometry_km()
    shared = float(first.intersection(second).area)
    return shared > min(OVERLAP_TOLERANCE_KM2, 0.5 * min(float(first.area), float(second.area)))


def contains(area: AreaSpec, lat: float, lon: float, *, tolerance_km: float | None = None) -> bool:
    """Whether a point lies in the area (boundaries from reference data get 300 m slack)."""
    if tolerance_km is None:
        tolerance_km = 0.0 if area.kind is AreaKind.POLYGON else BORDER_TOLERANCE_KM
    region = _region(area.vr_code)
    x, y = _point_km(lat, lon, region.lat0)
    geometry = area.geometry_km()
    if shapely.contains_xy(geometry, x, y):
        return True
    return tolerance_km > 0 and float(geometry.distance(shapely.Point(x, y))) <= tolerance_km
