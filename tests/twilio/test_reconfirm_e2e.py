"""Re-confirmation end to end over the fake Twilio, driven by the controllable clock.

The real pieces run: the periodic job (``brigades.readiness.jobs``) in its own transaction, the
outbox worker with the Twilio adapter against the fake server over loopback HTTP, the signed
inbound webhook, and the worker's handling of recorded replies. Four volunteers are due: one
answers JA, one NEE, one STOP, one stays silent through the reminders, becomes dormant and comes
back with BESCHIKBAAR.
"""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, col, select
from twilio.request_validator import RequestValidator

from brigades import runtime
from brigades.app import create_app
from brigades.clock import ManualClock
from brigades.db import session_scope
from brigades.readiness import jobs, texts
from brigades.readiness.models import Reconfirmation, ReconfirmationState
from brigades.volunteers.models import Volunteer, VolunteerStatus
from tests.readiness.factories import make_volunteer
from tests.support.fake_twilio import FakeTwilio
from tests.twilio.conftest import PUBLIC_URL, twilio_settings

INTERVAL = 182
_sids = iter(range(5000, 6000))


def _reply(client: TestClient, fake: FakeTwilio, phone: str, body: str) -> None:
    params = {
        "MessageSid": f"SM{next(_sids):032d}",
        "AccountSid": fake.account_sid,
        "From": phone,
        "To": "+3197010203040",
        "Body": body,
    }
    url = PUBLIC_URL + "/webhooks/twilio/sms"
    signature = RequestValidator(fake.auth_token).compute_signature(url, params)
    answer = client.post(
        "/webhooks/twilio/sms", data=params, headers={"X-Twilio-Signature": signature}
    )
    assert answer.status_code == 200, answer.text


def _drain(worker: object) -> None:
    run_once = worker.run_once  # type: ignore[attr-defined]
    for _ in range(20):
        if run_once() == 0:
            return
    raise AssertionError("the worker never ran out of work")


def _states(engine: Engine, ids: list[int]) -> list[tuple[VolunteerStatus, ReconfirmationState]]:
    with Session(engine) as session:
        found = []
        for volunteer_id in ids:
            volunteer = session.get(Volunteer, volunteer_id)
            assert volunteer is not None
            last = session.exec(
                select(Reconfirmation)
                .where(col(Reconfirmation.volunteer_id) == volunteer_id)
                .order_by(col(Reconfirmation.id).desc())
            ).first()
            assert last is not None
            found.append((volunteer.status, last.state))
        return found


def test_ja_nee_stop_silence_dormancy_and_revival_over_twilio(
    db: Engine, fake: FakeTwilio, clock: ManualClock, fresh_database: str
) -> None:
    settings = twilio_settings(
        fresh_database,
        fake,
        worker_in_process=False,
        scheduler_enabled=False,
        reconfirm_interval_days=INTERVAL,
        reconfirm_reminders=2,
        reconfirm_reminder_days=7,
    )
    with session_scope(db) as session:
        people = [make_volunteer(session) for _ in range(4)]
        ids = [v.id or 0 for v in people]
        phones = [v.phone or "" for v in people]
    yes, no, stop, silent = phones
    worker = runtime.build_worker(settings, db)
    clock.advance(timedelta(days=INTERVAL + 1))
    with TestClient(create_app(settings, engine=db), base_url="http://testserver") as client:
        report = jobs.run_reconfirmation(db, settings)
        assert report.asked == 4 and report.sms_sent == 4
        _drain(worker)
        for phone in phones:
            [question] = fake.sent_to(phone)
            assert question.body.startswith("Zorgbrigade: ben je nog beschikbaar")
            assert f"{PUBLIC_URL}/mijn" in question.body

        _reply(client, fake, yes, "Ja")
        _reply(client, fake, no, "nee")
        _reply(client, fake, stop, "STOP")
        _drain(worker)
        assert fake.sent_to(yes)[-1].body == texts.RECONFIRM_YES
        assert fake.sent_to(no)[-1].body.startswith("Helder. Je staat op pauze tot")
        assert len(fake.sent_to(stop)) == 1  # Twilio answers its own STOP; we say nothing
        assert _states(db, ids[:3]) == [
            (VolunteerStatus.ACTIVE, ReconfirmationState.CONFIRMED),
            (VolunteerStatus.PAUSED, ReconfirmationState.DECLINED),
            (VolunteerStatus.ACTIVE, ReconfirmationState.ASKED),
        ]
        with Session(db) as session:
            opted_out = session.get(Volunteer, ids[2])
            assert opted_out is not None and opted_out.sms_opted_out

        # Two reminders a week apart, to the silent one only (never to the one who said STOP).
        for week in (1, 2):
            clock.advance(timedelta(days=7))
            assert jobs.run_reconfirmation(db, settings).reminded == 2
            _drain(worker)
            assert len(fake.sent_to(silent)) == 1 + week
            assert fake.sent_to(silent)[-1].body.startswith("Zorgbrigade, herinnering")
            assert len(fake.sent_to(stop)) == 1

        # A week after the last reminder: dormant, told once how to come back.
        clock.advance(timedelta(days=7))
        assert jobs.run_reconfirmation(db, settings).dormant == 2
        _drain(worker)
        assert fake.sent_to(silent)[-1].body == texts.RECONFIRM_DORMANT
        assert len(fake.sent_to(stop)) == 1
        assert _states(db, [ids[3], ids[2]]) == [
            (VolunteerStatus.DORMANT, ReconfirmationState.DORMANT),
            (VolunteerStatus.DORMANT, ReconfirmationState.DORMANT),
        ]

        _reply(client, fake, silent, "beschikbaar!")
        _drain(worker)
        assert "BESCHIKBAAR" not in fake.sent_to(silent)[-1].body  # the confirmation, not a hint
        assert jobs.run_reconfirmation(db, settings).revived == 1
        assert _states(db, [ids[3]]) == [(VolunteerStatus.ACTIVE, ReconfirmationState.REVIVED)]

        # Nobody who answered (or came back) is asked again before the next interval.
        clock.advance(timedelta(days=1))
        assert jobs.run_reconfirmation(db, settings).asked == 0
    assert all(n == 1 for oid, n in fake.per_outbox_id().items() if oid is not None)
