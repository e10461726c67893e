"""Answers to offers, and the life of an assignment: by SMS and on the web, one code path.

**Atomic filling.** An acceptance locks the task row first and the volunteer row second (always
in that order, so two acceptances never deadlock), then counts the live assignments: the first
n acceptances of an n-slot task get a slot, later ones get "al vervuld, dank je wel". The
volunteer lock makes one volunteer's acceptances of two overlapping tasks take turns, and the
second finds the first. On PostgreSQL these are ``SELECT … FOR UPDATE`` row locks; on SQLite
every transaction starts with ``BEGIN IMMEDIATE``, which serialises them all.

When the last slot fills, the task's other pending offers are withdrawn. Their questions stay
open until the offer would have expired, so a late "JA" still finds its offer and gets the kind
"al vervuld" reply instead of "onbekende code".

The SMS words (DESIGN.md, SMS conversation): an offer question takes ``JA``/``NEE``; the
acceptance opens an *assignment* question that takes ``AANGEKOMEN``, ``KLAAR`` and
``AFZEGGEN``. The personal page calls the same functions. In a live drill nobody travels: a JA
gets a thank-you that says so (OEFENING, no address, nothing to answer), and the drill ends the
practised assignment itself (:mod:`brigades.drills.jobs`).
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session

from brigades import clock
from brigades.audit import service as audit
from brigades.audit.service import Actor
from brigades.conversation import outbound
from brigades.conversation import service as questions
from brigades.conversation.models import Question, QuestionKind, QuestionState
from brigades.conversation.registry import AnswerOutcome, register_answer_handler
from brigades.dispatch import eligibility, messages, repository, service, texts, volunteer_view
from brigades.dispatch.models import AlertKind
from brigades.incidents import service as incidents
from brigades.incidents.models import Incident, IncidentKind
from brigades.settings import Settings
from brigades.tasks import transitions
from brigades.tasks.models import (
    Assignment,
    AssignmentState,
    CareTask,
    Offer,
    OfferState,
    TaskState,
    TaskType,
)
from brigades.tasks.states import LIVE_ASSIGNMENT_STATES, LIVE_TASK_STATES
from brigades.volunteers.models import Volunteer
from notifications.failures import register_failure_handler
from notifications.models import OutboxMessage, Priority
from notifications.replies import ReplyIntent

log = logging.getLogger(__name__)

# An assignment question stays open this long after the task's window (for a late KLAAR).
ASSIGNMENT_QUESTION_GRACE = timedelta(hours=12)


class Outcome(enum.StrEnum):
    """What an answer came to (stored on the inbound message; shown on the personal page)."""

    ACCEPTED = "accepted"
    TOO_LATE = "too_late"
    NOT_NEEDED = "not_needed"
    EXPIRED = "expired"
    BUSY = "busy"
    DECLINED = "declined"
    ALREADY_ANSWERED = "already_answered"
    CHECKED_IN = "checked_in"
    DONE = "done"
    CANCELLED = "cancelled"
    NOT_LIVE = "not_live"


@dataclass(frozen=True, slots=True)
class Answer:
    """The result of an answer: the outcome and the Dutch text for the volunteer."""

    outcome: Outcome
    text: str
    assignment_id: int | None = None
    # A live drill's acceptance: nobody goes (the page says so instead of showing an address).
    drill: bool = False


def volunteer_actor(volunteer_id: int, via: str) -> Actor:
    """The audit actor for a volunteer's own answer (by id: no name in the log)."""
    return Actor(user_id=None, label=f"vrijwilliger {volunteer_id} ({via})")


# --- offers -----------------------------------------------------------------------------------


