"""Re-confirmation end to end: the job asks by SMS (console provider), the volunteer answers by
SMS or on /mijn, reminders follow, silence makes dormant, BESCHIKBAAR revives; the per-day budget
spreads the sends and an open incident holds them."""

from __future__ import annotations

import threading
from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from brigades import clock as clock_module
from brigades.conversation.models import Question, QuestionState
from brigades.db import make_engine
from brigades.incidents.models import IncidentState
from brigades.readiness import reconfirm, texts
from brigades.readiness.models import Reconfirmation, ReconfirmationDay, ReconfirmationState
from brigades.settings import Settings
from brigades.volunteers.models import VolunteerStatus
from tests.conftest import make_settings
from tests.incidents.factories import make_incident
from tests.readiness.factories import (
    log_in_volunteer,
    make_volunteer,
    messages_to,
    refreshed,
    sms_from,
)

INTERVAL = 182


@pytest.fixture
def cfg(database_url: str) -> Settings:
    return make_settings(
        database_url,
        reconfirm_interval_days=INTERVAL,
        reconfirm_reminders=2,
        reconfirm_reminder_days=7,
        reconfirm_daily_budget=100,
    )


def run(session: Session, cfg: Settings) -> reconfirm.CycleReport:
    return reconfirm.run_cycle(session, now=clock_module.now(), settings=cfg)


def rounds(session: Session, volunteer_id: int | None) -> list[Reconfirmation]:
    stmt = (
        select(Reconfirmation)
        .where(col(Reconfirmation.volunteer_id) == volunteer_id)
        .order_by(col(Reconfirmation.id))
    )
    return list(session.exec(stmt).all())


def test_nobody_is_asked_before_the_interval(
    session: Session, clock: clock_module.ManualClock, cfg: Settings
) -> None:
    volunteer = make_volunteer(session)
    clock.advance(timedelta(days=INTERVAL - 1))
    assert run(session, cfg).asked == 0
    assert messages_to(session, volunteer) == []


def test_ja_refreshes_and_the_next_round_comes_an_interval_later(
    session: Session, clock: clock_module.ManualClock, cfg: Settings
) -> None:
    volunteer = make_volunteer(session)
    clock.advance(timedelta(days=INTERVAL + 1))
    report = run(session, cfg)
    assert report.asked == 1 and report.sms_sent == 1
    [message] = messages_to(session, volunteer)
    assert message.provider == "console"
    question = session.exec(select(Question).where(Question.volunteer_id == volunteer.id)).one()
    assert f"JA {question.code}" in message.body and "/mijn" in message.body

    assert sms_from(session, cfg, volunteer, "ja") == texts.RECONFIRM_YES
    [row] = rounds(session, volunteer.id)
    assert row.state is ReconfirmationState.CONFIRMED
    assert refreshed(session, volunteer).status is VolunteerStatus.ACTIVE

    # Idempotent: the same day and the weeks after ask nothing more.
    assert run(session, cfg).asked == 0
    clock.advance(timedelta(days=30))
    assert run(session, cfg) == reconfirm.CycleReport(0, 0, 0, 0, 0, 0)
    assert len(messages_to(session, volunteer)) == 2  # the question and our thanks

    clock.advance(timedelta(days=INTERVAL))
    assert run(session, cfg).asked == 1


def test_silence_brings_reminders_then_dormancy_and_beschikbaar_revives(
    session: Session, clock: clock_module.ManualClock, cfg: Settings
) -> None:
    volunteer = make_volunteer(session)
    clock.advance(timedelta(days=INTERVAL + 1))
    assert run(session, cfg).asked == 1
    question = session.exec(select(Question).where(Question.volunteer_id == volunteer.id)).one()

    clock.advance(timedelta(days=6))
    assert run(session, cfg).reminded == 0
    clock.advance(timedelta(days=1))
    assert run(session, cfg).reminded == 1
    clock.advance(timedelta(days=7))
    assert run(session, cfg).reminded == 1
    bodies = [m.body for m in messages_to(session, volunteer)]
    assert bodies[1:] == [texts.RECONFIRM_REMINDER.format(code=question.code)] * 2
    assert refreshed(session, volunteer).status is VolunteerStatus.ACTIVE

    clock.advance(timedelta(days=7))
    report = run(session, cfg)
    assert report.dormant == 1
    assert refreshed(session, volunteer).status is VolunteerStatus.DORMANT
    assert messages_to(session, volunteer)[-1].body == texts.RECONFIRM_DORMANT
    session.refresh(question)
    assert question.state is QuestionState.EXPIRED
    assert run(session, cfg) == reconfirm.CycleReport(0, 0, 0, 0, 0, 0)

    # A late JA no longer answers anything; BESCHIKBAAR brings the volunteer back.
    assert sms_from(session, cfg, volunteer, "JA") != texts.RECONFIRM_YES
    assert refreshed(session, volunteer).status is VolunteerStatus.DORMANT
    sms_from(session, cfg, volunteer, "Beschikbaar")
    assert refreshed(session, volunteer).status is VolunteerStatus.ACTIVE
    assert run(session, cfg).revived == 1
    assert rounds(session, volunteer.id)[-1].state is ReconfirmationState.REVIVED
    # The revival counts as a confirmation: no new question the next day.
    clock.advance(timedelta(days=1))
    assert run(session, cfg).asked == 0


