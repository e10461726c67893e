"""Queries of the audit log."""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import Session, col, select

from brigades.audit.models import AuditEvent


def search(
    session: Session,
    *,
    object_kind: str | None,
    object_id: str | None,
    actor_user_id: int | None,
    action: str | None,
    vr_code: str | None,
    before: int | None,
    limit: int,
) -> Sequence[AuditEvent]:
    """Events matching every given field, newest first."""
    stmt = select(AuditEvent)
    if object_kind:
        stmt = stmt.where(col(AuditEvent.object_kind) == object_kind)
    if object_id:
        stmt = stmt.where(col(AuditEvent.object_id) == object_id)
    if actor_user_id is not None:
        stmt = stmt.where(col(AuditEvent.actor_user_id) == actor_user_id)
    if action:
        if action.endswith("*"):
            stmt = stmt.where(col(AuditEvent.action).startswith(action[:-1], autoescape=True))
        else:
            stmt = stmt.where(col(AuditEvent.action) == action)
    if vr_code:
        stmt = stmt.where(col(AuditEvent.vr_code) == vr_code)
    if before is not None:
        stmt = stmt.where(col(AuditEvent.id) < before)
    return session.exec(stmt.order_by(col(AuditEvent.id).desc()).limit(limit)).all()


def for_object(session: Session, *, object_kind: str, object_id: str) -> Sequence[AuditEvent]:
    """Every event about one object, oldest first."""
    stmt = (
        select(AuditEvent)
        .where(col(AuditEvent.object_kind) == object_kind, col(AuditEvent.object_id) == object_id)
        .order_by(col(AuditEvent.id))
    )
    return session.exec(stmt).all()
