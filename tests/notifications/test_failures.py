"""The failure-handler registry and the crash-window recovery, on the rolled-back session."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session

from brigades.clock import ManualClock
from notifications import failures
from notifications.failures import FailureHandlers, notify_failure, register_failure_handler
from notifications.models import MessageState, OutboxMessage
from notifications.outbox import enqueue
from notifications.worker import recover_stuck


def message_about(session: Session, clock: ManualClock, kind: str | None) -> OutboxMessage:
    message = enqueue(
        session,
        recipient="+31612345678",
        body="Test",
        now=clock.now(),
        provider="fake",
        subject_kind=kind,
        subject_id=3 if kind else None,
    )
    session.flush()
    return message


def test_a_fresh_registry_is_separate_from_the_default(
    session: Session, clock: ManualClock
) -> None:
    fresh = FailureHandlers()
    calls: list[str] = []
    fresh.register("offer", lambda s, i, m: calls.append("fresh"))

    assert notify_failure(session, message_about(session, clock, "offer"), handlers=fresh)
    assert calls == ["fresh"]
    assert failures.default_handlers.handler_for("offer") is not fresh.handler_for("offer")


def test_the_default_registry_and_last_registration_wins(
    session: Session, clock: ManualClock
) -> None:
    calls: list[str] = []
    kind = "test_kind_default_registry"
    try:
        register_failure_handler(kind, lambda s, i, m: calls.append("first"))
        register_failure_handler(kind, lambda s, i, m: calls.append("second"))
        assert notify_failure(session, message_about(session, clock, kind))
    finally:
        failures.default_handlers.unregister(kind)
    assert calls == ["second"]


def test_no_handler_or_no_subject_is_reported_not_raised(
    session: Session, clock: ManualClock
) -> None:
    registry = FailureHandlers()
    assert not notify_failure(session, message_about(session, clock, "unknown"), handlers=registry)
    assert not notify_failure(session, message_about(session, clock, None), handlers=registry)


def test_recover_stuck_only_touches_old_sending_rows_without_a_sid(
    session: Session, clock: ManualClock
) -> None:
    old, recent, with_sid, queued = (message_about(session, clock, None) for _ in range(4))
    for message in (old, recent, with_sid):
        message.state = MessageState.SENDING
        message.claimed_at = clock.now()
    with_sid.provider_sid = "SM-known"
    clock.advance(timedelta(minutes=10))
    recent.claimed_at = clock.now()
    session.flush()

    ids = recover_stuck(session, clock.now(), timedelta(minutes=5))
    session.expire_all()

    assert ids == [old.id]
    assert old.state is MessageState.UNCERTAIN
    assert recent.state is MessageState.SENDING
    assert with_sid.state is MessageState.SENDING
    assert queued.state is MessageState.QUEUED
