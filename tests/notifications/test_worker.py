"""The outbox worker on both databases: claiming, sending, retrying, failing, crash recovery."""

from __future__ import annotations

import random
import threading
from datetime import timedelta

import pytest
from sqlalchemy import Engine, update
from sqlmodel import Session, select

from brigades.clock import ManualClock
from brigades.db import make_engine, session_scope
from notifications.failures import FailureHandlers
from notifications.models import MessageState, OutboxMessage, Priority
from notifications.outbox import enqueue
from notifications.providers.base import (
    SYNTHETIC_RECIPIENT,
    OutboundSms,
    PermanentSendError,
    SendResult,
    TransientSendError,
    UncertainSendError,
    refuse_synthetic,
)
from notifications.providers.console import ConsoleProvider
from notifications.status import apply_status
from notifications.worker import OutboxWorker, backoff_delay
from tests.notifications.conftest import RecordingProvider, load, load_all, queue


class HighestJitter(random.Random):
    """Full jitter pinned to its upper bound, so backoff times are exact in tests."""

    def uniform(self, a: float, b: float) -> float:
        return b


class LowestJitter(random.Random):
    def uniform(self, a: float, b: float) -> float:
        return a


class FlakyProvider(RecordingProvider):
    """A double of an external provider that fails transiently ``failures`` times first."""

    def __init__(self, failures: int, *, retry_after: float | None = None) -> None:
        super().__init__("fake")
        self.failures = failures
        self.retry_after = retry_after
        self.calls = 0

    def send(self, message: OutboundSms) -> SendResult:
        self.calls += 1
        if self.calls <= self.failures:
            raise TransientSendError("503 from provider", code="503", retry_after=self.retry_after)
        return super().send(message)


class RefusingProvider(RecordingProvider):
    """A double of a provider that refuses every message for good."""

    def __init__(self, code: str = "21211") -> None:
        super().__init__("fake")
        self.code = code
        self.calls = 0

    def send(self, message: OutboundSms) -> SendResult:
        self.calls += 1
        raise PermanentSendError(self.code, "The 'To' number is not a valid phone number.")


class NetworkProvider(RecordingProvider):
    """A double of a real network provider: refuses synthetic recipients like Twilio must."""

    def send(self, message: OutboundSms) -> SendResult:
        refuse_synthetic(message)
        return super().send(message)


class LostAnswerProvider(RecordingProvider):
    def __init__(self, error: Exception) -> None:
        super().__init__("fake")
        self.error = error
        self.calls = 0

    def send(self, message: OutboundSms) -> SendResult:
        self.calls += 1
        raise self.error


def make_worker(
    engine: Engine, clock: ManualClock, *providers: object, **options: object
) -> OutboxWorker:
    chosen = providers or (ConsoleProvider(),)
    defaults: dict[str, object] = {"worker_id": "test-worker", "concurrency": 1}
    defaults.update(options)
    return OutboxWorker(
        engine,
        {p.name: p for p in chosen},  # type: ignore[attr-defined]
        clock,
        **defaults,  # type: ignore[arg-type]
    )


def test_console_worker_sends_a_queued_message_once(db: Engine, clock: ManualClock) -> None:
    (outbox_id,) = queue(db, clock, body="Kun je helpen? Antwoord JA 4821")
    worker = make_worker(db, clock)

    assert worker.run_once() == 1
    assert worker.run_once() == 0

    message = load(db, outbox_id)
    assert message.state is MessageState.SENT
    assert message.provider_sid == f"CONSOLE-{outbox_id}"
    assert message.sent_at == clock.now()
    assert message.attempts == 1
    assert message.claimed_by == "test-worker"


