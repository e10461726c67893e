"""Opening many questions at once (a wave, a roll-call batch) keeps the code rules."""

from __future__ import annotations

import secrets
from datetime import timedelta

import pytest
from sqlmodel import Session

from brigades.clock import ManualClock
from brigades.conversation import service
from brigades.conversation.models import QuestionKind
from tests.conversation.factories import make_volunteer


def _spec(volunteer_id: int, subject_id: int) -> service.QuestionSpec:
    return service.QuestionSpec(
        volunteer_id=volunteer_id,
        kind=QuestionKind.ROLL_CALL,
        subject_kind="roll_call",
        subject_id=subject_id,
        drill=False,
        expires_at=None,
    )


def test_a_batch_gives_each_volunteer_distinct_fresh_codes(
    session: Session, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = make_volunteer(session, now=clock.now())
    b = make_volunteer(session, now=clock.now())
    assert a.id is not None and b.id is not None
    earlier = service.open_question(
        session,
        volunteer_id=a.id,
        kind=QuestionKind.OFFER,
        subject_kind="offer",
        subject_id=1,
        drill=False,
        expires_at=None,
        now=clock.now(),
    )
    # The random source offers the code already in use first, then the same code twice.
    picks = iter([int(earlier.code), 1111, 1111, 2222, 1111, 3333])
    monkeypatch.setattr(secrets, "randbelow", lambda _n: next(picks))
    opened = service.open_questions_many(
        session, specs=[_spec(a.id, 7), _spec(a.id, 8), _spec(b.id, 7)], now=clock.now()
    )
    assert [q.code for q in opened] == ["1111", "2222", "1111"]
    assert all(q.id is not None for q in opened)
    assert [q.subject_id for q in opened] == [7, 8, 7]


def test_recently_used_codes_are_kept_away(
    session: Session, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    v = make_volunteer(session, now=clock.now())
    assert v.id is not None
    old = service.open_questions_many(session, specs=[_spec(v.id, 1)], now=clock.now())[0]
    service.mark_answered(session, old, answer="yes", now=clock.now())
    clock.advance(timedelta(days=1))
    picks = iter([int(old.code), 4321])
    monkeypatch.setattr(secrets, "randbelow", lambda _n: next(picks))
    [fresh] = service.open_questions_many(session, specs=[_spec(v.id, 2)], now=clock.now())
    assert fresh.code == "4321"
    assert service.open_questions_many(session, specs=[], now=clock.now()) == []
