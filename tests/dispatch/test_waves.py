"""Offers in waves, answers by SMS, and the life of an assignment (one transaction per test)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session, col, select

from brigades import clock as clock_module
from brigades.clock import ManualClock
from brigades.conversation import inbound
from brigades.conversation.models import Question, QuestionKind, QuestionState
from brigades.dispatch import jobs, messages, service
from brigades.dispatch.formatting import km
from brigades.dispatch.jobs import SessionFactory
from brigades.dispatch.models import AlertKind, DispatchAlert, TaskDispatch
from brigades.incidents import service as incidents
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
from notifications import failures
from notifications.models import OutboxMessage
from notifications.segments import count_segments
from tests.dispatch.conftest import next_sid
from tests.dispatch.factories import incident, ready_volunteer, task
from tests.incidents.factories import ACTOR, ADMIN


def _sms_to(session: Session, volunteer: Volunteer) -> list[str]:
    rows = session.exec(
        select(OutboxMessage)
        .where(col(OutboxMessage.volunteer_id) == volunteer.id)
        .order_by(col(OutboxMessage.id))
    ).all()
    return [m.body for m in rows]


def _reply(
    session: Session, volunteer: Volunteer, text: str, settings: Settings
) -> inbound.InboundResult:
    assert volunteer.phone is not None
    return inbound.handle_inbound(
        session,
        provider="console",
        provider_sid=next_sid(),
        from_number=volunteer.phone,
        to_number=None,
        body=text,
        now=clock_module.now(),
        settings=settings,
    )


def _offers(session: Session, care_task: CareTask) -> list[Offer]:
    return list(
        session.exec(
            select(Offer).where(col(Offer.task_id) == care_task.id).order_by(col(Offer.id))
        ).all()
    )


def _code(session: Session, offer: Offer) -> str:
    question = session.get(Question, offer.question_id)
    assert question is not None
    return question.code


def test_a_new_task_is_offered_to_the_nearest_in_one_wave(
    session: Session, clock: ManualClock, settings: Settings, rounds: SessionFactory
) -> None:
    the_incident = incident(session)  # level 1: wave factor 1.5 -> 2 offers for 1 slot
    care_task = task(session, the_incident)
    far = ready_volunteer(session, km=3.0)
    nearest = ready_volunteer(session, km=0.5)
    second = ready_volunteer(session, km=1.2)
    report = jobs.run_round(rounds, settings)
    assert report.enlisted == 1 and report.offers == 2
    offers = _offers(session, care_task)
    assert {o.volunteer_id for o in offers} == {nearest.id, second.id}
    assert all(o.state is OfferState.PENDING and o.wave == 1 for o in offers)
    session.refresh(care_task)
    assert care_task.state is TaskState.OFFERING
    [text] = _sms_to(session, nearest)
    code = _code(session, next(o for o in offers if o.volunteer_id == nearest.id))
    assert f"JA {code}" in text and f"NEE {code}" in text and "Boodschappen" in text
    assert "Oudegracht" not in text  # no address in an offer
    assert count_segments(text).segments == 1
    assert _sms_to(session, far) == []
    # A second round finds nothing to do: enough offers are out.
    assert jobs.run_round(rounds, settings).offers == 0


def test_ja_fills_the_task_and_a_late_ja_is_thanked(
    session: Session, clock: ManualClock, settings: Settings, rounds: SessionFactory
) -> None:
    care_task = task(session, incident(session))
    first = ready_volunteer(session, km=0.5)
    late = ready_volunteer(session, km=0.8)
    jobs.run_round(rounds, settings)
    offers = {o.volunteer_id: o for o in _offers(session, care_task)}
    result = _reply(session, first, f"ja {_code(session, offers[first.id or 0])}", settings)
    assert result.outcome == "accepted"
    session.refresh(care_task)
    assert care_task.state is TaskState.FILLED
    [assignment] = session.exec(
        select(Assignment).where(col(Assignment.task_id) == care_task.id)
    ).all()
    assert assignment.volunteer_id == first.id and assignment.state is AssignmentState.ASSIGNED
    details = _sms_to(session, first)[-1]
    assert "Oudegracht 12" in details and "Bel aan bij de zijdeur" in details
    session.refresh(offers[late.id or 0])
    assert offers[late.id or 0].state is OfferState.WITHDRAWN
    late_result = _reply(session, late, "JA!", settings)
    assert late_result.outcome == "too_late"
    assert "al vervuld" in _sms_to(session, late)[-1]
    assert len(session.exec(select(Assignment)).all()) == 1


def test_nee_brings_the_next_wave(
    session: Session, clock: ManualClock, settings: Settings, rounds: SessionFactory
) -> None:
    care_task = task(session, incident(session))
    a = ready_volunteer(session, km=0.5)
    b = ready_volunteer(session, km=0.6)
    c = ready_volunteer(session, km=2.0)
    jobs.run_round(rounds, settings)
    assert _reply(session, a, "nee", settings).outcome == "declined"
    assert jobs.run_round(rounds, settings).offers == 1
    offers = _offers(session, care_task)
    assert [(o.volunteer_id, o.wave) for o in offers][-1] == (c.id, 2)
    assert {o.volunteer_id for o in offers} == {a.id, b.id, c.id}


def test_expiry_brings_the_next_wave_and_a_late_answer_is_told(
    session: Session, clock: ManualClock, settings: Settings, rounds: SessionFactory
) -> None:
    care_task = task(session, incident(session), start_in=timedelta(hours=5))
    a = ready_volunteer(session, km=0.5)
    ready_volunteer(session, km=0.6)
    c = ready_volunteer(session, km=0.9)
    jobs.run_round(rounds, settings)
    clock.advance(timedelta(minutes=31))  # level 1: offers expire after 30 minutes
    report = jobs.run_round(rounds, settings)
    assert report.expired == 2 and report.offers == 1
    states = [o.state for o in _offers(session, care_task)]
    assert states == [OfferState.EXPIRED, OfferState.EXPIRED, OfferState.PENDING]
    assert _offers(session, care_task)[-1].volunteer_id == c.id
    # The expired question no longer takes a JA.
    assert _reply(session, a, "ja", settings).outcome == "no_open_question"


def test_no_one_nearby_widens_the_radius_then_raises_unfillable(
    session: Session, clock: ManualClock, settings: Settings, rounds: SessionFactory
) -> None:
    care_task = task(session, incident(session))
    distant = ready_volunteer(session, km=8.0, max_distance_km=15)
    jobs.run_round(rounds, settings)
    [offer] = _offers(session, care_task)
    assert offer.volunteer_id == distant.id
    dispatch = session.get(TaskDispatch, care_task.id)
    assert dispatch is not None and dispatch.radius_km > 5.0
    _reply(session, distant, "nee", settings)
    jobs.run_round(rounds, settings)
    session.refresh(care_task)
    assert care_task.state is TaskState.UNFILLABLE
    session.refresh(dispatch)
    assert care_task.unfillable_reason == (
        f"De enige geschikte vrijwilliger binnen {km(dispatch.radius_km)} is al gevraagd en zei "
        "nee of antwoordde niet op tijd."
    )
    [alert] = session.exec(select(DispatchAlert)).all()
    assert alert.kind is AlertKind.UNFILLABLE and alert.task_id == care_task.id


def test_a_suitable_volunteer_who_is_booked_is_not_reported_as_nobody(
    session: Session, clock: ManualClock, settings: Settings, rounds: SessionFactory
) -> None:
    the_incident = incident(session)
    first = task(session, the_incident)
    volunteer = ready_volunteer(session, km=0.5)
    jobs.run_round(rounds, settings)
    assert _reply(session, volunteer, "ja", settings).outcome == "accepted"
    second = task(session, the_incident)  # the same hours: he cannot do both
    jobs.run_round(rounds, settings)
    session.refresh(first)
    session.refresh(second)
    assert first.state is TaskState.FILLED and second.state is TaskState.UNFILLABLE
    dispatch = session.get(TaskDispatch, second.id)
    assert dispatch is not None
    assert second.unfillable_reason == (
        f"De enige geschikte vrijwilliger binnen {km(dispatch.radius_km)} is al ingezet, heeft "
        "de daglimiet bereikt of is al gevraagd."
    )


def test_the_count_of_suitable_volunteers_says_when_it_stopped_counting(
    session: Session,
    clock: ManualClock,
    settings: Settings,
    rounds: SessionFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(service, "COUNT_SUITABLE", 1)
    the_incident = incident(session)
    task(session, the_incident)
    volunteer = ready_volunteer(session, km=0.5)
    jobs.run_round(rounds, settings)
    assert _reply(session, volunteer, "ja", settings).outcome == "accepted"
    second = task(session, the_incident)
    jobs.run_round(rounds, settings)
    session.refresh(second)
    assert second.unfillable_reason is not None
    assert second.unfillable_reason.startswith("Alle 1 of meer geschikte vrijwilligers binnen")
    assert messages.unfillable_busy(40.0, 1000, at_least=True) == (
        "Alle 1.000 of meer geschikte vrijwilligers binnen 40,0 km zijn al ingezet, hebben hun "
        "daglimiet bereikt of zijn al gevraagd."
    )


def test_nobody_with_the_skill_says_so(
    session: Session, clock: ManualClock, settings: Settings, rounds: SessionFactory
) -> None:
    care_task = task(session, incident(session))
    ready_volunteer(session, km=0.5, skills=("gezelschap",))
    jobs.run_round(rounds, settings)
    session.refresh(care_task)
    assert care_task.state is TaskState.UNFILLABLE
    assert care_task.unfillable_reason is not None
    assert care_task.unfillable_reason.startswith("Niemand met de juiste vaardigheden")


def test_arrived_done_and_the_task_is_done(
    session: Session, clock: ManualClock, settings: Settings, rounds: SessionFactory
) -> None:
    care_task = task(session, incident(session))
    v = ready_volunteer(session, km=0.5)
    jobs.run_round(rounds, settings)
    _reply(session, v, "ja", settings)
    assert _reply(session, v, "aangekomen", settings).outcome == "checked_in"
    session.refresh(care_task)
    assert care_task.state is TaskState.IN_PROGRESS
    assert _reply(session, v, "Klaar!", settings).outcome == "done"
    session.refresh(care_task)
    assert care_task.state is TaskState.DONE
    [assignment] = session.exec(select(Assignment)).all()
    assert assignment.state is AssignmentState.DONE and assignment.finished_at == clock.now()


def test_afzeggen_reopens_the_slot_and_alerts(
    session: Session, clock: ManualClock, settings: Settings, rounds: SessionFactory
) -> None:
    care_task = task(session, incident(session))
    v = ready_volunteer(session, km=0.5)
    w = ready_volunteer(session, km=0.7)
    x = ready_volunteer(session, km=0.9)
    jobs.run_round(rounds, settings)
    _reply(session, v, "ja", settings)
    assert _reply(session, v, "afzeggen", settings).outcome == "cancelled"
    session.refresh(care_task)
    assert care_task.state is TaskState.OFFERING
    assert jobs.run_round(rounds, settings).offers == 1  # w's offer was withdrawn, x is next
    assert _offers(session, care_task)[-1].volunteer_id == x.id
    kinds = [a.kind for a in session.exec(select(DispatchAlert)).all()]
    assert kinds == [AlertKind.CANCELLED_BY_VOLUNTEER]
    assert w.id is not None


def test_a_permanent_sms_failure_fails_the_offer_and_moves_on(
    session: Session, clock: ManualClock, settings: Settings, rounds: SessionFactory
) -> None:
    care_task = task(session, incident(session))
    a = ready_volunteer(session, km=0.5)
    ready_volunteer(session, km=0.6)
    c = ready_volunteer(session, km=0.9)
    jobs.run_round(rounds, settings)
    message = session.exec(
        select(OutboxMessage).where(col(OutboxMessage.volunteer_id) == a.id)
    ).one()
    assert failures.default_handlers.notify(session, message)
    offer = next(o for o in _offers(session, care_task) if o.volunteer_id == a.id)
    assert offer.state is OfferState.FAILED
    assert jobs.run_round(rounds, settings).offers == 1
    assert _offers(session, care_task)[-1].volunteer_id == c.id


def test_slots_fill_one_by_one_and_never_over(
    session: Session, clock: ManualClock, settings: Settings, rounds: SessionFactory
) -> None:
    care_task = task(session, incident(session), slots=2)  # 3 offers at level 1
    people = [ready_volunteer(session, km=0.3 + i / 10) for i in range(4)]
    jobs.run_round(rounds, settings)
    offered = [
        p for p in people if any(o.volunteer_id == p.id for o in _offers(session, care_task))
    ]
    assert len(offered) == 3
    outcomes = [_reply(session, p, "ja", settings).outcome for p in offered]
    assert outcomes == ["accepted", "accepted", "too_late"]
    session.refresh(care_task)
    assert care_task.state is TaskState.FILLED
    assert (
        len(session.exec(select(Assignment).where(col(Assignment.task_id) == care_task.id)).all())
        == 2
    )


def test_one_volunteer_never_takes_two_overlapping_tasks(
    session: Session, clock: ManualClock, settings: Settings, rounds: SessionFactory
) -> None:
    the_incident = incident(session)
    first = task(session, the_incident)
    second = task(session, the_incident, start_in=timedelta(hours=2))
    v = ready_volunteer(session, km=0.5)
    jobs.run_round(rounds, settings)
    codes = {
        o.task_id: _code(session, o)
        for o in session.exec(select(Offer).where(col(Offer.volunteer_id) == v.id)).all()
    }
    assert set(codes) == {first.id, second.id}
    assert _reply(session, v, f"ja {codes[first.id or 0]}", settings).outcome == "accepted"
    assert _reply(session, v, f"ja {codes[second.id or 0]}", settings).outcome == "busy"
    assert len(session.exec(select(Assignment)).all()) == 1


def test_a_drill_offer_says_oefening(
    session: Session, clock: ManualClock, settings: Settings, rounds: SessionFactory
) -> None:
    task(session, incident(session, drill=True))
    v = ready_volunteer(session, km=0.5)
    jobs.run_round(rounds, settings)
    [text] = _sms_to(session, v)
    assert text.startswith("OEFENING")
    question = session.exec(select(Question).where(col(Question.volunteer_id) == v.id)).one()
    assert question.drill and question.kind is QuestionKind.OFFER


def test_standing_down_withdraws_offers_and_tells_everyone(
    session: Session, clock: ManualClock, settings: Settings, rounds: SessionFactory
) -> None:
    the_incident = incident(session)
    care_task = task(session, the_incident, slots=2)
    people = [ready_volunteer(session, km=0.3 + i / 10) for i in range(3)]
    jobs.run_round(rounds, settings)
    assigned = people[0]
    _reply(session, assigned, "ja", settings)
    incidents.start_closing(
        session,
        actor=ACTOR,
        scope=ADMIN,
        incident=the_incident,
        reason="Voorbij",
        now=clock.now(),
        settings=settings,
    )
    states = sorted(o.state.value for o in _offers(session, care_task))
    assert states == ["accepted", "withdrawn", "withdrawn"]
    assert "afgeschaald" in _sms_to(session, assigned)[-1]
    assert all("afgeschaald" in _sms_to(session, p)[-1] for p in people[1:])
    open_offer_questions = session.exec(
        select(Question).where(
            col(Question.kind) == QuestionKind.OFFER, col(Question.state) == QuestionState.OPEN
        )
    ).all()
    assert open_offer_questions == []
    assert jobs.run_round(rounds, settings).offers == 0


def test_an_assignment_not_finished_raises_an_alarm_once(
    session: Session, clock: ManualClock, settings: Settings, rounds: SessionFactory
) -> None:
    care_task = task(session, incident(session), hours=1)
    v = ready_volunteer(session, km=0.5)
    jobs.run_round(rounds, settings)
    _reply(session, v, "ja", settings)
    clock.advance(timedelta(hours=2, minutes=30))  # window ended 30 minutes ago: not yet
    assert jobs.raise_overdue_in(rounds, settings) == 0
    clock.advance(timedelta(hours=1))
    assert jobs.raise_overdue_in(rounds, settings) == 1
    assert jobs.raise_overdue_in(rounds, settings) == 0
    [alert] = session.exec(
        select(DispatchAlert).where(col(DispatchAlert.kind) == AlertKind.OVERDUE)
    ).all()
    assert alert.task_id == care_task.id


def test_reoffer_widens_the_radius_of_an_unfillable_task(
    session: Session, clock: ManualClock, settings: Settings, rounds: SessionFactory
) -> None:
    care_task = task(session, incident(session))
    jobs.run_round(rounds, settings)
    session.refresh(care_task)
    assert care_task.state is TaskState.UNFILLABLE
    ready_volunteer(session, km=1.0)
    from brigades.dispatch import index

    index.invalidate()
    service.reoffer(
        session, task=care_task, settings=settings, actor=ACTOR, widen=True, now=clock.now()
    )
    assert care_task.state is TaskState.OFFERING
    assert jobs.run_round(rounds, settings).offers == 1


def test_joint_planning_does_not_ask_one_volunteer_for_two_tasks(
    session: Session, clock: ManualClock, database_url: str, rounds: SessionFactory
) -> None:
    from tests.conftest import make_settings

    # One offer per slot, so the plan decides who is asked.
    settings = make_settings(
        database_url,
        incident_levels=(
            (5.0, 30, 2, 1.0),
            (10.0, 20, 3, 2.0),
            (15.0, 15, 4, 2.5),
            (25.0, 10, 6, 3.0),
        ),
    )
    the_incident = incident(session)
    shopping = task(session, the_incident)
    company = task(session, the_incident, type_code="gezelschap", start_in=timedelta(hours=8))
    both = ready_volunteer(session, km=0.5, skills=("boodschappen", "gezelschap"), level=2)
    shopper = ready_volunteer(session, km=1.5)
    report = jobs.run_round(rounds, settings)
    assert report.offers == 2
    assert [o.volunteer_id for o in _offers(session, shopping)] == [shopper.id]
    assert [o.volunteer_id for o in _offers(session, company)] == [both.id]
