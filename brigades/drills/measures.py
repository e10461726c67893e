"""The report's measurements that read messages, questions and caps (see :mod:`report`).

Only the drill's own rows are read: its offers, assignments and roll-calls, the outbox messages
about them, the replies to the drill's questions, and the stand-down notices of its incidents.
Every query over many ids is chunked (PostgreSQL takes at most 65,535 parameters).
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlmodel import Session, col, select

from brigades import clock
from brigades.conversation.models import Question, QuestionKind, QuestionState
from brigades.conversation.repository import REPLY_SUBJECT
from brigades.dispatch.eligibility import CapScope, scope_condition
from brigades.dispatch.repository import (
    ASSIGNMENT_SUBJECT,
    INCIDENT_SUBJECT,
    OFFER_SUBJECT,
    ROLL_CALL_SUBJECT,
)
from brigades.incidents.models import Incident
from brigades.tasks.models import Assignment, AssignmentState, CareTask, Offer
from notifications.models import InboundMessage, MessageState, OutboxMessage

CHUNK = 2000
# Messages the outbox is done with: handed to a provider (and maybe delivered or not), or given
# up on. Queued and sending messages are not counted yet.
SENT_STATES = (
    MessageState.SENT,
    MessageState.DELIVERED,
    MessageState.UNDELIVERED,
    MessageState.FAILED,
    MessageState.UNCERTAIN,
)
CONSOLE = "console"


def chunks(values: Sequence[int], size: int = CHUNK) -> list[Sequence[int]]:
    """``values`` in slices of at most ``size``."""
    return [values[i : i + size] for i in range(0, len(values), size)]


@dataclass(frozen=True, slots=True)
class Message:
    """What the report needs of one outbox row."""

    state: MessageState
    provider: str
    body: str

    @property
    def sent(self) -> bool:
        return self.state in SENT_STATES

    @property
    def delivered(self) -> bool:
        # The console (a simulation, development) has no delivery reports: a send is delivered.
        return self.state is MessageState.DELIVERED or (
            self.state is MessageState.SENT and self.provider == CONSOLE
        )


def about(session: Session, kind: str, ids: Sequence[int]) -> list[Message]:
    """The outbox messages about subjects ``kind`` with these ids."""
    found: list[Message] = []
    for chunk in chunks(list(ids)):
        found += [
            Message(MessageState(state), provider, body)
            for state, provider, body in session.exec(
                select(OutboxMessage.state, OutboxMessage.provider, OutboxMessage.body).where(
                    col(OutboxMessage.subject_kind) == kind,
                    col(OutboxMessage.subject_id).in_(chunk),
                )
            )
        ]
    return found


def replies(session: Session, question_ids: Sequence[int]) -> list[Message]:
    """The replies to answers to these questions (``JA``, ``NEE`` … and what we said back)."""
    inbound: list[int] = []
    for chunk in chunks(list(question_ids)):
        inbound += [
            i
            for i in session.exec(
                select(InboundMessage.id).where(col(InboundMessage.question_id).in_(chunk))
            )
            if i is not None
        ]
    return about(session, REPLY_SUBJECT, inbound)


def stand_downs(session: Session, incidents: Iterable[Incident]) -> list[Message]:
    """The stand-down notices of the drill incidents (their subject is the incident)."""
    return about(session, INCIDENT_SUBJECT, [i.id for i in incidents if i.id is not None])


def question_ids(session: Session, kind: str, ids: Sequence[int]) -> list[int]:
    """The questions asked about subjects ``kind`` with these ids."""
    found: list[int] = []
    for chunk in chunks(list(ids)):
        found += [
            i
            for i in session.exec(
                select(Question.id).where(
                    col(Question.subject_kind) == kind, col(Question.subject_id).in_(chunk)
                )
            )
            if i is not None
        ]
    return found


def all_messages(
    session: Session,
    *,
    incidents: Sequence[Incident],
    offers: Sequence[Offer],
    assignment_ids: Sequence[int],
    roll_call_ids: Sequence[int],
) -> list[Message]:
    """Every message of the drill: offers, acceptance texts, roll-calls, replies to the drill's
    questions, and the stand-down notices."""
    offer_ids = [o.id for o in offers if o.id is not None]
    questions = [o.question_id for o in offers if o.question_id is not None]
    questions += question_ids(session, ASSIGNMENT_SUBJECT, assignment_ids)
    questions += question_ids(session, ROLL_CALL_SUBJECT, roll_call_ids)
    return [
        *about(session, OFFER_SUBJECT, offer_ids),
        *about(session, ASSIGNMENT_SUBJECT, assignment_ids),
        *about(session, ROLL_CALL_SUBJECT, roll_call_ids),
        *replies(session, questions),
        *stand_downs(session, incidents),
    ]


# --- roll-calls -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RollCallAnswers:
    """When the drill's roll-call questions were asked and answered."""

    first_answer_minutes: float | None
    median_answer_minutes: float | None
    # [(minutes from the start, asked so far, answered so far)]
    series: list[tuple[float, int, int]]


