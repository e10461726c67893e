"""Polygon areas: parsed from GeoJSON, valid, inside the region (with 300 m slack), overlap."""

from __future__ import annotations

import json
from typing import Any

import pytest
import shapely
from shapely.geometry import box, mapping

import geo
from brigades.incidents import area
from brigades.incidents.area import AreaSpec, InvalidArea
from brigades.incidents.models import AreaKind
from tests.incidents.factories import UTRECHT_SQUARE, polygon


def _border_polygon(outward_degrees: float) -> str:
    """A ~2 km patch of VR09 at its border that reaches ``outward_degrees`` beyond it."""
    boundary = geo.load_reference_data().vr_boundary("VR09")
    lon, lat = next(iter(boundary.exterior.coords))
    patch = box(lon - 0.01, lat - 0.01, lon + 0.01, lat + 0.01)
    shape = boundary.buffer(outward_degrees).intersection(patch)
    if shape.geom_type == "MultiPolygon":
        shape = max(shape.geoms, key=lambda g: g.area)
    return json.dumps(mapping(shape))


def test_a_polygon_inside_the_region_is_accepted() -> None:
    geometry = area.polygon_for_region(polygon(), "VR09")
    assert geometry.geom_type == "Polygon"
    assert json.loads(area.to_geojson(geometry))["type"] == "Polygon"


@pytest.mark.parametrize(
    "document",
    [
        {
            "type": "Feature",
            "properties": {},
            "geometry": {"type": "Polygon", "coordinates": [UTRECHT_SQUARE]},
        },
        {
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "geometry": {"type": "Polygon", "coordinates": [UTRECHT_SQUARE]},
                }
            ],
        },
        {"type": "MultiPolygon", "coordinates": [[UTRECHT_SQUARE]]},
    ],
)
def test_features_and_collections_are_accepted(document: dict[str, Any]) -> None:
    assert area.polygon_for_region(json.dumps(document), "VR09").area > 0


def test_a_self_intersecting_polygon_is_explained_in_dutch() -> None:
    bowtie = [[5.10, 52.07], [5.14, 52.10], [5.14, 52.07], [5.10, 52.10], [5.10, 52.07]]
    with pytest.raises(InvalidArea) as refused:
        area.polygon_for_region(polygon(bowtie), "VR09")
    assert "kruist zichzelf" in refused.value.message
    assert "lengtegraad 5.12000" in refused.value.message  # where it crosses
    assert refused.value.status_code == 422 and refused.value.field == "polygon_geojson"


def test_a_polygon_in_another_region_is_refused() -> None:
    amsterdam = [[4.87, 52.36], [4.91, 52.36], [4.91, 52.38], [4.87, 52.38], [4.87, 52.36]]
    with pytest.raises(InvalidArea) as refused:
        area.polygon_for_region(polygon(amsterdam), "VR09")
    assert "buiten Veiligheidsregio Utrecht" in refused.value.message


def test_just_over_the_border_is_within_the_tolerance() -> None:
    # 0.0015 degrees: at most ~170 m beyond the simplified border.
    assert area.polygon_for_region(_border_polygon(0.0015), "VR09").area > 0


def test_well_over_the_border_is_refused_with_the_distance() -> None:
    # 0.008 degrees: at least ~550 m beyond the border.
    with pytest.raises(InvalidArea) as refused:
        area.polygon_for_region(_border_polygon(0.008), "VR09")
    assert "km buiten de grens" in refused.value.message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "Plak of upload"),
        ("{niet json", "geen geldige GeoJSON"),
        ("[1, 2]", "geen GeoJSON-object"),
        ('{"type": "Point", "coordinates": [5.1, 52.1]}', "punt of lijn"),
        ('{"type": "Polygon", "coordinates": [[[5.1, 52.1], [5.2, 52.1]]]}', "coördinaten"),
        ('{"type": "Polygon", "coordinates": "x"}', "coördinaten"),
        (
            json.dumps({"type": "Polygon", "coordinates": [[[b, a] for a, b in UTRECHT_SQUARE]]}),
            "omgedraaid",
        ),
        (
            '{"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]}',
            "buiten Nederland",
        ),
        ('{"type": "Banaan"}', "Onbekend GeoJSON-type"),
        ('{"type": "FeatureCollection", "features": []}', "geen gebied"),
    ],
)
def test_broken_geojson_gets_a_clear_message(text: str, expected: str) -> None:
    with pytest.raises(InvalidArea) as refused:
        area.polygon_for_region(text, "VR09")
    assert expected in refused.value.message


def test_size_limits() -> None:
    tiny = [[5.1, 52.08], [5.1001, 52.08], [5.1001, 52.0801], [5.1, 52.0801], [5.1, 52.08]]
    with pytest.raises(InvalidArea, match="te klein"):
        area.polygon_for_region(polygon(tiny), "VR09")
    circle = shapely.Point(5.12, 52.085).buffer(0.01, quad_segs=5200)
    ring = [[round(x, 5), round(y, 5)] for x, y in circle.exterior.coords]
    with pytest.raises(InvalidArea, match="hoekpunten"):
        area.polygon_for_region(polygon(ring), "VR09")
    with pytest.raises(InvalidArea, match="900 kB"):
        area.polygon_for_region("{" * (area.MAX_GEOJSON_CHARS + 1), "VR09")


def test_overlap_rules() -> None:
    region = AreaSpec(AreaKind.VR, "VR09")
    utrecht = AreaSpec(AreaKind.GEMEENTEN, "VR09", frozenset({"GM0344"}))
    zeist = AreaSpec(AreaKind.GEMEENTEN, "VR09", frozenset({"GM0355", "GM0310"}))
    square = AreaSpec(AreaKind.POLYGON, "VR09", geojson=polygon())
    amersfoort_square = AreaSpec(
        AreaKind.POLYGON,
        "VR09",
        geojson=polygon(
            [[5.36, 52.14], [5.40, 52.14], [5.40, 52.17], [5.36, 52.17], [5.36, 52.14]]
        ),
    )
    amsterdam = AreaSpec(AreaKind.VR, "VR13")

    assert area.overlaps(region, zeist) and area.overlaps(square, region)
    assert not area.overlaps(region, amsterdam)
    assert not area.overlaps(utrecht, zeist)
    assert area.overlaps(utrecht, AreaSpec(AreaKind.GEMEENTEN, "VR09", frozenset({"GM0344"})))
    assert area.overlaps(square, utrecht)  # the square lies in the city of Utrecht
    assert not area.overlaps(square, zeist)
    assert not area.overlaps(square, amersfoort_square)
    assert area.overlaps(square, square)


def test_containment_with_slack_for_simplified_boundaries() -> None:
    square = AreaSpec(AreaKind.POLYGON, "VR09", geojson=polygon())
    assert area.contains(square, 52.085, 5.12)
    assert not area.contains(square, 52.085, 5.16)
    region = AreaSpec(AreaKind.VR, "VR09")
    assert area.contains(region, 52.09, 5.12)  # Utrecht
    assert not area.contains(region, 52.37, 4.89)  # Amsterdam
    gemeente = AreaSpec(AreaKind.GEMEENTEN, "VR09", frozenset({"GM0344"}))
    assert area.contains(gemeente, 52.09, 5.12)
    assert not area.contains(gemeente, 52.155, 5.387)  # Amersfoort
