"""A drill beside a real incident: caps kept apart (unless shared), real work untouched."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, col, select

from brigades import clock
from brigades.conversation import inbound
from brigades.conversation.models import Question
from brigades.dispatch import jobs
from brigades.dispatch.jobs import SessionFactory
from brigades.drills.models import Drill, DrillState, DrillType
from brigades.incidents.models import Incident
from brigades.settings import Settings
from brigades.tasks.models import (
    Assignment,
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
