"""Fixtures for the Twilio tests: the fake Twilio server, settings pointing at it, workers.

The real adapter (``notifications.providers.twilio``) and the real wiring (``brigades.runtime``)
run against :class:`tests.support.fake_twilio.FakeTwilio` over HTTP on loopback. Worker tests
use ``fresh_database`` (committed data), never the rolled-back ``session``.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import datetime

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from brigades import runtime
from brigades.clock import ManualClock
from brigades.db import make_engine, session_scope
from brigades.settings import Settings
from notifications.failures import FailureHandlers
from notifications.models import MessageState, OutboxMessage, Priority, SuspectedDuplicate
from notifications.outbox import enqueue
from notifications.worker import OutboxWorker
from tests.conftest import TEST_SECRET, make_settings
from tests.support.fake_twilio import FakeTwilio
from tests.support.live_server import ROOT

LONG_CODE = "+3197010203040"
SERVICE_SID = "MG" + "1" * 32
PUBLIC_URL = "https://zorgbrigade.example"


class HighestJitter(random.Random):
    """Full jitter pinned to its upper bound, so backoff times are exact in tests."""

    def uniform(self, a: float, b: float) -> float:
        return b


@pytest.fixture
def db(fresh_database: str) -> Iterator[Engine]:
    """An engine on a throwaway committed database, for code that opens its own sessions."""
    engine = make_engine(fresh_database, pool_size=12)
    yield engine
    engine.dispose()


@pytest.fixture
def fake(clock: ManualClock) -> Iterator[FakeTwilio]:
    """The fake Twilio, stamping messages with the test's manual clock."""
    with FakeTwilio(clock=clock.now) as server:
        yield server


def twilio_settings(database_url: str, fake: FakeTwilio, **overrides: object) -> Settings:
    """Settings that send through Twilio (the fake) from a long code."""
    values: dict[str, object] = {
        "sms_provider": "twilio",
        "twilio_account_sid": fake.account_sid,
        "twilio_auth_token": fake.auth_token,
        "twilio_from": LONG_CODE,
        "twilio_api_base_url": fake.base_url,
        "public_url": PUBLIC_URL,
        "twilio_read_timeout_seconds": 2.0,
        "sms_rate_per_second": 1000.0,
        "sms_rate_burst": 1000,
    }
    values.update(overrides)
    return make_settings(database_url, **values)


def make_worker(
    settings: Settings,
    engine: Engine,
    clock: ManualClock,
    *,
    handlers: FailureHandlers | None = None,
    **options: object,
) -> OutboxWorker:
    """A worker with the application's providers, rate limit and callback URLs, exact backoff."""
    worker_options: dict[str, object] = {
        "worker_id": "test-worker",
        "concurrency": 1,
        "max_attempts": settings.outbox_max_attempts,
        "sending_grace_seconds": settings.worker_sending_grace_seconds,
        "rate_limiter": runtime.build_rate_limiter(settings, engine),
        "status_callback_urls": runtime.status_callback_urls(settings),
        "failure_handlers": handlers or FailureHandlers(),
        "rng": HighestJitter(),
    }
    worker_options.update(options)
    return OutboxWorker(
        engine,
        runtime.build_providers(settings),
        clock,
        **worker_options,  # type: ignore[arg-type]
    )


def drain(worker: OutboxWorker, rounds: int = 20) -> None:
    """Run rounds until one does nothing."""
    for _ in range(rounds):
        if worker.run_once() == 0:
            return
    raise AssertionError("the worker never ran out of work")


def queue_sms(
    engine: Engine,
    now: datetime,
    count: int = 1,
    *,
    recipient: str | None = None,
    body: str = "Kun je helpen? Antwoord JA 4821",
    synthetic: bool = False,
    subject_kind: str | None = None,
    subject_id: int | None = None,
) -> list[int]:
    """Commit ``count`` queued Twilio messages (each to its own number unless one is given)."""
    with session_scope(engine) as session:
        messages = [
            enqueue(
                session,
                recipient=recipient or f"+316100000{i:02d}",
                body=body,
                now=now,
                provider="twilio",
                priority=Priority.OFFER,
                synthetic=synthetic,
                subject_kind=subject_kind,
                subject_id=subject_id,
            )
            for i in range(count)
        ]
        session.flush()
        return [m.id for m in messages if m.id is not None]


def load(engine: Engine, outbox_id: int) -> OutboxMessage:
    """The committed state of one message."""
    with Session(engine) as session:
        message = session.get(OutboxMessage, outbox_id)
        assert message is not None
        session.expunge(message)
        return message


def load_all(engine: Engine) -> list[OutboxMessage]:
    """Every committed message, by id."""
    with Session(engine) as session:
        rows = list(session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id))))
        for row in rows:
            session.expunge(row)
        return rows


def duplicates(engine: Engine) -> list[SuspectedDuplicate]:
    """Every recorded suspected duplicate."""
    with Session(engine) as session:
        rows = list(session.exec(select(SuspectedDuplicate).order_by(col(SuspectedDuplicate.id))))
        for row in rows:
            session.expunge(row)
        return rows


def wait_until(predicate: object, timeout: float = 30.0) -> bool:
    """Poll (bounded) for another process or thread to get somewhere; not a timing assumption."""
    assert callable(predicate)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return bool(predicate())


def all_in(engine: Engine, *states: MessageState) -> bool:
    """Whether every outbox row is in one of ``states``."""
    return all(m.state in states for m in load_all(engine))


def worker_env(
    database_url: str, fake: FakeTwilio, public_url: str, **extra: str
) -> dict[str, str]:
    """The environment of a ``zorgbrigade worker`` process sending through the fake."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("ZB_", "TWILIO_")) and key != "DATABASE_URL"
    }
    env.update(
        {
            "DATABASE_URL": database_url,
            "ZB_ENV": "test",
            "ZB_SECRET_KEY": TEST_SECRET,
            "ZB_SMS_PROVIDER": "twilio",
            "TWILIO_ACCOUNT_SID": fake.account_sid,
            "TWILIO_AUTH_TOKEN": fake.auth_token,
            "ZB_TWILIO_FROM": LONG_CODE,
            "ZB_TWILIO_API_BASE_URL": fake.base_url,
            "ZB_PUBLIC_URL": public_url,
            "ZB_WORKER_IN_PROCESS": "false",
            "ZB_WORKER_POLL_SECONDS": "0.02",
            "ZB_SMS_RATE_PER_SECOND": "1000",
            "ZB_SMS_RATE_BURST": "1000",
        }
    )
    env.update(extra)
    return env


class WorkerProcess:
    """``zorgbrigade worker`` in a subprocess; its log lines are collected."""

    def __init__(self, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "brigades.cli", "worker"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line)

    @property
    def log(self) -> str:
        return "".join(self.lines)

    def wait_started(self, timeout: float = 30.0) -> None:
        """Wait until the worker logged that it runs."""
        if not wait_until(lambda: "outbox worker" in self.log and "started" in self.log, timeout):
            self.stop()
            raise AssertionError(f"worker did not start:\n{self.log}")

    def wait_killed(self, timeout: float = 30.0) -> None:
        """Wait for the test crash hook to SIGKILL the process."""
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.stop()
            raise AssertionError(f"worker was not killed:\n{self.log}") from None
        self._reader.join(5)
        assert code == -signal.SIGKILL, f"exit code {code}:\n{self.log}"

    def stop(self) -> None:
        """SIGTERM (finish the round), then wait; SIGKILL if it hangs."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._reader.join(5)