def accept(
    session: Session, *, offer_id: int, via: str, settings: Settings, now: datetime
) -> Answer:
    """Accept an offer: a slot if one is free and the volunteer is free, else a kind no."""
    locked = _lock_offer_and_task(session, offer_id)
    if locked is None:
        return Answer(Outcome.NOT_NEEDED, texts.NO_LONGER_NEEDED)
    offer, task = locked
    actor = volunteer_actor(offer.volunteer_id, via)
    early = _not_pending(session, offer, task, now=now)
    if early is not None:
        return early
    if task.state not in LIVE_TASK_STATES or task.window_end <= now:
        transitions.transition_offer(session, offer, OfferState.WITHDRAWN, actor=actor, now=now)
        return Answer(Outcome.NOT_NEEDED, texts.NO_LONGER_NEEDED)
    if service.open_slots(session, task) == 0:
        transitions.transition_offer(session, offer, OfferState.TOO_LATE, actor=actor, now=now)
        return Answer(Outcome.TOO_LATE, texts.ALREADY_FILLED)
    volunteer = repository.lock_volunteer(session, offer.volunteer_id)
    assert volunteer is not None
    rest = timedelta(minutes=settings.dispatch_rest_minutes)
    incident = session.get(Incident, task.incident_id)
    scope = eligibility.cap_scope(session, incident) if incident else eligibility.CapScope.ALL
    if eligibility.has_overlapping_assignment(
        session, volunteer_id=offer.volunteer_id, task=task, rest=rest, scope=scope
    ):
        transitions.transition_offer(session, offer, OfferState.WITHDRAWN, actor=actor, now=now)
        service.mark_due(session, task_id=task.id or 0, now=now)
        return Answer(Outcome.BUSY, texts.ALREADY_BUSY)
    transitions.transition_offer(session, offer, OfferState.ACCEPTED, actor=actor, now=now)
    assignment = Assignment(
        task_id=offer.task_id,
        volunteer_id=offer.volunteer_id,
        offer_id=offer.id,
        state=AssignmentState.ASSIGNED,
        assigned_at=now,
        state_changed_at=now,
    )
    session.add(assignment)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="assignment.assigned",
        object_kind="assignment",
        object_id=assignment.id,
        vr_code=task.vr_code,
        detail={"task_id": task.id, "offer_id": offer.id, "via": via},
        now=now,
    )
    if service.open_slots(session, task) == 0:
        _filled(session, task, actor=actor, now=now)
    drill = incident is not None and incident.kind is IncidentKind.DRILL
    _send_details(
        session,
        task=task,
        volunteer=volunteer,
        assignment=assignment,
        drill=drill,
        settings=settings,
        now=now,
    )
    return Answer(
        Outcome.ACCEPTED, texts.DETAILS_ON_THE_WAY, assignment_id=assignment.id, drill=drill
    )


def _lock_offer_and_task(session: Session, offer_id: int) -> tuple[Offer, CareTask] | None:
    """The offer and its task, locked task first (the order every path keeps); None if gone."""
    probe = session.get(Offer, offer_id)
    if probe is None:
        return None
    task = repository.lock_task(session, probe.task_id)
    offer = repository.lock_offer(session, offer_id)
    if task is None or offer is None:
        return None
    return offer, task


def _not_pending(session: Session, offer: Offer, task: CareTask, *, now: datetime) -> Answer | None:
    """The answer to an offer that is no longer pending (or just expired), else None."""
    if offer.state is OfferState.PENDING and offer.expires_at <= now:
        transitions.transition_offer(
            session, offer, OfferState.EXPIRED, actor=audit.SYSTEM, now=now
        )
        service.mark_due(session, task_id=offer.task_id, now=now)
        return Answer(Outcome.EXPIRED, texts.OFFER_EXPIRED)
    if offer.state is OfferState.PENDING:
        return None
    if offer.state is OfferState.WITHDRAWN:
        if task.state in (TaskState.FILLED, TaskState.IN_PROGRESS, TaskState.DONE):
            return Answer(Outcome.TOO_LATE, texts.ALREADY_FILLED)
        return Answer(Outcome.NOT_NEEDED, texts.NO_LONGER_NEEDED)
    if offer.state is OfferState.EXPIRED:
        return Answer(Outcome.EXPIRED, texts.OFFER_EXPIRED)
    if offer.state is OfferState.TOO_LATE:
        return Answer(Outcome.TOO_LATE, texts.ALREADY_FILLED)
    return Answer(Outcome.ALREADY_ANSWERED, texts.ALREADY_ANSWERED)


def decline(
    session: Session, *, offer_id: int, via: str, settings: Settings, now: datetime
) -> Answer:
    """Decline an offer; the task's next wave is due."""
    locked = _lock_offer_and_task(session, offer_id)
    if locked is None:
        return Answer(Outcome.NOT_NEEDED, texts.NO_LONGER_NEEDED)
    offer, task = locked
    early = _not_pending(session, offer, task, now=now)
    if early is not None:
        # A NEE to a filled or withdrawn offer changes nothing; thank them all the same.
        if early.outcome in (Outcome.TOO_LATE, Outcome.NOT_NEEDED, Outcome.EXPIRED):
            return Answer(early.outcome, texts.DECLINED)
        return early
    actor = volunteer_actor(offer.volunteer_id, via)
    transitions.transition_offer(session, offer, OfferState.DECLINED, actor=actor, now=now)
    service.mark_due(session, task_id=offer.task_id, now=now)
    return Answer(Outcome.DECLINED, texts.DECLINED)


