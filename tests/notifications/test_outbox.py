"""Writing to the outbox: drill prefix, segments, and a person's requeue of an uncertain message."""

from __future__ import annotations

import pytest
from sqlmodel import Session

from brigades.clock import ManualClock
from notifications.models import MessageState
from notifications.outbox import enqueue, requeue, state_counts


def test_drill_messages_start_with_oefening(session: Session, clock: ManualClock) -> None:
    message = enqueue(
        session,
        recipient="+31612345678",
        body="Ben je beschikbaar? Antwoord JA 4821",
        now=clock.now(),
        provider="console",
        drill=True,
    )
    assert message.body == "OEFENING: Ben je beschikbaar? Antwoord JA 4821"
    assert message.drill


def test_a_drill_prefix_is_not_doubled(session: Session, clock: ManualClock) -> None:
    message = enqueue(
        session,
        recipient="+31612345678",
        body="OEFENING: al gemarkeerd",
        now=clock.now(),
        provider="console",
        drill=True,
    )
    assert message.body == "OEFENING: al gemarkeerd"


def test_real_messages_are_not_marked_as_drill(session: Session, clock: ManualClock) -> None:
    message = enqueue(
        session, recipient="+31612345678", body="Echt", now=clock.now(), provider="console"
    )
    assert not message.body.startswith("OEFENING")


def test_enqueue_counts_segments(session: Session, clock: ManualClock) -> None:
    message = enqueue(
        session, recipient="+31612345678", body="a" * 161, now=clock.now(), provider="console"
    )
    assert message.segments == 2


@pytest.mark.parametrize("stuck", [MessageState.UNCERTAIN, MessageState.FAILED])
def test_a_person_can_queue_an_uncertain_or_failed_message_again(
    session: Session, clock: ManualClock, stuck: MessageState
) -> None:
    message = enqueue(
        session, recipient="+31612345678", body="Test", now=clock.now(), provider="console"
    )
    message.state = stuck
    message.attempts = 3
    message.provider_sid = "SM-old"
    session.flush()
    assert message.id is not None
    clock.advance(60)

    requeue(session, outbox_id=message.id, now=clock.now())

    assert message.state is MessageState.QUEUED
    assert message.attempts == 0
    assert message.next_attempt_at == clock.now()
    assert message.provider_sid is None


def test_requeue_leaves_sent_messages_alone(session: Session, clock: ManualClock) -> None:
    message = enqueue(
        session, recipient="+31612345678", body="Test", now=clock.now(), provider="console"
    )
    message.state = MessageState.SENT
    session.flush()
    assert message.id is not None
    requeue(session, outbox_id=message.id, now=clock.now())
    assert message.state is MessageState.SENT


def test_state_counts(session: Session, clock: ManualClock) -> None:
    before = state_counts(session)
    for _ in range(2):
        enqueue(session, recipient="+31612345678", body="T", now=clock.now(), provider="console")
    session.flush()
    after = state_counts(session)
    assert after[MessageState.QUEUED] == before[MessageState.QUEUED] + 2
    assert set(after) == set(MessageState)
