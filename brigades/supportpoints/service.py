"""Buurtsteunpunten: creating them, and choosing one for a volunteer's home postcode.

A volunteer's region is that of their buurtsteunpunt (DESIGN.md, "Locations"). They may choose
any active point in the region of their postcode; by default they get the nearest one. When that
region has no active point yet, the nearest one anywhere is offered instead.

The choices are queried per call, one statement of (id, lat, lon) per region: a region holds tens
of points, and a query is always current (no cache to refresh after a coordinator edits one).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

import geo
from brigades.errors import InvalidInput, InvalidPostcode
from brigades.supportpoints import repository
from brigades.supportpoints.models import SupportPoint
from brigades.supportpoints.repository import PointTuple
from brigades.supportpoints.schemas import SupportPointCreate

UNKNOWN_LOCATION = "Deze postcode kunnen we niet vinden. Controleer de postcode."
NOT_IN_REGION = "Kies een buurtsteunpunt uit de lijst: dit punt hoort niet bij jouw regio."


@dataclass(frozen=True, slots=True)
class PointChoice:
    """A support point offered to a volunteer, with its distance to their postcode."""

    point: SupportPoint
    km: float


def locate_home(postcode: str, house_number: str | None = None) -> geo.Location:
    """Locate a home postcode, or raise InvalidPostcode with geo's Dutch message."""
    try:
        return geo.locate(postcode, house_number)
    except geo.PostcodeError as exc:
        raise InvalidPostcode(exc.message, field="postcode") from None


def create_support_point(
    session: Session, *, data: SupportPointCreate, now: datetime
) -> SupportPoint:
    """Add a buurtsteunpunt at the centre of its postcode."""
    location = locate_home(data.postcode, data.house_number)
    point = SupportPoint(
        name=data.name,
        street=data.street,
        house_number=data.house_number,
        postcode=location.postcode,
        place=data.place or location.plaats,
        lat=location.lat,
        lon=location.lon,
        gm_code=location.gm_code,
        vr_code=location.vr_code,
        phone=data.phone,
        opening_hours=data.opening_hours,
        active=data.active,
        created_at=now,
    )
    session.add(point)
    session.flush()
    return point


def _ranked(points: Sequence[PointTuple], lat: float, lon: float) -> list[tuple[int, float]]:
    return sorted(
        ((pid, geo.haversine_km(lat, lon, plat, plon)) for pid, plat, plon in points),
        key=lambda item: (item[1], item[0]),
    )


def nearest_id(session: Session, *, lat: float, lon: float, vr_code: str) -> int | None:
    """The nearest active point in the region, else the nearest anywhere, else None."""
    ranked = _ranked(repository.active_point_tuples(session, vr_code=vr_code), lat, lon)
    if not ranked:
        ranked = _ranked(repository.active_point_tuples(session), lat, lon)
    return ranked[0][0] if ranked else None


def resolve_choice(
    session: Session, *, requested: int | None, lat: float, lon: float, vr_code: str
) -> int | None:
    """The support point a volunteer gets: the requested one if allowed, else the default."""
    if requested is None:
        return nearest_id(session, lat=lat, lon=lon, vr_code=vr_code)
    found = repository.region_of(session, requested)
    if found is not None and found[1] and found[0] == vr_code:
        return requested
    # A region without points of its own offers only the nearest point elsewhere.
    if (
        found is not None
        and found[1]
        and not repository.active_point_tuples(session, vr_code=vr_code)
        and nearest_id(session, lat=lat, lon=lon, vr_code=vr_code) == requested
    ):
        return requested
    raise InvalidInput(NOT_IN_REGION, field="support_point_id")


def choices_for(
    session: Session, *, lat: float, lon: float, vr_code: str
) -> tuple[list[PointChoice], bool]:
    """The points to choose from, nearest first, and whether they are in the volunteer's region."""
    points = repository.active_points(session, vr_code=vr_code)
    in_region = bool(points)
    if not points:
        points = repository.active_points(session)
    ranked = sorted(
        (PointChoice(p, geo.haversine_km(lat, lon, p.lat, p.lon)) for p in points),
        key=lambda c: (c.km, c.point.id or 0),
    )
    return (ranked if in_region else ranked[:1]), in_region
