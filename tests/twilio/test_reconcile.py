"""Messages whose outcome was never recorded: reconciled with Twilio, never doubled blindly.

The crash is simulated in-process here (a row left in ``sending``, a message Twilio accepted
without our record); test_crash.py does the same with a real SIGKILL.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, update
from sqlmodel import Session

from brigades import runtime
from brigades.clock import ManualClock
from brigades.db import session_scope
from brigades.settings import Settings
from notifications import recovery
from notifications.duplicates import DuplicateSource
from notifications.failures import FailureHandlers
from notifications.models import MessageState, OutboxMessage
from notifications.providers.base import OutboundSms
from notifications.providers.twilio import TwilioProvider, status_callback_url
from notifications.status import apply_status
from tests.support.fake_twilio import FakeTwilio, ReceivedMessage
from tests.twilio.conftest import (
    PUBLIC_URL,
    drain,
    duplicates,
    load,
    make_worker,
    queue_sms,
    twilio_settings,
)


@pytest.fixture
def settings(fresh_database: str, fake: FakeTwilio) -> Settings:
    return twilio_settings(fresh_database, fake)


def crash_after_claim(engine: Engine, outbox_id: int, clock: ManualClock) -> None:
    """What a worker killed right after claiming leaves: ``sending``, no SID."""
    with session_scope(engine) as session:
        session.exec(
            update(OutboxMessage)
            .where(OutboxMessage.id == outbox_id)  # type: ignore[arg-type]
            .values(
                state=MessageState.SENDING,
                claimed_at=clock.now(),
                claimed_by="killed-worker",
                attempts=OutboxMessage.attempts + 1,
            )
        )


def crash_after_answer(
    engine: Engine, settings: Settings, fake: FakeTwilio, outbox_id: int, clock: ManualClock
) -> ReceivedMessage:
    """What a worker killed between Twilio's answer and its commit leaves (real adapter sends)."""
    crash_after_claim(engine, outbox_id, clock)
    message = load(engine, outbox_id)
    provider = runtime.build_providers(settings)["twilio"]
    assert isinstance(provider, TwilioProvider)
    result = provider.send(
        OutboundSms(
            outbox_id=outbox_id,
            to=message.recipient,
            body=message.body,
            status_callback_url=status_callback_url(PUBLIC_URL, outbox_id),
        )
    )
    provider.close()
    (accepted,) = [m for m in fake.accepted() if m.sid == result.provider_sid]
    return accepted


def test_a_stuck_message_twilio_has_is_adopted_not_resent(
    db: Engine, settings: Settings, fake: FakeTwilio, clock: ManualClock
) -> None:
    (outbox_id,) = queue_sms(db, clock.now())
    accepted = crash_after_answer(db, settings, fake, outbox_id, clock)
    worker = make_worker(settings, db, clock)

    clock.advance(settings.worker_sending_grace_seconds - 1)
    assert worker.run_once() == 0, "within the grace period nobody touches it"
    assert fake.list_requests == 0

    clock.advance(2)
    drain(worker)

    message = load(db, outbox_id)
    assert message.state is MessageState.SENT
    assert message.provider_sid == accepted.sid
    assert len(fake.accepted()) == 1, "not sent again"
    assert fake.list_requests == 1
    assert duplicates(db) == []


def test_a_stuck_message_twilio_never_got_is_sent_once(
    db: Engine, settings: Settings, fake: FakeTwilio, clock: ManualClock
) -> None:
    (outbox_id,) = queue_sms(db, clock.now())
    crash_after_claim(db, outbox_id, clock)
    worker = make_worker(settings, db, clock)

    clock.advance(settings.worker_sending_grace_seconds + 1)
    drain(worker)

    (received,) = fake.accepted()
    message = load(db, outbox_id)
    assert message.state is MessageState.SENT
    assert message.provider_sid == received.sid
    assert message.attempts == 2
    assert received.outbox_id == outbox_id


def test_a_status_callback_resolves_a_stuck_message_before_the_grace_ends(
    db: Engine, settings: Settings, fake: FakeTwilio, clock: ManualClock
) -> None:
    (outbox_id,) = queue_sms(db, clock.now())
    accepted = crash_after_answer(db, settings, fake, outbox_id, clock)
    with session_scope(db) as session:
        apply_status(
            session,
            provider_sid=accepted.sid,
            outbox_id=outbox_id,
            status="delivered",
            now=clock.now(),
        )

    clock.advance(timedelta(hours=1))
    drain(make_worker(settings, db, clock))

    assert load(db, outbox_id).state is MessageState.DELIVERED
    assert fake.list_requests == 0, "nothing left to reconcile"
    assert len(fake.accepted()) == 1


