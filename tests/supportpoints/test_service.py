"""Choosing a buurtsteunpunt for a home postcode."""

from __future__ import annotations

import pytest
from sqlmodel import Session

from brigades.errors import InvalidInput, InvalidPostcode
from brigades.supportpoints import service
from tests.volunteers.factories import make_support_point


def test_nearest_in_region_first(session: Session) -> None:
    far = make_support_point(session, name="Overvecht", postcode="3563 AB")
    near = make_support_point(session, name="Uithof", postcode="3584 CS")
    make_support_point(session, name="Jordaan", postcode="1016 AB")
    home = service.locate_home("3584 AB")
    choices, in_region = service.choices_for(
        session, lat=home.lat, lon=home.lon, vr_code=home.vr_code
    )
    assert in_region
    assert [c.point.id for c in choices] == [near.id, far.id]
    assert choices[0].km < choices[1].km
    assert service.nearest_id(session, lat=home.lat, lon=home.lon, vr_code="VR09") == near.id


def test_region_without_points_offers_only_the_nearest_elsewhere(session: Session) -> None:
    utrecht = make_support_point(session, name="Uithof", postcode="3584 CS")
    make_support_point(session, name="Groningen", postcode="9711 AB")
    home = service.locate_home("1016 AB")  # Amsterdam, VR13: no point there
    choices, in_region = service.choices_for(
        session, lat=home.lat, lon=home.lon, vr_code=home.vr_code
    )
    assert not in_region and [c.point.id for c in choices] == [utrecht.id]
    assert utrecht.id is not None
    assert (
        service.resolve_choice(
            session, requested=utrecht.id, lat=home.lat, lon=home.lon, vr_code=home.vr_code
        )
        == utrecht.id
    )


def test_no_points_at_all_means_no_point(session: Session) -> None:
    home = service.locate_home("3584 CS")
    assert (
        service.resolve_choice(
            session, requested=None, lat=home.lat, lon=home.lon, vr_code=home.vr_code
        )
        is None
    )


def test_requesting_a_point_outside_the_region_or_unknown_is_refused(session: Session) -> None:
    make_support_point(session, name="Uithof", postcode="3584 CS")
    amsterdam = make_support_point(session, name="Jordaan", postcode="1016 AB")
    home = service.locate_home("3584 CS")
    for requested in (amsterdam.id, 999_999):
        with pytest.raises(InvalidInput) as caught:
            service.resolve_choice(
                session, requested=requested, lat=home.lat, lon=home.lon, vr_code=home.vr_code
            )
        assert caught.value.field == "support_point_id"


def test_a_new_point_is_placed_at_its_postcode(session: Session) -> None:
    point = make_support_point(session, name="Uithof", postcode="3584cs")
    assert (point.postcode, point.gm_code, point.vr_code, point.place) == (
        "3584 CS",
        "GM0344",
        "VR09",
        "Utrecht",
    )
    with pytest.raises(InvalidPostcode):
        make_support_point(session, postcode="1000")