def _filled(session: Session, task: CareTask, *, actor: Actor, now: datetime) -> None:
    """The last slot is taken: the task is filled and its other pending offers withdrawn."""
    assert task.id is not None
    if task.state in (TaskState.OPEN, TaskState.UNFILLABLE):
        transitions.transition(session, task, TaskState.OFFERING, actor=actor, now=now)
    if task.state is TaskState.OFFERING:
        transitions.transition(session, task, TaskState.FILLED, actor=actor, now=now)
    for other in repository.pending_offers(session, task.id):
        transitions.transition_offer(
            session, other, OfferState.WITHDRAWN, actor=audit.SYSTEM, now=now
        )
    dispatch = repository.dispatch_of(session, task.id)
    if dispatch is not None:
        dispatch.due_at = None
        session.add(dispatch)


def _send_details(
    session: Session,
    *,
    task: CareTask,
    volunteer: Volunteer,
    assignment: Assignment,
    drill: bool,
    settings: Settings,
    now: datetime,
) -> None:
    assert assignment.id is not None
    task_type = session.get(TaskType, task.type_code)
    type_name = task_type.name_nl if task_type else task.type_code
    if drill:
        # Nobody travels in a drill: no address, no check-in, nothing left to answer.
        outbound.send_sms(
            session,
            volunteer=volunteer,
            body=texts.drill_accepted(
                type_name=type_name, start=task.window_start, end=task.window_end
            ),
            priority=Priority.OFFER,
            subject_kind=repository.ASSIGNMENT_SUBJECT,
            subject_id=assignment.id,
            drill=True,
            now=now,
            settings=settings,
        )
        return
    question = questions.open_question(
        session,
        volunteer_id=volunteer.id or 0,
        kind=QuestionKind.ASSIGNMENT,
        subject_kind=repository.ASSIGNMENT_SUBJECT,
        subject_id=assignment.id,
        drill=drill,
        expires_at=clock.as_utc(task.window_end) + ASSIGNMENT_QUESTION_GRACE,
        now=now,
    )
    outbound.send_sms(
        session,
        volunteer=volunteer,
        body=texts.details(
            type_name=type_name,
            start=task.window_start,
            end=task.window_end,
            address=volunteer_view.address_of(task),
            contact=task.contact_instructions,
            code=question.code,
        ),
        priority=Priority.OFFER,
        subject_kind=repository.ASSIGNMENT_SUBJECT,
        subject_id=assignment.id,
        drill=drill,
        now=now,
        settings=settings,
    )


# --- assignments ------------------------------------------------------------------------------


def check_in(session: Session, *, assignment_id: int, via: str, now: datetime) -> Answer:
    """The volunteer arrived: the assignment is checked in and the task in progress."""
    assignment, task = _locked_assignment(session, assignment_id)
    if assignment is None or task is None or assignment.state is not AssignmentState.ASSIGNED:
        if assignment is not None and assignment.state is AssignmentState.CHECKED_IN:
            return Answer(Outcome.CHECKED_IN, texts.checked_in(_code_of(session, assignment)))
        return Answer(Outcome.NOT_LIVE, texts.NOT_LIVE)
    actor = volunteer_actor(assignment.volunteer_id, via)
    transitions.transition_assignment(
        session, assignment, AssignmentState.CHECKED_IN, actor=actor, now=now
    )
    if task.state is TaskState.FILLED:
        transitions.transition(session, task, TaskState.IN_PROGRESS, actor=actor, now=now)
    return Answer(
        Outcome.CHECKED_IN, texts.checked_in(_code_of(session, assignment)), assignment.id
    )


