"""Soak: steady sign-ups, inbound SMS and outbox sending for a long time (``-m soak``).

The application runs as it does in production — one uvicorn process with the outbox worker on its
thread — sending through the fake Twilio (status callbacks on). Traffic is steady: sign-ups
through the API and signed inbound SMS from the numbers signed up. The server process's resident
memory is sampled throughout; after a warm-up it must stay flat, and when the traffic stops the
outbox and the inbound queue must drain.

``ZB_SOAK_SECONDS`` (default 1800) sets the length, ``ZB_SOAK_SIGNUPS_PER_SECOND`` (default 4)
the rate, ``ZB_SOAK_RSS_GROWTH_MIB`` (default 32) the memory growth allowed after the warm-up.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest
from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from brigades.db import make_engine, session_scope
from notifications.models import InboundMessage, MessageState, OutboxMessage
from tests.faults.conftest import payload, phone
from tests.support.fake_twilio import FakeTwilio
from tests.support.live_server import ROOT, free_port
from tests.twilio.conftest import LONG_CODE, wait_until, worker_env
from tests.volunteers.factories import make_support_point

pytestmark = pytest.mark.soak

SECONDS = float(os.environ.get("ZB_SOAK_SECONDS", "1800"))
SIGNUPS_PER_SECOND = float(os.environ.get("ZB_SOAK_SIGNUPS_PER_SECOND", "4"))
RSS_GROWTH_MIB = float(os.environ.get("ZB_SOAK_RSS_GROWTH_MIB", "32"))
SAMPLE_SECONDS = 5.0
REPLIES = ["HULP", "STATUS", "ik ben ziek vandaag", "Ja", "PAUZE", "BESCHIKBAAR"]


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    base_url: str

    def rss_mib(self) -> float:
        with open(f"/proc/{self.proc.pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        raise AssertionError("no VmRSS")


@dataclass
class Traffic:
    statuses: Counter[str] = field(default_factory=Counter)
    rss: list[tuple[float, float]] = field(default_factory=list)  # (seconds since start, MiB)
    signed_up: list[int] = field(default_factory=list)


@pytest.fixture
def db(fresh_database: str) -> Iterator[Engine]:
    engine = make_engine(fresh_database, pool_size=2)
    with session_scope(engine) as session:
        make_support_point(session, name="Buurtsteunpunt Uithof", postcode="3584 CS")
    yield engine
    engine.dispose()


@pytest.fixture
def fake() -> Iterator[FakeTwilio]:
    with FakeTwilio(callbacks=True) as server:
        yield server


@pytest.fixture
def server(fresh_database: str, db: Engine, fake: FakeTwilio) -> Iterator[Server]:
    """``uvicorn brigades.app:create_app`` with the worker inside, sending through the fake."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = worker_env(
        fresh_database,
        fake,
        base,
        ZB_WORKER_IN_PROCESS="true",
        ZB_WORKER_POLL_SECONDS="0.2",
        ZB_SIGNUP_LIMIT_PER_CLIENT="[100000000, 3600]",
    )
    command = [sys.executable, "-m", "uvicorn", "brigades.app:create_app", "--factory"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--no-access-log"]
    proc = subprocess.Popen(
        [*command, "--log-level", "warning"],
        cwd=ROOT,
        env=env,
    )
    try:
        started = wait_until(lambda: _answers(base) or proc.poll() is not None, timeout=60)
        assert started and proc.poll() is None, "server did not start"
        yield Server(proc, base)
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _answers(base: str) -> bool:
    try:
        return httpx.get(base + "/healthz", timeout=1).status_code == 200
    except httpx.TransportError:
        return False


def inbound(fake: FakeTwilio, base: str, number: str, body: str, sid: str) -> dict[str, object]:
    params = {
        "MessageSid": sid,
        "SmsSid": sid,
        "AccountSid": fake.account_sid,
        "From": number,
        "To": LONG_CODE,
        "Body": body,
        "NumSegments": "1",
    }
    url = f"{base}/webhooks/twilio/sms"
    return {"data": params, "headers": {"X-Twilio-Signature": fake.sign(url, params)}}


def drive(server: Server, fake: FakeTwilio, seconds: float) -> Traffic:
    """Steady traffic for ``seconds``: a sign-up per tick, an inbound SMS every other tick."""
    traffic = Traffic()
    interval = 1 / SIGNUPS_PER_SECOND
    start = time.monotonic()
    next_sample = start
    sids = itertools.count(1)
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        for tick in itertools.count():
            now = time.monotonic()
            if now - start >= seconds:
                break
            if now >= next_sample:
                traffic.rss.append((now - start, server.rss_mib()))
                next_sample += SAMPLE_SECONDS
            response = client.post("/api/v1/volunteers", json=payload(tick))
            traffic.statuses[f"signup {response.status_code}"] += 1
            if response.status_code == 202:
                traffic.signed_up.append(tick)
            if tick % 2 and traffic.signed_up:
                who = traffic.signed_up[(tick * 7919) % len(traffic.signed_up)]
                body = REPLIES[tick % len(REPLIES)]
                sid = f"SM{next(sids):032d}"
                request = inbound(fake, server.base_url, phone(who)[1], body, sid)
                answer = client.post("/webhooks/twilio/sms", **request)  # type: ignore[arg-type]
                traffic.statuses[f"inbound {answer.status_code}"] += 1
            delay = start + (tick + 1) * interval - time.monotonic()
            if delay > 0:
                time.sleep(delay)
    return traffic


def backlog(engine: Engine) -> tuple[int, int]:
    """(outbox rows still queued or sending, inbound messages not yet handled)."""
    with Session(engine) as session:
        waiting = session.exec(
            select(func.count())
            .select_from(OutboxMessage)
            .where(col(OutboxMessage.state).in_([MessageState.QUEUED, MessageState.SENDING]))
        ).one()
        unhandled = session.exec(
            select(func.count())
            .select_from(InboundMessage)
            .where(col(InboundMessage.handled_at).is_(None))
        ).one()
        return int(waiting), int(unhandled)


def test_steady_traffic_keeps_memory_flat_and_the_outbox_drains(
    server: Server, fake: FakeTwilio, db: Engine
) -> None:
    traffic = drive(server, fake, SECONDS)
    traffic.rss.append((SECONDS, server.rss_mib()))

    assert set(traffic.statuses) == {"signup 202", "inbound 200"}, traffic.statuses
    assert wait_until(lambda: backlog(db) == (0, 0), timeout=120), backlog(db)
    with Session(db) as session:
        states = Counter(m for m in session.exec(select(OutboxMessage.state)))
    assert set(states) <= {MessageState.SENT, MessageState.DELIVERED}, states
    assert len(fake.accepted()) == sum(states.values())  # each sent once, none lost

    warm_up = max(30.0, SECONDS / 5)
    after = [mib for at, mib in traffic.rss if at >= warm_up]
    baseline = min(after)
    growth = max(after) - baseline
    print(  # the run's figures, in the test log (-s or -rP)
        f"{SECONDS:.0f} s: {traffic.statuses}, {sum(states.values())} messages sent; "
        f"RSS {traffic.rss[0][1]:.0f} MiB at start, {baseline:.0f} MiB after warm-up, "
        f"{after[-1]:.0f} MiB at the end (growth {growth:.1f} MiB)"
    )
    assert growth <= RSS_GROWTH_MIB, traffic.rss
