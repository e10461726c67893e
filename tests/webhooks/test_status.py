"""Twilio status callbacks: forward only, repeated and out-of-order safe, duplicates reported."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from brigades.clock import ManualClock
from notifications.failures import default_handlers
from notifications.models import MessageState, OutboxMessage, SuspectedDuplicate
from notifications.outbox import enqueue
from tests.webhooks.conftest import post_signed

SID = "SM" + "5" * 32
OTHER_SID = "SM" + "6" * 32
PATH = "/webhooks/twilio/status"


def sent_message(session: Session, clock: ManualClock, *, sid: str | None = SID) -> OutboxMessage:
    message = enqueue(
        session,
        recipient="+31612345678",
        body="Kun je helpen? Antwoord JA 4821",
        now=clock.now(),
        provider="twilio",
        subject_kind="webhook-test-offer",
        subject_id=31,
    )
    message.state = MessageState.SENT if sid else MessageState.SENDING
    message.provider_sid = sid
    message.claimed_at = clock.now()
    session.flush()
    return message


def report(
    client: TestClient, message: OutboxMessage, status: str, *, sid: str = SID, **extra: str
) -> int:
    params = {"MessageSid": sid, "MessageStatus": status, "AccountSid": "AC" + "a" * 32, **extra}
    response = post_signed(client, PATH, params, query={"outbox_id": str(message.id)})
    return int(response.status_code)


@pytest.fixture
def failures() -> Iterator[list[tuple[int, str | None]]]:
    calls: list[tuple[int, str | None]] = []
    default_handlers.register(
        "webhook-test-offer",
        lambda _s, subject_id, m: calls.append((subject_id, m.provider_error_code)),
    )
    yield calls
    default_handlers.unregister("webhook-test-offer")


def test_delivered_is_recorded(client: TestClient, session: Session, clock: ManualClock) -> None:
    message = sent_message(session, clock)
    assert report(client, message, "delivered") == 200
    session.refresh(message)
    assert message.state is MessageState.DELIVERED
    assert message.delivered_at == clock.now()


def test_out_of_order_and_repeated_reports_never_move_back(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    message = sent_message(session, clock)
    for status in ["delivered", "sent", "queued", "delivered", "sent"]:
        assert report(client, message, status) == 200
    session.refresh(message)
    assert message.state is MessageState.DELIVERED


def test_failed_with_an_error_code_tells_the_subject_once(
    client: TestClient,
    session: Session,
    clock: ManualClock,
    failures: list[tuple[int, str | None]],
) -> None:
    message = sent_message(session, clock)
    for _ in range(3):
        assert report(client, message, "undelivered", ErrorCode="30003") == 200
    session.refresh(message)
    assert message.state is MessageState.UNDELIVERED
    assert message.provider_error_code == "30003"
    assert failures == [(31, "30003")]


def test_a_report_resolves_a_message_whose_send_was_never_recorded(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    message = sent_message(session, clock, sid=None)
    assert report(client, message, "sent") == 200
    session.refresh(message)
    assert message.state is MessageState.SENT
    assert message.provider_sid == SID


def test_a_report_naming_another_sid_is_a_suspected_duplicate(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    message = sent_message(session, clock)
    assert report(client, message, "sent", sid=OTHER_SID) == 200
    assert report(client, message, "delivered", sid=OTHER_SID) == 200

    session.refresh(message)
    assert message.state is MessageState.SENT, "the other copy's report is not applied"
    (duplicate,) = session.exec(select(SuspectedDuplicate)).all()
    assert (duplicate.outbox_id, duplicate.provider_sid, duplicate.recorded_sid) == (
        message.id,
        OTHER_SID,
        SID,
    )
    assert duplicate.last_status == "delivered"


def test_a_report_for_an_unknown_message_is_accepted_and_ignored(
    client: TestClient, session: Session
) -> None:
    params = {"MessageSid": SID, "MessageStatus": "delivered"}
    response = post_signed(client, PATH, params, query={"outbox_id": "999999"})
    assert response.status_code == 200
    assert session.exec(select(OutboxMessage)).all() == []


@pytest.mark.parametrize(
    ("params", "query"),
    [
        ({"MessageStatus": "delivered"}, {"outbox_id": "1"}),
        ({"MessageSid": SID}, {"outbox_id": "1"}),
        ({"MessageSid": "SM/../x", "MessageStatus": "sent"}, {"outbox_id": "1"}),
        ({"MessageSid": SID, "MessageStatus": "sent"}, {"outbox_id": "abc"}),
        ({"MessageSid": SID, "MessageStatus": "sent"}, {"outbox_id": "99999999999999999999"}),
        ({"MessageSid": SID, "MessageStatus": "sent"}, {"outbox_id": "-1"}),
    ],
    ids=["no-sid", "no-status", "bad-sid", "bad-id", "huge-id", "negative-id"],
)
def test_malformed_reports_are_400(
    client: TestClient, params: dict[str, str], query: dict[str, str]
) -> None:
    assert post_signed(client, PATH, params, query=query).status_code == 400
