"""Recording and reading the audit log. Every domain records through :func:`record`.

Usage, in a service, in the same transaction as the change it describes::

    from brigades.audit import service as audit
    audit.record(session, actor=actor, action="incident.opened", object_kind="incident",
                 object_id=incident.id, vr_code=incident.vr_code, detail={"level": 2}, now=now)

``actor`` is an :class:`Actor`: ``brigades.accounts.service.actor_for(user)`` for a signed-in
user, or :data:`SYSTEM` / :data:`CLI`. ``detail`` must not contain personal data: ids and
codes, never names, phone numbers or addresses.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session

from brigades.audit import repository
from brigades.audit.models import AuditEvent

ACTION_PATTERN = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$")
MAX_PAGE = 200


@dataclass(frozen=True, slots=True)
class Actor:
    """Who did it: a user (by id, with a label as it was at the time) or a named process."""

    user_id: int | None
    label: str


SYSTEM = Actor(user_id=None, label="systeem")
CLI = Actor(user_id=None, label="beheer via de opdrachtregel")
ANONYMOUS = Actor(user_id=None, label="anoniem")


def record(
    session: Session,
    *,
    actor: Actor,
    action: str,
    object_kind: str,
    object_id: int | str | None = None,
    vr_code: str | None = None,
    detail: Mapping[str, Any] | None = None,
    now: datetime,
) -> AuditEvent:
    """Append one event in the caller's transaction (a rollback drops it with the change)."""
    if not ACTION_PATTERN.fullmatch(action) or len(action) > 64:
        raise ValueError(f"an audit action is dotted lower case, like 'incident.opened': {action}")
    event = AuditEvent(
        at=now,
        actor_user_id=actor.user_id,
        actor_label=actor.label[:120],
        action=action,
        object_kind=object_kind,
        object_id=None if object_id is None else str(object_id),
        vr_code=vr_code,
        detail=dict(detail or {}),
    )
    session.add(event)
    return event


@dataclass(frozen=True, slots=True)
class AuditFilter:
    """What to look for; every field given narrows the search. ``action`` ending in ``*`` is a
    prefix (``"auth.*"``)."""

    object_kind: str | None = None
    object_id: str | None = None
    actor_user_id: int | None = None
    action: str | None = None
    vr_code: str | None = None


@dataclass(frozen=True, slots=True)
class AuditPage:
    """Newest first; ``next_before`` is the cursor for the next (older) page, if any."""

    events: Sequence[AuditEvent]
    next_before: int | None


def search(
    session: Session, *, filters: AuditFilter, before: int | None = None, limit: int = 50
) -> AuditPage:
    """One page of events matching the filters, newest first (keyset pagination on the id)."""
    limit = max(1, min(limit, MAX_PAGE))
    rows = repository.search(
        session,
        object_kind=filters.object_kind,
        object_id=filters.object_id,
        actor_user_id=filters.actor_user_id,
        action=filters.action,
        vr_code=filters.vr_code,
        before=before,
        limit=limit + 1,
    )
    more = len(rows) > limit
    events = rows[:limit]
    return AuditPage(events=events, next_before=events[-1].id if more and events else None)


def events_for(session: Session, *, object_kind: str, object_id: int | str) -> Sequence[AuditEvent]:
    """Every event about one object, oldest first (a timeline)."""
    return repository.for_object(session, object_kind=object_kind, object_id=str(object_id))
