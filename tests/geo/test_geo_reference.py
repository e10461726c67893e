"""The vendored reference data: counts, consistency and boundaries."""

from __future__ import annotations

import csv
from pathlib import Path

from geo import load_reference_data

DATA = Path(__file__).resolve().parents[2] / "geo" / "data"


def test_counts_match_the_provenance_readme() -> None:
    data = load_reference_data()
    assert len(data.regions) == 25
    assert len(data.gemeenten) == 342
    assert len(data.pc4s) == 4067
    assert sorted(data.regions) == [f"VR{i:02d}" for i in range(1, 26)]


def test_is_memoised() -> None:
    assert load_reference_data() is load_reference_data()


def test_every_region_has_gemeenten_and_pc4s() -> None:
    data = load_reference_data()
    assert {g.vr_code for g in data.gemeenten.values()} == set(data.regions)
    assert {a.vr_code for a in data.pc4s.values()} == set(data.regions)


def test_pc4_rows_are_complete() -> None:
    data = load_reference_data()
    for area in data.pc4s.values():
        assert 50.7 < area.lat < 53.6 and 3.3 < area.lon < 7.3
        assert area.plaats  # empty CBS plaats falls back to the gemeente name
        assert area.inwoners >= 0
    assert data.gemeenten["GM0518"].display_name == "Den Haag"


def test_po_box_pc4s_are_postbus_only_in_4pp_and_absent_from_cbs() -> None:
    data = load_reference_data()
    with (DATA / "4pp_2014.csv").open(encoding="utf-8", newline="") as handle:
        postbus = {int(r["postcode"]) for r in csv.DictReader(handle) if r["soort"] == "Postbus"}
    assert data.po_box_pc4s == postbus - set(data.pc4s)
    assert {1000, 1001}.issubset(data.po_box_pc4s)
    assert not data.po_box_pc4s & set(data.pc4s)
    assert not data.po_box_pc4s & set(data.address_pc4_points_2014)


def test_5028_is_absent_as_documented() -> None:
    data = load_reference_data()
    assert 5028 not in data.pc4s
    assert 5028 not in data.po_box_pc4s
    assert 5028 not in data.address_pc4_points_2014


def test_every_pc4_centroid_lies_in_its_region_polygon() -> None:
    import shapely

    data = load_reference_data()
    # 5111 Baarle-Nassau's point falls in a Belgian enclave gap of the simplified polygons (the
    # README's gm_match=nearest), so the VR comes from the gemeente, not the polygon.
    assert data.vr_at(data.pc4s[5111].lat, data.pc4s[5111].lon) is None
    for code in data.regions:
        areas = [a for a in data.pc4s.values() if a.vr_code == code and a.pc4 != 5111]
        inside = shapely.contains_xy(
            data.vr_boundary(code), [a.lon for a in areas], [a.lat for a in areas]
        )
        assert inside.all(), code


def test_vr_at_and_gemeente_boundary() -> None:
    data = load_reference_data()
    assert data.vr_at(52.0907, 5.1214) == "VR09"  # Utrecht, Dom
    assert data.vr_at(51.0, 0.0) is None  # the Channel
    utrecht = data.gemeenten["GM0344"]
    import shapely

    assert shapely.contains_xy(
        data.gemeente_boundary("GM0344"), utrecht.label_lon, utrecht.label_lat
    )
