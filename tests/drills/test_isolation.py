"""A drill beside a real incident: caps kept apart (unless shared), real work untouched."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, col, select

from brigades import clock
from brigades.conversation import inbound
from brigades.conversation.models import Question
from brigades.dispatch import index, jobs
from brigades.dispatch.eligibility import CapScope
from brigades.dispatch.jobs import SessionFactory
from brigades.drills.models import Drill, DrillState, DrillType
from brigades.incidents.models import Incident, IncidentState
from brigades.settings import Settings
from brigades.tasks.models import (
    Assignment,
    AssignmentState,
    CareTask,
    Offer,
    OfferState,
    TaskState,
)
from brigades.volunteers.models import Volunteer
from notifications.models import OutboxMessage
from tests.dispatch.conftest import next_sid
from tests.dispatch.factories import incident, ready_volunteer, task


def _drill(session: Session, *, shared: bool = False) -> Incident:
    drill_incident = incident(session, drill=True)
    session.add(
        Drill(
            vr_code="VR09",
            type=DrillType.LIVE,
            incident_id=drill_incident.id,
            name="Oefening",
            caps_shared=shared,
            state=DrillState.RUNNING,
            created_at=clock.now(),
        )
    )
    session.flush()
    return drill_incident


def _offers(session: Session, care_task: CareTask) -> list[Offer]:
    return list(session.exec(select(Offer).where(col(Offer.task_id) == care_task.id)))


def _reply(session: Session, volunteer: Volunteer, text: str, settings: Settings) -> None:
    assert volunteer.phone is not None
    inbound.handle_inbound(
        session,
        provider="console",
        provider_sid=next_sid(),
        from_number=volunteer.phone,
        to_number=None,
        body=text,
        now=clock.now(),
        settings=settings,
    )


def _code(session: Session, offer: Offer) -> str:
    question = session.get(Question, offer.question_id)
    assert question is not None
    return question.code


def _two_drill_offers(
    session: Session,
    rounds: SessionFactory,
    settings: Settings,
    volunteer: Volunteer,
    *,
    shared: bool,
) -> list[CareTask]:
    drill = _drill(session, shared=shared)
    # Level 1 allows 2 offers a day: the drill uses both.
    tasks = [task(session, drill), task(session, drill, start_in=timedelta(hours=5))]
    jobs.run_round(rounds, settings)
    assert [len(_offers(session, t)) for t in tasks] == [1, 1]
    assert all(o.volunteer_id == volunteer.id for t in tasks for o in _offers(session, t))
    return tasks


def test_a_drill_does_not_use_up_a_real_incidents_caps(
    session: Session, clock: clock.ManualClock, settings: Settings, rounds: SessionFactory
) -> None:
    volunteer = ready_volunteer(session)
    _two_drill_offers(session, rounds, settings, volunteer, shared=False)
    real_task = task(session, incident(session))
    jobs.run_round(rounds, settings)
    offers = _offers(session, real_task)
    assert [o.volunteer_id for o in offers] == [volunteer.id]


def test_caps_shared_by_the_drill_lead_count_for_the_real_incident(
    session: Session, clock: clock.ManualClock, settings: Settings, rounds: SessionFactory
) -> None:
    volunteer = ready_volunteer(session)
    _two_drill_offers(session, rounds, settings, volunteer, shared=True)
    real_task = task(session, incident(session))
    jobs.run_round(rounds, settings)
    assert _offers(session, real_task) == []
    session.refresh(real_task)
    assert real_task.state is TaskState.UNFILLABLE


def test_real_offers_count_against_a_drill_only_when_shared(
    session: Session, clock: clock.ManualClock, settings: Settings, rounds: SessionFactory
) -> None:
    volunteer = ready_volunteer(session)
    real = incident(session)
    real_tasks = [task(session, real), task(session, real, start_in=timedelta(hours=5))]
    jobs.run_round(rounds, settings)
    assert all(len(_offers(session, t)) == 1 for t in real_tasks)
    separate = task(session, _drill(session))
    shared = task(session, _drill(session, shared=True))
    jobs.run_round(rounds, settings)
    assert [o.volunteer_id for o in _offers(session, separate)] == [volunteer.id]
    assert _offers(session, shared) == []


def test_a_drill_never_alters_the_real_incidents_offers_or_tasks(
    session: Session, clock: clock.ManualClock, settings: Settings, rounds: SessionFactory
) -> None:
    volunteer = ready_volunteer(session)
    real_task = task(session, incident(session))
    jobs.run_round(rounds, settings)
    [real_offer] = _offers(session, real_task)
    before = (real_offer.id, real_offer.state, real_offer.expires_at, real_task.state)

    drill_task = task(session, _drill(session))
    jobs.run_round(rounds, settings)
    [drill_offer] = _offers(session, drill_task)
    # A bare JA with two open questions accepts nothing; a coded one only the drill offer.
    _reply(session, volunteer, "JA", settings)
    session.refresh(real_offer)
    assert real_offer.state is OfferState.PENDING
    _reply(session, volunteer, f"JA {_code(session, drill_offer)}", settings)
    jobs.run_round(rounds, settings)
    session.refresh(real_offer)
    session.refresh(real_task)
    session.refresh(drill_offer)
    assert drill_offer.state is OfferState.ACCEPTED
    assert (real_offer.id, real_offer.state, real_offer.expires_at, real_task.state) == before
    assert _offers(session, real_task) == [real_offer]

    # The drill's pretend visit does not make the volunteer busy for the real task at that time.
    _reply(session, volunteer, f"JA {_code(session, real_offer)}", settings)
    session.refresh(real_offer)
    assert real_offer.state is OfferState.ACCEPTED
    assignments = session.exec(
        select(Assignment).where(col(Assignment.volunteer_id) == volunteer.id)
    ).all()
    assert {a.task_id for a in assignments} == {real_task.id, drill_task.id}

    # Every message about the drill says OEFENING; the real ones do not.
    messages = session.exec(
        select(OutboxMessage).where(col(OutboxMessage.volunteer_id) == volunteer.id)
    ).all()
    drill_ids = {drill_offer.id}
    for message in messages:
        if message.subject_kind == "offer" and message.subject_id in drill_ids:
            assert message.body.startswith("OEFENING")
        if message.subject_kind == "offer" and message.subject_id == real_offer.id:
            assert not message.body.startswith("OEFENING")
    assert all(m.body.startswith("OEFENING") for m in messages if m.drill)


# --- ranking: a drill's offers and assignments never change who is offered real work ----------


def _drill_history(session: Session, volunteer: Volunteer, drill_incident: Incident) -> None:
    """Yesterday's drill activity of a volunteer (not today: today's caps stay out of it)."""
    yesterday = clock.now() - timedelta(days=1)
    drill_task = task(session, drill_incident)
    for _ in range(4):
        session.add(
            Offer(
                task_id=drill_task.id or 0,
                volunteer_id=volunteer.id or 0,
                state=OfferState.EXPIRED,
                created_at=yesterday,
                expires_at=yesterday + timedelta(minutes=30),
                state_changed_at=yesterday + timedelta(minutes=30),
            )
        )
    session.add(
        Assignment(
            task_id=drill_task.id or 0,
            volunteer_id=volunteer.id or 0,
            state=AssignmentState.DONE,
            assigned_at=yesterday,
            state_changed_at=yesterday,
        )
    )
    session.flush()


def _three_in_a_row(session: Session) -> tuple[Volunteer, Volunteer, Volunteer]:
    return (
        ready_volunteer(session, km=0.2),
        ready_volunteer(session, km=0.6),
        ready_volunteer(session, km=1.0),
    )


def test_a_drills_history_does_not_change_who_is_offered_a_real_task(
    session: Session, clock: clock.ManualClock, settings: Settings, rounds: SessionFactory
) -> None:
    near, middle, _far = _three_in_a_row(session)
    # Four unanswered drill offers and a drill assignment: as real history they would push the
    # nearest volunteer to the back (load and unreliability), behind both others.
    _drill_history(session, near, _drill(session))
    real_task = task(session, incident(session))  # level 1: one slot, two offers
    jobs.run_round(rounds, settings)
    assert {o.volunteer_id for o in _offers(session, real_task)} == {near.id, middle.id}


def test_a_shared_caps_drills_history_counts_for_real_ranking(
    session: Session, clock: clock.ManualClock, settings: Settings, rounds: SessionFactory
) -> None:
    near, middle, far = _three_in_a_row(session)
    _drill_history(session, near, _drill(session, shared=True))
    real_task = task(session, incident(session))
    jobs.run_round(rounds, settings)
    assert {o.volunteer_id for o in _offers(session, real_task)} == {middle.id, far.id}


def _ranked(
    session: Session, care_task: CareTask, settings: Settings, scope: CapScope
) -> list[int]:
    return [
        c.volunteer_id
        for c in index.find_candidates(
            session,
            task=care_task,
            radius_km=10,
            limit=10,
            exclude=frozenset(),
            boost=frozenset(),
            allowed_vr_codes=frozenset({"VR09"}),
            settings=settings,
            now=clock.now(),
            scope=scope,
        )
    ]


def test_live_drill_offers_leave_the_real_ranking_as_it_was(
    session: Session, clock: clock.ManualClock, settings: Settings, rounds: SessionFactory
) -> None:
    near, middle, far = _three_in_a_row(session)
    # A task to rank for, kept out of the dispatch rounds (its incident is no longer open).
    real = incident(session)
    real_task = task(session, real, start_in=timedelta(hours=6))
    real.state = IncidentState.CLOSING
    session.add(real)
    session.flush()
    before = _ranked(session, real_task, settings, CapScope.REAL)
    assert before == [near.id, middle.id, far.id]
    # A live drill's waves offer its tasks to the nearest people, in this process (the cached
    # real ranking) and in the database (the next rebuild).
    drill = _drill(session)
    for hours in (1, 3):
        task(session, drill, start_in=timedelta(hours=hours))
    jobs.run_round(rounds, settings)
    drilled = session.exec(
        select(Offer.volunteer_id)
        .join(CareTask, col(CareTask.id) == col(Offer.task_id))
        .where(col(CareTask.incident_id) == drill.id)
    ).all()
    assert near.id in drilled
    assert _ranked(session, real_task, settings, CapScope.REAL) == before
    index.invalidate()
    assert _ranked(session, real_task, settings, CapScope.REAL) == before
