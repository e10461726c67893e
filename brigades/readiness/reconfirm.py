"""Re-confirmation: "ben je nog beschikbaar?" every ``ZB_RECONFIRM_INTERVAL_DAYS``.

One round per volunteer (:class:`Reconfirmation`): asked by SMS (a question of kind
RECONFIRMATION, answered with JA/NEE and its code) or, for someone we cannot text, only on their
page ``/mijn``. ``JA`` (or the button on /mijn) confirms; ``NEE`` pauses the volunteer until the
next round would ask; ``STOP`` is the conversation's own opt-out (the round then runs on without
SMS). Without an answer, ``ZB_RECONFIRM_REMINDERS`` reminders follow ``ZB_RECONFIRM_REMINDER_DAYS``
apart, and that long after the last one the volunteer becomes dormant: kept, excluded from
dispatch (only active volunteers are offered tasks), revived by ``BESCHIKBAAR`` or the button on
/mijn. A revival counts as a confirmation.

:func:`run_cycle` is the periodic job's work. It is idempotent (each step selects only what is
due), sends only between 09:00 and 20:00 Amsterdam time and at most ``ZB_RECONFIRM_DAILY_BUDGET``
SMS per Amsterdam day (owed reminders first, then new questions, oldest confirmation first, so a
large sign-up cohort spreads over days), and never asks a volunteer whose region has an open or
closing incident. A round still running when an incident opens in its region is called off at once
(an opening hook, and again by every run while the incident lasts): its question closes, so a bare
JA to a code-zwart offer is never ambiguous, and no reminder or dormancy follows. A new round asks
after the incident.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func
from sqlmodel import Session, col, select

from brigades import clock
from brigades.audit import service as audit
from brigades.audit.service import SYSTEM
from brigades.conversation import outbound
from brigades.conversation import service as questions
from brigades.conversation.models import Question, QuestionKind, QuestionState
from brigades.conversation.registry import AnswerOutcome, register_answer_handler
from brigades.incidents import service as incidents_service
from brigades.incidents.models import Incident, IncidentState
from brigades.readiness import texts
from brigades.readiness.models import (
    RECONFIRMATION_SUBJECT,
    Reconfirmation,
    ReconfirmationChannel,
    ReconfirmationDay,
    ReconfirmationState,
)
from brigades.settings import Settings
from brigades.volunteers.models import PreferredChannel, Volunteer, VolunteerStatus
from notifications.models import Priority
from notifications.replies import ReplyIntent
from notifications.transactions import insert_for

# Answers that count as "heard from the volunteer" when deciding who is due for a new round.
ANSWERED_STATES = (
    ReconfirmationState.CONFIRMED,
    ReconfirmationState.REVIVED,
    ReconfirmationState.DECLINED,
)
# Answers that count as "re-confirmed" in the readiness figures.
CONFIRMING_STATES = (ReconfirmationState.CONFIRMED, ReconfirmationState.REVIVED)
MAX_PAUSE_DAYS = 365
# Web-only rounds opened per run (they cost no SMS, but a run stays bounded).
WEB_BATCH = 1000
# Nobody is asked, reminded or made dormant outside these Amsterdam hours (the job runs hourly;
# a question at 01:00 would wake people and the budget would be spent by night).
SENDING_HOURS = (9, 20)


@dataclass(frozen=True, slots=True)
class CycleReport:
    """What one run did."""

    asked: int
    reminded: int
    dormant: int
    revived: int
    cancelled: int
    sms_sent: int


def busy_regions(session: Session) -> set[str]:
    """Regions with an open or closing incident (drills included): no re-confirmation there."""
    stmt = select(Incident.vr_code).where(
        col(Incident.state).in_([IncidentState.OPEN, IncidentState.CLOSING])
    )
    return set(session.exec(stmt).all())


def _day_counter(session: Session, day: date) -> ReconfirmationDay:
    """The day's counter, locked. Created race-free: two workers starting the day at once both
    insert, one of them waits for the other's row and then takes its lock."""
    session.execute(
        insert_for(session.get_bind().dialect.name, ReconfirmationDay)
        .values(day=day, sms_sent=0)
        .on_conflict_do_nothing(index_elements=["day"])
    )
    return session.exec(
        select(ReconfirmationDay).where(col(ReconfirmationDay.day) == day).with_for_update()
    ).one()


class _Budget:
    def __init__(self, counter: ReconfirmationDay, limit: int) -> None:
        self.counter = counter
        self.limit = limit
        self.sent = 0

    @property
    def left(self) -> int:
        return max(0, self.limit - self.counter.sms_sent)

    def spend(self) -> None:
        self.counter.sms_sent += 1
        self.sent += 1


