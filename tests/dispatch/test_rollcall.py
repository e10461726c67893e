"""Availability roll-calls: who is asked, what sending means, batches, answers, closing."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlmodel import Session, col, select

from brigades import clock as clock_module
from brigades.accounts.models import Role
from brigades.accounts.scope import AccessScope
from brigades.audit.models import AuditEvent
from brigades.clock import ManualClock
from brigades.conversation import inbound
from brigades.conversation.models import Question, QuestionKind, QuestionState
from brigades.conversation.registry import default_registry
from brigades.db import make_engine, session_scope
from brigades.dispatch import formatting, repository, rollcall, service
from brigades.dispatch.jobs import SessionFactory
from brigades.dispatch.models import RollCall, RollCallState
from brigades.errors import Conflict, Forbidden, InvalidInput
from brigades.incidents import service as incidents
from brigades.incidents.models import Incident
from brigades.scheduler import default_jobs
from brigades.settings import Settings
from brigades.volunteers.models import Volunteer, VolunteerStatus
from notifications.models import OutboxMessage, Priority
from notifications.segments import count_segments
from tests.dispatch.conftest import next_sid
from tests.dispatch.factories import incident, ready_volunteer, task
from tests.incidents.factories import ACTOR, ADMIN, make_incident, polygon


def _messages(session: Session, roll_call: RollCall) -> list[OutboxMessage]:
    return list(
        session.exec(
            select(OutboxMessage)
            .where(
                col(OutboxMessage.subject_kind) == repository.ROLL_CALL_SUBJECT,
                col(OutboxMessage.subject_id) == roll_call.id,
            )
            .order_by(col(OutboxMessage.id))
        ).all()
    )


def _questions(session: Session, roll_call: RollCall) -> list[Question]:
    return list(
        session.exec(
            select(Question).where(
                col(Question.subject_kind) == repository.ROLL_CALL_SUBJECT,
                col(Question.subject_id) == roll_call.id,
            )
        ).all()
    )


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


def _start(session: Session, the_incident: Incident, hours: int = 72) -> RollCall:
    return rollcall.start(
        session,
        scope=ADMIN,
        actor=ACTOR,
        incident=the_incident,
        hours=hours,
        now=clock_module.now(),
    )


def _send_all(session: Session, roll_call: RollCall, settings: Settings, limit: int) -> list[int]:
    sizes = []
    while True:
        sizes.append(
            rollcall.send_batch(
                session,
                roll_call_id=roll_call.id or 0,
                settings=settings,
                now=clock_module.now(),
                limit=limit,
            )
        )
        session.refresh(roll_call)
        if roll_call.sending_done_at is not None:
            return sizes


def test_the_preview_counts_only_reachable_volunteers_of_the_area(
    session: Session, clock: ManualClock, settings: Settings
) -> None:
    the_incident = incident(session)
    for _ in range(3):
        ready_volunteer(session)
    paused_over = ready_volunteer(session, status=VolunteerStatus.PAUSED)
    paused_over.paused_until = clock.now() - timedelta(hours=1)
    still_paused = ready_volunteer(session, status=VolunteerStatus.PAUSED)
    still_paused.paused_until = clock.now() + timedelta(days=1)
    ready_volunteer(session, opted_out=True)
    ready_volunteer(session, vr_code="VR14")  # a neighbouring region
    unverified = ready_volunteer(session)
    unverified.phone_verified_at = None
    erased = ready_volunteer(session)
    erased.erased_at = clock.now()
    session.add_all([paused_over, still_paused, unverified, erased])
    session.flush()

    preview = rollcall.preview(
        session, incident=the_incident, hours=72, settings=settings, now=clock.now()
    )
    assert preview.recipients == 4
    assert preview.segments == 1
    # No Messaging Service configured: a long code sends about one segment a second.
    assert preview.per_second == 1.0 and preview.seconds == 4.0
    assert preview.messages_text == "4 berichten"
    assert preview.duration_text == "minder dan een minuut"
    assert "72 uur" in preview.sample

    faster = settings.model_copy(update={"sms_rate_per_second": 2.0})
    assert (
        rollcall.preview(
            session, incident=the_incident, hours=72, settings=faster, now=clock.now()
        ).seconds
        == 2.0
    )
    # As slow as 200,000 messages at one a second: 55 hours, longer than a 48-hour roll-call.
    slow = settings.model_copy(update={"sms_rate_per_second": 4 / 200_000})
    long = rollcall.preview(
        session, incident=the_incident, hours=48, settings=slow, now=clock.now()
    )
    assert long.duration_text == "55 uur en 33 minuten" and long.longer_than_roll_call


def test_the_duration_is_said_in_hours_and_minutes() -> None:
    # The example: 200,000 messages at one a second.
    assert rollcall.duration_nl(200_000 / 1.0) == "55 uur en 33 minuten"
    assert rollcall.duration_nl(3 * 60) == "3 minuten"
    assert rollcall.duration_nl(3600) == "1 uur"
    assert rollcall.duration_nl(61) == "1 minuut"
    assert formatting.thousands(200_000) == "200.000"
    assert rollcall.rate_nl(2.5) == "2,5 sms per seconde"


def test_a_gemeenten_incident_asks_only_its_gemeenten(
    session: Session, clock: ManualClock, settings: Settings
) -> None:
    the_incident = make_incident(session, gm_codes=["GM0344"])  # the city of Utrecht
    inside = ready_volunteer(session)
    amersfoort = ready_volunteer(session)
    amersfoort.gm_code = "GM0307"
    session.add(amersfoort)
    session.flush()
    assert rollcall.count_recipients(session, incident=the_incident, now=clock.now()) == 1
    roll_call = _start(session, the_incident)
    _send_all(session, roll_call, settings, limit=10)
    assert [m.volunteer_id for m in _messages(session, roll_call)] == [inside.id]


def test_a_polygon_incident_asks_only_those_inside(
    session: Session, clock: ManualClock, settings: Settings
) -> None:
    the_incident = make_incident(session, polygon_geojson=polygon())
    inside = ready_volunteer(session, km=0.5)
    ready_volunteer(session, km=15)  # north of the square, still in VR09
    assert rollcall.count_recipients(session, incident=the_incident, now=clock.now()) == 1
    roll_call = _start(session, the_incident)
    assert roll_call.recipients == 1
    _send_all(session, roll_call, settings, limit=10)
    assert [m.volunteer_id for m in _messages(session, roll_call)] == [inside.id]


def test_sending_goes_in_batches_with_progress_and_never_twice(
    session: Session, clock: ManualClock, settings: Settings
) -> None:
    the_incident = incident(session)
    volunteers = [ready_volunteer(session) for _ in range(7)]
    roll_call = _start(session, the_incident, hours=48)
    assert roll_call.recipients == 7 and roll_call.sent == 0
    assert _messages(session, roll_call) == []  # starting sends nothing by itself

    sizes = []
    for _ in range(2):
        sizes.append(
            rollcall.send_batch(
                session, roll_call_id=roll_call.id or 0, settings=settings, now=clock.now(), limit=3
            )
        )
    session.refresh(roll_call)
    assert sizes == [3, 3] and roll_call.sent == 6 and roll_call.sending_done_at is None
    sizes += _send_all(session, roll_call, settings, limit=3)
    assert sizes == [3, 3, 1] and roll_call.sent == 7 and roll_call.sending_done_at is not None

    messages = _messages(session, roll_call)
    assert sorted(m.volunteer_id or 0 for m in messages) == sorted(v.id or 0 for v in volunteers)
    questions = {q.volunteer_id: q for q in _questions(session, roll_call)}
    assert len(questions) == 7
    for message in messages:
        question = questions[message.volunteer_id or 0]
        assert question.kind is QuestionKind.ROLL_CALL and question.expires_at == roll_call.ends_at
        assert message.priority == Priority.ROLL_CALL
        assert message.body == rollcall.question_text(48, question.code)
        assert f"JA {question.code}" in message.body and "48 uur" in message.body
        assert count_segments(message.body).segments == 1

    # A worker that read an old place (a crash, a race) asks nobody a second time.
    roll_call.last_volunteer_id = 0
    roll_call.sending_done_at = None
    session.add(roll_call)
    session.flush()
    assert _send_all(session, roll_call, settings, limit=3) == [0, 0, 0]
    assert len(_messages(session, roll_call)) == 7 and len(_questions(session, roll_call)) == 7
    # And nothing more once it is done.
    assert (
        rollcall.send_batch(
            session, roll_call_id=roll_call.id or 0, settings=settings, now=clock.now()
        )
        == 0
    )


def test_the_worker_job_sends_a_few_batches_per_run(
    session: Session, clock: ManualClock, settings: Settings, rounds: SessionFactory
) -> None:
    the_incident = incident(session)
    for _ in range(5):
        ready_volunteer(session)
    roll_call = _start(session, the_incident)
    # A run that has used its time budget stops after the batch in hand.
    assert rollcall.run_sending(rounds, settings, budget_seconds=0, limit=2) == 2
    session.refresh(roll_call)
    assert roll_call.sent == 2 and roll_call.sending_done_at is None
    assert rollcall.run_sending(rounds, settings, limit=2) == 3
    session.refresh(roll_call)
    assert roll_call.sent == 5 and roll_call.sending_done_at is not None
    assert rollcall.run_sending(rounds, settings) == 0
    assert "dispatch.roll_calls" in {job.name for job in default_jobs()}


def test_a_drill_roll_call_says_oefening_in_one_segment(
    session: Session, clock: ManualClock, settings: Settings
) -> None:
    the_incident = incident(session, drill=True)
    ready_volunteer(session)
    roll_call = _start(session, the_incident, hours=168)
    assert roll_call.drill
    _send_all(session, roll_call, settings, limit=10)
    [message] = _messages(session, roll_call)
    assert message.drill and message.body.startswith("OEFENING")
    assert count_segments(message.body).segments == 1
    assert rollcall.preview(
        session, incident=the_incident, hours=168, settings=settings, now=clock.now()
    ).sample.startswith("OEFENING")


def test_ja_and_nee_by_sms_are_recorded_and_feed_the_dispatcher(
    session: Session, clock: ManualClock, settings: Settings
) -> None:
    assert default_registry.get(QuestionKind.ROLL_CALL) is not None
    the_incident = incident(session)
    yes, no, silent = (ready_volunteer(session) for _ in range(3))
    roll_call = _start(session, the_incident)
    _send_all(session, roll_call, settings, limit=10)
    codes = {q.volunteer_id: q.code for q in _questions(session, roll_call)}

    answered = _reply(session, yes, f"ja {codes[yes.id or 0]}", settings)
    assert answered.outcome == "available"
    assert answered.reply_text is not None and answered.reply_text.startswith("Dank je!")
    declined = _reply(session, no, "Nee", settings)  # a bare word answers the only question
    assert declined.outcome == "not_available"
    assert declined.reply_text is not None and "niet voor taken" in declined.reply_text

    boosted, excluded = repository.roll_call_answers(
        session, incident_id=the_incident.id or 0, now=clock.now()
    )
    assert boosted == {yes.id} and excluded == {no.id}
    found = rollcall.status(session, roll_call, now=clock.now())
    assert (found.yes, found.no, found.unanswered) == (1, 1, 1)
    assert found.state == "open" and silent.id not in boosted | excluded

    # When the roll-call ends, its answers stop counting.
    clock.advance(timedelta(hours=72, seconds=1))
    assert repository.roll_call_answers(
        session, incident_id=the_incident.id or 0, now=clock.now()
    ) == (set(), set())
    assert rollcall.status(session, roll_call, now=clock.now()).state == "ended"


def test_closing_early_ends_the_answers_and_the_sending(
    session: Session, clock: ManualClock, settings: Settings
) -> None:
    the_incident = incident(session)
    first, second, third = (ready_volunteer(session) for _ in range(3))
    roll_call = _start(session, the_incident)
    rollcall.send_batch(
        session, roll_call_id=roll_call.id or 0, settings=settings, now=clock.now(), limit=2
    )
    _reply(session, first, "ja", settings)
    assert repository.roll_call_answers(
        session, incident_id=the_incident.id or 0, now=clock.now()
    ) == ({first.id}, set())

    closed = rollcall.close(
        session,
        scope=ADMIN,
        actor=ACTOR,
        incident=the_incident,
        roll_call=roll_call,
        now=clock.now(),
    )
    assert closed.state is RollCallState.CLOSED and closed.sending_done_at is not None
    assert repository.roll_call_answers(
        session, incident_id=the_incident.id or 0, now=clock.now()
    ) == (set(), set())
    # The unanswered question is closed: a late JA is not taken for an answer.
    states = {q.volunteer_id: q.state for q in _questions(session, roll_call)}
    assert states == {first.id: QuestionState.ANSWERED, second.id: QuestionState.CLOSED}
    assert _reply(session, second, "ja", settings).outcome == "no_open_question"
    # Nobody else is asked any more.
    assert (
        rollcall.send_batch(
            session, roll_call_id=roll_call.id or 0, settings=settings, now=clock.now()
        )
        == 0
    )
    assert third.id not in {m.volunteer_id for m in _messages(session, roll_call)}
    with pytest.raises(Conflict):
        rollcall.close(
            session,
            scope=ADMIN,
            actor=ACTOR,
            incident=the_incident,
            roll_call=closed,
            now=clock.now(),
        )
    actions = session.exec(
        select(AuditEvent.action)
        .where(
            col(AuditEvent.object_kind) == "roll_call",
            col(AuditEvent.object_id) == str(roll_call.id),
        )
        .order_by(col(AuditEvent.id))
    ).all()
    assert list(actions) == ["roll_call.started", "roll_call.closed"]
    # A new one may start after the old one closed.
    assert _start(session, the_incident).id != roll_call.id


def test_one_roll_call_at_a_time_and_who_may_send(
    session: Session, clock: ManualClock, settings: Settings
) -> None:
    the_incident = incident(session)
    with pytest.raises(InvalidInput):
        _start(session, the_incident, hours=0)
    with pytest.raises(InvalidInput):
        _start(session, the_incident, hours=169)
    _start(session, the_incident)
    with pytest.raises(Conflict):
        _start(session, the_incident)

    drill_lead = AccessScope(Role.DRILL_LEAD, None, frozenset({"VR09"}), None, None, False)
    other = incident(session)
    with pytest.raises(Forbidden):
        rollcall.start(
            session, scope=drill_lead, actor=ACTOR, incident=other, hours=72, now=clock.now()
        )
    viewer = AccessScope(Role.VIEWER, None, frozenset({"VR09"}), None, None, True)
    with pytest.raises(Forbidden):
        rollcall.start(
            session, scope=viewer, actor=ACTOR, incident=other, hours=72, now=clock.now()
        )
    drill = incident(session, drill=True)
    assert rollcall.start(
        session, scope=drill_lead, actor=ACTOR, incident=drill, hours=72, now=clock.now()
    ).drill


def test_two_workers_sending_at_once_ask_everybody_exactly_once(
    fresh_database: str, clock: ManualClock, settings: Settings
) -> None:
    engine = make_engine(fresh_database)
    try:
        with session_scope(engine) as seed:
            the_incident = incident(seed)
            for _ in range(20):
                ready_volunteer(seed)
            roll_call_id = _start(seed, the_incident).id or 0
        barrier = threading.Barrier(2)
        asked: list[int] = []
        errors: list[BaseException] = []

        def worker() -> None:
            try:
                barrier.wait()
                while True:
                    with session_scope(engine) as session:
                        asked.append(
                            rollcall.send_batch(
                                session,
                                roll_call_id=roll_call_id,
                                settings=settings,
                                now=clock.now(),
                                limit=4,
                            )
                        )
                        done = session.get(RollCall, roll_call_id)
                        if done is None or done.sending_done_at is not None:
                            return
            except BaseException as exc:  # reported by the test thread
                errors.append(exc)

        threads = [threading.Thread(target=worker) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert not errors and sum(asked) == 20
        with session_scope(engine) as check:
            roll_call = check.get(RollCall, roll_call_id)
            assert roll_call is not None and roll_call.sent == 20
            volunteer_ids = [q.volunteer_id for q in _questions(check, roll_call)]
            assert len(volunteer_ids) == len(set(volunteer_ids)) == 20
            assert len(_messages(check, roll_call)) == 20
    finally:
        engine.dispose()


def test_the_next_wave_asks_ja_first_and_never_nee(
    session: Session, clock: ManualClock, settings: Settings
) -> None:
    the_incident = incident(session)  # level 1: two offers for a one-slot task
    said_no = ready_volunteer(session, km=0.5)
    silent = ready_volunteer(session, km=1.0)
    ready_volunteer(session, km=2.0)
    said_yes = ready_volunteer(session, km=3.0)
    roll_call = _start(session, the_incident)
    _send_all(session, roll_call, settings, limit=10)
    _reply(session, said_no, "nee", settings)
    _reply(session, said_yes, "ja", settings)

    care_task = task(session, the_incident)
    service.start(
        session, task=care_task, settings=settings, incident=the_incident, now=clock.now()
    )
    result = service.run_wave(
        session, task_id=care_task.id or 0, settings=settings, now=clock.now()
    )
    assert set(result.offered_ids) == {said_yes.id, silent.id}
    assert said_no.id not in result.offered_ids


def test_standing_the_incident_down_closes_its_roll_call(
    session: Session, clock: ManualClock, settings: Settings
) -> None:
    the_incident = incident(session)
    volunteer = ready_volunteer(session)
    roll_call = _start(session, the_incident)
    _send_all(session, roll_call, settings, limit=10)
    incidents.start_closing(
        session,
        actor=ACTOR,
        scope=ADMIN,
        incident=the_incident,
        reason="Piek voorbij",
        now=clock.now(),
        settings=settings,
    )
    session.refresh(roll_call)
    assert roll_call.state is RollCallState.CLOSED
    assert [q.state for q in _questions(session, roll_call)] == [QuestionState.CLOSED]
    assert _reply(session, volunteer, "ja", settings).outcome == "no_open_question"