def test_console_send_logs_neither_number_nor_text(
    db: Engine, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    queue(db, clock, recipient="+31699887766", body="Geheime tekst met adres")
    caplog.set_level("DEBUG")
    make_worker(db, clock).run_once()
    assert caplog.records, "the console provider logs each send"
    assert "+31699887766" not in caplog.text
    assert "Geheime" not in caplog.text


def test_urgent_messages_go_first_then_the_oldest(db: Engine, clock: ManualClock) -> None:
    (old_notice,) = queue(db, clock, provider="fake", priority=Priority.NOTICE)
    clock.advance(1)
    (reminder,) = queue(db, clock, provider="fake", priority=Priority.REMINDER)
    clock.advance(1)
    (roll_call,) = queue(db, clock, provider="fake", priority=Priority.ROLL_CALL)
    clock.advance(1)
    (new_notice,) = queue(db, clock, provider="fake", priority=Priority.NOTICE)
    clock.advance(1)
    (urgent,) = queue(db, clock, provider="fake", priority=Priority.URGENT_OFFER)
    provider = RecordingProvider("fake")
    worker = make_worker(db, clock, provider, batch_size=1)

    while worker.run_once():
        pass

    assert provider.sent_ids == [urgent, roll_call, old_notice, new_notice, reminder]


def test_a_message_waits_for_its_not_before_time(db: Engine, clock: ManualClock) -> None:
    (outbox_id,) = queue(db, clock, not_before=clock.now() + timedelta(minutes=5))
    worker = make_worker(db, clock)

    assert worker.run_once() == 0
    clock.advance(timedelta(minutes=5))
    assert worker.run_once() == 1
    assert load(db, outbox_id).state is MessageState.SENT


def test_messages_for_a_provider_the_worker_lacks_stay_queued(
    db: Engine, clock: ManualClock
) -> None:
    (outbox_id,) = queue(db, clock, provider="twilio")
    assert make_worker(db, clock).run_once() == 0
    assert load(db, outbox_id).state is MessageState.QUEUED


def test_a_batch_is_sent_with_several_threads(db: Engine, clock: ManualClock) -> None:
    ids = queue(db, clock, 30, provider="fake")
    provider = RecordingProvider("fake")
    worker = make_worker(db, clock, provider, batch_size=30, concurrency=6)

    assert worker.run_once() == 30

    assert sorted(provider.sent_ids) == ids
    assert all(m.state is MessageState.SENT for m in load_all(db))
    assert {m.provider_sid for m in load_all(db)} == {f"SM{i:08d}" for i in ids}


def test_transient_failures_are_retried_with_exponential_backoff(
    db: Engine, clock: ManualClock
) -> None:
    (outbox_id,) = queue(db, clock, provider="fake")
    provider = FlakyProvider(failures=2)
    worker = make_worker(db, clock, provider, rng=HighestJitter())
    start = clock.now()

    assert worker.run_once() == 1
    first = load(db, outbox_id)
    assert first.state is MessageState.QUEUED
    assert first.attempts == 1
    assert first.provider_error_code == "503"
    assert first.next_attempt_at == start + timedelta(seconds=2)

    clock.advance(1.9)
    assert worker.run_once() == 0, "not due yet"
    clock.advance(0.1)
    assert worker.run_once() == 1
    second = load(db, outbox_id)
    assert second.state is MessageState.QUEUED
    assert second.next_attempt_at == clock.now() + timedelta(seconds=4)

    clock.advance(4)
    assert worker.run_once() == 1
    sent = load(db, outbox_id)
    assert sent.state is MessageState.SENT
    assert sent.attempts == 3
    assert sent.provider_error_code is None
    assert provider.calls == 3
    assert provider.sent_ids == [outbox_id]


def test_the_providers_retry_after_is_honoured(db: Engine, clock: ManualClock) -> None:
    (outbox_id,) = queue(db, clock, provider="fake")
    worker = make_worker(db, clock, FlakyProvider(failures=1, retry_after=30), rng=LowestJitter())

    worker.run_once()

    assert load(db, outbox_id).next_attempt_at == clock.now() + timedelta(seconds=30)


def test_backoff_is_full_jitter_capped_at_ten_minutes() -> None:
    rng = random.Random(7)
    for attempt in range(1, 40):
        delay = backoff_delay(attempt, rng=rng)
        assert 0 <= delay <= min(600, 2 * 2 ** (attempt - 1))
    assert backoff_delay(30, rng=HighestJitter()) == 600
    assert backoff_delay(1, rng=HighestJitter()) == 2
    assert backoff_delay(1, retry_after=90, rng=HighestJitter()) == 90


def test_out_of_attempts_fails_and_tells_the_subject_once(db: Engine, clock: ManualClock) -> None:
    (outbox_id,) = queue(db, clock, provider="fake", subject_kind="offer", subject_id=77)
    handlers = FailureHandlers()
    calls: list[tuple[int, int | None]] = []
    handlers.register("offer", lambda s, subject_id, m: calls.append((subject_id, m.id)))
    provider = FlakyProvider(failures=100)
    worker = make_worker(
        db, clock, provider, max_attempts=3, failure_handlers=handlers, rng=HighestJitter()
    )

    for _ in range(5):
        worker.run_once()
        clock.advance(timedelta(minutes=10))

    message = load(db, outbox_id)
    assert message.state is MessageState.FAILED
    assert message.attempts == 3
    assert provider.calls == 3
    assert calls == [(77, outbox_id)]


def test_permanent_failure_fails_at_once_and_calls_the_handler_exactly_once(
    db: Engine, clock: ManualClock
) -> None:
    (outbox_id,) = queue(db, clock, provider="fake", subject_kind="offer", subject_id=5)
    handlers = FailureHandlers()
    calls: list[int] = []

    def offer_failed(session: Session, subject_id: int, message: OutboxMessage) -> None:
        calls.append(subject_id)
        # The owner's reaction commits with the failure: here, a note to the coordinator.
        enqueue(
            session,
            recipient="coordinator",
            body=f"Aanbod {subject_id} niet afgeleverd",
            now=clock.now(),
            provider="console",
        )

    handlers.register("offer", offer_failed)
    provider = RefusingProvider("21211")
    worker = make_worker(db, clock, provider, failure_handlers=handlers)

    assert worker.run_once() == 1
    clock.advance(timedelta(hours=1))
    worker.run_once()
    with session_scope(db) as session:
        apply_status(
            session, outbox_id=outbox_id, status="failed", now=clock.now(), handlers=handlers
        )

    message = load(db, outbox_id)
    assert message.state is MessageState.FAILED
    assert message.provider_error_code == "21211"
    assert message.failed_at is not None
    assert provider.calls == 1, "a permanent failure is never retried"
    assert calls == [5]
    notes = [m for m in load_all(db) if m.recipient == "coordinator"]
    assert [n.body for n in notes] == ["Aanbod 5 niet afgeleverd"]


def test_a_failing_handler_does_not_leave_the_message_sending(
    db: Engine, clock: ManualClock
) -> None:
    (outbox_id,) = queue(db, clock, provider="fake", subject_kind="offer", subject_id=9)
    handlers = FailureHandlers()

    def broken(session: Session, subject_id: int, message: OutboxMessage) -> None:
        enqueue(session, recipient="x", body="half", now=clock.now(), provider="console")
        raise KeyError("bug in the owner's handler")

    handlers.register("offer", broken)
    make_worker(db, clock, RefusingProvider(), failure_handlers=handlers).run_once()

    message = load(db, outbox_id)
    assert message.state is MessageState.FAILED
    assert "failure handler raised" in (message.error_message or "")
    assert [m.id for m in load_all(db)] == [outbox_id], "the handler's half work is undone"


def _mark_sending(engine: Engine, outbox_id: int, clock: ManualClock) -> None:
    """What a worker that crashed right after claiming leaves behind."""
    with session_scope(engine) as session:
        session.exec(
            update(OutboxMessage)
            .where(OutboxMessage.id == outbox_id)  # type: ignore[arg-type]
            .values(
                state=MessageState.SENDING,
                claimed_at=clock.now(),
                claimed_by="crashed-worker",
                attempts=1,
            )
        )


def test_a_row_stuck_in_sending_becomes_uncertain_and_is_never_resent(
    db: Engine, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    (outbox_id,) = queue(db, clock, provider="fake", recipient="+31611122233")
    _mark_sending(db, outbox_id, clock)
    provider = RecordingProvider("fake")
    worker = make_worker(db, clock, provider, sending_grace_seconds=300)

    clock.advance(299)
    worker.run_once()
    assert load(db, outbox_id).state is MessageState.SENDING, "still within the grace period"

    clock.advance(2)
    with caplog.at_level("WARNING"):
        worker.run_once()
    assert load(db, outbox_id).state is MessageState.UNCERTAIN
    assert f"outbox={outbox_id}" in caplog.text
    assert "+31611122233" not in caplog.text

    clock.advance(timedelta(days=1))
    worker.run_once()
    assert load(db, outbox_id).state is MessageState.UNCERTAIN
    assert provider.sent == [], "an uncertain message is never sent again by the worker"


@pytest.mark.parametrize(
    "error",
    [UncertainSendError("read timeout", code="timeout"), RuntimeError("bug in provider")],
    ids=["lost-answer", "unexpected-error"],
)
def test_a_lost_provider_answer_is_uncertain_not_retried(
    db: Engine, clock: ManualClock, error: Exception
) -> None:
    (outbox_id,) = queue(db, clock, provider="fake")
    provider = LostAnswerProvider(error)
    worker = make_worker(db, clock, provider)

    worker.run_once()
    clock.advance(timedelta(hours=1))
    worker.run_once()

    assert load(db, outbox_id).state is MessageState.UNCERTAIN
    assert provider.calls == 1


def test_the_console_accepts_synthetic_recipients_a_network_provider_refuses_them(
    db: Engine, clock: ManualClock
) -> None:
    (console_id,) = queue(db, clock, provider="console", synthetic=True)
    (network_id,) = queue(db, clock, provider="fake", synthetic=True)
    network = NetworkProvider("fake")
    make_worker(db, clock, ConsoleProvider(), network).run_once()

    assert load(db, console_id).state is MessageState.SENT
    refused = load(db, network_id)
    assert refused.state is MessageState.FAILED
    assert refused.provider_error_code == SYNTHETIC_RECIPIENT
    assert network.sent == []


def test_drill_messages_reach_the_phone_starting_with_oefening(
    db: Engine, clock: ManualClock
) -> None:
    queue(db, clock, provider="fake", drill=True, body="Kun je helpen? Antwoord JA 4821")
    provider = RecordingProvider("fake")
    make_worker(db, clock, provider).run_once()

    (sent,) = provider.sent
    assert sent.body.startswith("OEFENING")
    assert sent.body.endswith("Kun je helpen? Antwoord JA 4821")


def test_the_provider_gets_the_status_callback_url(db: Engine, clock: ManualClock) -> None:
    queue(db, clock, provider="fake")
    provider = RecordingProvider("fake")
    url = "https://zorgbrigade.example/webhooks/twilio/status"
    make_worker(db, clock, provider, status_callback_urls={"fake": url}).run_once()
    assert provider.sent[0].status_callback_url == url


def test_a_status_callback_before_the_worker_records_is_not_undone(
    db: Engine, clock: ManualClock
) -> None:
    (outbox_id,) = queue(db, clock, provider="fake")

    class FastCallbackProvider(RecordingProvider):
        def send(self, message: OutboundSms) -> SendResult:
            result = super().send(message)
            with session_scope(db) as session:  # the provider's webhook, racing the worker
                apply_status(
                    session,
                    provider_sid=result.provider_sid,
                    outbox_id=message.outbox_id,
                    status="delivered",
                    now=clock.now(),
                )
            return result

    make_worker(db, clock, FastCallbackProvider("fake")).run_once()

    message = load(db, outbox_id)
    assert message.state is MessageState.DELIVERED
    assert message.provider_sid == f"SM{outbox_id:08d}"


@pytest.mark.postgres_only
def test_two_workers_send_each_of_500_messages_exactly_once(
    fresh_database: str, clock: ManualClock
) -> None:
    setup = make_engine(fresh_database)
    ids = queue(setup, clock, 500, provider="fake")
    provider = RecordingProvider("fake")
    engines = [make_engine(fresh_database, pool_size=6) for _ in range(2)]
    workers = [
        make_worker(e, clock, provider, worker_id=f"w{i}", batch_size=20, concurrency=4)
        for i, e in enumerate(engines)
    ]
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def drain(worker: OutboxWorker) -> None:
        try:
            start.wait()
            idle = 0
            while idle < 3:  # SKIP LOCKED may hide rows the other worker is claiming
                idle = idle + 1 if worker.run_once() == 0 else 0
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=drain, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)

    assert not errors
    counts = provider.send_counts()
    assert sorted(counts) == ids
    assert set(counts.values()) == {1}
    rows = load_all(setup)
    assert {r.state for r in rows} == {MessageState.SENT}
    assert {r.claimed_by for r in rows} == {"w0", "w1"}, "both workers took part"
    for e in [*engines, setup]:
        e.dispose()


def test_claiming_commits_sending_before_the_provider_is_called(
    db: Engine, clock: ManualClock
) -> None:
    (outbox_id,) = queue(db, clock, provider="fake")
    seen: list[MessageState] = []

    class Inspecting(RecordingProvider):
        def send(self, message: OutboundSms) -> SendResult:
            with Session(db) as other:  # another connection sees the committed claim
                row = other.exec(
                    select(OutboxMessage).where(OutboxMessage.id == message.outbox_id)  # type: ignore[arg-type]
                ).one()
                seen.append(row.state)
            return super().send(message)

    make_worker(db, clock, Inspecting("fake")).run_once()
    assert seen == [MessageState.SENDING]
    assert load(db, outbox_id).state is MessageState.SENT


def test_round_jobs_run_every_round_and_a_failing_one_does_not_stop_sending(
    db: Engine, clock: ManualClock
) -> None:
    (outbox_id,) = queue(db, clock, provider="fake")
    calls: list[str] = []

    def inbound() -> int:
        calls.append("inbound")
        return 2

    def broken() -> int:
        calls.append("broken")
        raise RuntimeError("a bug in another job")

    worker = make_worker(db, clock, RecordingProvider("fake"), round_jobs=[broken, inbound])

    assert worker.run_once() == 1 + 2, "the message and the job's own count"
    assert calls == ["broken", "inbound"]
    assert load(db, outbox_id).state is MessageState.SENT
