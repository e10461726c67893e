"""Availability roll-calls: "Kun je de komende 72 uur helpen?" to every volunteer of an area.

A coordinator of the incident's region starts a roll-call (:func:`start`); that only writes the
:class:`RollCall` row. The worker's job (:func:`send_batches`) then sends it in batches of
:data:`BATCH` volunteers per transaction, in volunteer-id order, keeping its place in
``roll_call.last_volunteer_id`` — written in the same transaction as the batch's questions and
outbox rows, so a crash repeats nothing and loses nothing, and a second worker waits for the
row lock and continues after the first. A volunteer who already has a question of this
roll-call is skipped, so nobody is ever asked twice. The outbox sends roll-calls after offers
(priority), at the sender's rate; :func:`preview` tells the coordinator beforehand how many
messages that is and how long the rate needs for them.

Answers (``JA``/``NEE`` with the code) close the question with the answer; the dispatcher reads
them while the roll-call is open and has not ended (``repository.roll_call_answers``): JA ranks
first, NEE is not offered anything. Closing a roll-call early ends both.

Who gets it: verified, active (or a pause that ended), not erased, with a number and not opted
out of SMS, living in the incident's region, and for a gemeenten area in one of its gemeenten
(by the stored gemeente code, exact), for a drawn polygon inside it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from sqlalchemy import Engine, func, or_
from sqlalchemy.sql import ColumnElement
from sqlmodel import Session, col, select

from brigades import clock
from brigades.accounts.models import Role
from brigades.accounts.scope import NOT_FOUND, AccessScope
from brigades.audit import service as audit
from brigades.audit.service import Actor
from brigades.conversation import outbound
from brigades.conversation import service as questions
from brigades.conversation.models import Question, QuestionKind, QuestionState
from brigades.conversation.registry import AnswerOutcome, register_answer_handler
from brigades.db import session_scope
from brigades.dispatch import formatting
from brigades.dispatch.models import ROLL_CALL_OBJECT, RollCall, RollCallState
from brigades.dispatch.repository import ROLL_CALL_SUBJECT
from brigades.errors import Conflict, Forbidden, InvalidInput, NotFound
from brigades.incidents import service as incidents
from brigades.incidents.models import AreaKind, Incident, IncidentKind, IncidentState
from brigades.settings import Settings
from brigades.volunteers.models import Volunteer, VolunteerStatus
from notifications.models import Priority
from notifications.replies import ReplyIntent
from notifications.segments import count_segments
from notifications.texts import drill_text

log = logging.getLogger(__name__)

DEFAULT_HOURS = 72
MAX_HOURS = 168
# Volunteers per transaction. Opening a question costs a few milliseconds (its code is kept away
# from the volunteer's recent codes; 4-9 ms measured), so a batch takes a second or two. One run
# of the job sends batches for at most RUN_BUDGET_SECONDS, because the scheduler runs every
# periodic job on one thread and the dispatcher's waves must not wait long. That still queues
# far faster than a sender sends (one to ten messages a second).
BATCH = 200
RUN_BUDGET_SECONDS = 2.0

SessionFactory = Callable[[], AbstractContextManager[Session]]

STATE_LABELS_NL = {"open": "Loopt", "ended": "Afgelopen", "closed": "Gesloten"}


# --- texts ------------------------------------------------------------------------------------


def question_text(hours: int, code: str) -> str:
    """The roll-call SMS (one GSM-7 segment, also with the OEFENING prefix; tested)."""
    return (
        f"Zorgbrigade: kun je de komende {hours} uur helpen als er taken zijn? "
        f"Antwoord JA {code} of NEE {code}. Dit is nog geen taak."
    )


def _until(moment: datetime) -> str:
    local = clock.local(moment)
    return f"{formatting.WEEKDAYS_NL[local.weekday()]} {local:%d-%m %H:%M}"


def yes_reply(ends_at: datetime) -> str:
    """The reply to JA."""
    return (
        f"Dank je! Je staat tot {_until(ends_at)} als beschikbaar genoteerd. "
        "Is er een taak voor je, dan krijg je een bericht."
    )


def no_reply(ends_at: datetime) -> str:
    """The reply to NEE."""
    return f"Dank je voor je antwoord. Tot {_until(ends_at)} vragen we je niet voor taken."


CLOSED_REPLY = "Dank je! Deze oproep is al afgesloten; je hoeft niets te doen."


def duration_nl(seconds: float) -> str:
    """'55 uur en 33 minuten', '3 minuten', 'minder dan een minuut'."""
    if seconds < 60:
        return "minder dan een minuut"
    hours, minutes = divmod(round(seconds / 60), 60)
    parts = []
    if hours:
        parts.append(f"{hours} uur")
    if minutes:
        parts.append("1 minuut" if minutes == 1 else f"{minutes} minuten")
    return " en ".join(parts)


def rate_nl(per_second: float) -> str:
    """'1 sms per seconde', '2,5 sms per seconde'."""
    shown = f"{per_second:g}".replace(".", ",")
    return f"{shown} sms per seconde"


# --- who is asked -----------------------------------------------------------------------------


def _recipient_filters(
    incident: Incident, gm_codes: Sequence[str], now: datetime
) -> list[ColumnElement[bool]]:
    filters: list[ColumnElement[bool]] = [
        col(Volunteer.vr_code) == incident.vr_code,
        col(Volunteer.phone).is_not(None),
        col(Volunteer.phone_verified_at).is_not(None),
        col(Volunteer.erased_at).is_(None),
        col(Volunteer.sms_opted_out).is_(False),
        or_(
            col(Volunteer.status) == VolunteerStatus.ACTIVE,
            (col(Volunteer.status) == VolunteerStatus.PAUSED)
            & (col(Volunteer.paused_until) <= now),
        ),
    ]
    if incident.area_kind is AreaKind.GEMEENTEN:
        filters.append(col(Volunteer.gm_code).in_(list(gm_codes)))
    elif incident.area_kind is AreaKind.POLYGON:
        filters.append(col(Volunteer.lat).is_not(None))
        filters.append(col(Volunteer.lon).is_not(None))
    return filters


def _gm_codes(session: Session, incident: Incident) -> list[str]:
    if incident.area_kind is AreaKind.GEMEENTEN:
        return incidents.gemeenten(session, incident)
    return []


def count_recipients(session: Session, *, incident: Incident, now: datetime) -> int:
    """How many volunteers a roll-call for the incident's area would be sent to now."""
    filters = _recipient_filters(incident, _gm_codes(session, incident), now)
    if incident.area_kind is not AreaKind.POLYGON:
        stmt = select(func.count()).select_from(Volunteer).where(*filters)
        return int(session.exec(stmt).one())
    points = session.exec(select(Volunteer.lat, Volunteer.lon).where(*filters)).all()
    return sum(
        1
        for lat, lon in points
        if lat is not None and lon is not None and incidents.area_contains(incident, lat, lon)
    )


