"""Queries of incidents. Every listing applies the caller's AccessScope."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import func, text
from sqlmodel import Session, col, select

from brigades.accounts.scope import AccessScope
from brigades.incidents.models import Incident, IncidentGemeente, IncidentKind, IncidentState


def get(session: Session, incident_id: int) -> Incident | None:
    """One incident by id (unscoped: the service checks the scope)."""
    return session.get(Incident, incident_id)


def get_for_update(session: Session, incident_id: int) -> Incident | None:
    """One incident, locked for the rest of the transaction (PostgreSQL; SQLite locks anyway)."""
    stmt = select(Incident).where(col(Incident.id) == incident_id).with_for_update()
    return session.exec(stmt).first()


def list_in_scope(
    session: Session,
    scope: AccessScope,
    *,
    states: Iterable[IncidentState] | None = None,
    kind: IncidentKind | None = None,
    limit: int = 200,
) -> Sequence[Incident]:
    """Incidents the scope reaches, newest first."""
    stmt = scope.filter_by_region(select(Incident), col(Incident.vr_code))
    if states is not None:
        stmt = stmt.where(col(Incident.state).in_(list(states)))
    if kind is not None:
        stmt = stmt.where(col(Incident.kind) == kind)
    return session.exec(stmt.order_by(col(Incident.id).desc()).limit(limit)).all()


def active_in_region(session: Session, *, vr_code: str, kind: IncidentKind) -> Sequence[Incident]:
    """Open or closing incidents of one kind in a region, locked against a concurrent open."""
    stmt = (
        select(Incident)
        .where(
            col(Incident.vr_code) == vr_code,
            col(Incident.kind) == kind,
            col(Incident.state).in_([IncidentState.OPEN, IncidentState.CLOSING]),
        )
        .order_by(col(Incident.id))
        .with_for_update()
    )
    return session.exec(stmt).all()


def gemeenten_of(session: Session, incident_id: int) -> list[str]:
    """The gemeente codes of an incident's area, sorted."""
    stmt = select(IncidentGemeente.gm_code).where(col(IncidentGemeente.incident_id) == incident_id)
    return sorted(session.exec(stmt).all())


def gemeenten_by_incident(session: Session, incident_ids: Iterable[int]) -> dict[int, list[str]]:
    """Gemeente codes per incident, for several incidents in one query."""
    ids = list(incident_ids)
    found: dict[int, list[str]] = {i: [] for i in ids}
    if not ids:
        return found
    stmt = (
        select(IncidentGemeente)
        .where(col(IncidentGemeente.incident_id).in_(ids))
        .order_by(col(IncidentGemeente.gm_code))
    )
    for row in session.exec(stmt):
        found[row.incident_id].append(row.gm_code)
    return found


def next_sequence(session: Session, *, vr_code: str, year: int) -> int:
    """The next free sequence number of a region's incidents in a year."""
    stmt = select(func.max(Incident.sequence)).where(
        col(Incident.vr_code) == vr_code, col(Incident.year) == year
    )
    current = session.exec(stmt).one()
    return int(current or 0) + 1


def lock_region(session: Session, vr_code: str) -> None:
    """Serialise opening incidents in one region until the transaction ends.

    SQLite transactions already hold the write lock from their start (BEGIN IMMEDIATE); on
    PostgreSQL a transaction-scoped advisory lock per region keeps two coordinators from both
    opening an incident for the same area at the same moment (no row exists yet to lock).
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": f"incident:{vr_code}"}
        )