def test_when_twilio_cannot_be_asked_nothing_is_sent_until_it_can(
    db: Engine, settings: Settings, fake: FakeTwilio, clock: ManualClock
) -> None:
    (outbox_id,) = queue_sms(db, clock.now())
    crash_after_claim(db, outbox_id, clock)
    worker = make_worker(settings, db, clock)
    fake.faults.list_error = True

    clock.advance(settings.worker_sending_grace_seconds + 1)
    worker.run_once()
    assert load(db, outbox_id).state is MessageState.SENDING
    worker.run_once()
    assert fake.list_requests == 1, "leased: asked again only after another grace period"

    fake.faults.list_error = False
    clock.advance(settings.worker_sending_grace_seconds)
    drain(worker)
    assert load(db, outbox_id).state is MessageState.SENT
    assert len(fake.accepted()) == 1


def test_a_lost_answer_is_reconciled_after_the_grace_period(
    db: Engine, fresh_database: str, fake: FakeTwilio, clock: ManualClock
) -> None:
    fake.faults.delay_after_accept = 0.6
    settings = twilio_settings(fresh_database, fake, twilio_read_timeout_seconds=0.2)
    worker = make_worker(settings, db, clock)
    (outbox_id,) = queue_sms(db, clock.now())

    worker.run_once()
    assert load(db, outbox_id).state is MessageState.UNCERTAIN
    (accepted,) = fake.accepted()
    fake.faults.delay_after_accept = 0

    clock.advance(settings.worker_sending_grace_seconds + 1)
    drain(worker)

    message = load(db, outbox_id)
    assert message.state is MessageState.SENT
    assert message.provider_sid == accepted.sid
    assert len(fake.accepted()) == 1


def test_a_timeout_twilio_never_acted_on_is_sent_once_after_the_grace_period(
    db: Engine, fresh_database: str, fake: FakeTwilio, clock: ManualClock
) -> None:
    fake.faults.script = ["timeout"]
    fake.faults.timeout_seconds = 0.6
    settings = twilio_settings(fresh_database, fake, twilio_read_timeout_seconds=0.2)
    worker = make_worker(settings, db, clock)
    (outbox_id,) = queue_sms(db, clock.now())

    worker.run_once()
    assert load(db, outbox_id).state is MessageState.UNCERTAIN

    clock.advance(settings.worker_sending_grace_seconds + 1)
    drain(worker)
    assert load(db, outbox_id).state is MessageState.SENT
    assert len(fake.accepted()) == 1


def test_the_window_sends_twice_and_the_late_callback_reports_it(
    db: Engine, settings: Settings, fake: FakeTwilio, clock: ManualClock
) -> None:
    (outbox_id,) = queue_sms(db, clock.now(), subject_kind="offer", subject_id=3)
    first = crash_after_answer(db, settings, fake, outbox_id, clock)
    fake.faults.hide_from_list = True  # Twilio took it, but its list does not show it yet

    clock.advance(settings.worker_sending_grace_seconds + 1)
    drain(make_worker(settings, db, clock))

    copies = fake.accepted()
    assert len(copies) == 2, "the documented window: sent again"
    second = copies[1]
    assert load(db, outbox_id).provider_sid == second.sid
    assert duplicates(db) == []

    with session_scope(db) as session:
        apply_status(
            session,
            provider_sid=first.sid,
            outbox_id=outbox_id,
            status="delivered",
            now=clock.now(),
        )

    (duplicate,) = duplicates(db)
    assert duplicate.outbox_id == outbox_id
    assert duplicate.provider_sid == first.sid
    assert duplicate.recorded_sid == second.sid
    assert duplicate.source == DuplicateSource.STATUS_CALLBACK
    assert duplicate.last_status == "delivered"
    assert load(db, outbox_id).state is MessageState.SENT, "the other copy's report is not applied"
    with Session(db) as session:
        report = recovery.report(session)
    assert [d.outbox_id for d in report.suspected_duplicates] == [outbox_id]