def finish(session: Session, *, assignment_id: int, via: str, now: datetime) -> Answer:
    """The volunteer is done; the task is done when its last live assignment is."""
    assignment, task = _locked_assignment(session, assignment_id)
    if assignment is None or task is None or assignment.state not in LIVE_ASSIGNMENT_STATES:
        return Answer(Outcome.NOT_LIVE, texts.NOT_LIVE)
    actor = volunteer_actor(assignment.volunteer_id, via)
    if assignment.state is AssignmentState.ASSIGNED:
        transitions.transition_assignment(
            session, assignment, AssignmentState.CHECKED_IN, actor=actor, now=now
        )
    transitions.transition_assignment(
        session, assignment, AssignmentState.DONE, actor=actor, now=now
    )
    assert task.id is not None
    if (
        not repository.live_assignments(session, task.id)
        and service.open_slots(session, task) == task.slots
    ):
        if task.state is TaskState.FILLED:
            transitions.transition(session, task, TaskState.IN_PROGRESS, actor=actor, now=now)
        if task.state is TaskState.IN_PROGRESS:
            transitions.transition(session, task, TaskState.DONE, actor=actor, now=now)
    return Answer(Outcome.DONE, texts.DONE, assignment.id)


def cancel(session: Session, *, assignment_id: int, via: str, now: datetime) -> Answer:
    """The volunteer cannot come after all: the slot reopens and the next wave is due."""
    assignment, task = _locked_assignment(session, assignment_id)
    if assignment is None or task is None or assignment.state not in LIVE_ASSIGNMENT_STATES:
        return Answer(Outcome.NOT_LIVE, texts.NOT_LIVE)
    actor = volunteer_actor(assignment.volunteer_id, via)
    transitions.transition_assignment(
        session,
        assignment,
        AssignmentState.CANCELLED,
        actor=actor,
        cancelled_by="volunteer",
        now=now,
    )
    questions.close_questions_for_subject(
        session, subject_kind=repository.ASSIGNMENT_SUBJECT, subject_id=assignment_id, now=now
    )
    assert task.id is not None
    if task.state in (TaskState.FILLED, TaskState.IN_PROGRESS) and task.window_end > now:
        transitions.transition(session, task, TaskState.OFFERING, actor=actor, now=now)
        service.mark_due(session, task_id=task.id, now=now)
    service.raise_alert(
        session,
        task=task,
        kind=AlertKind.CANCELLED_BY_VOLUNTEER,
        message=messages.cancelled_alert(task.id),
        assignment_id=assignment.id,
        now=now,
    )
    return Answer(Outcome.CANCELLED, texts.CANCELLED, assignment.id)


def report_problem(
    session: Session, *, assignment_id: int, volunteer_id: int, text: str, now: datetime
) -> None:
    """A problem reported on the personal page goes to the incident's coordinators."""
    assignment = session.get(Assignment, assignment_id)
    if assignment is None or assignment.volunteer_id != volunteer_id:
        return
    task = session.get(CareTask, assignment.task_id)
    assert task is not None and task.id is not None
    cleaned = " ".join(text.split())[:250]
    service.raise_alert(
        session,
        task=task,
        kind=AlertKind.PROBLEM,
        message=f"Taak {task.id}: {cleaned}",
        assignment_id=assignment_id,
        now=now,
    )


def _locked_assignment(
    session: Session, assignment_id: int
) -> tuple[Assignment | None, CareTask | None]:
    probe = session.get(Assignment, assignment_id)
    if probe is None:
        return None, None
    task = repository.lock_task(session, probe.task_id)
    session.refresh(probe)
    return probe, task


def _code_of(session: Session, assignment: Assignment) -> str:
    from brigades.conversation import repository as conversation_repository

    assert assignment.id is not None
    open_ = conversation_repository.open_questions_for_subject(
        session, subject_kind=repository.ASSIGNMENT_SUBJECT, subject_id=assignment.id
    )
    return open_[0].code if open_ else ""


# --- timers, failures and stand-down ----------------------------------------------------------


def expire_offer(session: Session, *, offer_id: int, now: datetime) -> bool:
    """Expire one pending offer whose time passed; the next wave is due. False if it was not."""
    locked = _lock_offer_and_task(session, offer_id)
    if locked is None or locked[0].state is not OfferState.PENDING:
        return False
    offer = locked[0]
    if offer.expires_at > now:
        return False
    transitions.transition_offer(session, offer, OfferState.EXPIRED, actor=audit.SYSTEM, now=now)
    questions.close_questions_for_subject(
        session,
        subject_kind=repository.OFFER_SUBJECT,
        subject_id=offer_id,
        state=QuestionState.EXPIRED,
        now=now,
    )
    service.mark_due(session, task_id=offer.task_id, now=now)
    return True


