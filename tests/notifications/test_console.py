"""The console provider's inbox: what a simulated phone shows, both directions, in order."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine
from sqlmodel import Session

from brigades.clock import ManualClock
from brigades.db import session_scope
from notifications.models import InboundMessage
from notifications.providers.console import (
    ConsoleProvider,
    Direction,
    console_numbers,
    conversation_for,
)
from notifications.worker import OutboxWorker
from tests.notifications.conftest import queue

PHONE = "+31612345678"


def receive(engine: Engine, clock: ManualClock, body: str, number: str = PHONE) -> None:
    with session_scope(engine) as session:
        session.add(
            InboundMessage(
                provider="console",
                provider_sid=f"CONSOLE-IN-{clock.now().timestamp()}-{body}",
                from_number=number,
                to_number="Zorgbrigade",
                body=body,
                received_at=clock.now(),
            )
        )


def test_a_conversation_merges_sent_messages_and_replies_in_time_order(
    db: Engine, clock: ManualClock
) -> None:
    worker = OutboxWorker(db, {"console": ConsoleProvider()}, clock, concurrency=1)
    queue(db, clock, body="Kun je helpen? Antwoord JA 4821")
    worker.run_once()
    clock.advance(timedelta(minutes=2))
    receive(db, clock, "ja 4821")
    clock.advance(1)
    queue(db, clock, body="Bedankt! Het adres is ...")
    worker.run_once()
    queue(db, clock, recipient="+31687654321", body="Iemand anders")
    worker.run_once()
    receive(db, clock, "nee", number="+31687654321")
    queue(db, clock, body="Nog niet verstuurd", provider="console")

    with Session(db) as session:
        entries = conversation_for(session, PHONE)
        with_pending = conversation_for(session, PHONE, include_pending=True)
        numbers = console_numbers(session)

    assert [(e.direction, e.body) for e in entries] == [
        (Direction.OUT, "Kun je helpen? Antwoord JA 4821"),
        (Direction.IN, "ja 4821"),
        (Direction.OUT, "Bedankt! Het adres is ..."),
    ]
    assert [e.state for e in entries if e.direction is Direction.OUT] == ["sent", "sent"]
    assert with_pending[-1].body == "Nog niet verstuurd"
    assert with_pending[-1].state == "queued"
    assert numbers == [PHONE, "+31687654321"]


def test_messages_of_other_providers_are_not_on_the_console_phone(
    db: Engine, clock: ManualClock
) -> None:
    queue(db, clock, provider="twilio", body="Echte sms")
    with Session(db) as session:
        assert conversation_for(session, PHONE, include_pending=True) == []