@dataclass(frozen=True, slots=True)
class Preview:
    """What sending a roll-call means: how many messages and how long the sender needs."""

    recipients: int
    segments: int
    per_second: float
    seconds: float
    hours: int
    sample: str

    @property
    def messages_text(self) -> str:
        """'200.000 berichten'."""
        plural = "" if self.recipients == 1 else "en"
        return f"{formatting.thousands(self.recipients)} bericht{plural}"

    @property
    def duration_text(self) -> str:
        """'55 uur en 33 minuten'."""
        return duration_nl(self.seconds)

    @property
    def rate_text(self) -> str:
        """'1 sms per seconde'."""
        return rate_nl(self.per_second)

    @property
    def longer_than_roll_call(self) -> bool:
        """Whether sending takes longer than the roll-call runs."""
        return self.seconds > self.hours * 3600


def preview(
    session: Session, *, incident: Incident, hours: int, settings: Settings, now: datetime
) -> Preview:
    """How many messages a roll-call is and how long the configured sender rate needs."""
    from brigades.runtime import sender_limit

    hours = check_hours(hours)
    sample = question_text(hours, "1234")
    if incident.kind is IncidentKind.DRILL:
        sample = drill_text(sample)
    segments = count_segments(sample).segments
    recipients = count_recipients(session, incident=incident, now=now)
    per_second = sender_limit(settings).per_second
    return Preview(
        recipients=recipients,
        segments=segments,
        per_second=per_second,
        seconds=recipients * segments / per_second,
        hours=hours,
        sample=sample,
    )


