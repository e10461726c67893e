"""Sending through Twilio: the real adapter and wiring against the fake server over HTTP."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine

from brigades import runtime
from brigades.clock import ManualClock
from brigades.conversation import outbound
from brigades.db import session_scope
from brigades.volunteers.models import Volunteer
from notifications.failures import FailureHandlers, default_handlers
from notifications.models import MessageState, OutboxMessage
from notifications.providers.base import SYNTHETIC_RECIPIENT
from notifications.providers.twilio import TwilioProvider
from tests.conftest import make_settings
from tests.conversation.factories import make_volunteer
from tests.support.fake_twilio import FakeTwilio
from tests.twilio.conftest import (
    LONG_CODE,
    PUBLIC_URL,
    SERVICE_SID,
    drain,
    load,
    make_worker,
    queue_sms,
    twilio_settings,
)


def test_twilio_settings_build_the_twilio_provider(fresh_database: str, fake: FakeTwilio) -> None:
    settings = twilio_settings(fresh_database, fake)
    providers = runtime.build_providers(settings)
    assert set(providers) == {"console", "twilio"}
    twilio = providers["twilio"]
    assert isinstance(twilio, TwilioProvider)
    assert twilio.url == f"{fake.base_url}/2010-04-01/Accounts/{fake.account_sid}/Messages.json"
    assert runtime.status_callback_urls(settings)["twilio"] != PUBLIC_URL


def test_twilio_needs_a_sender(fresh_database: str, fake: FakeTwilio) -> None:
    settings = twilio_settings(fresh_database, fake, twilio_from=None)
    with pytest.raises(ValueError, match="ZB_TWILIO_FROM"):
        runtime.build_providers(settings)
    with pytest.raises(ValueError, match="ZB_TWILIO_FROM"):
        make_settings(
            fresh_database,
            env="production",
            secret_key="x" * 40,
            sms_provider="twilio",
            twilio_account_sid="AC1",
            twilio_auth_token="token",
        )


def test_the_crash_hook_is_refused_outside_tests(fresh_database: str) -> None:
    with pytest.raises(ValueError, match="ZB_TEST_CRASH_AT"):
        make_settings(fresh_database, env="development", test_crash_at="before_send")
    assert runtime.crash_hook(make_settings(fresh_database)) is None
    assert runtime.crash_hook(make_settings(fresh_database, test_crash_at="before_send:2"))


def test_the_grace_period_must_outlast_a_batch_of_sends(fresh_database: str) -> None:
    with pytest.raises(ValueError, match="ZB_WORKER_SENDING_GRACE_SECONDS"):
        make_settings(
            fresh_database,
            worker_batch_size=50,
            worker_concurrency=1,
            twilio_read_timeout_seconds=15,
            worker_sending_grace_seconds=300,
        )


@pytest.mark.parametrize(
    ("service", "rate", "burst"), [(None, 1.0, 3), (SERVICE_SID, 10.0, 10)], ids=["long", "pool"]
)
def test_default_rate_is_one_per_second_for_a_long_code_more_for_a_pool(
    fresh_database: str, fake: FakeTwilio, service: str | None, rate: float, burst: int
) -> None:
    settings = twilio_settings(
        fresh_database,
        fake,
        twilio_messaging_service_sid=service,
        twilio_from=None if service else LONG_CODE,
        sms_rate_per_second=None,
        sms_rate_burst=None,
    )
    limit = runtime.sender_limit(settings)
    assert (limit.per_second, limit.burst) == (rate, burst)


def test_a_message_goes_out_from_the_long_code_with_its_status_callback(
    db: Engine, fresh_database: str, fake: FakeTwilio, clock: ManualClock
) -> None:
    settings = twilio_settings(fresh_database, fake)
    (outbox_id,) = queue_sms(db, clock.now(), recipient="+31612345678")

    assert make_worker(settings, db, clock).run_once() == 1

    (received,) = fake.accepted()
    assert received.to == "+31612345678"
    assert received.body == "Kun je helpen? Antwoord JA 4821"
    assert received.sender == LONG_CODE
    assert received.messaging_service_sid is None
    assert received.status_callback == (
        f"{PUBLIC_URL}/webhooks/twilio/status?outbox_id={outbox_id}"
    )
    message = load(db, outbox_id)
    assert message.state is MessageState.SENT
    assert message.provider_sid == received.sid
    assert message.sender == LONG_CODE
    assert message.sent_at == clock.now()


def test_a_message_goes_out_through_a_messaging_service(
    db: Engine, fresh_database: str, fake: FakeTwilio, clock: ManualClock
) -> None:
    settings = twilio_settings(
        fresh_database, fake, twilio_from=None, twilio_messaging_service_sid=SERVICE_SID
    )
    (outbox_id,) = queue_sms(db, clock.now())

    make_worker(settings, db, clock).run_once()

    (received,) = fake.accepted()
    assert received.messaging_service_sid == SERVICE_SID
    assert received.sender is None
    message = load(db, outbox_id)
    assert message.state is MessageState.SENT
    assert message.provider_sid == received.sid
    assert message.sender == SERVICE_SID


def test_429_is_retried_with_exponential_backoff_then_sent(
    db: Engine, fresh_database: str, fake: FakeTwilio, clock: ManualClock
) -> None:
    fake.faults.script = ["429", "429", "ok"]
    worker = make_worker(twilio_settings(fresh_database, fake), db, clock)
    (outbox_id,) = queue_sms(db, clock.now())

    worker.run_once()
    first = load(db, outbox_id)
    assert first.state is MessageState.QUEUED
    assert first.provider_error_code == "20429"
    assert first.next_attempt_at == clock.now() + timedelta(seconds=2)

    clock.advance(1.9)
    assert worker.run_once() == 0, "not due yet"
    assert fake.requests == 1
    clock.advance(0.1)
    worker.run_once()
    assert load(db, outbox_id).next_attempt_at == clock.now() + timedelta(seconds=4)

    clock.advance(4)
    worker.run_once()
    sent = load(db, outbox_id)
    assert sent.state is MessageState.SENT
    assert sent.attempts == 3
    assert fake.requests == 3
    assert len(fake.accepted()) == 1


@pytest.mark.parametrize("fault", ["500", "503", "21611"])
def test_server_errors_and_a_full_sender_queue_are_retried(
    db: Engine, fresh_database: str, fake: FakeTwilio, clock: ManualClock, fault: str
) -> None:
    fake.faults.script = [fault, "ok"]
    worker = make_worker(twilio_settings(fresh_database, fake), db, clock)
    (outbox_id,) = queue_sms(db, clock.now())

    worker.run_once()
    waiting = load(db, outbox_id)
    assert waiting.state is MessageState.QUEUED
    assert waiting.attempts == 1

    clock.advance(2)
    worker.run_once()
    assert load(db, outbox_id).state is MessageState.SENT
    assert len(fake.accepted()) == 1


def test_a_timeout_is_uncertain_and_never_retried_blindly(
    db: Engine, fresh_database: str, fake: FakeTwilio, clock: ManualClock
) -> None:
    fake.faults.script = ["timeout"]
    fake.faults.timeout_seconds = 1.0
    settings = twilio_settings(fresh_database, fake, twilio_read_timeout_seconds=0.2)
    worker = make_worker(settings, db, clock)
    (outbox_id,) = queue_sms(db, clock.now())

    worker.run_once()
    message = load(db, outbox_id)
    assert message.state is MessageState.UNCERTAIN
    assert message.provider_error_code == "timeout"

    clock.advance(settings.worker_sending_grace_seconds - 1)
    assert worker.run_once() == 0, "within the grace period nothing happens"
    assert fake.requests == 1
    assert fake.list_requests == 0


@pytest.mark.parametrize("code", [21211, 21610, 21614])
def test_permanent_codes_fail_at_once_and_tell_the_subject(
    db: Engine, fresh_database: str, fake: FakeTwilio, clock: ManualClock, code: int
) -> None:
    fake.faults.permanent = {"+31612345678": code}
    handlers = FailureHandlers()
    calls: list[tuple[int, str | None]] = []

    def on_failure(_session: object, subject_id: int, message: OutboxMessage) -> None:
        calls.append((subject_id, message.provider_error_code))

    handlers.register("offer", on_failure)
    worker = make_worker(twilio_settings(fresh_database, fake), db, clock, handlers=handlers)
    (outbox_id,) = queue_sms(
        db, clock.now(), recipient="+31612345678", subject_kind="offer", subject_id=12
    )

    drain(worker)
    clock.advance(timedelta(hours=1))
    drain(worker)

    message = load(db, outbox_id)
    assert message.state is MessageState.FAILED
    assert message.provider_error_code == str(code)
    assert message.attempts == 1, "never retried"
    assert fake.requests == 1
    assert calls == [(12, str(code))]


def test_opted_out_at_twilio_is_recorded_and_later_sends_are_skipped(
    db: Engine, fresh_database: str, fake: FakeTwilio, clock: ManualClock
) -> None:
    settings = twilio_settings(fresh_database, fake)
    with session_scope(db) as session:
        volunteer = make_volunteer(session, now=clock.now())
        assert volunteer.phone is not None
        fake.faults.permanent = {volunteer.phone: 21610}  # the number sent STOP to Twilio
        message = outbound.send_sms(
            session, volunteer=volunteer, body="Kun je helpen?", now=clock.now(), settings=settings
        )
        assert message is not None
    # The application's own registry: the conversation registers the 21610 handler.
    drain(make_worker(settings, db, clock, handlers=default_handlers))

    with session_scope(db) as session:
        volunteer = session.get_one(Volunteer, volunteer.id)
        assert volunteer.sms_opted_out
        later = outbound.send_sms(
            session, volunteer=volunteer, body="Nog een vraag", now=clock.now(), settings=settings
        )
    assert later is None, "skipped: Twilio would refuse it again"
    assert fake.requests == 1


def test_synthetic_recipients_are_refused_without_any_request(
    db: Engine, fresh_database: str, fake: FakeTwilio, clock: ManualClock
) -> None:
    (outbox_id,) = queue_sms(db, clock.now(), synthetic=True)

    drain(make_worker(twilio_settings(fresh_database, fake), db, clock))

    message = load(db, outbox_id)
    assert message.state is MessageState.FAILED
    assert message.provider_error_code == SYNTHETIC_RECIPIENT
    assert fake.requests == 0


def test_refused_credentials_make_messages_wait_until_fixed(
    db: Engine, fresh_database: str, fake: FakeTwilio, clock: ManualClock
) -> None:
    wrong = twilio_settings(fresh_database, fake, twilio_auth_token="not-the-token")
    worker = make_worker(wrong, db, clock)
    (outbox_id,) = queue_sms(db, clock.now())

    for _ in range(wrong.outbox_max_attempts + 3):
        worker.run_once()
        clock.advance(61)

    waiting = load(db, outbox_id)
    assert waiting.state is MessageState.QUEUED, "a set-up fault never fails a message"
    assert waiting.attempts == 0
    assert waiting.provider_error_code == "20003"
    assert fake.rejected_auth == wrong.outbox_max_attempts + 3
    assert fake.accepted() == []

    make_worker(twilio_settings(fresh_database, fake), db, clock).run_once()
    assert load(db, outbox_id).state is MessageState.SENT
    assert len(fake.accepted()) == 1
