"""Several workers handling recorded inbound SMS: each once, one sender's in arrival order."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import datetime

import pytest
from sqlalchemy import Engine, text
from sqlmodel import Session, col, select

from brigades.clock import SystemClock
from brigades.conversation.inbound import handle_pending, record_inbound
from brigades.db import make_engine
from brigades.runtime import inbound_job
from notifications.models import InboundMessage
from tests.conftest import make_settings
from tests.conversation.factories import make_volunteer


@pytest.fixture
def engine(fresh_database: str) -> Iterator[Engine]:
    engine = make_engine(fresh_database, pool_size=4)
    yield engine
    engine.dispose()


def outcomes(engine: Engine) -> list[str | None]:
    with Session(engine) as session:
        return list(
            session.exec(select(InboundMessage.outcome).order_by(col(InboundMessage.id))).all()
        )


def two_senders_three_messages(engine: Engine) -> tuple[int, datetime]:
    """Records PAUZE and BESCHIKBAAR from one volunteer, then HULP from another; returns the
    first volunteer's id and the moment."""
    now = SystemClock().now()
    with Session(engine) as setup:
        first, second = make_volunteer(setup, now=now), make_volunteer(setup, now=now)
        assert first.id is not None and first.phone is not None and second.phone is not None
        for i, (phone, body) in enumerate(
            [(first.phone, "PAUZE"), (first.phone, "BESCHIKBAAR"), (second.phone, "HULP")]
        ):
            record_inbound(
                setup,
                provider="twilio",
                provider_sid=f"SM{i:032d}",
                from_number=phone,
                to_number=None,
                body=body,
                now=now,
            )
        setup.commit()
        return first.id, now


@pytest.mark.postgres_only
def test_a_sender_waits_while_another_worker_holds_their_earlier_message(
    engine: Engine, fresh_database: str
) -> None:
    settings = make_settings(fresh_database)
    _first, now = two_senders_three_messages(engine)

    with engine.connect() as other_worker:
        # Another worker has taken the first volunteer's first message and is still busy.
        other_worker.execute(text("SELECT id FROM inbound_message ORDER BY id LIMIT 1 FOR UPDATE"))
        with Session(engine) as session:
            assert handle_pending(session, now=now, settings=settings) == 1
            session.commit()
        assert outcomes(engine) == [None, None, "help"], "BESCHIKBAAR waits for PAUZE"
        other_worker.rollback()

    with Session(engine) as session:
        assert handle_pending(session, now=now, settings=settings) == 2
        session.commit()
    assert outcomes(engine) == ["paused", "available", "help"]


@pytest.mark.postgres_only
def test_a_message_the_database_was_too_busy_for_is_handled_next_round_not_dropped(
    engine: Engine, fresh_database: str
) -> None:
    """A deadlock with another worker or a statement cut off is no reason to lose a reply: the
    message stays unhandled (with this sender's later ones behind it) and is handled later."""
    settings = make_settings(fresh_database)
    busy_id, now = two_senders_three_messages(engine)

    with engine.connect() as holder:
        # Another transaction holds the volunteer's row; this worker's statements time out.
        holder.execute(text("SELECT id FROM volunteer WHERE id = :i FOR UPDATE"), {"i": busy_id})
        with Session(engine) as session:
            session.execute(text("SET LOCAL statement_timeout = '300ms'"))
            assert handle_pending(session, now=now, settings=settings) == 1
            session.commit()
        assert outcomes(engine) == [None, None, "help"]
        holder.rollback()

    with Session(engine) as session:
        assert handle_pending(session, now=now, settings=settings) == 2
        session.commit()
    assert outcomes(engine) == ["paused", "available", "help"]


@pytest.mark.postgres_only
def test_the_worker_commits_each_reply_so_its_locks_do_not_wait_for_the_rest(
    engine: Engine, fresh_database: str
) -> None:
    """While one reply waits for a busy volunteer, the reply handled before it is already
    committed: its volunteer is free for the dispatcher and the other workers."""
    settings = make_settings(fresh_database)
    first_id, now = two_senders_three_messages(engine)
    with Session(engine) as setup:
        third = make_volunteer(setup, now=now)
        assert third.phone is not None
        record_inbound(
            setup,
            provider="twilio",
            provider_sid="SM" + "9" * 32,
            from_number=third.phone,
            to_number=None,
            body="PAUZE",
            now=now,
        )
        setup.commit()
        third_id = third.id
    job = inbound_job(settings, engine)
    result: list[int] = []
    with engine.connect() as holder:
        holder.execute(text("SELECT id FROM volunteer WHERE id = :i FOR UPDATE"), {"i": third_id})
        thread = threading.Thread(target=lambda: result.append(job()))
        thread.start()
        deadline = time.monotonic() + 10
        while outcomes(engine)[:3] != ["paused", "available", "help"]:
            assert time.monotonic() < deadline, outcomes(engine)
            time.sleep(0.05)
        assert thread.is_alive(), "the third reply waits for its volunteer"
        with engine.connect() as dispatcher:
            # The first sender's row is not held by the waiting job.
            dispatcher.execute(
                text("SELECT id FROM volunteer WHERE id = :i FOR UPDATE NOWAIT"), {"i": first_id}
            )
            dispatcher.rollback()
        holder.rollback()
    thread.join(10)
    assert result == [4]
    assert outcomes(engine) == ["paused", "available", "help", "paused"]
