"""Queries of the task-type catalogue, care tasks, imports and callbacks."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert
from sqlmodel import Session, col, select

from brigades.accounts.scope import AccessScope
from brigades.audit.models import AuditEvent
from brigades.tasks.models import (
    CareTask,
    TaskImport,
    TaskState,
    TaskType,
    TaskTypeSkill,
)


def task_types(session: Session, *, active_only: bool = True) -> Sequence[TaskType]:
    """The task types, in catalogue order."""
    stmt = select(TaskType)
    if active_only:
        stmt = stmt.where(col(TaskType.active).is_(True))
    return session.exec(stmt.order_by(col(TaskType.sort_order), col(TaskType.code))).all()


def skills_by_type(session: Session) -> dict[str, list[str]]:
    """Required skill codes per task type code."""
    found: dict[str, list[str]] = {}
    stmt = select(TaskTypeSkill).order_by(
        col(TaskTypeSkill.task_type_code), col(TaskTypeSkill.skill_code)
    )
    for row in session.exec(stmt):
        found.setdefault(row.task_type_code, []).append(row.skill_code)
    return found


def get(session: Session, task_id: int) -> CareTask | None:
    """One task by id (unscoped: the service checks the scope)."""
    return session.get(CareTask, task_id)


def list_in_scope(
    session: Session,
    scope: AccessScope,
    *,
    incident_id: int | None = None,
    created_by_user_id: int | None = None,
    states: Iterable[TaskState] | None = None,
    limit: int = 200,
    offset: int = 0,
) -> Sequence[CareTask]:
    """Tasks the scope reaches (a care organisation: only its own), soonest window first."""
    stmt = scope.filter_by_region(select(CareTask), col(CareTask.vr_code))
    stmt = scope.filter_organisation(stmt, col(CareTask.organisation_id))
    if incident_id is not None:
        stmt = stmt.where(col(CareTask.incident_id) == incident_id)
    if created_by_user_id is not None:
        stmt = stmt.where(col(CareTask.created_by_user_id) == created_by_user_id)
    if states is not None:
        stmt = stmt.where(col(CareTask.state).in_(list(states)))
    stmt = stmt.order_by(col(CareTask.window_start), col(CareTask.id))
    return session.exec(stmt.offset(offset).limit(limit)).all()


def count_by_state(session: Session, scope: AccessScope, *, incident_id: int) -> dict[str, int]:
    """How many tasks of an incident are in each state (within the scope)."""
    stmt = select(col(CareTask.state), func.count()).where(col(CareTask.incident_id) == incident_id)
    stmt = scope.filter_by_region(stmt, col(CareTask.vr_code))
    stmt = scope.filter_organisation(stmt, col(CareTask.organisation_id))
    rows = session.exec(stmt.group_by(col(CareTask.state))).all()
    return {TaskState(state).value: int(n) for state, n in rows}


def external_references(
    session: Session, *, incident_id: int, organisation_id: int | None
) -> set[str]:
    """The external references already used in an incident by one organisation (or staff)."""
    stmt = select(CareTask.external_reference).where(
        col(CareTask.incident_id) == incident_id,
        col(CareTask.external_reference).is_not(None),
    )
    if organisation_id is None:
        stmt = stmt.where(col(CareTask.organisation_id).is_(None))
    else:
        stmt = stmt.where(col(CareTask.organisation_id) == organisation_id)
    return {ref for ref in session.exec(stmt).all() if ref}


def insert_tasks(session: Session, rows: list[dict[str, Any]]) -> None:
    """Insert many tasks with one prepared statement (executemany).

    No RETURNING: on PostgreSQL that turns the batch into one huge multi-row statement whose
    parameters cost more to bind than the insert itself. Imports read the ids back with
    :func:`task_ids_of_import`.
    """
    if rows:
        session.execute(insert(CareTask), rows)


def task_ids_of_import(session: Session, import_id: int) -> list[int]:
    """The ids of an import's tasks in the order they were inserted."""
    stmt = (
        select(CareTask.id).where(col(CareTask.import_id) == import_id).order_by(col(CareTask.id))
    )
    return [int(i) for i in session.exec(stmt).all() if i is not None]


def insert_audit_events(session: Session, rows: list[dict[str, Any]]) -> None:
    """Append many audit events in one statement (bulk imports)."""
    if rows:
        session.execute(insert(AuditEvent), rows)


def due_for_expiry(session: Session, *, now: datetime, limit: int) -> Sequence[CareTask]:
    """Open or offering tasks whose window has ended, locked (others skip them)."""
    stmt = (
        select(CareTask)
        .where(
            col(CareTask.state).in_([TaskState.OPEN, TaskState.OFFERING]),
            col(CareTask.window_end) <= now,
        )
        .order_by(col(CareTask.id))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return session.exec(stmt).all()


def get_import(session: Session, import_id: int) -> TaskImport | None:
    """One import by id (unscoped)."""
    return session.get(TaskImport, import_id)


def imports_of_incident(
    session: Session, scope: AccessScope, *, incident_id: int, limit: int = 20
) -> Sequence[TaskImport]:
    """The latest imports into an incident that the scope reaches."""
    stmt = scope.filter_by_region(select(TaskImport), col(TaskImport.vr_code))
    stmt = scope.filter_organisation(stmt, col(TaskImport.organisation_id))
    stmt = stmt.where(col(TaskImport.incident_id) == incident_id)
    return session.exec(stmt.order_by(col(TaskImport.id).desc()).limit(limit)).all()
