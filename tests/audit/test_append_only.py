"""The audit log is append-only, enforced by the database itself (migration 0003)."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from brigades import clock, migrate
from brigades.audit import service as audit
from brigades.audit.models import AuditEvent
from brigades.clock import ManualClock
from brigades.db import make_engine
from tests.conftest import Databases


def _event(session: Session) -> AuditEvent:
    event = audit.record(
        session,
        actor=audit.SYSTEM,
        action="incident.opened",
        object_kind="incident",
        object_id=7,
        vr_code="VR09",
        detail={"level": 2},
        now=clock.now(),
    )
    session.flush()
    return event


def _refused(session: Session, sql: str, **params: object) -> None:
    with pytest.raises(DBAPIError, match="append-only"), session.begin_nested():
        session.execute(text(sql), params)


def test_an_update_through_sql_fails(session: Session, clock: ManualClock) -> None:
    event = _event(session)
    _refused(
        session, "UPDATE audit_event SET action = 'incident.closed' WHERE id = :id", id=event.id
    )
    _refused(session, "UPDATE audit_event SET detail = '{}'")
    session.expire_all()
    assert session.get(AuditEvent, event.id) is not None
    action = session.execute(text("SELECT action FROM audit_event")).scalar_one()
    assert action == "incident.opened"


def test_a_delete_through_sql_fails(session: Session, clock: ManualClock) -> None:
    event = _event(session)
    _refused(session, "DELETE FROM audit_event WHERE id = :id", id=event.id)
    _refused(session, "DELETE FROM audit_event")
    assert session.execute(text("SELECT count(*) FROM audit_event")).scalar_one() == 1


def test_the_orm_cannot_change_an_event_either(session: Session, clock: ManualClock) -> None:
    event = _event(session)
    with pytest.raises(DBAPIError, match="append-only"), session.begin_nested():
        event.action = "incident.closed"
        session.add(event)
        session.flush()


@pytest.mark.postgres_only
def test_truncate_fails_on_postgresql(session: Session, clock: ManualClock) -> None:
    _event(session)
    _refused(session, "TRUNCATE audit_event")


def test_the_migration_adds_and_removes_the_triggers(databases: Databases) -> None:
    engine = make_engine(databases.empty())
    insert = (
        "INSERT INTO audit_event (at, actor_label, action, object_kind, detail) "
        "VALUES (:at, 'test', 'x.y', 'x', '{}')"
    )
    try:
        migrate.upgrade(engine, "0002")
        with engine.begin() as conn:
            conn.execute(text(insert), {"at": clock.now().replace(tzinfo=None)})
            conn.execute(text("UPDATE audit_event SET action = 'x.z'"))  # no trigger yet
        migrate.upgrade(engine)
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(text("UPDATE audit_event SET action = 'x.w'"))
        migrate.downgrade(engine, "0002")
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM audit_event"))
        migrate.upgrade(engine)
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(text(insert), {"at": clock.now().replace(tzinfo=None)})
            conn.execute(text("DELETE FROM audit_event"))
    finally:
        engine.dispose()
