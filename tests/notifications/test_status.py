"""Provider status reports: forward only, idempotent, out-of-order safe, failures told once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session

from brigades.clock import ManualClock
from notifications.failures import FailureHandlers
from notifications.models import MessageState, OutboxMessage
from notifications.outbox import enqueue
from notifications.status import apply_status


def sent_message(session: Session, clock: ManualClock, sid: str = "SM1") -> OutboxMessage:
    message = enqueue(
        session,
        recipient="+31612345678",
        body="Test",
        now=clock.now(),
        provider="fake",
        subject_kind="offer",
        subject_id=42,
    )
    message.state = MessageState.SENT
    message.provider_sid = sid
    message.sent_at = clock.now()
    session.flush()
    return message


@pytest.fixture
def handlers() -> tuple[FailureHandlers, list[int]]:
    registry = FailureHandlers()
    calls: list[int] = []
    registry.register("offer", lambda s, subject_id, m: calls.append(subject_id))
    return registry, calls


def test_delivered_moves_sent_forward_once(session: Session, clock: ManualClock) -> None:
    message = sent_message(session, clock)
    clock.advance(5)
    apply_status(session, provider_sid="SM1", status="delivered", now=clock.now())
    delivered_at = message.delivered_at
    clock.advance(5)
    apply_status(session, provider_sid="SM1", status="delivered", now=clock.now())

    assert message.state is MessageState.DELIVERED
    assert delivered_at == clock.now() - timedelta(seconds=5)
    assert message.delivered_at == delivered_at, "a repeated report changes nothing"


@pytest.mark.parametrize("late", ["sent", "queued", "sending", "undelivered", "failed"])
def test_a_late_report_never_moves_delivered_back(
    session: Session, clock: ManualClock, handlers: tuple[FailureHandlers, list[int]], late: str
) -> None:
    registry, calls = handlers
    message = sent_message(session, clock)
    apply_status(session, provider_sid="SM1", status="delivered", now=clock.now())
    apply_status(session, provider_sid="SM1", status=late, now=clock.now(), handlers=registry)

    assert message.state is MessageState.DELIVERED
    assert calls == []


@pytest.mark.parametrize("status", ["undelivered", "failed"])
def test_a_failure_report_tells_the_subject_exactly_once(
    session: Session,
    clock: ManualClock,
    handlers: tuple[FailureHandlers, list[int]],
    status: str,
) -> None:
    registry, calls = handlers
    message = sent_message(session, clock)
    for _ in range(3):
        apply_status(
            session,
            provider_sid="SM1",
            status=status,
            error_code="30003",
            now=clock.now(),
            handlers=registry,
        )

    assert message.state is MessageState(status)
    assert message.provider_error_code == "30003"
    assert message.failed_at == clock.now()
    assert calls == [42]


def test_the_first_final_report_stands(
    session: Session, clock: ManualClock, handlers: tuple[FailureHandlers, list[int]]
) -> None:
    registry, calls = handlers
    message = sent_message(session, clock)
    apply_status(
        session, provider_sid="SM1", status="undelivered", now=clock.now(), handlers=registry
    )
    apply_status(session, provider_sid="SM1", status="failed", now=clock.now(), handlers=registry)
    apply_status(
        session, provider_sid="SM1", status="delivered", now=clock.now(), handlers=registry
    )

    assert message.state is MessageState.UNDELIVERED
    assert calls == [42]


def test_an_uncertain_message_is_resolved_by_a_report_naming_its_outbox_id(
    session: Session, clock: ManualClock
) -> None:
    message = enqueue(
        session, recipient="+31612345678", body="Test", now=clock.now(), provider="fake"
    )
    message.state = MessageState.UNCERTAIN
    session.flush()
    assert message.id is not None

    apply_status(session, outbox_id=message.id, provider_sid="SM77", status="sent", now=clock.now())

    assert message.state is MessageState.SENT
    assert message.provider_sid == "SM77"
    assert message.sent_at == clock.now()


def test_a_report_for_a_message_waiting_to_be_retried_stops_the_retry(
    session: Session, clock: ManualClock
) -> None:
    # The provider took the message although its answer looked like a temporary error.
    message = enqueue(
        session, recipient="+31612345678", body="Test", now=clock.now(), provider="fake"
    )
    message.attempts = 1
    session.flush()
    assert message.id is not None

    apply_status(session, outbox_id=message.id, status="delivered", now=clock.now())

    assert message.state is MessageState.DELIVERED


def test_unknown_messages_and_unknown_words_are_ignored(
    session: Session, clock: ManualClock
) -> None:
    message = sent_message(session, clock)
    assert (
        apply_status(session, provider_sid="SM-none", status="delivered", now=clock.now()) is None
    )
    apply_status(session, provider_sid="SM1", status="teleported", now=clock.now())
    assert message.state is MessageState.SENT


def test_a_report_whose_sid_does_not_match_the_outbox_id_is_ignored(
    session: Session, clock: ManualClock
) -> None:
    message = sent_message(session, clock, sid="SM1")
    assert message.id is not None
    apply_status(
        session, outbox_id=message.id, provider_sid="SM2", status="failed", now=clock.now()
    )
    assert message.state is MessageState.SENT


def test_apply_status_needs_a_way_to_find_the_message(session: Session, clock: ManualClock) -> None:
    with pytest.raises(ValueError):
        apply_status(session, status="delivered", now=clock.now())