def offer_failed(session: Session, offer_id: int, message: OutboxMessage) -> None:
    """The offer's SMS failed for good: the offer fails and the next wave is due."""
    now = clock.now()
    locked = _lock_offer_and_task(session, offer_id)
    if locked is None or locked[0].state is not OfferState.PENDING:
        return
    offer = locked[0]
    transitions.transition_offer(session, offer, OfferState.FAILED, actor=audit.SYSTEM, now=now)
    questions.close_questions_for_subject(
        session, subject_kind=repository.OFFER_SUBJECT, subject_id=offer_id, now=now
    )
    service.mark_due(session, task_id=offer.task_id, now=now)
    log.info(
        "offer %s failed (provider error %s); next wave due", offer_id, message.provider_error_code
    )


def stand_down(session: Session, incident: Incident, now: datetime, settings: Settings) -> None:
    """Incident closing: pending offers are withdrawn and everyone involved is told."""
    assert incident.id is not None
    drill = incident.kind is IncidentKind.DRILL
    for offer, volunteer in repository.pending_offers_of_incident(session, incident.id):
        task = repository.lock_task(session, offer.task_id)
        fresh = repository.lock_offer(session, offer.id or 0)
        if task is None or fresh is None or fresh.state is not OfferState.PENDING:
            continue
        transitions.transition_offer(
            session, fresh, OfferState.WITHDRAWN, actor=audit.SYSTEM, now=now
        )
        questions.close_questions_for_subject(
            session, subject_kind=repository.OFFER_SUBJECT, subject_id=fresh.id or 0, now=now
        )
        outbound.send_sms(
            session,
            volunteer=volunteer,
            body=texts.STAND_DOWN_DRILL if drill else texts.STAND_DOWN_OFFER,
            priority=Priority.NOTICE,
            subject_kind=repository.INCIDENT_SUBJECT,
            subject_id=incident.id,
            drill=drill,
            now=now,
            settings=settings,
        )
    for volunteer in repository.assigned_volunteers(session, incident.id):
        outbound.send_sms(
            session,
            volunteer=volunteer,
            body=texts.STAND_DOWN_DRILL if drill else texts.STAND_DOWN_ASSIGNMENT,
            priority=Priority.NOTICE,
            subject_kind=repository.INCIDENT_SUBJECT,
            subject_id=incident.id,
            drill=drill,
            now=now,
            settings=settings,
        )
    repository.clear_due(session, incident.id)


# --- SMS answers ------------------------------------------------------------------------------


def _offer_answer(
    session: Session, question: Question, intent: ReplyIntent, now: datetime, settings: Settings
) -> AnswerOutcome:
    if intent is ReplyIntent.YES:
        answer = accept(
            session, offer_id=question.subject_id, via="sms", settings=settings, now=now
        )
    else:
        answer = decline(
            session, offer_id=question.subject_id, via="sms", settings=settings, now=now
        )
    # The details of an acceptance go out as their own SMS; the direct reply would repeat them.
    reply = None if answer.outcome is Outcome.ACCEPTED else answer.text
    return AnswerOutcome(reply_text=reply, outcome=answer.outcome.value, priority=Priority.OFFER)


def _assignment_answer(
    session: Session, question: Question, intent: ReplyIntent, now: datetime, _settings: Settings
) -> AnswerOutcome:
    if intent is ReplyIntent.ARRIVED:
        answer = check_in(session, assignment_id=question.subject_id, via="sms", now=now)
        # Keep the question open for KLAAR and AFZEGGEN.
        return AnswerOutcome(
            reply_text=answer.text, close_question=False, outcome=answer.outcome.value
        )
    if intent is ReplyIntent.DONE:
        answer = finish(session, assignment_id=question.subject_id, via="sms", now=now)
    else:
        answer = cancel(session, assignment_id=question.subject_id, via="sms", now=now)
    return AnswerOutcome(reply_text=answer.text, outcome=answer.outcome.value)


def register() -> None:
    """Register the dispatcher's answer handlers, failure handler and closing hook (idempotent)."""
    from brigades.conversation.registry import default_registry

    if default_registry.get(QuestionKind.OFFER) is None:
        register_answer_handler(
            QuestionKind.OFFER, _offer_answer, intents=(ReplyIntent.YES, ReplyIntent.NO)
        )
    if default_registry.get(QuestionKind.ASSIGNMENT) is None:
        register_answer_handler(
            QuestionKind.ASSIGNMENT,
            _assignment_answer,
            intents=(ReplyIntent.ARRIVED, ReplyIntent.DONE, ReplyIntent.CANCEL),
        )
    register_failure_handler(repository.OFFER_SUBJECT, offer_failed)
    incidents.register_on_closing(stand_down)


register()