def check_hours(hours: int) -> int:
    """A roll-call runs 1 to 168 hours."""
    if not isinstance(hours, int) or not 1 <= hours <= MAX_HOURS:
        raise InvalidInput(f"Kies een duur van 1 tot {MAX_HOURS} uur.", field="hours")
    return hours


# --- starting and closing ---------------------------------------------------------------------


def require_may_run(scope: AccessScope, incident: Incident) -> None:
    """Only those who run the incident (drill leads: drills) send or close roll-calls."""
    scope.require_write()
    if scope.role not in incidents.RUNNING_ROLES:
        raise Forbidden("Alleen coördinatoren van het incident kunnen dit doen.")
    if scope.role is Role.DRILL_LEAD and incident.kind is not IncidentKind.DRILL:
        raise Forbidden("Een oefenleider kan dit alleen bij oefeningen doen.")
    scope.require_region(incident.vr_code)


def running(session: Session, *, incident_id: int, now: datetime) -> RollCall | None:
    """The incident's roll-call that is open and has not ended, if any."""
    stmt = select(RollCall).where(
        col(RollCall.incident_id) == incident_id,
        col(RollCall.state) == RollCallState.OPEN,
        col(RollCall.ends_at) > now,
    )
    return session.exec(stmt).first()


def start(
    session: Session,
    *,
    scope: AccessScope,
    actor: Actor,
    incident: Incident,
    hours: int,
    now: datetime,
) -> RollCall:
    """Start a roll-call (the worker sends it); one running roll-call per incident."""
    require_may_run(scope, incident)
    hours = check_hours(hours)
    assert incident.id is not None
    if incident.state is not IncidentState.OPEN:
        raise Conflict("Een oproep kan alleen bij een open incident.")
    if running(session, incident_id=incident.id, now=now) is not None:
        raise Conflict("Er loopt al een oproep voor dit incident; sluit die eerst.")
    roll_call = RollCall(
        incident_id=incident.id,
        vr_code=incident.vr_code,
        state=RollCallState.OPEN,
        hours=hours,
        recipients=count_recipients(session, incident=incident, now=now),
        drill=incident.kind is IncidentKind.DRILL,
        created_by_user_id=scope.user_id,
        opened_at=now,
        ends_at=now + timedelta(hours=hours),
    )
    session.add(roll_call)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="roll_call.started",
        object_kind=ROLL_CALL_OBJECT,
        object_id=roll_call.id,
        vr_code=incident.vr_code,
        detail={
            "incident_id": incident.id,
            "hours": hours,
            "recipients": roll_call.recipients,
        },
        now=now,
    )
    return roll_call


def get(session: Session, *, incident: Incident, roll_call_id: int) -> RollCall:
    """One roll-call of the incident (NotFound for another incident's)."""
    roll_call = session.get(RollCall, roll_call_id)
    if roll_call is None or roll_call.incident_id != incident.id:
        raise NotFound(NOT_FOUND)
    return roll_call


def of_incident(session: Session, incident_id: int) -> Sequence[RollCall]:
    """The incident's roll-calls, newest first."""
    stmt = (
        select(RollCall)
        .where(col(RollCall.incident_id) == incident_id)
        .order_by(col(RollCall.id).desc())
    )
    return session.exec(stmt).all()


def close(
    session: Session,
    *,
    scope: AccessScope,
    actor: Actor,
    incident: Incident,
    roll_call: RollCall,
    now: datetime,
) -> RollCall:
    """Close a roll-call early: no more messages, and its answers stop counting."""
    require_may_run(scope, incident)
    locked = _lock(session, roll_call.id or 0)
    if locked is None or locked.state is RollCallState.CLOSED:
        raise Conflict("Deze oproep is al gesloten.")
    locked.state = RollCallState.CLOSED
    locked.closed_at = now
    if locked.sending_done_at is None:
        locked.sending_done_at = now
    session.add(locked)
    closed = questions.close_questions_for_subject(
        session, subject_kind=ROLL_CALL_SUBJECT, subject_id=locked.id or 0, now=now
    )
    audit.record(
        session,
        actor=actor,
        action="roll_call.closed",
        object_kind=ROLL_CALL_OBJECT,
        object_id=locked.id,
        vr_code=locked.vr_code,
        detail={"incident_id": locked.incident_id, "sent": locked.sent, "unanswered": closed},
        now=now,
    )
    return locked


