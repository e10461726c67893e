"""SIGKILL the worker process at fixed points of a send, restart a worker, count at the fake.

The worker runs as ``zorgbrigade worker`` in a subprocess with ``ZB_TEST_CRASH_AT`` (honoured only
with ``ZB_ENV=test``), which kills it with SIGKILL at the named point of the N-th send:

- ``before_send``: claimed and committed as ``sending``, nothing sent;
- ``after_answer``: Twilio accepted the message, our record of it was never committed (the worker
  records a whole round at once, so none of the round's outcomes is);
- ``after_commit``: the round's outcomes are recorded.

A new worker (in-process, its clock moved past the grace period) then recovers. The fake does not
deduplicate, so what it received is the truth: every message exactly once — except the
documented window (Twilio accepted, the worker died, and Twilio's list did not show the message
when asked), where the second copy is detected and reported as a suspected duplicate.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from brigades.app import create_app
from brigades.clock import ManualClock, SystemClock
from brigades.db import make_engine
from notifications import recovery
from notifications.duplicates import DuplicateSource
from notifications.models import MessageState
from tests.conftest import make_settings
from tests.support.fake_twilio import FakeTwilio, ThreadedServer
from tests.support.live_server import free_port
from tests.twilio.conftest import (
    PUBLIC_URL,
    WorkerProcess,
    all_in,
    drain,
    duplicates,
    load,
    load_all,
    make_worker,
    queue_sms,
    twilio_settings,
    wait_until,
    worker_env,
)

COUNT = 5


@pytest.fixture
def wall_fake() -> Iterator[FakeTwilio]:
    """The fake Twilio on the wall clock (the worker process has no manual clock)."""
    with FakeTwilio() as server:
        yield server


@pytest.fixture
def app_server(fresh_database: str, wall_fake: FakeTwilio) -> Iterator[str]:
    """The application (its Twilio webhooks) on a loopback port; yields its public URL."""
    port = free_port()
    public_url = f"http://127.0.0.1:{port}"
    settings = make_settings(
        fresh_database,
        twilio_account_sid=wall_fake.account_sid,
        twilio_auth_token=wall_fake.auth_token,
        public_url=public_url,
    )
    engine = make_engine(fresh_database, pool_size=4)
    with ThreadedServer(create_app(settings, engine=engine), port=port):
        yield public_url
    engine.dispose()


def crash(
    database_url: str, fake: FakeTwilio, public_url: str, at: str, *, batch_size: int = 10
) -> None:
    """Run one worker process (rounds of ``batch_size``) until the crash hook kills it at ``at``."""
    env = worker_env(
        database_url,
        fake,
        public_url,
        ZB_TEST_CRASH_AT=at,
        ZB_WORKER_CONCURRENCY="1",
        ZB_WORKER_BATCH_SIZE=str(batch_size),
    )
    WorkerProcess(env).wait_killed()


def restart(database_url: str, engine: Engine, fake: FakeTwilio, public_url: str) -> None:
    """A new worker, its clock past the grace period of the dead one's claims; run it dry."""
    settings = twilio_settings(database_url, fake, public_url=public_url)
    later = SystemClock().now() + timedelta(seconds=settings.worker_sending_grace_seconds + 5)
    drain(make_worker(settings, engine, ManualClock(later)))


def test_killed_before_the_send_every_message_goes_once(
    db: Engine, fresh_database: str, wall_fake: FakeTwilio
) -> None:
    ids = queue_sms(db, SystemClock().now(), COUNT)

    crash(fresh_database, wall_fake, PUBLIC_URL, "before_send:1")
    assert wall_fake.accepted() == []
    assert all_in(db, MessageState.SENDING)

    restart(fresh_database, db, wall_fake, PUBLIC_URL)

    assert wall_fake.per_outbox_id() == dict.fromkeys(ids, 1)
    assert all_in(db, MessageState.SENT)
    assert duplicates(db) == []


def test_killed_between_twilios_answer_and_the_commit_nothing_is_sent_twice(
    db: Engine, fresh_database: str, wall_fake: FakeTwilio
) -> None:
    ids = queue_sms(db, SystemClock().now(), COUNT)

    crash(fresh_database, wall_fake, PUBLIC_URL, "after_answer:3")
    accepted = wall_fake.accepted()
    assert [m.outbox_id for m in accepted] == ids[:3]
    # One round of 5: its outcomes are recorded together, so none was.
    assert all_in(db, MessageState.SENDING)

    restart(fresh_database, db, wall_fake, PUBLIC_URL)

    assert wall_fake.per_outbox_id() == dict.fromkeys(ids, 1), "reconciled, not re-sent"
    assert load(db, ids[2]).provider_sid == accepted[2].sid
    assert all_in(db, MessageState.SENT)
    assert duplicates(db) == []


def test_killed_after_the_commit_nothing_is_sent_twice(
    db: Engine, fresh_database: str, wall_fake: FakeTwilio
) -> None:
    ids = queue_sms(db, SystemClock().now(), COUNT)

    crash(fresh_database, wall_fake, PUBLIC_URL, "after_commit:3", batch_size=2)
    # Rounds of 2: the second round was committed, the third never claimed.
    assert [m.state for m in load_all(db)] == [MessageState.SENT] * 4 + [MessageState.QUEUED]

    restart(fresh_database, db, wall_fake, PUBLIC_URL)

    assert wall_fake.per_outbox_id() == dict.fromkeys(ids, 1)
    assert all_in(db, MessageState.SENT)


def test_the_status_callback_closes_the_window_even_when_the_list_cannot(
    db: Engine, fresh_database: str, wall_fake: FakeTwilio, app_server: str
) -> None:
    wall_fake.callbacks = True
    wall_fake.faults.hide_from_list = True
    ids = queue_sms(db, SystemClock().now(), COUNT)

    crash(fresh_database, wall_fake, app_server, "after_answer:1")
    (first,) = wall_fake.accepted()
    assert wait_until(lambda: load(db, ids[0]).state is MessageState.DELIVERED)
    assert load(db, ids[0]).provider_sid == first.sid

    restart(fresh_database, db, wall_fake, app_server)

    assert wall_fake.per_outbox_id() == dict.fromkeys(ids, 1)
    assert duplicates(db) == []


def test_the_window_is_sent_twice_detected_and_reported(
    db: Engine, fresh_database: str, wall_fake: FakeTwilio, app_server: str
) -> None:
    wall_fake.faults.hide_from_list = True  # Twilio's list does not show it yet
    ids = queue_sms(db, SystemClock().now(), COUNT)

    crash(fresh_database, wall_fake, app_server, "after_answer:1")
    restart(fresh_database, db, wall_fake, app_server)

    counts = wall_fake.per_outbox_id()
    assert counts == {ids[0]: 2, **dict.fromkeys(ids[1:], 1)}, "the documented window"
    first, second = (m for m in wall_fake.accepted() if m.outbox_id == ids[0])
    assert load(db, ids[0]).provider_sid == second.sid

    # The first copy's status callback arrives (late, signed, through the real webhook).
    assert wall_fake.post_status(first, "delivered") == 200
    assert wall_fake.post_status(second, "delivered") == 200

    (duplicate,) = duplicates(db)
    assert (duplicate.outbox_id, duplicate.provider_sid) == (ids[0], first.sid)
    assert duplicate.source == DuplicateSource.STATUS_CALLBACK
    with Session(db) as session:
        assert [d.outbox_id for d in recovery.report(session).suspected_duplicates] == [ids[0]]
    assert load(db, ids[0]).state is MessageState.DELIVERED
