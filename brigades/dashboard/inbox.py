"""The coordinators' inbox: volunteers' SMS texts that matched no word, per buurtsteunpunt,
and problem reports; marking them handled and replying (through the outbox).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from brigades.accounts.scope import NOT_FOUND, AccessScope
from brigades.audit import service as audit
from brigades.audit.service import Actor
from brigades.conversation import outbound
from brigades.conversation.models import InboxItem, InboxItemState
from brigades.dashboard import repository
from brigades.dispatch.models import DispatchAlert
from brigades.errors import Conflict, InvalidInput, NotFound
from brigades.incidents.models import Incident
from brigades.settings import Settings
from brigades.volunteers.models import Volunteer
from notifications.models import Priority

INBOX_OBJECT = "inbox_item"
MAX_REPLY = 320
MAX_ITEMS = 300
REPLY_SUBJECT = "inbox_reply"
ALREADY_HANDLED = "Dit bericht is al afgehandeld."
CANNOT_TEXT = "Deze vrijwilliger kan geen sms ontvangen (afgemeld of gegevens verwijderd)."


@dataclass(frozen=True, slots=True)
class InboxGroup:
    """The open items of one buurtsteunpunt (or of volunteers without one)."""

    support_point_id: int | None
    name: str
    items: list[tuple[InboxItem, Volunteer]]


def groups(session: Session, *, scope: AccessScope) -> list[InboxGroup]:
    """Open inbox items in reach, grouped per buurtsteunpunt (newest first within a group)."""
    rows = repository.inbox(session, scope, limit=MAX_ITEMS)
    names = repository.support_point_names(
        session, {item.support_point_id for item, _ in rows if item.support_point_id is not None}
    )
    grouped: dict[int | None, list[tuple[InboxItem, Volunteer]]] = {}
    for item, volunteer in rows:
        grouped.setdefault(item.support_point_id, []).append((item, volunteer))
    found = [
        InboxGroup(
            point_id,
            names.get(point_id, "") if point_id is not None else "Zonder buurtsteunpunt",
            items,
        )
        for point_id, items in grouped.items()
    ]
    return sorted(found, key=lambda g: (g.support_point_id is None, g.name.casefold()))


def problems(session: Session, *, scope: AccessScope) -> Sequence[tuple[DispatchAlert, Incident]]:
    """Open problem reports of volunteers in the scope's regions."""
    return repository.problem_alerts(session, scope, limit=MAX_ITEMS)


def get_item(session: Session, *, scope: AccessScope, item_id: int) -> tuple[InboxItem, Volunteer]:
    """One inbox item the caller reaches (404 otherwise)."""
    found = repository.inbox_item(session, item_id)
    if found is None:
        raise NotFound(NOT_FOUND)
    item, volunteer = found
    scope.require_region(volunteer.vr_code)
    if scope.support_point_ids is not None and item.support_point_id not in scope.support_point_ids:
        raise NotFound(NOT_FOUND)
    return item, volunteer


def mark_handled(
    session: Session,
    *,
    actor: Actor,
    scope: AccessScope,
    item: InboxItem,
    volunteer: Volunteer,
    now: datetime,
) -> InboxItem:
    """Mark an item handled (Conflict when it already was). Audited."""
    scope.require_write()
    if item.state is InboxItemState.HANDLED:
        raise Conflict(ALREADY_HANDLED)
    item.state = InboxItemState.HANDLED
    item.handled_at = now
    item.handled_by = actor.label[:100]
    session.add(item)
    audit.record(
        session,
        actor=actor,
        action="inbox.handled",
        object_kind=INBOX_OBJECT,
        object_id=item.id,
        vr_code=volunteer.vr_code,
        now=now,
    )
    return item


def reply(
    session: Session,
    *,
    actor: Actor,
    scope: AccessScope,
    item: InboxItem,
    volunteer: Volunteer,
    text: str,
    now: datetime,
    settings: Settings,
) -> InboxItem:
    """Text the volunteer back (through the outbox) and mark the item handled. Audited."""
    scope.require_write()
    body = " ".join(text.split())
    if not body:
        raise InvalidInput("Schrijf een antwoord.", field="reply")
    if len(body) > MAX_REPLY:
        raise InvalidInput(f"Een antwoord is hoogstens {MAX_REPLY} tekens.", field="reply")
    if item.state is InboxItemState.HANDLED:
        raise Conflict(ALREADY_HANDLED)
    message = outbound.send_sms(
        session,
        volunteer=volunteer,
        body=body,
        priority=Priority.NOTICE,
        subject_kind=REPLY_SUBJECT,
        subject_id=item.id,
        now=now,
        settings=settings,
    )
    if message is None:
        raise Conflict(CANNOT_TEXT)
    audit.record(
        session,
        actor=actor,
        action="inbox.replied",
        object_kind=INBOX_OBJECT,
        object_id=item.id,
        vr_code=volunteer.vr_code,
        # The text itself is free text about a person: it stays in the outbox, not in the log.
        detail={"message_id": message.id},
        now=now,
    )
    return mark_handled(session, actor=actor, scope=scope, item=item, volunteer=volunteer, now=now)
