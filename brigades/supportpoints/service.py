"""Buurtsteunpunten: creating them, and choosing one for a volunteer's home postcode.

A volunteer's region is that of their buurtsteunpunt (DESIGN.md, "Locations"). They may choose
any active point in the region of their postcode; by default they get the nearest one. When that
region has no active point yet, the nearest one anywhere is offered instead.

The default choice (the nearest point) is on the sign-up hot path, so the active points' (id, lat,
lon) are kept per process and per database, grouped by region (:class:`ActivePoints`). Staleness
bound: a change made through *this* process is seen at once (any ORM write of a ``SupportPoint``,
and :func:`invalidate`, drop the cache, and the writing session itself reads the table from then
on); a change made by *another* process is seen within ``CACHE_SECONDS``. Only committed points
are ever cached (a Core statement that changes points must call :func:`invalidate`). A point a
volunteer asks for by id, and the page listing the choices, always read the database.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import object_session
from sqlmodel import Session

import geo
from brigades.errors import InvalidInput, InvalidPostcode
from brigades.supportpoints import repository
from brigades.supportpoints.models import SupportPoint
from brigades.supportpoints.repository import PointTuple
from brigades.supportpoints.schemas import SupportPointCreate

UNKNOWN_LOCATION = "Deze postcode kunnen we niet vinden. Controleer de postcode."
NOT_IN_REGION = "Kies een buurtsteunpunt uit de lijst: dit punt hoort niet bij jouw regio."

# How long another process's change to the support points may go unseen (a cache timeout on
# time.monotonic, not domain time).
CACHE_SECONDS = 30.0

# Marks a session that wrote support points: from then on it reads the table itself (it sees its
# own uncommitted points, which must never reach the shared cache).
_WROTE_POINTS = "zb.supportpoints.wrote"


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


@dataclass(frozen=True, slots=True)
class ActivePoints:
    """A snapshot of the active points: (id, lat, lon) per region and of the whole country."""

    by_region: dict[str, list[PointTuple]]
    every: list[PointTuple]

    @classmethod
    def from_rows(cls, rows: Sequence[tuple[int, float, float, str]]) -> ActivePoints:
        """Group (id, lat, lon, vr_code) rows by region."""
        by_region: dict[str, list[PointTuple]] = {}
        for pid, lat, lon, vr_code in rows:
            by_region.setdefault(vr_code, []).append((pid, lat, lon))
        return cls(by_region, [(pid, lat, lon) for pid, lat, lon, _ in rows])


_lock = threading.Lock()
# Keyed by database URL, so tests and tools that use several databases never share points.
_snapshots: dict[str, tuple[float, ActivePoints]] = {}
# Bumped by every invalidation: a snapshot read across one is not stored (it may predate it).
_generation = 0


def _database_key(session: OrmSession) -> str:
    return str(session.get_bind().engine.url)


def _drop(key: str | None) -> None:
    global _generation
    with _lock:
        _generation += 1
        if key is None:
            _snapshots.clear()
        else:
            _snapshots.pop(key, None)


def invalidate(session: OrmSession | None = None) -> None:
    """Forget the cached points (of the session's database, or all); call after changing points.

    The session, having written points, reads the table itself for the rest of its life
    (sessions live for one request or job), and drops the cache again when it commits.
    """
    if session is None:
        _drop(None)
        return
    session.info[_WROTE_POINTS] = True
    _drop(_database_key(session))


def active_points(session: Session) -> ActivePoints:
    """The active points of the session's database (cached; see the module doc)."""
    if session.info.get(_WROTE_POINTS):
        return ActivePoints.from_rows(repository.active_point_rows(session))
    key = _database_key(session)
    moment = time.monotonic()
    with _lock:
        cached = _snapshots.get(key)
        generation = _generation
    if cached is not None and moment - cached[0] < CACHE_SECONDS:
        return cached[1]
    snapshot = ActivePoints.from_rows(repository.active_point_rows(session))
    with _lock:
        if generation == _generation:
            _snapshots[key] = (moment, snapshot)
    return snapshot


def _on_point_written(_mapper: Any, _connection: Any, target: SupportPoint) -> None:
    # Writes that bypass the service (seeds, fixtures, an edit of ``active``) invalidate too.
    invalidate(object_session(target))


def _on_commit(session: OrmSession) -> None:
    # Other sessions may have cached the points again while this one was writing.
    if session.info.get(_WROTE_POINTS):
        _drop(_database_key(session))


for _event_name in ("after_insert", "after_update", "after_delete"):
    event.listen(SupportPoint, _event_name, _on_point_written)
event.listen(OrmSession, "after_commit", _on_commit)


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
    invalidate(session)
    return point


def _ranked(points: Sequence[PointTuple], lat: float, lon: float) -> list[tuple[int, float]]:
    return sorted(
        ((pid, geo.haversine_km(lat, lon, plat, plon)) for pid, plat, plon in points),
        key=lambda item: (item[1], item[0]),
    )


def _nearest(points: Sequence[PointTuple], lat: float, lon: float) -> int | None:
    ranked = _ranked(points, lat, lon)
    return ranked[0][0] if ranked else None


def nearest_id(session: Session, *, lat: float, lon: float, vr_code: str) -> int | None:
    """The nearest active point in the region, else the nearest anywhere, else None (cached)."""
    points = active_points(session)
    return _nearest(points.by_region.get(vr_code) or points.every, lat, lon)


def _nearest_from_database(session: Session, *, lat: float, lon: float, vr_code: str) -> int | None:
    points = repository.active_point_tuples(session, vr_code=vr_code)
    return _nearest(points or repository.active_point_tuples(session), lat, lon)


def resolve_choice(
    session: Session, *, requested: int | None, lat: float, lon: float, vr_code: str
) -> int | None:
    """The support point a volunteer gets: the requested one if allowed, else the default.

    The default comes from the cached points; a requested one is checked against the database.
    """
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
        and _nearest_from_database(session, lat=lat, lon=lon, vr_code=vr_code) == requested
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