def _sms_reachable(volunteer: Volunteer) -> bool:
    return outbound.can_send_sms(volunteer) and volunteer.preferred_channel is PreferredChannel.SMS


def _send(
    session: Session,
    volunteer: Volunteer,
    body: str,
    row: Reconfirmation,
    now: datetime,
    settings: Settings,
    budget: _Budget,
) -> bool:
    sent = outbound.send_sms(
        session,
        volunteer=volunteer,
        body=body,
        priority=Priority.REMINDER,
        subject_kind=RECONFIRMATION_SUBJECT,
        subject_id=row.id,
        now=now,
        settings=settings,
    )
    if sent is not None:
        budget.spend()
    return sent is not None


def _code(session: Session, row: Reconfirmation) -> str | None:
    if row.question_id is None:
        return None
    question = session.get(Question, row.question_id)
    return question.code if question is not None else None


def _rounds(
    session: Session, state: ReconfirmationState, *, sent_before: datetime | None = None
) -> list[tuple[Reconfirmation, Volunteer]]:
    stmt = (
        select(Reconfirmation, Volunteer)
        .join(Volunteer, col(Volunteer.id) == col(Reconfirmation.volunteer_id))
        .where(col(Reconfirmation.state) == state)
    )
    if sent_before is not None:
        stmt = stmt.where(col(Reconfirmation.last_sent_at) <= sent_before)
    stmt = stmt.order_by(col(Reconfirmation.last_sent_at), col(Reconfirmation.id))
    return [(r, v) for r, v in session.exec(stmt.with_for_update(of=Reconfirmation)).all()]


def _close_question(
    session: Session, row: Reconfirmation, state: QuestionState, now: datetime
) -> None:
    assert row.id is not None
    questions.close_questions_for_subject(
        session, subject_kind=RECONFIRMATION_SUBJECT, subject_id=row.id, state=state, now=now
    )


def due_volunteers(
    session: Session, *, now: datetime, settings: Settings, skip_regions: set[str], limit: int
) -> list[Volunteer]:
    """Active volunteers not heard from for an interval, without a round running, longest
    silent first."""
    cutoff = now - timedelta(days=settings.reconfirm_interval_days)
    last = (
        select(
            col(Reconfirmation.volunteer_id).label("volunteer_id"),
            func.max(Reconfirmation.answered_at).label("at"),
        )
        .where(col(Reconfirmation.state).in_(ANSWERED_STATES))
        .group_by(col(Reconfirmation.volunteer_id))
        .subquery()
    )
    running = select(Reconfirmation.volunteer_id).where(
        col(Reconfirmation.state) == ReconfirmationState.ASKED
    )
    heard = func.coalesce(last.c.at, Volunteer.phone_verified_at)
    stmt = (
        select(Volunteer)
        .outerjoin(last, last.c.volunteer_id == Volunteer.id)
        .where(
            col(Volunteer.status) == VolunteerStatus.ACTIVE,
            col(Volunteer.phone_verified_at).is_not(None),
            col(Volunteer.erased_at).is_(None),
            col(Volunteer.synthetic).is_(False),
            col(Volunteer.id).not_in(running),
            heard <= cutoff,
        )
    )
    if skip_regions:
        stmt = stmt.where(
            (col(Volunteer.vr_code).is_(None)) | col(Volunteer.vr_code).not_in(sorted(skip_regions))
        )
    stmt = stmt.order_by(heard, col(Volunteer.id)).limit(limit)
    return list(session.exec(stmt).all())


def run_cycle(session: Session, *, now: datetime, settings: Settings) -> CycleReport:
    """One run of the re-confirmation job (see the module doc)."""
    budget = _Budget(
        _day_counter(session, clock.local(now).date()), settings.reconfirm_daily_budget
    )
    busy = busy_regions(session)
    revived = _revive(session, now)
    cancelled = _cancel_stale(session, now) + call_off(session, vr_codes=busy, now=now)
    if not SENDING_HOURS[0] <= clock.local(now).hour < SENDING_HOURS[1]:
        session.flush()
        return CycleReport(0, 0, 0, revived, cancelled, 0)
    dormant = _make_dormant(session, now=now, settings=settings, busy=busy, budget=budget)
    reminded = _remind(session, now=now, settings=settings, busy=busy, budget=budget)
    asked = _ask(session, now=now, settings=settings, busy=busy, budget=budget)
    session.flush()
    return CycleReport(
        asked=asked,
        reminded=reminded,
        dormant=dormant,
        revived=revived,
        cancelled=cancelled,
        sms_sent=budget.sent,
    )


