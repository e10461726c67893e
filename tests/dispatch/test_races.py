"""Races over real connections: 50 acceptances of a one-slot task at the same moment, and one
volunteer accepting two overlapping tasks at once (SQLite and PostgreSQL alike)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from brigades import clock as clock_module
from brigades.clock import ManualClock
from brigades.conversation import inbound
from brigades.conversation import service as questions
from brigades.conversation.models import QuestionKind
from brigades.db import make_engine, session_scope
from brigades.dispatch import repository, service
from brigades.tasks.models import Assignment, CareTask, Offer, OfferState, TaskState
from brigades.volunteers.models import Volunteer
from notifications.models import OutboxMessage
from tests.conftest import make_settings
from tests.dispatch.conftest import next_sid
from tests.dispatch.factories import incident, ready_volunteer, task


def _offer(session: Session, care_task: CareTask, volunteer: Volunteer) -> str:
    """A pending offer with its question; returns the reply code."""
    now = clock_module.now()
    offer = Offer(
        task_id=care_task.id or 0,
        volunteer_id=volunteer.id or 0,
        created_at=now,
        expires_at=now + timedelta(minutes=30),
        state_changed_at=now,
    )
    session.add(offer)
    session.flush()
    question = questions.open_question(
        session,
        volunteer_id=volunteer.id or 0,
        kind=QuestionKind.OFFER,
        subject_kind=repository.OFFER_SUBJECT,
        subject_id=offer.id or 0,
        drill=False,
        expires_at=offer.expires_at,
        now=now,
    )
    offer.question_id = question.id
    session.add(offer)
    return question.code


def _all_at_once(calls: list[Callable[[], str]]) -> list[str]:
    """Run the calls on their own threads, released together; their results in order."""
    barrier = threading.Barrier(len(calls))
    results: list[str | BaseException] = [""] * len(calls)

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = calls[i]()
        except BaseException as exc:  # reported below, with the others
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    errors = [r for r in results if isinstance(r, BaseException)]
    assert not errors, errors[:3]
    return [str(r) for r in results]


def _reply_call(engine: Engine, phone: str, text: str, settings_url: str) -> Callable[[], str]:
    settings = make_settings(settings_url)

    def call() -> str:
        with session_scope(engine) as session:
            return inbound.handle_inbound(
                session,
                provider="console",
                provider_sid=next_sid(),
                from_number=phone,
                to_number=None,
                body=text,
                now=clock_module.now(),
                settings=settings,
            ).outcome

    return call


def test_fifty_acceptances_of_one_slot_make_one_assignment(
    fresh_database: str, clock: ManualClock
) -> None:
    engine = make_engine(fresh_database, pool_size=30)
    try:
        with session_scope(engine) as session:
            the_incident = incident(session)
            care_task = task(session, the_incident)
            service.start(
                session,
                task=care_task,
                settings=make_settings(fresh_database),
                incident=the_incident,
                now=clock.now(),
            )
            people = [ready_volunteer(session, km=0.5) for _ in range(50)]
            codes = [_offer(session, care_task, p) for p in people]
            from brigades.audit.service import SYSTEM
            from brigades.tasks import transitions

            transitions.transition(
                session, care_task, TaskState.OFFERING, actor=SYSTEM, now=clock.now()
            )
            task_id = care_task.id
            phones = [p.phone or "" for p in people]
        calls = [
            _reply_call(engine, phone, f"JA {code}", fresh_database)
            for phone, code in zip(phones, codes, strict=True)
        ]
        outcomes = _all_at_once(calls)
        assert sorted(outcomes).count("accepted") == 1
        assert outcomes.count("too_late") == 49
        with session_scope(engine) as session:
            assignments = session.exec(
                select(Assignment).where(col(Assignment.task_id) == task_id)
            ).all()
            assert len(assignments) == 1
            states = [
                o.state
                for o in session.exec(select(Offer).where(col(Offer.task_id) == task_id)).all()
            ]
            assert states.count(OfferState.ACCEPTED) == 1
            assert states.count(OfferState.WITHDRAWN) + states.count(OfferState.TOO_LATE) == 49
            filled = session.get(CareTask, task_id)
            assert filled is not None and filled.state is TaskState.FILLED
            thanks = session.exec(
                select(OutboxMessage).where(col(OutboxMessage.body).contains("al vervuld"))
            ).all()
            assert len(thanks) == 49
    finally:
        engine.dispose()


def test_one_volunteer_accepting_two_overlapping_tasks_at_once_gets_one(
    fresh_database: str, clock: ManualClock
) -> None:
    engine = make_engine(fresh_database, pool_size=5)
    try:
        with session_scope(engine) as session:
            the_incident = incident(session)
            first = task(session, the_incident)
            second = task(session, the_incident, start_in=timedelta(hours=2))
            volunteer = ready_volunteer(session, km=0.5)
            codes = [_offer(session, t, volunteer) for t in (first, second)]
            phone = volunteer.phone or ""
            volunteer_id = volunteer.id
        for _ in range(1):
            outcomes = _all_at_once(
                [_reply_call(engine, phone, f"JA {code}", fresh_database) for code in codes]
            )
        assert sorted(outcomes) == ["accepted", "busy"]
        with session_scope(engine) as session:
            held = session.exec(
                select(Assignment).where(col(Assignment.volunteer_id) == volunteer_id)
            ).all()
            assert len(held) == 1
    finally:
        engine.dispose()


def test_a_web_click_and_an_sms_at_once_fill_one_slot(
    fresh_database: str, clock: ManualClock
) -> None:
    from brigades.dispatch import acceptance

    engine = make_engine(fresh_database, pool_size=5)
    settings = make_settings(fresh_database)
    try:
        with session_scope(engine) as session:
            care_task = task(session, incident(session))
            by_web, by_sms = ready_volunteer(session, km=0.5), ready_volunteer(session, km=0.6)
            _offer(session, care_task, by_web)
            sms_code = _offer(session, care_task, by_sms)
            web_offer = session.exec(
                select(Offer).where(col(Offer.volunteer_id) == by_web.id)
            ).one()
            web_offer_id, phone, task_id = web_offer.id or 0, by_sms.phone or "", care_task.id

        def click() -> str:
            with session_scope(engine) as session:
                return acceptance.accept(
                    session, offer_id=web_offer_id, via="web", settings=settings, now=clock.now()
                ).outcome.value

        outcomes = _all_at_once(
            [click, _reply_call(engine, phone, f"ja {sms_code}", fresh_database)]
        )
        assert sorted(outcomes) == ["accepted", "too_late"]
        with session_scope(engine) as session:
            assert (
                len(
                    session.exec(select(Assignment).where(col(Assignment.task_id) == task_id)).all()
                )
                == 1
            )
    finally:
        engine.dispose()


def test_workers_enlisting_the_same_new_tasks_at_once_all_succeed(
    fresh_database: str, clock: ManualClock
) -> None:
    """Every worker's dispatch round enlists new tasks; started together (as after an import of
    thousands of tasks), each writes the dispatch rows the others have not, and no round fails."""
    from brigades.dispatch import planning
    from brigades.dispatch.models import TaskDispatch

    engine = make_engine(fresh_database, pool_size=8)
    settings = make_settings(fresh_database)
    try:
        with session_scope(engine) as session:
            opened = incident(session)
            task_ids = [task(session, opened).id for _ in range(30)]

        def enlist() -> str:
            with session_scope(engine) as session:
                return str(planning.enlist_new_tasks(session, settings=settings, now=clock.now()))

        counts = _all_at_once([enlist for _ in range(4)])
        assert sum(int(c) for c in counts) == 30
        with Session(engine) as session:
            enlisted = sorted(session.exec(select(TaskDispatch.task_id)).all())
        assert enlisted == sorted(task_ids)
    finally:
        engine.dispose()
