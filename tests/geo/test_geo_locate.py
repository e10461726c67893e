"""Locating postcodes offline, with the PO-box refusal and the fallback for missing PC4s."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from geo import (
    Location,
    NullGeocoder,
    PostcodeError,
    fallback_area,
    haversine_km,
    load_reference_data,
    locate,
)

DATA = load_reference_data()


@pytest.mark.parametrize(
    ("postcode", "gm_name", "vr_code", "plaats"),
    [
        ("3512", "Utrecht", "VR09", "Utrecht"),
        ("9711", "Groningen", "VR01", "Groningen"),
        ("6211", "Maastricht", "VR24", "Maastricht"),
        ("1012 AB", "Amsterdam", "VR13", "Amsterdam"),
    ],
)
def test_real_postcodes(postcode: str, gm_name: str, vr_code: str, plaats: str) -> None:
    location = locate(postcode)
    assert (location.gm_name, location.vr_code, location.plaats) == (gm_name, vr_code, plaats)
    assert location.vr_name == DATA.regions[vr_code].name
    assert location.precision == "pc4"
    assert location.note is None and location.fallback_pc4 is None


def test_spellings_locate_to_the_same_point() -> None:
    pc6 = locate("3512jk")
    assert pc6 == locate("3512 JK")
    assert pc6.postcode == "3512 JK"
    pc4 = locate("3512")
    assert pc4.postcode == "3512"
    assert replace(pc6, postcode="3512") == pc4


@pytest.mark.parametrize(
    "text", ["", "12345", "0123 AB", "3512 SA", "abcd", "x" * 10_000, "<script>"]
)
def test_malformed(text: str) -> None:
    with pytest.raises(PostcodeError) as caught:
        locate(text)
    assert caught.value.code == "malformed"


def test_none_is_malformed() -> None:
    with pytest.raises(PostcodeError) as caught:
        locate(None)  # type: ignore[arg-type]
    assert caught.value.code == "malformed"


@pytest.mark.parametrize("text", ["1010", "1010 AB", "5999"])
def test_unknown(text: str) -> None:
    # 1010 lies below Amsterdam's lowest code (1011) and 5999 above Venlo's; neither is in 4pp.
    assert int(text[:4]) not in DATA.pc4s
    with pytest.raises(PostcodeError) as caught:
        locate(text)
    assert caught.value.code == "unknown"
    assert text in caught.value.message


@pytest.mark.parametrize("text", ["1000", "1001 AA", "2500"])
def test_po_box_only(text: str) -> None:
    assert int(text[:4]) in DATA.po_box_pc4s
    with pytest.raises(PostcodeError) as caught:
        locate(text)
    assert caught.value.code == "po_box"
    assert "postbus" in caught.value.message


def test_5028_falls_back_to_a_tilburg_neighbour_with_a_note() -> None:
    location = locate("5028 AB")
    assert location.postcode == "5028 AB" and location.pc4 == 5028
    assert location.fallback_pc4 == 5026  # numerically nearest in Tilburg's run 5026..5032
    assert location.gm_name == "Tilburg" and location.vr_code == "VR20"
    assert location.note == (
        "Postcode 5028 staat niet in onze gegevens; we gebruiken het midden van 5026 (Tilburg)."
    )
    area = DATA.pc4s[5026]
    assert (location.lat, location.lon) == (area.lat, area.lon)


def test_code_between_two_gemeenten_is_unknown() -> None:
    # 1116 lies between 1115 (Duivendrecht, Ouder-Amstel) and 1117 (Schiphol, Haarlemmermeer): it
    # could be either, so refuse rather than guess a gemeente and region.
    assert DATA.adjacent_pc4s(1116) == (1115, 1117)
    assert DATA.pc4s[1115].gm_code != DATA.pc4s[1117].gm_code
    assert fallback_area(1116, DATA) is None
    with pytest.raises(PostcodeError) as caught:
        locate("1116")
    assert caught.value.code == "unknown"


def test_4pp_address_codes_fall_back_near_their_4pp_point() -> None:
    assert DATA.address_pc4_points_2014  # e.g. 1099 Amsterdam, 3509 Utrecht
    for pc4, (lat, lon) in DATA.address_pc4_points_2014.items():
        location = locate(str(pc4))
        assert location.fallback_pc4 is not None
        assert location.fallback_pc4 // 100 == pc4 // 100
        assert location.note and str(pc4) in location.note
        assert haversine_km(lat, lon, location.lat, location.lon) < 25


def test_every_pc4_locates_to_itself_with_its_region() -> None:
    for pc4, area in DATA.pc4s.items():
        location = locate(str(pc4))
        assert (location.pc4, location.lat, location.lon) == (pc4, area.lat, area.lon)
        assert (location.gm_code, location.vr_code) == (area.gm_code, area.vr_code)
        assert DATA.gemeenten[location.gm_code].vr_code == location.vr_code


@given(
    st.sampled_from(sorted(DATA.pc4s)),
    st.sampled_from(["AA", "jk", "ZZ", "Bx"]),
    st.sampled_from(["", " ", "-"]),
)
def test_pc6_locates_to_its_pc4(pc4: int, letters: str, separator: str) -> None:
    location = locate(f"{pc4}{separator}{letters}")
    assert location.pc4 == pc4
    assert location.vr_code == DATA.pc4s[pc4].vr_code
    assert location.postcode == f"{pc4} {letters.upper()}"


class _FakeGeocoder:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def refine(self, location: Location, house_number: str) -> Location | None:
        self.calls.append(house_number)
        return replace(location, lat=location.lat + 0.001, precision="address")


def test_geocoder_refines_only_with_a_house_number() -> None:
    fake = _FakeGeocoder()
    assert locate("3512 JK", None, geocoder=fake).precision == "pc4"
    assert locate("3512 JK", "  ", geocoder=fake).precision == "pc4"
    assert locate("3512 JK", " 12a ", geocoder=fake).precision == "address"
    assert fake.calls == ["12a"]


def test_null_geocoder_keeps_the_pc4_location() -> None:
    assert locate("3512 JK", "12", geocoder=NullGeocoder()) == locate("3512 JK")
