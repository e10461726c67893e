"""Questions to volunteers: opening them with a short code, closing and expiring them.

Every message that asks something opens a question with a 4-digit code, unique among that
volunteer's open questions (the partial unique index ``uq_question_open_code`` enforces it; a
concurrent transaction that took the same code makes us pick another). A code is also kept
away from the volunteer's questions of the last :data:`CODE_REUSE_DAYS` days, so that a late
"JA 4821" meant for an expired question can never answer a new question that got 4821.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from brigades.conversation import repository
from brigades.conversation.models import Question, QuestionKind, QuestionState
from brigades.conversation.registry import (
    AnswerHandler,
    AnswerHandlerRegistry,
    AnswerOutcome,
    default_registry,
    register_answer_handler,
)

log = logging.getLogger(__name__)

CODE_REUSE_DAYS = 30
_CODE_SPACE = 10_000
# Keep at least half the code space free for new picks, however many questions a volunteer had.
_MAX_EXCLUDED = _CODE_SPACE // 2
_MAX_ATTEMPTS = 20

# The one table of allowed transitions of a question.
TRANSITIONS: dict[QuestionState, frozenset[QuestionState]] = {
    QuestionState.OPEN: frozenset(
        {QuestionState.ANSWERED, QuestionState.EXPIRED, QuestionState.CLOSED}
    ),
    QuestionState.ANSWERED: frozenset(),
    QuestionState.EXPIRED: frozenset(),
    QuestionState.CLOSED: frozenset(),
}

__all__ = [
    "CODE_REUSE_DAYS",
    "TRANSITIONS",
    "AnswerHandler",
    "AnswerHandlerRegistry",
    "AnswerOutcome",
    "QuestionSpec",
    "close_questions_for_subject",
    "default_registry",
    "expire_due",
    "mark_answered",
    "mark_expired",
    "open_question",
    "open_questions",
    "open_questions_many",
    "register_answer_handler",
]


class QuestionCodeExhausted(RuntimeError):
    """No free code after many attempts: a bug or an absurd number of open questions."""


def _pick_code(excluded: set[str]) -> str:
    while True:
        code = f"{secrets.randbelow(_CODE_SPACE):04d}"
        # 0000 looks like a placeholder and invites typos; never hand it out.
        if code != "0000" and code not in excluded:
            return code


def open_question(
    session: Session,
    *,
    volunteer_id: int,
    kind: QuestionKind,
    subject_kind: str,
    subject_id: int,
    drill: bool,
    expires_at: datetime | None,
    now: datetime,
) -> Question:
    """Open a question for a volunteer with a fresh 4-digit code (flushed, so it has an id)."""
    excluded = repository.codes_opened_since(
        session, volunteer_id=volunteer_id, since=now - timedelta(days=CODE_REUSE_DAYS)
    )
    if len(excluded) > _MAX_EXCLUDED:
        excluded = repository.open_codes(session, volunteer_id=volunteer_id)
    excluded.add("0000")
    for _ in range(_MAX_ATTEMPTS):
        code = _pick_code(excluded)
        question = Question(
            volunteer_id=volunteer_id,
            code=code,
            kind=kind,
            subject_kind=subject_kind,
            subject_id=subject_id,
            drill=drill,
            state=QuestionState.OPEN,
            opened_at=now,
            expires_at=expires_at,
        )
        try:
            # A savepoint, so a code taken by a concurrent transaction costs only this insert.
            with session.begin_nested():
                session.add(question)
                session.flush()
        except IntegrityError:
            log.info("question code collision for volunteer %s; picking another", volunteer_id)
            excluded.add(code)
            continue
        return question
    raise QuestionCodeExhausted(f"no free question code for volunteer {volunteer_id}")


@dataclass(frozen=True, slots=True)
class QuestionSpec:
    """One question to open with :func:`open_questions_many`."""

    volunteer_id: int
    kind: QuestionKind
    subject_kind: str
    subject_id: int
    drill: bool
    expires_at: datetime | None


def open_questions_many(
    session: Session, *, specs: Sequence[QuestionSpec], now: datetime
) -> list[Question]:
    """Open many questions at once (a wave, a roll-call batch): one query for the codes in use,
    one insert. Same rules as :func:`open_question`; if a concurrent transaction took one of the
    codes, the batch falls back to opening them one by one. Returned in the order given."""
    if not specs:
        return []
    since = now - timedelta(days=CODE_REUSE_DAYS)
    used = repository.codes_opened_since_many(
        session, volunteer_ids=[s.volunteer_id for s in specs], since=since
    )
    batch: list[Question] = []
    for spec in specs:
        excluded = used[spec.volunteer_id]
        if len(excluded) > _MAX_EXCLUDED:
            excluded = repository.open_codes(session, volunteer_id=spec.volunteer_id)
            used[spec.volunteer_id] = excluded
        excluded.add("0000")
        code = _pick_code(excluded)
        excluded.add(code)  # a second question to the same volunteer gets another code
        batch.append(
            Question(
                volunteer_id=spec.volunteer_id,
                code=code,
                kind=spec.kind,
                subject_kind=spec.subject_kind,
                subject_id=spec.subject_id,
                drill=spec.drill,
                state=QuestionState.OPEN,
                opened_at=now,
                expires_at=spec.expires_at,
            )
        )
    try:
        with session.begin_nested():
            session.add_all(batch)
            session.flush()
    except IntegrityError:
        log.info("question code collision in a batch of %s; opening one by one", len(batch))
        for question in batch:
            if question in session:
                session.expunge(question)
        return [
            open_question(
                session,
                volunteer_id=spec.volunteer_id,
                kind=spec.kind,
                subject_kind=spec.subject_kind,
                subject_id=spec.subject_id,
                drill=spec.drill,
                expires_at=spec.expires_at,
                now=now,
            )
            for spec in specs
        ]
    return batch


def _transition(question: Question, to: QuestionState) -> None:
    if to not in TRANSITIONS[question.state]:
        raise ValueError(
            f"question {question.id}: {question.state.value} -> {to.value} not allowed"
        )
    question.state = to


def mark_answered(session: Session, question: Question, *, answer: str, now: datetime) -> None:
    """Record the answer to an open question."""
    _transition(question, QuestionState.ANSWERED)
    question.answer = answer[:24]
    question.answered_at = now
    session.add(question)


def mark_expired(session: Session, question: Question, *, now: datetime) -> None:
    """Expire one open question (its expiry passed before the periodic job got to it)."""
    _transition(question, QuestionState.EXPIRED)
    question.closed_at = now
    session.add(question)


def close_questions_for_subject(
    session: Session,
    *,
    subject_kind: str,
    subject_id: int,
    state: QuestionState = QuestionState.CLOSED,
    now: datetime,
) -> int:
    """End every open question about a subject (CLOSED or EXPIRED); returns how many."""
    if state not in (QuestionState.CLOSED, QuestionState.EXPIRED):
        raise ValueError("questions about a subject are closed or expired, not answered")
    questions = repository.open_questions_for_subject(
        session, subject_kind=subject_kind, subject_id=subject_id
    )
    for question in questions:
        _transition(question, state)
        question.closed_at = now
        session.add(question)
    session.flush()
    return len(questions)


def expire_due(session: Session, *, now: datetime) -> int:
    """Expire every open question whose ``expires_at`` has passed; returns how many."""
    return repository.expire_open_questions(session, now=now)


def open_questions(session: Session, *, volunteer_id: int) -> Sequence[Question]:
    """A volunteer's open questions, oldest first."""
    return repository.open_questions(session, volunteer_id=volunteer_id)
