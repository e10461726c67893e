"""Warnings ahead of a VOG's or evidence's expiry: once per expiry, with what to do, held during
an incident in the region; run from the vetting job."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from brigades import clock as clock_module
from brigades.accounts.models import Role
from brigades.db import make_engine, session_scope
from brigades.readiness import expiry, texts
from brigades.settings import Settings
from brigades.skills.models import EvidenceKind
from brigades.vetting import jobs
from notifications.models import OutboxMessage
from tests.accounts.factories import make_user
from tests.incidents.factories import make_incident
from tests.readiness.factories import log_in_volunteer, make_volunteer, messages_to
from tests.vetting.factories import days_ago, see_identity, see_vog


def test_a_vog_warning_goes_once_with_what_to_do(
    session: Session, clock: clock_module.ManualClock, settings: Settings
) -> None:
    volunteer = make_volunteer(session)
    coordinator = make_user(session, role=Role.ADMINISTRATOR)
    see_identity(session, volunteer, coordinator)
    # Three years minus 20 days old: it stops counting in 20 days.
    see_vog(session, volunteer, coordinator, settings, days_ago(3 * 365 - 20))
    now = clock_module.now()
    assert expiry.send_due_warnings(session, now=now, settings=settings).vog == 1
    [message] = messages_to(session, volunteer)
    assert "VOG verloopt op" in message.body and "justis.nl" in message.body
    assert expiry.send_due_warnings(session, now=now, settings=settings).vog == 0
    clock.advance(timedelta(days=3))
    assert expiry.send_due_warnings(session, now=clock_module.now(), settings=settings).vog == 0
    assert len(messages_to(session, volunteer)) == 1


def test_no_warning_far_ahead_or_when_a_newer_vog_counts(
    session: Session, clock: clock_module.ManualClock, settings: Settings
) -> None:
    volunteer = make_volunteer(session)
    coordinator = make_user(session, role=Role.ADMINISTRATOR)
    see_identity(session, volunteer, coordinator)
    see_vog(session, volunteer, coordinator, settings, days_ago(3 * 365 - 20))
    see_vog(session, volunteer, coordinator, settings, days_ago(10))
    assert expiry.send_due_warnings(session, now=clock_module.now(), settings=settings).vog == 0


def test_evidence_warning_and_incident_hold(
    session: Session, clock: clock_module.ManualClock, settings: Settings
) -> None:
    now = clock_module.now()
    volunteer = make_volunteer(
        session,
        skills=(("ehbo", EvidenceKind.CERTIFICATE, True, now + timedelta(days=10)),),
    )
    make_volunteer(
        session,
        skills=(("ehbo", EvidenceKind.CERTIFICATE, True, now + timedelta(days=90)),),
    )
    incident = make_incident(session, vr_code="VR09")
    assert expiry.send_due_warnings(session, now=now, settings=settings).evidence == 0
    incident.state = incident.state.__class__("closed")
    session.add(incident)
    session.flush()
    assert expiry.send_due_warnings(session, now=now, settings=settings).evidence == 1
    [message] = messages_to(session, volunteer)
    assert message.body.startswith("Zorgbrigade: je bewijs voor ehbo")


def test_every_text_is_one_gsm7_segment_with_realistic_values() -> None:
    from notifications.segments import count_segments, is_gsm7

    samples = [
        texts.RECONFIRM_ASK.format(code="4821", url="https://zorgbrigade.example.nl/mijn"),
        texts.RECONFIRM_REMINDER.format(code="4821"),
        texts.RECONFIRM_DORMANT,
        texts.RECONFIRM_YES,
        texts.RECONFIRM_NO.format(date="23-05-2027"),
        texts.RECONFIRM_ALREADY,
        texts.VOG_WARNING.format(date="31-12-2026"),
        texts.EVIDENCE_WARNING.format(skill="lichte persoonlijke verzorging", date="31-12-2026"),
    ]
    for text in samples:
        assert is_gsm7(text), text
        assert count_segments(text).segments == 1, (len(text), text)


def test_the_vetting_job_sends_the_warnings_in_its_own_transaction(
    fresh_database: str, clock: clock_module.ManualClock, settings: Settings
) -> None:
    engine = make_engine(fresh_database)
    try:
        with session_scope(engine) as seed:
            volunteer = make_volunteer(seed)
            coordinator = make_user(seed, role=Role.ADMINISTRATOR)
            see_identity(seed, volunteer, coordinator)
            see_vog(seed, volunteer, coordinator, settings, days_ago(3 * 365 - 5))
            phone = volunteer.phone
        jobs.run_daily(engine, settings)
        jobs.run_daily(engine, settings)
        with session_scope(engine) as check:
            sent = check.exec(
                select(OutboxMessage).where(col(OutboxMessage.recipient) == phone)
            ).all()
            assert len(sent) == 1 and "je VOG verloopt op" in sent[0].body
    finally:
        engine.dispose()


def test_a_volunteer_we_cannot_text_sees_what_expires_on_their_page(
    client: TestClient, session: Session, clock: clock_module.ManualClock, settings: Settings
) -> None:
    now = clock_module.now()
    volunteer = make_volunteer(
        session,
        skills=(
            ("ehbo", EvidenceKind.CERTIFICATE, True, now + timedelta(days=10)),
            ("boodschappen", EvidenceKind.CERTIFICATE, True, now + timedelta(days=90)),
        ),
    )
    volunteer.sms_opted_out = True
    session.add(volunteer)
    coordinator = make_user(session, role=Role.ADMINISTRATOR)
    see_identity(session, volunteer, coordinator)
    see_vog(session, volunteer, coordinator, settings, days_ago(3 * 365 - 20))
    report = expiry.send_due_warnings(session, now=now, settings=settings)
    assert (report.vog, report.evidence) == (1, 1)
    assert messages_to(session, volunteer) == []  # opted out: no SMS
    session.commit()

    log_in_volunteer(client, volunteer, settings)
    page = client.get("/mijn/inzet").text
    assert "Verloopt binnenkort" in page
    section = page[page.index('id="verloopt"') : page.index('id="beschikbaar"')]
    assert "Je bewijs voor ehbo" in section and "Je VOG" in section
    assert section.index("ehbo") < section.index("Je VOG")  # soonest first
    assert expiry.EVIDENCE_TODO in section and "justis.nl" in section
    assert "boodschappen" not in section  # 90 days ahead: not yet
    last_day = clock_module.local(now + timedelta(days=10) - timedelta(seconds=1))
    assert f"tot en met {last_day.strftime('%d-%m-%Y')}" in section


def test_nothing_expiring_shows_no_notice(
    client: TestClient, session: Session, clock: clock_module.ManualClock, settings: Settings
) -> None:
    volunteer = make_volunteer(session)
    session.commit()
    log_in_volunteer(client, volunteer, settings)
    assert "Verloopt binnenkort" not in client.get("/mijn/inzet").text
