"""Wiring the worker into the application: the in-process thread and the worker process."""

from __future__ import annotations

import os
import signal
import threading
import time

from sqlalchemy import Engine

from brigades import routing, runtime
from brigades.clock import ManualClock
from notifications.models import MessageState
from tests.conftest import make_settings
from tests.notifications.conftest import load, queue

WAIT_SECONDS = 20.0


def wait_until_sent(engine: Engine, outbox_id: int) -> bool:
    """Wait (bounded) for another thread to send a message; not a timing assumption."""
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        if load(engine, outbox_id).state is MessageState.SENT:
            return True
        time.sleep(0.02)
    return False


def test_the_console_is_always_a_provider(fresh_database: str) -> None:
    providers = runtime.build_providers(make_settings(fresh_database))
    assert set(providers) == {"console"}
    assert providers["console"].name == "console"


def test_no_background_worker_unless_the_settings_ask(db: Engine, fresh_database: str) -> None:
    settings = make_settings(fresh_database, worker_in_process=False)
    assert routing.start_background_worker(settings, db) is None


def test_the_in_process_worker_sends_and_stops(
    db: Engine, fresh_database: str, clock: ManualClock
) -> None:
    settings = make_settings(fresh_database, worker_in_process=True, worker_poll_seconds=0.02)
    (outbox_id,) = queue(db, clock)

    background = routing.start_background_worker(settings, db)
    assert isinstance(background, runtime.BackgroundWorker)
    try:
        assert wait_until_sent(db, outbox_id)
        assert load(db, outbox_id).sent_at == clock.now(), "the worker follows the installed clock"
    finally:
        background.stop()
    assert not background.running


def test_the_worker_process_stops_on_sigterm(
    db: Engine, fresh_database: str, clock: ManualClock
) -> None:
    settings = make_settings(fresh_database, worker_poll_seconds=0.02)
    (outbox_id,) = queue(db, clock)
    previous = signal.getsignal(signal.SIGTERM)

    def terminate_once_sent() -> None:
        wait_until_sent(db, outbox_id)
        # Only signal once the worker's own handler is in place (never kill the test run).
        if signal.getsignal(signal.SIGTERM) is not previous:
            os.kill(os.getpid(), signal.SIGTERM)

    helper = threading.Thread(target=terminate_once_sent)
    helper.start()
    runtime.run_worker_forever(settings)  # returns when SIGTERM arrives
    helper.join()

    assert load(db, outbox_id).state is MessageState.SENT
    assert signal.getsignal(signal.SIGTERM) is previous, "the previous handler is restored"