def test_nee_pauses_until_the_next_round(
    session: Session, clock: clock_module.ManualClock, cfg: Settings
) -> None:
    volunteer = make_volunteer(session)
    clock.advance(timedelta(days=INTERVAL + 1))
    asked_at = clock_module.now()
    run(session, cfg)
    reply = sms_from(session, cfg, volunteer, "NEE")
    stored = refreshed(session, volunteer)
    assert stored.status is VolunteerStatus.PAUSED
    assert stored.paused_until is not None
    until = clock_module.local(clock_module.as_utc(stored.paused_until)).date()
    assert until == clock_module.local(asked_at).date() + timedelta(days=INTERVAL)
    assert reply == texts.RECONFIRM_NO.format(date=until.strftime("%d-%m-%Y"))
    assert rounds(session, volunteer.id)[0].state is ReconfirmationState.DECLINED


def test_the_daily_budget_spreads_the_questions_over_days(
    session: Session, clock: clock_module.ManualClock, database_url: str
) -> None:
    cfg = make_settings(database_url, reconfirm_daily_budget=2)
    volunteers = [make_volunteer(session) for _ in range(5)]
    clock.advance(timedelta(days=INTERVAL + 1))
    assert run(session, cfg).asked == 2
    clock.advance(timedelta(hours=1))
    assert run(session, cfg).asked == 0  # same Amsterdam day: budget spent
    clock.advance(timedelta(days=1))
    assert run(session, cfg).asked == 2
    clock.advance(timedelta(days=1))
    assert run(session, cfg).asked == 1
    assert all(len(messages_to(session, v)) == 1 for v in volunteers)


def test_no_question_goes_out_during_an_open_incident_in_the_region(
    session: Session, clock: clock_module.ManualClock, cfg: Settings
) -> None:
    here = make_volunteer(session, vr_code="VR09")
    elsewhere = make_volunteer(session, vr_code="VR13")
    incident = make_incident(session, vr_code="VR09")
    clock.advance(timedelta(days=INTERVAL + 1))
    assert run(session, cfg).asked == 1
    assert messages_to(session, here) == [] and len(messages_to(session, elsewhere)) == 1
    incident.state = IncidentState.CLOSED
    session.add(incident)
    session.flush()
    assert run(session, cfg).asked == 1
    assert len(messages_to(session, here)) == 1


def test_a_volunteer_we_cannot_text_is_asked_on_the_page_only(
    session: Session, clock: clock_module.ManualClock, cfg: Settings
) -> None:
    volunteer = make_volunteer(session)
    volunteer.sms_opted_out = True
    session.add(volunteer)
    clock.advance(timedelta(days=INTERVAL + 1))
    report = run(session, cfg)
    assert report.asked == 1 and report.sms_sent == 0
    assert messages_to(session, volunteer) == []
    assert rounds(session, volunteer.id)[0].by_sms is False


def test_synthetic_and_unverified_volunteers_are_never_asked(
    session: Session, clock: clock_module.ManualClock, cfg: Settings
) -> None:
    make_volunteer(session, synthetic=True)
    make_volunteer(session, status=VolunteerStatus.PENDING)
    clock.advance(timedelta(days=INTERVAL + 1))
    assert run(session, cfg).asked == 0


