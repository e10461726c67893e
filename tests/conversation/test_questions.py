"""Opening, closing and expiring questions; their codes."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

import pytest
from sqlalchemy import text
from sqlmodel import Session

from brigades import clock as clock_module
from brigades.conversation import service
from brigades.conversation.models import Question, QuestionKind, QuestionState
from brigades.db import make_engine
from tests.conversation.factories import make_volunteer


def _open(
    session: Session,
    volunteer_id: int,
    now: datetime,
    *,
    subject_id: int = 1,
    expires_in: timedelta | None = None,
) -> Question:
    return service.open_question(
        session,
        volunteer_id=volunteer_id,
        kind=QuestionKind.OFFER,
        subject_kind="offer",
        subject_id=subject_id,
        drill=False,
        expires_at=now + expires_in if expires_in else None,
        now=now,
    )


def test_codes_are_four_digits_and_unique_among_open_questions(
    session: Session, clock: clock_module.ManualClock
) -> None:
    now = clock.now()
    volunteer = make_volunteer(session, now=now)
    assert volunteer.id is not None
    questions = [_open(session, volunteer.id, now, subject_id=i) for i in range(300)]
    codes = [q.code for q in questions]
    assert len(set(codes)) == len(codes)
    assert all(len(c) == 4 and c.isdigit() and c != "0000" for c in codes)
    assert all(q.id is not None and q.state is QuestionState.OPEN for q in questions)


def test_codes_of_recent_questions_are_not_reused(
    session: Session, clock: clock_module.ManualClock
) -> None:
    now = clock.now()
    volunteer = make_volunteer(session, now=now)
    assert volunteer.id is not None
    first = [_open(session, volunteer.id, now, subject_id=i) for i in range(50)]
    for question in first:
        service.close_questions_for_subject(
            session, subject_kind="offer", subject_id=question.subject_id, now=now
        )
    later = [_open(session, volunteer.id, now, subject_id=100 + i) for i in range(200)]
    # A late "JA 1234" for a closed question must never answer a new one with the same code.
    assert not {q.code for q in first} & {q.code for q in later}


def test_same_code_may_be_open_for_two_volunteers(
    session: Session, clock: clock_module.ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = clock.now()
    a = make_volunteer(session, now=now)
    b = make_volunteer(session, now=now)
    assert a.id is not None and b.id is not None
    monkeypatch.setattr(secrets, "randbelow", lambda _n: 4821)
    assert _open(session, a.id, now).code == "4821"
    assert _open(session, b.id, now).code == "4821"


def test_close_questions_for_subject(session: Session, clock: clock_module.ManualClock) -> None:
    now = clock.now()
    a = make_volunteer(session, now=now)
    b = make_volunteer(session, now=now)
    assert a.id is not None and b.id is not None
    qa = _open(session, a.id, now, subject_id=7)
    qb = _open(session, b.id, now, subject_id=7)
    other = _open(session, a.id, now, subject_id=8)
    closed = service.close_questions_for_subject(
        session, subject_kind="offer", subject_id=7, state=QuestionState.CLOSED, now=now
    )
    assert closed == 2
    assert qa.state is QuestionState.CLOSED and qb.state is QuestionState.CLOSED
    assert qa.closed_at == now
    assert other.state is QuestionState.OPEN
    assert (
        service.close_questions_for_subject(session, subject_kind="offer", subject_id=7, now=now)
        == 0
    )
    with pytest.raises(ValueError):
        service.close_questions_for_subject(
            session, subject_kind="offer", subject_id=8, state=QuestionState.ANSWERED, now=now
        )


def test_expire_due(session: Session, clock: clock_module.ManualClock) -> None:
    now = clock.now()
    volunteer = make_volunteer(session, now=now)
    assert volunteer.id is not None
    soon = _open(session, volunteer.id, now, subject_id=1, expires_in=timedelta(minutes=10))
    later = _open(session, volunteer.id, now, subject_id=2, expires_in=timedelta(hours=2))
    never = _open(session, volunteer.id, now, subject_id=3)
    assert service.expire_due(session, now=now) == 0
    assert service.expire_due(session, now=now + timedelta(minutes=10)) == 1
    session.refresh(soon)
    session.refresh(later)
    session.refresh(never)
    assert soon.state is QuestionState.EXPIRED
    assert later.state is QuestionState.OPEN and never.state is QuestionState.OPEN
    assert [q.id for q in service.open_questions(session, volunteer_id=volunteer.id)] == [
        later.id,
        never.id,
    ]


def test_answered_question_cannot_change_again(
    session: Session, clock: clock_module.ManualClock
) -> None:
    now = clock.now()
    volunteer = make_volunteer(session, now=now)
    assert volunteer.id is not None
    question = _open(session, volunteer.id, now)
    service.mark_answered(session, question, answer="yes", now=now)
    assert question.state is QuestionState.ANSWERED and question.answer == "yes"
    with pytest.raises(ValueError):
        service.mark_answered(session, question, answer="no", now=now)


@pytest.mark.postgres_only
def test_code_taken_by_a_concurrent_transaction_is_replaced(
    fresh_database: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The partial unique index catches a code another transaction took; we pick another."""
    engine = make_engine(fresh_database)
    now = clock_module.SystemClock().now()
    try:
        with Session(engine) as setup:
            volunteer = make_volunteer(setup, now=now)
            volunteer_id = volunteer.id
            setup.commit()
        assert volunteer_id is not None
        picks = iter([4821, 4821, 7310])
        monkeypatch.setattr(secrets, "randbelow", lambda _n: next(picks))
        with Session(engine) as late, Session(engine) as early:
            # `late` takes its snapshot first, so it cannot see what `early` commits next.
            late.connection().execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"))
            late.connection().execute(text("SELECT 1"))
            assert _open(early, volunteer_id, now).code == "4821"
            early.commit()
            with caplog.at_level("INFO", logger=service.log.name):
                question = _open(late, volunteer_id, now, subject_id=2)
            assert question.code == "7310"
            assert "collision" in caplog.text  # the insert hit the index, not the pre-check
            late.commit()
    finally:
        engine.dispose()
