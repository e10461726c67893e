"""Wiring the notifications package into the application: providers, the worker, its thread.

``notifications`` knows nothing of settings or of the application; this module builds its parts
from the settings and runs the outbox worker, either on a daemon thread inside the web process
(``ZB_WORKER_IN_PROCESS``, the default for a single SQLite installation) or as its own process
(``zorgbrigade worker``), as many as wanted against PostgreSQL.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from collections.abc import Callable
from datetime import datetime
from functools import partial
from types import FrameType

from sqlalchemy import Engine

from brigades import clock
from brigades.conversation.inbound import handle_pending
from brigades.db import make_engine, session_scope
from brigades.scheduler import Scheduler, SchedulerThread, default_jobs
from brigades.settings import Environment, Settings, SmsProviderName
from notifications.providers.base import SmsProvider
from notifications.providers.console import ConsoleProvider
from notifications.providers.twilio import TwilioProvider, status_callback_url
from notifications.ratelimit import SenderLimit, SenderRateLimiter
from notifications.worker import CRASH_POINTS, OutboxWorker, StatusCallbackUrl

log = logging.getLogger(__name__)

STOP_TIMEOUT_SECONDS = 30.0
SWITCH_INTERVAL_SECONDS = 0.0005


class InstalledClock:
    """The application clock as installed *now* (tests and the drill simulator swap it)."""

    def now(self) -> datetime:
        return clock.now()


def build_providers(settings: Settings) -> dict[str, SmsProvider]:
    """The SMS providers this process can send through, by name (the outbox ``provider``)."""
    # The console provider is always there: messages queued for it (development, drills,
    # synthetic volunteers) are sent whatever the production provider is.
    providers: dict[str, SmsProvider] = {ConsoleProvider.name: ConsoleProvider()}
    if settings.sms_provider is SmsProviderName.TWILIO:
        twilio = _twilio_provider(settings)
        providers[twilio.name] = twilio
    return providers


def _twilio_provider(settings: Settings) -> TwilioProvider:
    """The Twilio provider from TWILIO_ACCOUNT_SID/TWILIO_AUTH_TOKEN and ZB_TWILIO_*."""
    token = settings.twilio_auth_token.get_secret_value() if settings.twilio_auth_token else ""
    if not (settings.twilio_account_sid and token):
        raise RuntimeError("ZB_SMS_PROVIDER=twilio needs TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN")
    return TwilioProvider(
        account_sid=settings.twilio_account_sid,
        auth_token=token,
        from_number=settings.twilio_from,
        messaging_service_sid=settings.twilio_messaging_service_sid,
        api_base_url=settings.twilio_api_base_url,
        connect_timeout=settings.twilio_connect_timeout_seconds,
        read_timeout=settings.twilio_read_timeout_seconds,
        max_connections=max(settings.worker_concurrency, 1),
    )


def status_callback_urls(settings: Settings) -> dict[str, StatusCallbackUrl]:
    """Where each provider reports delivery status: Twilio's webhook, with the outbox id."""
    if settings.sms_provider is not SmsProviderName.TWILIO:
        return {}
    return {SmsProviderName.TWILIO.value: partial(status_callback_url, settings.public_url)}


def sender_limit(settings: Settings) -> SenderLimit:
    """The Twilio sender's rate: a long code about 1 segment/s, a Messaging Service pool more."""
    default = 10.0 if settings.twilio_messaging_service_sid else 1.0
    rate = settings.sms_rate_per_second or default
    burst = settings.sms_rate_burst or max(3, round(rate))
    return SenderLimit(per_second=rate, burst=burst)


def build_rate_limiter(settings: Settings, engine: Engine) -> SenderRateLimiter:
    """Per-sender rate limits, shared by all workers in the database; the console has none."""
    # One bucket for the configured Twilio sender (every message of this installation uses it).
    limits = {SmsProviderName.TWILIO.value: sender_limit(settings)}
    return SenderRateLimiter(engine, InstalledClock(), limits)


def crash_hook(settings: Settings) -> Callable[[str], None] | None:
    """Test only (ZB_TEST_CRASH_AT with ZB_ENV=test): SIGKILL this process at a send point."""
    if not settings.test_crash_at or settings.env is not Environment.TEST:
        return None
    point, _, nth = settings.test_crash_at.partition(":")
    if point not in CRASH_POINTS:
        raise ValueError(f"ZB_TEST_CRASH_AT: unknown point {point!r}; one of {CRASH_POINTS}")
    target = int(nth or "1")
    seen = 0
    lock = threading.Lock()

    def _hook(at: str) -> None:
        nonlocal seen
        if at != point:
            return
        with lock:
            seen += 1
            if seen == target:
                log.warning("test crash hook: killing the worker at %s #%s", point, seen)
                os.kill(os.getpid(), signal.SIGKILL)

    return _hook


def inbound_job(settings: Settings, engine: Engine) -> Callable[[], int]:
    """The worker's share of inbound SMS: handle what the webhook recorded, up to a batch.

    One reply per transaction: a reply locks the task, offer and volunteer it concerns, and in
    a batch's single transaction those locks were held until its last reply was handled (5 to 8
    seconds at an incident's peak), holding up dispatch waves and the other workers' replies,
    and now and then deadlocking with them. Now each reply's locks are held only while that
    reply is handled.
    """

    def _handle() -> int:
        handled = 0
        for _ in range(settings.worker_batch_size):
            with session_scope(engine) as session:
                one = handle_pending(
                    session,
                    now=clock.now(),
                    settings=settings,
                    limit=settings.worker_batch_size,
                    at_most=1,
                )
            if not one:
                break
            handled += one
        return handled

    return _handle


