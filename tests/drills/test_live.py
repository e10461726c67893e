"""A live drill as a volunteer and a coordinator live it: a JA is thanked (nobody goes), the page
shows no address, no overdue alarm follows, the practised task ends by itself and the drill ends
with its incident."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from brigades import clock
from brigades.accounts.scope import AccessScope
from brigades.audit.service import SYSTEM
from brigades.conversation.models import Question, QuestionKind, QuestionState
from brigades.dispatch import index, jobs
from brigades.dispatch.jobs import SessionFactory
from brigades.dispatch.models import AlertKind, DispatchAlert
from brigades.dispatch.repository import INCIDENT_SUBJECT
from brigades.drills import lifecycle
from brigades.drills import report as drill_report
from brigades.drills.models import Drill, DrillRun, DrillState, DrillType
from brigades.incidents import service as incidents
from brigades.incidents.models import Incident
from brigades.settings import Settings
from brigades.tasks.models import Assignment, AssignmentState, Offer, TaskState
from brigades.volunteers.models import Volunteer
from notifications.models import OutboxMessage
from tests.dispatch.conftest import next_sid
from tests.dispatch.factories import incident, ready_volunteer, task
from tests.dispatch.test_volunteer_pages import _sign_in


def _live_drill(session: Session) -> tuple[Incident, Drill]:
    drill_incident = incident(session, drill=True)
    drill = Drill(
        vr_code="VR09",
        type=DrillType.LIVE,
        incident_id=drill_incident.id,
        name="Najaarsoefening",
        state=DrillState.RUNNING,
        created_at=clock.now(),
        started_at=clock.now(),
    )
    session.add(drill)
    session.flush()
    return drill_incident, drill


def _say(session: Session, volunteer: Volunteer, body: str, settings: Settings) -> None:
    from brigades.conversation import inbound

    inbound.handle_inbound(
        session,
        provider="console",
        provider_sid=next_sid(),
        from_number=volunteer.phone or "",
        to_number=None,
        body=body,
        now=clock.now(),
        settings=settings,
    )


def _about(session: Session, kind: str, subject_id: int | None) -> list[str]:
    return list(
        session.exec(
            select(OutboxMessage.body).where(
                col(OutboxMessage.subject_kind) == kind, col(OutboxMessage.subject_id) == subject_id
            )
        ).all()
    )


def test_a_drill_ja_is_thanked_without_address_or_check_in(
    session: Session, clock: clock.ManualClock, settings: Settings, rounds: SessionFactory
) -> None:
    volunteer = ready_volunteer(session)
    drill_incident, _drill = _live_drill(session)
    drill_task = task(session, drill_incident)
    jobs.run_round(rounds, settings)
    _say(session, volunteer, "ja", settings)  # the only open question
    assignment = session.exec(select(Assignment)).one()
    assert assignment.task_id == drill_task.id
    [text] = _about(session, "assignment", assignment.id)
    assert text.startswith("OEFENING")
    assert "oefening" in text.lower() and "nergens heen" in text and "dank je" in text
    assert "Oudegracht" not in text and "zijdeur" not in text  # no address, no contact
    assert "AANGEKOMEN" not in text and "KLAAR" not in text
    # Nothing left to answer: no assignment question was opened.
    open_questions = session.exec(
        select(Question).where(
            col(Question.volunteer_id) == volunteer.id, col(Question.state) == QuestionState.OPEN
        )
    ).all()
    assert [q for q in open_questions if q.kind is QuestionKind.ASSIGNMENT] == []


def test_a_real_ja_still_gets_the_address_and_the_check_in_words(
    session: Session, clock: clock.ManualClock, settings: Settings, rounds: SessionFactory
) -> None:
    volunteer = ready_volunteer(session)
    task(session, incident(session))
    jobs.run_round(rounds, settings)
    _say(session, volunteer, "ja", settings)
    assignment = session.exec(select(Assignment)).one()
    [text] = _about(session, "assignment", assignment.id)
    assert not text.startswith("OEFENING")
    assert "Oudegracht 12" in text and "AANGEKOMEN" in text


def test_the_personal_page_says_oefening_and_shows_no_address(
    client: TestClient,
    session: Session,
    clock: clock.ManualClock,
    settings: Settings,
    rounds: SessionFactory,
) -> None:
    volunteer = ready_volunteer(session)
    drill_incident, _drill = _live_drill(session)
    task(session, drill_incident)
    jobs.run_round(rounds, settings)
    csrf = _sign_in(client, volunteer, settings, clock)
    page = client.get("/mijn").text
    assert "OEFENING: Boodschappen" in page and "Ja, ik zou gaan" in page
    offer = session.exec(select(Offer)).one()
    answered = client.post(f"/mijn/aanbod/{offer.id}/ja", data={"csrf_token": csrf})
    assert answered.headers["location"] == "/mijn?taak=geoefend#taken"
    page = client.get("/mijn?taak=geoefend").text
    assert "OEFENING: Boodschappen" in page and "je hoeft nergens heen" in page
    assert "Oudegracht" not in page and "zijdeur" not in page and "Ik ben er" not in page
    assert "Hieronder staan het adres" not in page


def test_a_practised_task_raises_no_alarm_and_ends_as_done_at_its_window_end(
    session: Session, clock: clock.ManualClock, settings: Settings, rounds: SessionFactory
) -> None:
    drilled = ready_volunteer(session)
    drill_incident, _drill = _live_drill(session)
    drill_task = task(session, drill_incident)  # 10:00-12:00 Amsterdam (from an hour from now)
    jobs.run_round(rounds, settings)
    _say(session, drilled, "ja", settings)
    real = ready_volunteer(session, km=0.5)
    index.invalidate()
    real_task = task(session, incident(session))
    jobs.run_round(rounds, settings)
    _say(session, real, "ja", settings)
    # Before the window ends nothing happens to either.
    assert lifecycle.end_practised(session, now=clock.now()) == 0
    clock.advance(timedelta(hours=4, minutes=30))  # well past both windows and the grace
    assert lifecycle.end_practised(session, now=clock.now()) == 1
    practised = session.exec(
        select(Assignment).where(col(Assignment.task_id) == drill_task.id)
    ).one()
    assert practised.state is AssignmentState.DONE
    session.refresh(drill_task)
    assert drill_task.state is TaskState.DONE
    # Only the real assignment is overdue.
    assert jobs.raise_overdue_in(rounds, settings) == 1
    [alert] = session.exec(
        select(DispatchAlert).where(col(DispatchAlert.kind) == AlertKind.OVERDUE)
    ).all()
    assert alert.task_id == real_task.id
    held = session.exec(select(Assignment).where(col(Assignment.task_id) == real_task.id)).one()
    assert held.state is AssignmentState.ASSIGNED


def test_no_overdue_alarm_for_a_drill_even_before_the_drill_job_ran(
    session: Session, clock: clock.ManualClock, settings: Settings, rounds: SessionFactory
) -> None:
    volunteer = ready_volunteer(session)
    drill_incident, _drill = _live_drill(session)
    task(session, drill_incident)
    jobs.run_round(rounds, settings)
    _say(session, volunteer, "ja", settings)
    clock.advance(timedelta(hours=5))
    assert jobs.raise_overdue_in(rounds, settings) == 0


def test_the_drill_ends_with_its_incident_and_keeps_a_last_report(
    session: Session, clock: clock.ManualClock, settings: Settings, rounds: SessionFactory
) -> None:
    volunteer = ready_volunteer(session)
    drill_incident, drill = _live_drill(session)
    drill_task = task(session, drill_incident, start_in=timedelta(hours=3))
    jobs.run_round(rounds, settings)
    _say(session, volunteer, "ja", settings)
    clock.advance(timedelta(minutes=20))
    incidents.start_closing(
        session,
        actor=SYSTEM,
        scope=AccessScope.everything(),
        incident=drill_incident,
        reason="Oefening afgelopen",
        now=clock.now(),
        settings=settings,
    )
    session.refresh(drill)
    assert drill.state is DrillState.DONE and drill.finished_at == clock.now()
    [run] = session.exec(select(DrillRun).where(col(DrillRun.drill_id) == drill.id)).all()
    built = drill_report.Report.from_json(run.report_json)
    assert built.slots_filled == 1 and built.offers_accepted == 1
    # The practised task ended too; the stand-down message says the drill is over.
    held = session.exec(select(Assignment).where(col(Assignment.task_id) == drill_task.id)).one()
    assert held.state is AssignmentState.DONE
    bodies = session.exec(
        select(OutboxMessage.body).where(col(OutboxMessage.volunteer_id) == volunteer.id)
    ).all()
    assert all(b.startswith("OEFENING") for b in bodies)
    assert not any("Rond je lopende taak af" in b for b in bodies)


def test_the_worker_ends_a_drill_whose_incident_closed_without_the_hook(
    session: Session, clock: clock.ManualClock, settings: Settings
) -> None:
    drill_incident, drill = _live_drill(session)
    incidents.unregister_on_closing(lifecycle.on_incident_closing)
    try:
        incidents.start_closing(
            session,
            actor=SYSTEM,
            scope=AccessScope.everything(),
            incident=drill_incident,
            reason="Oefening afgelopen",
            now=clock.now(),
            settings=settings,
        )
    finally:
        lifecycle.register()
    session.refresh(drill)
    assert drill.state is DrillState.RUNNING
    assert lifecycle.end_closed(session, settings=settings, now=clock.now()) == 1
    session.refresh(drill)
    assert drill.state is DrillState.DONE
    assert lifecycle.end_closed(session, settings=settings, now=clock.now()) == 0


def test_the_stand_down_notices_count_among_the_drills_messages(
    session: Session, clock: clock.ManualClock, settings: Settings, rounds: SessionFactory
) -> None:
    people = [ready_volunteer(session), ready_volunteer(session, km=2)]
    drill_incident, _drill = _live_drill(session)
    task(session, drill_incident, start_in=timedelta(hours=3))  # one slot, two offers (level 1)
    jobs.run_round(rounds, settings)
    assert len(session.exec(select(Offer)).all()) == 2
    clock.advance(timedelta(minutes=5))
    incidents.start_closing(
        session,
        actor=SYSTEM,
        scope=AccessScope.everything(),
        incident=drill_incident,
        reason="Oefening afgelopen",
        now=clock.now(),
        settings=settings,
    )
    notices = session.exec(
        select(OutboxMessage).where(col(OutboxMessage.subject_kind) == INCIDENT_SUBJECT)
    ).all()
    assert {m.volunteer_id for m in notices} == {p.id for p in people}
    assert all(m.body.startswith("OEFENING: de oefening is afgelopen") for m in notices)
    clock.advance(timedelta(minutes=5))
    built = drill_report.build(
        session, incident_ids=[drill_incident.id or 0], settings=settings, title="Afgelopen"
    )
    assert built.offers == 2 and built.messages_total == 4  # two offers, two stand-downs
