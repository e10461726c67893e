"""The coordinators' inbox: volunteers' SMS texts that matched no word and the problems they
reported from their personal page, per buurtsteunpunt; marking them handled and replying
(through the outbox).

Reach: a text by its sender's region and buurtsteunpunt; a problem report by its incident's
region and, for a buurtsteunpunt coordinator, the reporter's buurtsteunpunt (another
buurtsteunpunt's reports are personal matters of people they do not coordinate).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from sqlmodel import Session

from brigades.accounts.scope import NOT_FOUND, AccessScope
from brigades.audit import service as audit
from brigades.audit.service import Actor
from brigades.conversation import outbound
from brigades.conversation.models import InboxItem, InboxItemState
from brigades.dashboard import repository
from brigades.dispatch.coordination import ALERT_OBJECT
from brigades.dispatch.models import DispatchAlert
from brigades.errors import Conflict, InvalidInput, NotFound
from brigades.incidents.models import Incident, IncidentKind
from brigades.settings import Settings
from brigades.volunteers.models import Volunteer
from notifications.models import Priority

INBOX_OBJECT = "inbox_item"
MAX_REPLY = 320
MAX_ITEMS = 300
REPLY_SUBJECT = "inbox_reply"
ALREADY_HANDLED = "Dit bericht is al afgehandeld."
PROBLEM_ALREADY_HANDLED = "Deze melding is al afgehandeld."
NO_REPORTER = "Bij deze melding hoort geen vrijwilliger meer om te antwoorden."
CANNOT_TEXT = "Deze vrijwilliger kan geen sms ontvangen (afgemeld of gegevens verwijderd)."


@dataclass(frozen=True, slots=True)
class ProblemReport:
    """A problem a volunteer reported on an assignment, with its incident."""

    alert: DispatchAlert
    incident: Incident
    volunteer: Volunteer | None


@dataclass(frozen=True, slots=True)
class InboxGroup:
    """The open texts and problem reports of one buurtsteunpunt (or of volunteers without one)."""

    support_point_id: int | None
    name: str
    items: list[tuple[InboxItem, Volunteer]] = field(default_factory=list)
    problems: list[ProblemReport] = field(default_factory=list)


def groups(session: Session, *, scope: AccessScope) -> list[InboxGroup]:
    """Open texts and problem reports in reach, grouped per buurtsteunpunt (newest first)."""
    rows = repository.inbox(session, scope, limit=MAX_ITEMS)
    reports = [
        ProblemReport(alert, incident, volunteer)
        for alert, incident, volunteer in repository.problem_alerts(session, scope, limit=MAX_ITEMS)
    ]
    grouped: dict[int | None, InboxGroup] = {}

    def group_of(point_id: int | None) -> InboxGroup:
        return grouped.setdefault(point_id, InboxGroup(point_id, ""))

    for item, volunteer in rows:
        group_of(item.support_point_id).items.append((item, volunteer))
    for report in reports:
        point_id = report.volunteer.support_point_id if report.volunteer else None
        group_of(point_id).problems.append(report)
    names = repository.support_point_names(session, {p for p in grouped if p is not None})

    def label(point_id: int | None) -> str:
        return "Zonder buurtsteunpunt" if point_id is None else names.get(point_id, "")

    found = [replace(g, name=label(g.support_point_id)) for g in grouped.values()]
    return sorted(found, key=lambda g: (g.support_point_id is None, g.name.casefold()))


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
    body = _check_reply(text)
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


# --- problem reports ----------------------------------------------------------------------------


def get_problem(session: Session, *, scope: AccessScope, alert_id: int) -> ProblemReport:
    """One problem report the caller reaches (404 otherwise, also for other kinds of alert)."""
    found = repository.problem_alert(session, alert_id)
    if found is None:
        raise NotFound(NOT_FOUND)
    alert, incident, volunteer = found
    scope.require_region(alert.vr_code)
    if not scope.covers_support_point(volunteer.support_point_id if volunteer else None):
        raise NotFound(NOT_FOUND)
    return ProblemReport(alert, incident, volunteer)


def _check_reply(text: str) -> str:
    body = " ".join(text.split())
    if not body:
        raise InvalidInput("Schrijf een antwoord.", field="reply")
    if len(body) > MAX_REPLY:
        raise InvalidInput(f"Een antwoord is hoogstens {MAX_REPLY} tekens.", field="reply")
    return body


def handle_problem(
    session: Session,
    *,
    actor: Actor,
    scope: AccessScope,
    report: ProblemReport,
    now: datetime,
) -> DispatchAlert:
    """Mark a problem report handled (it leaves the incident's open alerts too). Audited."""
    scope.require_write()
    alert = report.alert
    if alert.acknowledged_at is not None:
        raise Conflict(PROBLEM_ALREADY_HANDLED)
    alert.acknowledged_at = now
    alert.acknowledged_by_user_id = scope.user_id
    session.add(alert)
    audit.record(
        session,
        actor=actor,
        action="problem_report.handled",
        object_kind=ALERT_OBJECT,
        object_id=alert.id,
        vr_code=alert.vr_code,
        detail={"incident_id": alert.incident_id},
        now=now,
    )
    return alert


def reply_problem(
    session: Session,
    *,
    actor: Actor,
    scope: AccessScope,
    report: ProblemReport,
    text: str,
    now: datetime,
    settings: Settings,
) -> DispatchAlert:
    """Text the reporter back (through the outbox; OEFENING in a drill) and mark the report
    handled. Audited."""
    scope.require_write()
    body = _check_reply(text)
    if report.alert.acknowledged_at is not None:
        raise Conflict(PROBLEM_ALREADY_HANDLED)
    if report.volunteer is None:
        raise Conflict(NO_REPORTER)
    message = outbound.send_sms(
        session,
        volunteer=report.volunteer,
        body=body,
        priority=Priority.NOTICE,
        subject_kind=repository.PROBLEM_REPLY_SUBJECT,
        subject_id=report.alert.id,
        drill=report.incident.kind is IncidentKind.DRILL,
        now=now,
        settings=settings,
    )
    if message is None:
        raise Conflict(CANNOT_TEXT)
    audit.record(
        session,
        actor=actor,
        action="problem_report.replied",
        object_kind=ALERT_OBJECT,
        object_id=report.alert.id,
        vr_code=report.alert.vr_code,
        # As for texts: the reply is about a person and stays in the outbox, not in the log.
        detail={"incident_id": report.alert.incident_id, "message_id": message.id},
        now=now,
    )
    return handle_problem(session, actor=actor, scope=scope, report=report, now=now)