def _revive(session: Session, now: datetime) -> int:
    """Dormant rounds whose volunteer came back (BESCHIKBAAR, /mijn) count as confirmed now."""
    count = 0
    for row, volunteer in _rounds(session, ReconfirmationState.DORMANT):
        if volunteer.status in (VolunteerStatus.ACTIVE, VolunteerStatus.PAUSED):
            row.state = ReconfirmationState.REVIVED
            row.answered_at = now
            session.add(row)
            count += 1
    return count


def _cancel_stale(session: Session, now: datetime) -> int:
    """Rounds of volunteers who paused, went dormant otherwise or left: nothing to ask now."""
    count = 0
    for row, volunteer in _rounds(session, ReconfirmationState.ASKED):
        if volunteer.status is VolunteerStatus.ACTIVE:
            continue
        row.state = ReconfirmationState.CANCELLED
        session.add(row)
        _close_question(session, row, QuestionState.CLOSED, now)
        count += 1
    return count


def call_off(session: Session, *, vr_codes: set[str], now: datetime) -> int:
    """Call off the running rounds of volunteers in these regions (an incident there)."""
    if not vr_codes:
        return 0
    count = 0
    for row, volunteer in _rounds(session, ReconfirmationState.ASKED):
        if volunteer.vr_code not in vr_codes:
            continue
        row.state = ReconfirmationState.CANCELLED
        session.add(row)
        _close_question(session, row, QuestionState.CLOSED, now)
        count += 1
    return count


def _on_incident_opened(session: Session, incident: Incident, now: datetime) -> None:
    call_off(session, vr_codes={incident.vr_code}, now=now)


incidents_service.register_on_opening(_on_incident_opened)


def _make_dormant(
    session: Session, *, now: datetime, settings: Settings, busy: set[str], budget: _Budget
) -> int:
    deadline = now - timedelta(days=settings.reconfirm_reminder_days)
    count = 0
    for row, volunteer in _rounds(session, ReconfirmationState.ASKED, sent_before=deadline):
        if row.reminders_sent < settings.reconfirm_reminders or volunteer.vr_code in busy:
            continue
        row.state = ReconfirmationState.DORMANT
        session.add(row)
        _close_question(session, row, QuestionState.EXPIRED, now)
        volunteer.status = VolunteerStatus.DORMANT
        volunteer.updated_at = now
        session.add(volunteer)
        audit.record(
            session,
            actor=SYSTEM,
            action="readiness.dormant",
            object_kind="volunteer",
            object_id=volunteer.id,
            vr_code=volunteer.vr_code,
            detail={"reconfirmation_id": row.id, "reminders": row.reminders_sent},
            now=now,
        )
        if row.by_sms and budget.left > 0 and _sms_reachable(volunteer):
            _send(session, volunteer, texts.RECONFIRM_DORMANT, row, now, settings, budget)
        count += 1
    return count


def _remind(
    session: Session, *, now: datetime, settings: Settings, busy: set[str], budget: _Budget
) -> int:
    due = now - timedelta(days=settings.reconfirm_reminder_days)
    count = 0
    for row, volunteer in _rounds(session, ReconfirmationState.ASKED, sent_before=due):
        if row.reminders_sent >= settings.reconfirm_reminders or volunteer.vr_code in busy:
            continue
        code = _code(session, row)
        if row.by_sms and code is not None and _sms_reachable(volunteer):
            if budget.left <= 0:
                continue  # owed: first in line tomorrow
            body = texts.RECONFIRM_REMINDER.format(code=code)
            _send(session, volunteer, body, row, now, settings, budget)
        row.reminders_sent += 1
        row.last_sent_at = now
        session.add(row)
        count += 1
    return count


def _ask(
    session: Session, *, now: datetime, settings: Settings, busy: set[str], budget: _Budget
) -> int:
    count = 0
    candidates = due_volunteers(
        session, now=now, settings=settings, skip_regions=busy, limit=budget.left + WEB_BATCH
    )
    web_left = WEB_BATCH
    for volunteer in candidates:
        assert volunteer.id is not None
        by_sms = _sms_reachable(volunteer)
        if by_sms and budget.left <= 0:
            continue
        if not by_sms:
            if web_left <= 0:
                continue
            web_left -= 1
        row = Reconfirmation(
            volunteer_id=volunteer.id,
            vr_code=volunteer.vr_code,
            state=ReconfirmationState.ASKED,
            interval_days=settings.reconfirm_interval_days,
            by_sms=by_sms,
            asked_at=now,
            last_sent_at=now,
        )
        session.add(row)
        session.flush()
        assert row.id is not None
        if by_sms:
            question = questions.open_question(
                session,
                volunteer_id=volunteer.id,
                kind=QuestionKind.RECONFIRMATION,
                subject_kind=RECONFIRMATION_SUBJECT,
                subject_id=row.id,
                drill=False,
                expires_at=None,
                now=now,
            )
            row.question_id = question.id
            url = settings.public_url.rstrip("/") + "/mijn"
            body = texts.RECONFIRM_ASK.format(code=question.code, url=url)
            _send(session, volunteer, body, row, now, settings, budget)
        count += 1
    return count