def roll_call_answers(
    session: Session,
    roll_call_ids: Sequence[int],
    *,
    start: datetime,
    end: datetime,
    step: timedelta,
) -> RollCallAnswers:
    """Time to the first answer (from ``start``), the median time a volunteer took to answer
    (from their question), and the answered share over time."""
    asked: list[datetime] = []
    answered: list[tuple[datetime, datetime]] = []  # (asked, answered)
    for chunk in chunks(list(roll_call_ids)):
        for opened_at, answered_at, state in session.exec(
            select(Question.opened_at, Question.answered_at, Question.state).where(
                col(Question.subject_kind) == ROLL_CALL_SUBJECT,
                col(Question.kind) == QuestionKind.ROLL_CALL,
                col(Question.subject_id).in_(chunk),
            )
        ):
            asked.append(clock.as_utc(opened_at))
            if state is QuestionState.ANSWERED and answered_at is not None:
                answered.append((clock.as_utc(opened_at), clock.as_utc(answered_at)))
    if not asked:
        return RollCallAnswers(None, None, [])
    first = min((at for _, at in answered), default=None)
    delays = [(at - opened).total_seconds() / 60 for opened, at in answered]
    return RollCallAnswers(
        first_answer_minutes=None if first is None else _minutes(first - start),
        median_answer_minutes=round(statistics.median(delays), 1) if delays else None,
        series=_cumulative(sorted(asked), sorted(at for _, at in answered), start, end, step),
    )


def _minutes(span: timedelta) -> float:
    return round(span.total_seconds() / 60, 1)


def _cumulative(
    first: list[datetime], second: list[datetime], start: datetime, end: datetime, step: timedelta
) -> list[tuple[float, int, int]]:
    series: list[tuple[float, int, int]] = []
    moment = start
    i = j = 0
    while True:
        while i < len(first) and first[i] <= moment:
            i += 1
        while j < len(second) and second[j] <= moment:
            j += 1
        series.append((_minutes(moment - start), i, j))
        if moment >= end:
            return series
        moment = min(moment + step, end)


# --- caps ------------------------------------------------------------------------------------


def over_caps(
    session: Session,
    *,
    offers: Sequence[Offer],
    scope: CapScope,
    offers_cap: int,
    assignments_cap: int,
) -> int:
    """The drill's volunteers who, on a day the drill asked them, got more offers or accepted
    more tasks than the caps allow, counted as the dispatcher counts them: in the drill's caps
    scope (every drill; also real incidents when the drill lead chose shared caps)."""
    days: dict[int, set[date]] = {}
    for offer in offers:
        days.setdefault(offer.volunteer_id, set()).add(_day(offer.created_at))
    if not days:
        return 0
    # From the Amsterdam midnight of the first such day (the caps count per Amsterdam day).
    since = datetime.combine(min(min(d) for d in days.values()), time.min, tzinfo=clock.AMSTERDAM)
    people = sorted(days)
    offered: Counter[tuple[int, date]] = Counter()
    accepted: Counter[tuple[int, date]] = Counter()
    for chunk in chunks(people):
        offer_stmt = select(Offer.volunteer_id, Offer.created_at).where(
            col(Offer.volunteer_id).in_(chunk), col(Offer.created_at) >= since
        )
        assignment_stmt = select(Assignment.volunteer_id, Assignment.assigned_at).where(
            col(Assignment.volunteer_id).in_(chunk),
            col(Assignment.assigned_at) >= since,
            col(Assignment.state) != AssignmentState.CANCELLED,
        )
        for volunteer_id, at in session.exec(_in_scope(offer_stmt, Offer.task_id, scope)):
            offered[(volunteer_id, _day(at))] += 1
        for volunteer_id, at in session.exec(_in_scope(assignment_stmt, Assignment.task_id, scope)):
            accepted[(volunteer_id, _day(at))] += 1
    over = {
        volunteer
        for volunteer, asked in days.items()
        for day in asked
        if offered[(volunteer, day)] > offers_cap or accepted[(volunteer, day)] > assignments_cap
    }
    return len(over)


def _day(moment: datetime) -> date:
    return clock.local(clock.as_utc(moment)).date()


def _in_scope(stmt: Any, task_id: Any, scope: CapScope) -> Any:
    if scope is CapScope.ALL:
        return stmt
    return (
        stmt.join(CareTask, col(CareTask.id) == col(task_id))
        .join(Incident, col(Incident.id) == col(CareTask.incident_id))
        .where(scope_condition(scope))
    )
