"""Property test: no sequence of replies, expiries, waves and cancellations breaks the rules.

- a task never has more live assignments than slots, and a filled task has exactly its slots;
- no volunteer holds two live assignments whose windows overlap;
- every accepted offer has exactly one assignment, every assignment comes from one offer;
- after everything expired, no offer is left pending past its expiry.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlmodel import Session, col, select

from brigades import clock as clock_module
from brigades.clock import ManualClock
from brigades.conversation import inbound
from brigades.conversation import service as questions
from brigades.conversation.models import QuestionKind
from brigades.dispatch import index, jobs
from brigades.settings import Settings
from brigades.tasks.models import (
    Assignment,
    CareTask,
    Offer,
    OfferState,
    TaskState,
)
from brigades.tasks.states import LIVE_ASSIGNMENT_STATES
from tests.dispatch.conftest import next_sid
from tests.dispatch.factories import incident, ready_volunteer, task
from tests.dispatch.test_races import _offer as make_offer_with_code

WORDS = ["ja", "nee", "aangekomen", "klaar", "afzeggen", "JA", "nee!"]
ACTIONS = st.lists(
    st.one_of(
        st.tuples(st.just("reply"), st.integers(0, 5), st.sampled_from(WORDS)),
        # A word with the code of one of the volunteer's open questions (the 2nd number picks it).
        st.tuples(st.just("coded"), st.integers(0, 17), st.sampled_from(WORDS)),
        st.tuples(st.just("tick"), st.just(0), st.just("")),
        st.tuples(st.just("wait"), st.integers(1, 40), st.just("")),
    ),
    min_size=1,
    max_size=25,
)


def _check(session: Session) -> None:
    tasks = session.exec(select(CareTask)).all()
    live = [a for a in session.exec(select(Assignment)).all() if a.state in LIVE_ASSIGNMENT_STATES]
    by_task = {t.id: t for t in tasks}
    for t in tasks:
        held = [a for a in live if a.task_id == t.id]
        assert len(held) <= t.slots
        if t.state is TaskState.FILLED:
            assert len(held) == t.slots
    for i, a in enumerate(live):
        for b in live[i + 1 :]:
            if a.volunteer_id != b.volunteer_id:
                continue
            ta, tb = by_task[a.task_id], by_task[b.task_id]
            assert not (ta.window_start < tb.window_end and tb.window_start < ta.window_end)
    assignments = session.exec(select(Assignment)).all()
    for offer in session.exec(select(Offer)).all():
        mine = [a for a in assignments if a.offer_id == offer.id]
        assert len(mine) == (1 if offer.state is OfferState.ACCEPTED else 0)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(actions=ACTIONS)
# Sequences worth checking every run (hypothesis then explores around them).
@example(actions=[("coded", 0, "ja"), ("coded", 0, "ja")])  # one person, both overlapping tasks
@example(
    actions=[("coded", 1, "ja"), ("coded", 1, "afzeggen"), ("tick", 0, ""), ("reply", 3, "ja")]
)
@example(actions=[("reply", 0, "ja"), ("reply", 1, "ja"), ("reply", 2, "ja"), ("wait", 40, "")])
def test_no_sequence_breaks_the_invariants(
    session: Session, clock: ManualClock, settings: Settings, actions: list[tuple[str, int, str]]
) -> None:
    @contextmanager
    def sessions() -> Iterator[Session]:
        with session.begin_nested():
            yield session
        session.flush()

    savepoint = session.begin_nested()
    index.invalidate()
    try:
        the_incident = incident(session, level=2)  # wave factor 2
        tasks = [
            task(session, the_incident, slots=2),
            task(session, the_incident, start_in=timedelta(hours=2)),  # overlaps the first
        ]
        people = [ready_volunteer(session, km=0.3 + i / 10) for i in range(6)]
        jobs.run_round(sessions, settings)
        # The two overlapping tasks offered to the same people: double-booking is on the table.
        for t in tasks:
            for p in people[:3]:
                if not session.exec(
                    select(Offer).where(col(Offer.task_id) == t.id, col(Offer.volunteer_id) == p.id)
                ).first():
                    make_offer_with_code(session, t, p)
        for kind, number, word in actions:
            if kind in ("reply", "coded"):
                person = people[number % 6]
                phone = person.phone or ""
                if kind == "coded":
                    wanted_kind = (
                        QuestionKind.OFFER
                        if word.lower().startswith(("ja", "nee"))
                        else QuestionKind.ASSIGNMENT
                    )
                    open_ = [
                        q
                        for q in questions.open_questions(session, volunteer_id=person.id or 0)
                        if q.kind is wanted_kind
                    ]
                    if open_:
                        word = f"{word} {open_[(number // 6) % len(open_)].code}"
                inbound.handle_inbound(
                    session,
                    provider="console",
                    provider_sid=next_sid(),
                    from_number=phone,
                    to_number=None,
                    body=word,
                    now=clock_module.now(),
                    settings=settings,
                )
            elif kind == "tick":
                jobs.run_round(sessions, settings)
            else:
                clock.advance(timedelta(minutes=number))
            session.flush()
            _check(session)
        clock.advance(timedelta(hours=1))
        jobs.run_round(sessions, settings)
        _check(session)
        now = clock_module.now()
        for offer in session.exec(
            select(Offer).where(col(Offer.state) == OfferState.PENDING)
        ).all():
            assert clock_module.as_utc(offer.expires_at) > now
    finally:
        savepoint.rollback()
        session.expunge_all()
        index.invalidate()