def test_a_callback_arriving_during_the_resend_is_reported_from_the_send_result(
    db: Engine, settings: Settings, fake: FakeTwilio, clock: ManualClock
) -> None:
    (outbox_id,) = queue_sms(db, clock.now())
    first = crash_after_answer(db, settings, fake, outbox_id, clock)
    fake.faults.hide_from_list = True

    def late_callback(point: str) -> None:
        if point == "before_send":  # the first copy's callback, racing the re-send
            with session_scope(db) as session:
                apply_status(
                    session,
                    provider_sid=first.sid,
                    outbox_id=outbox_id,
                    status="sent",
                    now=clock.now(),
                )

    clock.advance(settings.worker_sending_grace_seconds + 1)
    drain(make_worker(settings, db, clock, crash_hook=late_callback))

    first_copy, second_copy = fake.accepted()
    message = load(db, outbox_id)
    assert message.provider_sid == first_copy.sid
    assert message.state is MessageState.SENT
    (duplicate,) = duplicates(db)
    assert duplicate.provider_sid == second_copy.sid
    assert duplicate.source == DuplicateSource.SEND_RESULT


def test_a_callback_for_a_requeued_message_stops_the_resend(
    db: Engine, settings: Settings, fake: FakeTwilio, clock: ManualClock
) -> None:
    (outbox_id,) = queue_sms(db, clock.now())
    first = crash_after_answer(db, settings, fake, outbox_id, clock)
    fake.faults.hide_from_list = True
    worker = make_worker(settings, db, clock)
    clock.advance(settings.worker_sending_grace_seconds + 1)
    worker.run_once()  # reconciled: not found, queued again
    assert load(db, outbox_id).state is MessageState.QUEUED

    with session_scope(db) as session:
        apply_status(
            session, provider_sid=first.sid, outbox_id=outbox_id, status="sent", now=clock.now()
        )
    drain(worker)

    assert len(fake.accepted()) == 1
    assert load(db, outbox_id).provider_sid == first.sid


def test_several_copies_at_twilio_adopt_the_first_and_report_the_rest(
    db: Engine, settings: Settings, fake: FakeTwilio, clock: ManualClock
) -> None:
    (outbox_id,) = queue_sms(db, clock.now())
    first = crash_after_answer(db, settings, fake, outbox_id, clock)
    clock.advance(1)
    second = crash_after_answer(db, settings, fake, outbox_id, clock)

    clock.advance(settings.worker_sending_grace_seconds + 1)
    drain(make_worker(settings, db, clock))

    assert load(db, outbox_id).provider_sid == first.sid
    assert [(d.provider_sid, d.source) for d in duplicates(db)] == [
        (second.sid, DuplicateSource.RECONCILE)
    ]
    assert len(fake.accepted()) == 2


def test_a_copy_recorded_on_another_message_is_not_adopted(
    db: Engine, settings: Settings, fake: FakeTwilio, clock: ManualClock
) -> None:
    # Two messages with the same text to the same number: the one recorded keeps its SID.
    recorded, stuck = queue_sms(db, clock.now(), 2, recipient="+31612345678")
    drain(make_worker(settings, db, clock, batch_size=1))  # sends both
    with session_scope(db) as session:  # forget the second one's outcome: the crash window
        session.exec(
            update(OutboxMessage)
            .where(OutboxMessage.id == stuck)  # type: ignore[arg-type]
            .values(state=MessageState.SENDING, provider_sid=None, sent_at=None)
        )
    other = load(db, recorded).provider_sid

    clock.advance(settings.worker_sending_grace_seconds + 1)
    drain(make_worker(settings, db, clock))

    adopted = load(db, stuck).provider_sid
    assert adopted is not None and adopted != other
    assert load(db, recorded).provider_sid == other
    assert len(fake.accepted()) == 2


def test_out_of_attempts_an_unresolved_message_fails_and_tells_the_subject(
    db: Engine, fresh_database: str, fake: FakeTwilio, clock: ManualClock
) -> None:
    settings = twilio_settings(fresh_database, fake, outbox_max_attempts=1)
    handlers = FailureHandlers()
    calls: list[int] = []
    handlers.register("offer", lambda _s, subject_id, _m: calls.append(subject_id))
    (outbox_id,) = queue_sms(db, clock.now(), subject_kind="offer", subject_id=8)
    crash_after_claim(db, outbox_id, clock)

    clock.advance(settings.worker_sending_grace_seconds + 1)
    drain(make_worker(settings, db, clock, handlers=handlers))

    assert load(db, outbox_id).state is MessageState.FAILED
    assert calls == [8]
    assert fake.accepted() == []
