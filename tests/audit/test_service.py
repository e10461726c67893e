"""Recording and searching the audit log."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session

from brigades.audit import service as audit
from brigades.audit.service import Actor, AuditFilter
from brigades.clock import ManualClock


def _record(session: Session, clock: ManualClock, action: str, **fields: object) -> None:
    values: dict[str, object] = {
        "actor": Actor(user_id=3, label="coordinator@vr09.example"),
        "object_kind": "volunteer",
        "object_id": 11,
        "vr_code": "VR09",
    }
    values.update(fields)
    audit.record(session, action=action, now=clock.now(), **values)  # type: ignore[arg-type]
    clock.advance(1)


def test_an_event_keeps_who_what_which_and_when(session: Session, clock: ManualClock) -> None:
    event = audit.record(
        session,
        actor=Actor(user_id=3, label="coordinator@vr09.example"),
        action="volunteer.contact_viewed",
        object_kind="volunteer",
        object_id=11,
        vr_code="VR09",
        detail={"fields": ["phone"], "reason": "dispatch"},
        now=clock.now(),
    )
    session.flush()
    session.expire_all()
    (found,) = audit.events_for(session, object_kind="volunteer", object_id=11)
    assert found.id == event.id
    assert (found.actor_user_id, found.actor_label, found.action) == (
        3,
        "coordinator@vr09.example",
        "volunteer.contact_viewed",
    )
    assert (found.object_id, found.vr_code, found.at) == ("11", "VR09", clock.now())
    assert found.detail == {"fields": ["phone"], "reason": "dispatch"}


@pytest.mark.parametrize("action", ["opened", "Incident.Opened", "incident.", ".x", "a b.c"])
def test_actions_are_dotted_lower_case(session: Session, clock: ManualClock, action: str) -> None:
    with pytest.raises(ValueError):
        audit.record(session, actor=audit.SYSTEM, action=action, object_kind="x", now=clock.now())


def test_search_filters_and_pages_newest_first(session: Session, clock: ManualClock) -> None:
    for i in range(5):
        _record(session, clock, "volunteer.contact_viewed", object_id=i)
    _record(session, clock, "incident.opened", object_kind="incident", vr_code="VR13")
    _record(session, clock, "auth.login", actor=audit.SYSTEM, object_kind="user")
    session.flush()

    first = audit.search(session, filters=AuditFilter(object_kind="volunteer"), limit=3)
    assert [e.object_id for e in first.events] == ["4", "3", "2"]
    assert first.next_before is not None
    second = audit.search(
        session, filters=AuditFilter(object_kind="volunteer"), before=first.next_before, limit=3
    )
    assert [e.object_id for e in second.events] == ["1", "0"]
    assert second.next_before is None

    assert [
        e.action for e in audit.search(session, filters=AuditFilter(vr_code="VR13")).events
    ] == ["incident.opened"]
    by_actor = audit.search(session, filters=AuditFilter(actor_user_id=3)).events
    assert len(by_actor) == 6
    prefix = audit.search(session, filters=AuditFilter(action="auth.*")).events
    assert [e.action for e in prefix] == ["auth.login"]
    exact = audit.search(session, filters=AuditFilter(action="volunteer.contact_viewed")).events
    assert len(exact) == 5
    assert clock.now() - timedelta(seconds=7) == min(e.at for e in by_actor)