def close_for_incident(
    session: Session, incident: Incident, now: datetime, _settings: Settings
) -> None:
    """The incident is closing: its open roll-calls close too (an on-closing hook)."""
    assert incident.id is not None
    stmt = select(RollCall.id).where(
        col(RollCall.incident_id) == incident.id, col(RollCall.state) == RollCallState.OPEN
    )
    for roll_call_id in session.exec(stmt).all():
        roll_call = session.get(RollCall, roll_call_id)
        if roll_call is not None:
            close(
                session,
                scope=AccessScope.everything(),
                actor=audit.SYSTEM,
                incident=incident,
                roll_call=roll_call,
                now=now,
            )


def _lock(session: Session, roll_call_id: int) -> RollCall | None:
    stmt = select(RollCall).where(col(RollCall.id) == roll_call_id).with_for_update()
    return session.exec(stmt.execution_options(populate_existing=True)).first()


# --- status -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Status:
    """A roll-call as the coordinator follows it: progress and answers."""

    roll_call: RollCall
    state: str  # open | ended | closed
    yes: int
    no: int

    @property
    def unanswered(self) -> int:
        """Sent, but neither JA nor NEE (yet)."""
        return max(self.roll_call.sent - self.yes - self.no, 0)

    @property
    def sending(self) -> bool:
        """Whether the worker is still sending it."""
        return self.roll_call.sending_done_at is None

    @property
    def state_label(self) -> str:
        """Dutch."""
        return STATE_LABELS_NL[self.state]


def status(session: Session, roll_call: RollCall, *, now: datetime) -> Status:
    """Progress and JA/NEE counts of a roll-call."""
    stmt = (
        select(Question.answer, func.count())
        .where(
            col(Question.subject_kind) == ROLL_CALL_SUBJECT,
            col(Question.subject_id) == roll_call.id,
            col(Question.kind) == QuestionKind.ROLL_CALL,
            col(Question.state) == QuestionState.ANSWERED,
        )
        .group_by(col(Question.answer))
    )
    counts = {answer: n for answer, n in session.exec(stmt).all()}
    if roll_call.state is RollCallState.CLOSED:
        state = "closed"
    elif clock.as_utc(roll_call.ends_at) <= now:
        state = "ended"
    else:
        state = "open"
    return Status(
        roll_call=roll_call,
        state=state,
        yes=counts.get(ReplyIntent.YES.value, 0),
        no=counts.get(ReplyIntent.NO.value, 0),
    )


# --- sending (the worker) ---------------------------------------------------------------------


def sending_ids(session: Session, *, now: datetime) -> list[int]:
    """Roll-calls the worker still has to send (open, not ended, not done)."""
    stmt = (
        select(RollCall.id)
        .where(
            col(RollCall.state) == RollCallState.OPEN,
            col(RollCall.sending_done_at).is_(None),
            col(RollCall.ends_at) > now,
        )
        .order_by(col(RollCall.id))
    )
    return [i for i in session.exec(stmt).all() if i is not None]


