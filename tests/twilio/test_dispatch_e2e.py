"""End to end over the fake Twilio: incident → task → waves → SMS replies → filled.

The real pieces run: the dispatch round (``brigades.dispatch.jobs``), the outbox worker with the
Twilio adapter against the fake server over loopback HTTP, the signed inbound webhook, and the
worker's handling of recorded replies. A permanent SMS failure, a NEE and an expiry each bring
the next wave; the controllable clock drives the expiry.
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
from brigades.dispatch import index, jobs
from brigades.tasks.models import Assignment, CareTask, Offer, OfferState, TaskState
from tests.dispatch.factories import incident, ready_volunteer, task
from tests.support.fake_twilio import FakeTwilio
from tests.twilio.conftest import PUBLIC_URL, twilio_settings

_sids = iter(range(1, 1000))


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
    assert "<Response" in answer.text


def _offers(engine: Engine, task_id: int) -> list[tuple[int, OfferState]]:
    with Session(engine) as session:
        rows = session.exec(
            select(Offer).where(col(Offer.task_id) == task_id).order_by(col(Offer.id))
        )
        return [(o.volunteer_id, o.state) for o in rows]


def _drain(worker: object) -> None:
    run_once = worker.run_once
    for _ in range(20):
        if run_once() == 0:
            return
    raise AssertionError("the worker never ran out of work")


def test_from_incident_to_filled_task(
    db: Engine, fake: FakeTwilio, clock: ManualClock, fresh_database: str
) -> None:
    settings = twilio_settings(
        fresh_database, fake, worker_in_process=False, scheduler_enabled=False
    )
    index.invalidate()
    with session_scope(db) as session:
        care_task = task(session, incident(session), start_in=timedelta(hours=3))
        unreachable = ready_volunteer(session, km=0.3)
        decliner = ready_volunteer(session, km=0.5)
        silent = ready_volunteer(session, km=0.8)
        taker = ready_volunteer(session, km=1.1)
        phones = {v.id: v.phone or "" for v in (unreachable, decliner, silent, taker)}
        task_id = care_task.id or 0
        ids = [unreachable.id, decliner.id, silent.id, taker.id]
    fake.faults.permanent[phones[ids[0]]] = 21211  # not a valid number
    worker = runtime.build_worker(settings, db)
    rounds = lambda: jobs.tick(db, settings)  # noqa: E731
    with TestClient(create_app(settings, engine=db), base_url="http://testserver") as client:
        # Wave 1: the two nearest. The first number fails for good, which brings wave 2.
        assert rounds().offers == 2
        _drain(worker)
        assert _offers(db, task_id) == [(ids[0], OfferState.FAILED), (ids[1], OfferState.PENDING)]
        assert rounds().offers == 1
        _drain(worker)
        [offer_sms] = fake.sent_to(phones[ids[2]])
        assert "Kun je? Stuur JA" in offer_sms.body
        # NEE from the second: wave 3 goes to the fourth.
        _reply(client, fake, phones[ids[1]], "Nee, sorry")
        _drain(worker)
        assert rounds().offers == 1
        _drain(worker)
        assert fake.sent_to(phones[ids[1]])[-1].body.startswith("Dank je voor het laten weten")
        # The third never answers: expiry after 30 minutes (level 1) frees nothing more to ask.
        clock.advance(timedelta(minutes=31))
        report = rounds()
        assert report.expired == 2 and report.offers == 0
        # The fourth's offer expired too; a coordinator re-offers and the fourth says JA.
        assert [s for _, s in _offers(db, task_id)] == [
            OfferState.FAILED,
            OfferState.DECLINED,
            OfferState.EXPIRED,
            OfferState.EXPIRED,
        ]
    with session_scope(db) as session:
        unfilled = session.get(CareTask, task_id)
        assert unfilled is not None and unfilled.state is TaskState.UNFILLABLE
        from brigades.dispatch import service
        from tests.incidents.factories import ACTOR

        service.reoffer(
            session, task=unfilled, settings=settings, actor=ACTOR, widen=False, now=clock.now()
        )
    with TestClient(create_app(settings, engine=db), base_url="http://testserver") as client:
        # Everyone was asked already: the re-offer finds nobody new until someone new is nearby.
        assert rounds().unfillable == 1
        with session_scope(db) as session:
            newcomer = ready_volunteer(session, km=0.9)
            newcomer_phone, newcomer_id = newcomer.phone or "", newcomer.id
        index.invalidate()
        with session_scope(db) as session:
            again = session.get(CareTask, task_id)
            assert again is not None
            service.reoffer(
                session, task=again, settings=settings, actor=ACTOR, widen=False, now=clock.now()
            )
        assert rounds().offers == 1
        _drain(worker)
        _reply(client, fake, newcomer_phone, "ja")
        _drain(worker)
    details = fake.sent_to(newcomer_phone)[-1].body
    assert "Oudegracht 12" in details and "AANGEKOMEN" in details
    with Session(db) as session:
        filled = session.get(CareTask, task_id)
        assert filled is not None and filled.state is TaskState.FILLED
        [assignment] = session.exec(
            select(Assignment).where(col(Assignment.task_id) == task_id)
        ).all()
        assert assignment.volunteer_id == newcomer_id
    # Nothing went out twice.
    assert all(n == 1 for oid, n in fake.per_outbox_id().items() if oid is not None)
