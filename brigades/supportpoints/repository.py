"""Queries on buurtsteunpunten."""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import Session, col, select

from brigades.supportpoints.models import SupportPoint

# (id, lat, lon): what nearest-point choices need, without loading whole rows.
PointTuple = tuple[int, float, float]


def active_points(session: Session, *, vr_code: str | None = None) -> Sequence[SupportPoint]:
    """Active support points, of one region or all."""
    stmt = select(SupportPoint).where(col(SupportPoint.active))
    if vr_code is not None:
        stmt = stmt.where(col(SupportPoint.vr_code) == vr_code)
    return session.exec(stmt).all()


def active_point_tuples(session: Session, *, vr_code: str | None = None) -> list[PointTuple]:
    """(id, lat, lon) of active support points, of one region or all (one statement)."""
    stmt = select(SupportPoint.id, SupportPoint.lat, SupportPoint.lon).where(
        col(SupportPoint.active)
    )
    if vr_code is not None:
        stmt = stmt.where(col(SupportPoint.vr_code) == vr_code)
    return [(int(i), lat, lon) for i, lat, lon in session.exec(stmt).all() if i is not None]


def active_point_rows(session: Session) -> list[tuple[int, float, float, str]]:
    """(id, lat, lon, vr_code) of every active support point, by id (one statement)."""
    stmt = (
        select(SupportPoint.id, SupportPoint.lat, SupportPoint.lon, SupportPoint.vr_code)
        .where(col(SupportPoint.active))
        .order_by(col(SupportPoint.id))
    )
    return [
        (int(i), lat, lon, vr_code)
        for i, lat, lon, vr_code in session.exec(stmt).all()
        if i is not None
    ]


def region_of(session: Session, point_id: int) -> tuple[str, bool] | None:
    """(vr_code, active) of one support point, or None when it does not exist."""
    stmt = select(SupportPoint.vr_code, SupportPoint.active).where(SupportPoint.id == point_id)
    row = session.exec(stmt).first()
    return None if row is None else (row[0], row[1])