def test_the_button_on_mijn_confirms_and_needs_the_csrf_token(
    client: TestClient,
    session: Session,
    clock: clock_module.ManualClock,
    settings: Settings,
) -> None:
    volunteer = make_volunteer(session)
    clock.advance(timedelta(days=INTERVAL + 1))
    run(session, settings)
    session.commit()
    log_in_volunteer(client, volunteer, settings)
    page = client.get("/mijn/inzet")
    assert page.status_code == 200 and "We vroegen je of je nog beschikbaar bent" in page.text
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]

    refused = client.post("/mijn/nog-beschikbaar", data={}, follow_redirects=False)
    assert refused.status_code == 403
    assert rounds(session, volunteer.id)[0].state is ReconfirmationState.ASKED

    done = client.post("/mijn/nog-beschikbaar", data={"csrf_token": token}, follow_redirects=False)
    assert done.status_code == 303
    session.expire_all()
    [row] = rounds(session, volunteer.id)
    assert row.state is ReconfirmationState.CONFIRMED and row.channel is not None
    question = session.exec(select(Question).where(Question.volunteer_id == volunteer.id)).one()
    assert question.state is QuestionState.CLOSED


def test_the_button_revives_a_dormant_volunteer(
    client: TestClient, session: Session, clock: clock_module.ManualClock, settings: Settings
) -> None:
    volunteer = make_volunteer(session, status=VolunteerStatus.DORMANT)
    session.commit()
    log_in_volunteer(client, volunteer, settings)
    page = client.get("/mijn/inzet")
    assert "niet actief" in page.text
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    client.post("/mijn/nog-beschikbaar", data={"csrf_token": token})
    assert refreshed(session, volunteer).status is VolunteerStatus.ACTIVE


def test_nothing_goes_out_at_night(
    session: Session, clock: clock_module.ManualClock, cfg: Settings
) -> None:
    make_volunteer(session)
    clock.advance(timedelta(days=INTERVAL + 1, hours=12))  # 22:00 in Amsterdam
    assert run(session, cfg).asked == 0
    clock.advance(timedelta(hours=11))  # 09:00
    assert run(session, cfg).asked == 1


def test_an_incident_calls_off_the_running_round_in_its_region_only(
    session: Session, clock: clock_module.ManualClock, cfg: Settings
) -> None:
    here = make_volunteer(session, vr_code="VR09")
    elsewhere = make_volunteer(session, vr_code="VR13")
    clock.advance(timedelta(days=INTERVAL + 1))
    assert run(session, cfg).asked == 2
    incident = make_incident(session, vr_code="VR09")

    # At once, not at the next run: the question is closed, so a bare JA to a code-zwart offer
    # can never be taken for an answer to "ben je nog beschikbaar?".
    [called_off] = rounds(session, here.id)
    assert called_off.state is ReconfirmationState.CANCELLED
    [question] = session.exec(select(Question).where(Question.volunteer_id == here.id)).all()
    assert question.state is QuestionState.CLOSED
    assert sms_from(session, cfg, here, "JA") != texts.RECONFIRM_YES
    assert rounds(session, elsewhere.id)[0].state is ReconfirmationState.ASKED

    # While it lasts: no reminder, no dormancy, no new question here; elsewhere the round runs on.
    for _ in range(3):
        clock.advance(timedelta(days=7))
        run(session, cfg)
    assert refreshed(session, here).status is VolunteerStatus.ACTIVE
    assert len(messages_to(session, here)) == 2  # the question and the answer to that JA
    assert refreshed(session, elsewhere).status is VolunteerStatus.DORMANT

    incident.state = IncidentState.CLOSED
    session.add(incident)
    session.flush()
    assert run(session, cfg).asked == 1
    assert rounds(session, here.id)[-1].state is ReconfirmationState.ASKED
    assert messages_to(session, here)[-1].body.startswith("Zorgbrigade: ben je nog beschikbaar")


@pytest.mark.postgres_only
def test_two_workers_opening_the_same_day_share_one_budget_row(fresh_database: str) -> None:
    """Both insert the day's counter at once: the second waits for the first's row and then
    counts on from it, instead of failing on the duplicate key."""
    engine = make_engine(fresh_database)
    day = date(2026, 12, 7)
    seen: list[int] = []

    def second_worker() -> None:
        with Session(engine) as other:
            counter = reconfirm._day_counter(other, day)
            seen.append(counter.sms_sent)
            counter.sms_sent += 1
            other.commit()

    try:
        with Session(engine) as first:
            reconfirm._day_counter(first, day).sms_sent = 3
            first.flush()
            thread = threading.Thread(target=second_worker)
            thread.start()
            thread.join(0.5)
            assert thread.is_alive(), "the second worker must wait for the first's counter"
            first.commit()
        thread.join(10)
        assert seen == [3]
        with Session(engine) as check:
            assert check.exec(select(ReconfirmationDay)).one().sms_sent == 4
    finally:
        engine.dispose()