# --- Answers ------------------------------------------------------------------------------------


def pause_end(row: Reconfirmation) -> datetime:
    """Where a NEE pauses until: the start of the day the next round would ask."""
    days = min(row.interval_days, MAX_PAUSE_DAYS)
    day = clock.local(clock.as_utc(row.asked_at)).date() + timedelta(days=days)
    return datetime.combine(day, datetime.min.time(), tzinfo=clock.AMSTERDAM)


def confirm(
    session: Session, *, row: Reconfirmation, channel: ReconfirmationChannel, now: datetime
) -> None:
    """Record a yes."""
    row.state = ReconfirmationState.CONFIRMED
    row.answered_at = now
    row.channel = channel
    session.add(row)


def decline(
    session: Session, *, row: Reconfirmation, volunteer: Volunteer, now: datetime
) -> datetime:
    """Record a no: the volunteer is paused until the next round; returns the end."""
    row.state = ReconfirmationState.DECLINED
    row.answered_at = now
    row.channel = ReconfirmationChannel.SMS
    session.add(row)
    until = pause_end(row)
    volunteer.status = VolunteerStatus.PAUSED
    volunteer.paused_until = until
    volunteer.updated_at = now
    session.add(volunteer)
    return until


def _answer(
    session: Session, question: Question, intent: ReplyIntent, now: datetime, _settings: Settings
) -> AnswerOutcome:
    row = session.get(Reconfirmation, question.subject_id)
    volunteer = session.get(Volunteer, question.volunteer_id)
    if row is None or volunteer is None or row.state is not ReconfirmationState.ASKED:
        return AnswerOutcome(reply_text=texts.RECONFIRM_ALREADY, outcome="reconfirm_stale")
    if intent is ReplyIntent.YES:
        confirm(session, row=row, channel=ReconfirmationChannel.SMS, now=now)
        return AnswerOutcome(reply_text=texts.RECONFIRM_YES, outcome="reconfirmed")
    until = decline(session, row=row, volunteer=volunteer, now=now)
    return AnswerOutcome(
        reply_text=texts.RECONFIRM_NO.format(date=clock.local(until).strftime("%d-%m-%Y")),
        outcome="reconfirm_declined",
    )


register_answer_handler(QuestionKind.RECONFIRMATION, _answer, label="bevestiging")


# --- The volunteer's page -----------------------------------------------------------------------


def open_round(session: Session, *, volunteer_id: int) -> Reconfirmation | None:
    """The volunteer's running round, if any."""
    stmt = select(Reconfirmation).where(
        col(Reconfirmation.volunteer_id) == volunteer_id,
        col(Reconfirmation.state) == ReconfirmationState.ASKED,
    )
    return session.exec(stmt).first()


def last_confirmed_at(session: Session, *, volunteer: Volunteer) -> datetime | None:
    """When the volunteer last told us they are available (sign-up counts)."""
    stmt = select(func.max(Reconfirmation.answered_at)).where(
        col(Reconfirmation.volunteer_id) == volunteer.id,
        col(Reconfirmation.state).in_(CONFIRMING_STATES),
    )
    found = session.exec(stmt).one()
    moments = [m for m in (found, volunteer.phone_verified_at) if m is not None]
    return max(clock.as_utc(m) for m in moments) if moments else None


def confirm_on_web(
    session: Session, *, volunteer: Volunteer, now: datetime, settings: Settings
) -> None:
    """The button on /mijn: still available (answers a running round, revives a dormant one)."""
    assert volunteer.id is not None
    row = open_round(session, volunteer_id=volunteer.id)
    if row is None:
        row = Reconfirmation(
            volunteer_id=volunteer.id,
            vr_code=volunteer.vr_code,
            interval_days=settings.reconfirm_interval_days,
            by_sms=False,
            asked_at=now,
            last_sent_at=now,
        )
        session.add(row)
        session.flush()
    else:
        _close_question(session, row, QuestionState.CLOSED, now)
    confirm(session, row=row, channel=ReconfirmationChannel.WEB, now=now)
    if volunteer.status is VolunteerStatus.DORMANT:
        volunteer.status = VolunteerStatus.ACTIVE
        volunteer.paused_until = None
        volunteer.updated_at = now
        session.add(volunteer)
    session.flush()
