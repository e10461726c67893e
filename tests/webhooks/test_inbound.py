"""Inbound SMS through Twilio's webhook: recorded once, handled by the worker, answered through
the outbox."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response
from sqlmodel import Session, col, select

from brigades.clock import ManualClock
from brigades.conversation import texts
from brigades.conversation.inbound import handle_pending
from brigades.settings import Settings
from brigades.volunteers.models import Volunteer
from notifications.models import InboundMessage, OutboxMessage
from tests.conversation.factories import make_support_point, make_volunteer
from tests.webhooks.conftest import post_signed

_sids = itertools.count(1)


def inbound(number: str, body: str, sid: str | None = None) -> dict[str, str]:
    return {
        "MessageSid": sid or f"SM{next(_sids):032d}",
        "SmsSid": sid or "",
        "AccountSid": "AC" + "a" * 32,
        "From": number,
        "To": "+3197010203040",
        "Body": body,
        "NumSegments": "1",
    }


def replies_to(session: Session, number: str) -> list[OutboxMessage]:
    return list(
        session.exec(
            select(OutboxMessage)
            .where(OutboxMessage.recipient == number)
            .order_by(col(OutboxMessage.id))
        )
    )


@pytest.fixture
def deliver(
    client: TestClient, session: Session, settings: Settings, clock: ManualClock
) -> Callable[[dict[str, str]], Response]:
    """POST an inbound SMS to the webhook, then let the worker handle what was recorded."""

    def _deliver(params: dict[str, str]) -> Response:
        response = post_signed(client, "/webhooks/twilio/sms", params)
        handle_pending(session, now=clock.now(), settings=settings)
        return response  # type: ignore[no-any-return]

    return _deliver


@pytest.fixture
def volunteer(session: Session, clock: ManualClock) -> Volunteer:
    point = make_support_point(session, now=clock.now())
    return make_volunteer(session, now=clock.now(), support_point=point)


def test_help_is_answered_through_the_outbox(
    deliver: Callable[[dict[str, str]], Response], session: Session, volunteer: Volunteer
) -> None:
    assert volunteer.phone is not None
    response = deliver(inbound(volunteer.phone, "Hulp"))

    assert response.status_code == 200
    assert "<Message>" not in response.text, "replies go through the outbox, not TwiML"
    (reply,) = replies_to(session, volunteer.phone)
    assert reply.body == texts.HELP
    assert reply.volunteer_id == volunteer.id
    (message,) = session.exec(select(InboundMessage)).all()
    assert message.provider == "twilio"
    assert message.volunteer_id == volunteer.id
    assert message.outcome == "help"


def test_a_repeated_message_sid_is_handled_once(
    deliver: Callable[[dict[str, str]], Response], session: Session, volunteer: Volunteer
) -> None:
    assert volunteer.phone is not None
    params = inbound(volunteer.phone, "ik ben ziek vandaag")
    first = deliver(params)
    again = deliver(params)

    assert (first.status_code, again.status_code) == (200, 200)
    assert len(session.exec(select(InboundMessage)).all()) == 1
    assert [r.body for r in replies_to(session, volunteer.phone)] == [texts.FORWARDED]


def test_a_dutch_number_written_locally_is_matched_by_e164(
    deliver: Callable[[dict[str, str]], Response], session: Session, volunteer: Volunteer
) -> None:
    assert volunteer.phone is not None
    local = "0" + volunteer.phone.removeprefix("+31")
    deliver(inbound(local, "STATUS"))
    (message,) = session.exec(select(InboundMessage)).all()
    assert message.volunteer_id == volunteer.id


def test_stop_opts_out_and_is_honoured_by_every_later_send(
    deliver: Callable[[dict[str, str]], Response], session: Session, volunteer: Volunteer
) -> None:
    assert volunteer.phone is not None
    deliver(inbound(volunteer.phone, "stoppen aub"))
    session.refresh(volunteer)
    assert volunteer.sms_opted_out
    assert [r.body for r in replies_to(session, volunteer.phone)] == [texts.OPTED_OUT]

    deliver(inbound(volunteer.phone, "status"))
    assert len(replies_to(session, volunteer.phone)) == 1, "nothing more to an opted-out number"


@pytest.fixture
def advanced_opt_out(settings: Settings) -> Iterator[Settings]:
    """Twilio's Advanced Opt-Out answers STOPPEN and UITSCHRIJVEN itself."""
    settings.twilio_own_keywords = "STOPPEN, Uitschrijven"
    yield settings


@pytest.mark.parametrize("word", ["STOPPEN", "uitschrijven!"])
def test_advanced_opt_out_words_opt_out_without_our_own_reply(
    advanced_opt_out: Settings,
    app: FastAPI,
    deliver: Callable[[dict[str, str]], Response],
    session: Session,
    volunteer: Volunteer,
    word: str,
) -> None:
    assert volunteer.phone is not None
    deliver(inbound(volunteer.phone, word))
    session.refresh(volunteer)
    assert volunteer.sms_opted_out
    assert replies_to(session, volunteer.phone) == [], "Twilio confirms; we would be refused"


def test_unknown_numbers_get_a_pointer_to_sign_up(
    deliver: Callable[[dict[str, str]], Response], session: Session
) -> None:
    deliver(inbound("+31687654321", "Hallo, wie is dit?"))
    (reply,) = replies_to(session, "+31687654321")
    assert "/aanmelden" in reply.body


def test_the_webhook_only_records_and_the_worker_answers(
    client: TestClient,
    session: Session,
    settings: Settings,
    clock: ManualClock,
    volunteer: Volunteer,
) -> None:
    assert volunteer.phone is not None
    response = post_signed(client, "/webhooks/twilio/sms", inbound(volunteer.phone, "Hulp"))

    assert response.status_code == 200
    (message,) = session.exec(select(InboundMessage)).all()
    assert (message.handled_at, message.outcome) == (None, None)
    assert replies_to(session, volunteer.phone) == [], "nothing happens in the request"

    assert handle_pending(session, now=clock.now(), settings=settings) == 1
    assert handle_pending(session, now=clock.now(), settings=settings) == 0, "handled once"
    session.refresh(message)
    assert message.outcome == "help"
    assert message.handled_at is not None
    assert [r.body for r in replies_to(session, volunteer.phone)] == [texts.HELP]


def test_one_senders_messages_are_handled_in_the_order_they_arrived(
    client: TestClient,
    session: Session,
    settings: Settings,
    clock: ManualClock,
    volunteer: Volunteer,
) -> None:
    assert volunteer.phone is not None
    for body in ("PAUZE", "BESCHIKBAAR"):
        post_signed(client, "/webhooks/twilio/sms", inbound(volunteer.phone, body))

    assert handle_pending(session, now=clock.now(), settings=settings, limit=1) == 1
    assert handle_pending(session, now=clock.now(), settings=settings) == 1

    outcomes = session.exec(select(InboundMessage.outcome).order_by(col(InboundMessage.id))).all()
    assert outcomes == ["paused", "available"]
    session.refresh(volunteer)
    assert volunteer.paused_until is None, "the later message wins"