def send_batch(
    session: Session, *, roll_call_id: int, settings: Settings, now: datetime, limit: int = BATCH
) -> int:
    """Send the roll-call to the next ``limit`` volunteers; returns how many were asked.

    Runs under the roll-call's row lock, so two workers never send the same batch.
    """
    roll_call = _lock(session, roll_call_id)
    if roll_call is None or roll_call.sending_done_at is not None:
        return 0
    incident = session.get(Incident, roll_call.incident_id)
    if (
        incident is None
        or roll_call.state is not RollCallState.OPEN
        or clock.as_utc(roll_call.ends_at) <= now
        or incident.state is not IncidentState.OPEN
    ):
        roll_call.sending_done_at = now
        session.add(roll_call)
        session.flush()
        return 0
    filters = _recipient_filters(incident, _gm_codes(session, incident), now)
    stmt = (
        select(Volunteer)
        .where(col(Volunteer.id) > roll_call.last_volunteer_id, *filters)
        .order_by(col(Volunteer.id))
        .limit(limit)
    )
    batch = list(session.exec(stmt).all())
    ids = [v.id for v in batch if v.id is not None]
    asked_before = set(
        session.exec(
            select(Question.volunteer_id).where(
                col(Question.subject_kind) == ROLL_CALL_SUBJECT,
                col(Question.subject_id) == roll_call_id,
                col(Question.volunteer_id).in_(ids),
            )
        ).all()
    )
    polygon = incident.area_kind is AreaKind.POLYGON
    recipients = [
        volunteer
        for volunteer in batch
        if volunteer.id not in asked_before
        and (
            not polygon
            or (
                volunteer.lat is not None
                and volunteer.lon is not None
                and incidents.area_contains(incident, volunteer.lat, volunteer.lon)
            )
        )
    ]
    opened = questions.open_questions_many(
        session,
        specs=[
            questions.QuestionSpec(
                volunteer_id=volunteer.id or 0,
                kind=QuestionKind.ROLL_CALL,
                subject_kind=ROLL_CALL_SUBJECT,
                subject_id=roll_call_id,
                drill=roll_call.drill,
                expires_at=roll_call.ends_at,
            )
            for volunteer in recipients
        ],
        now=now,
    )
    for volunteer, question in zip(recipients, opened, strict=True):
        outbound.send_sms(
            session,
            volunteer=volunteer,
            body=question_text(roll_call.hours, question.code),
            priority=Priority.ROLL_CALL,
            subject_kind=ROLL_CALL_SUBJECT,
            subject_id=roll_call_id,
            drill=roll_call.drill,
            now=now,
            settings=settings,
        )
    asked = len(recipients)
    if ids:
        roll_call.last_volunteer_id = ids[-1]
    roll_call.sent += asked
    if len(batch) < limit:
        roll_call.sending_done_at = now
        log.info("roll-call %s sent to %s volunteers", roll_call_id, roll_call.sent)
    session.add(roll_call)
    session.flush()
    return asked


def run_sending(
    sessions: SessionFactory,
    settings: Settings,
    *,
    budget_seconds: float = RUN_BUDGET_SECONDS,
    limit: int = BATCH,
) -> int:
    """Batches of the roll-calls being sent, one transaction each, for about ``budget_seconds``
    (at least one batch per run)."""
    now = clock.now()
    started = time.monotonic()
    with sessions() as session:
        due = sending_ids(session, now=now)
    asked = 0
    for roll_call_id in due:
        while True:
            with sessions() as session:
                asked += send_batch(
                    session, roll_call_id=roll_call_id, settings=settings, now=now, limit=limit
                )
                done = _done(session, roll_call_id)
            if time.monotonic() - started >= budget_seconds:
                return asked
            if done:
                break
    return asked


def _done(session: Session, roll_call_id: int) -> bool:
    roll_call = session.get(RollCall, roll_call_id)
    return roll_call is None or roll_call.sending_done_at is not None


def send_job(engine: Engine, settings: Settings) -> int:
    """The periodic job: send the next batches of every roll-call being sent."""
    return run_sending(partial(session_scope, engine), settings)


# --- answers ----------------------------------------------------------------------------------


def _answer(
    session: Session, question: Question, intent: ReplyIntent, now: datetime, _settings: Settings
) -> AnswerOutcome:
    roll_call = session.get(RollCall, question.subject_id)
    if (
        roll_call is None
        or roll_call.state is RollCallState.CLOSED
        or clock.as_utc(roll_call.ends_at) <= now
    ):
        return AnswerOutcome(reply_text=CLOSED_REPLY, outcome="roll_call_closed")
    if intent is ReplyIntent.YES:
        return AnswerOutcome(reply_text=yes_reply(roll_call.ends_at), outcome="available")
    return AnswerOutcome(reply_text=no_reply(roll_call.ends_at), outcome="not_available")


def register() -> None:
    """Register the roll-call's answer handler and incident-closing hook (idempotent)."""
    from brigades.conversation.registry import default_registry

    if default_registry.get(QuestionKind.ROLL_CALL) is None:
        register_answer_handler(
            QuestionKind.ROLL_CALL, _answer, intents=(ReplyIntent.YES, ReplyIntent.NO)
        )
    incidents.register_on_closing(close_for_incident)


register()