def build_worker(
    settings: Settings, engine: Engine, *, handle_inbound: bool = True
) -> OutboxWorker:
    """An outbox worker configured from the settings (it opens its own sessions on ``engine``).

    Each round it first handles the inbound messages the webhook recorded (unless
    ``handle_inbound`` is False: :class:`InboundThread` does it), then sends.
    """
    # The dispatcher hears of offers whose SMS failed for good (and answers replies).
    from brigades.dispatch import acceptance, rollcall

    acceptance.register()
    rollcall.register()
    return OutboxWorker(
        engine,
        build_providers(settings),
        InstalledClock(),
        batch_size=settings.worker_batch_size,
        concurrency=settings.worker_concurrency,
        max_attempts=settings.outbox_max_attempts,
        sending_grace_seconds=settings.worker_sending_grace_seconds,
        rate_limiter=build_rate_limiter(settings, engine),
        status_callback_urls=status_callback_urls(settings),
        crash_hook=crash_hook(settings),
        round_jobs=[inbound_job(settings, engine)] if handle_inbound else [],
    )


class InboundThread:
    """The recorded inbound SMS handled on a thread of its own, until ``stop()``.

    In a worker process of a PostgreSQL installation: a reply's handling waits for the locks of
    the task and volunteer it concerns (a batch of waves holds them for seconds at an incident's
    start), and in the outbox's round that wait held up every message behind it.
    """

    def __init__(self, job: Callable[[], int], poll_seconds: float) -> None:
        self.job = job
        self.poll_seconds = poll_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="inbound", daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                handled = self.job()
            except Exception:
                log.exception("handling inbound messages failed; trying again")
                handled = 0
            if not handled:
                self._stop.wait(self.poll_seconds)

    def start(self) -> InboundThread:
        self._thread.start()
        return self

    def stop(self, timeout: float = STOP_TIMEOUT_SECONDS) -> bool:
        """Stop after the batch in progress; whether the thread ended within ``timeout``."""
        self._stop.set()
        self._thread.join(timeout)
        return not self._thread.is_alive()


class BackgroundWorker:
    """The outbox worker on a daemon thread; ``stop()`` ends it after the current round."""

    def __init__(
        self, worker: OutboxWorker, poll_seconds: float, scheduler: SchedulerThread | None = None
    ) -> None:
        self.worker = worker
        self.scheduler = scheduler
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=worker.run_forever,
            args=(self._stop, poll_seconds),
            name="outbox-worker",
            daemon=True,
        )

    def start(self) -> BackgroundWorker:
        """Start the thread (and the periodic jobs); returns self."""
        self._thread.start()
        if self.scheduler is not None:
            self.scheduler.start()
        return self

    @property
    def running(self) -> bool:
        """Whether the thread is alive."""
        return self._thread.is_alive()

    def stop(self, timeout: float = STOP_TIMEOUT_SECONDS) -> None:
        """Ask the worker to stop and wait for the round in progress to finish."""
        if self.scheduler is not None:
            self.scheduler.stop()
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
        if self._thread.is_alive():
            log.warning("outbox worker did not stop within %.0f s", timeout)


def start_background_worker(settings: Settings, engine: Engine) -> BackgroundWorker:
    """Run the outbox worker inside this process until ``stop()``."""
    return BackgroundWorker(
        build_worker(settings, engine),
        settings.worker_poll_seconds,
        build_scheduler(settings, engine),
    ).start()


def build_scheduler(settings: Settings, engine: Engine) -> SchedulerThread | None:
    """The periodic jobs of a worker process (None when switched off in the settings)."""
    if not settings.scheduler_enabled:
        return None
    return SchedulerThread(Scheduler(engine, settings, default_jobs()))


def run_worker_forever(settings: Settings) -> None:
    """The ``zorgbrigade worker`` process: send until SIGTERM or SIGINT, then finish the round."""
    # No pre-ping: the worker's transactions are short and frequent, a ping before each was a
    # round trip per transaction; a connection lost meanwhile fails one round, which is retried.
    engine = make_engine(settings.database_url, pool_size=settings.db_pool_size, pre_ping=False)
    # The sending threads wait on the network and the database and need the interpreter only
    # briefly each time; a dispatch round or a sweep in this process computes for seconds. At
    # the default 5 ms switch interval each of their wake-ups waited for the computing thread's
    # turn to end, and the outbox sent a few dozen messages a second.
    sys.setswitchinterval(SWITCH_INTERVAL_SECONDS)
    worker = build_worker(settings, engine, handle_inbound=False)
    inbound = InboundThread(inbound_job(settings, engine), settings.worker_poll_seconds)
    stop = threading.Event()

    def _on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("outbox worker: %s received, stopping", signal.Signals(signum).name)
        stop.set()

    previous = {sig: signal.signal(sig, _on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    scheduler = build_scheduler(settings, engine)
    if scheduler is not None:
        scheduler.start()
    inbound.start()
    try:
        worker.run_forever(stop, settings.worker_poll_seconds)
    finally:
        running = scheduler.stop(STOP_TIMEOUT_SECONDS) if scheduler is not None else []
        if not inbound.stop():
            running.append("inbound")
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if running:
            # A job still in the middle of its transaction (a sweep over the whole population):
            # ending the process rolls it back, as a crash would, and it runs again later.
            # Closing the engine under it or finalising the interpreter with its thread in the
            # database driver could crash the process instead.
            log.warning(
                "outbox worker: %s still running after %.0f s; its transaction is rolled back",
                ", ".join(running),
                STOP_TIMEOUT_SECONDS,
            )
            logging.shutdown()
            os._exit(0)
        engine.dispose()
