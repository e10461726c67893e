"""The production process layout, natively: a migration step, two API processes, two workers.

Docker cannot run here, so this runs what ``docker/compose.yaml`` runs, as the same commands:
``zorgbrigade db upgrade`` on an empty PostgreSQL database, then two ``zorgbrigade serve``
processes and two ``zorgbrigade worker`` processes (each with the periodic jobs: dispatch rounds,
expiries) against it, sending SMS to the fake Twilio over loopback. A whole incident goes through
them over HTTP only: volunteers sign up (on either API process) and verify with the code the
fake received, a coordinator vets them and opens an incident with tasks, the workers dispatch,
the volunteers answer by signed SMS webhooks (on either API process) — one declines first —
check in and finish, and the coordinator stands the incident down and closes it.

Afterwards: every task was done by exactly one volunteer, nobody got the same offer twice, no
message was lost or sent twice, and both workers sent messages.
"""

from __future__ import annotations

import itertools
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func
from sqlmodel import Session, col, select
from twilio.request_validator import RequestValidator

from brigades.accounts.models import Role
from brigades.db import make_engine
from brigades.tasks.models import Assignment, CareTask, Offer, OfferState, TaskState
from notifications.models import MessageState, OutboxMessage
from tests.accounts.factories import make_token, make_user
from tests.conftest import TEST_SECRET, Databases
from tests.support.fake_twilio import FakeTwilio
from tests.support.live_server import ROOT, free_port
from tests.twilio.conftest import LONG_CODE, duplicates, wait_until

VOLUNTEERS = 8
TASKS = 5
ALL_WEEK = [{"weekday": d, "start_minute": 0, "end_minute": 1440} for d in range(7)]
POSTCODES = ["3511", "3512", "3513", "3514", "3515", "3521", "3522", "3523"]

pytestmark = pytest.mark.skipif(
    os.environ.get("ZB_TEST_DB", "sqlite") != "postgresql",
    reason="the production process layout runs on PostgreSQL (run with ZB_TEST_DB=postgresql)",
)


class Process:
    """A ``zorgbrigade`` command in a subprocess; its output is kept for failure messages."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], log_dir: Any) -> None:
        self.name = name
        self.log_path = log_dir / f"{name}.log"
        self._log = self.log_path.open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "brigades.cli", *args],
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    @property
    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        return self.proc.returncode


def base_env(database_url: str, fake: FakeTwilio, public_url: str) -> dict[str, str]:
    """What docker/env.example configures, pointed at the local stand-ins."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ZB_", "TWILIO_"))}
    env.pop("DATABASE_URL", None)
    env.update(
        {
            "ZB_DATABASE_URL": database_url,
            "ZB_ENV": "test",
            "ZB_SECRET_KEY": TEST_SECRET,
            "ZB_PUBLIC_URL": public_url,
            "ZB_SMS_PROVIDER": "twilio",
            "TWILIO_ACCOUNT_SID": fake.account_sid,
            "TWILIO_AUTH_TOKEN": fake.auth_token,
            "ZB_TWILIO_FROM": LONG_CODE,
            "ZB_TWILIO_API_BASE_URL": fake.base_url,
            "ZB_SMS_RATE_PER_SECOND": "200",
            "ZB_SMS_RATE_BURST": "200",
            "ZB_WORKER_POLL_SECONDS": "0.05",
        }
    )
    return env


@pytest.fixture
def layout(databases: Databases, tmp_path: Any) -> Iterator[dict[str, Any]]:
    """Migrated database, fake Twilio, 2 API processes and 2 workers; torn down afterwards."""
    database_url = databases.empty()
    ports = [free_port(), free_port()]
    apis = [f"http://127.0.0.1:{port}" for port in ports]
    processes: list[Process] = []
    with FakeTwilio(callbacks=True) as fake:
        env = base_env(database_url, fake, public_url=apis[0])
        migration = subprocess.run(
            [sys.executable, "-m", "brigades.cli", "db", "upgrade"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert migration.returncode == 0, migration.stdout + migration.stderr
        try:
            for i, port in enumerate(ports):
                api_env = {**env, "ZB_WORKER_IN_PROCESS": "false"}
                processes.append(
                    Process(f"api{i}", ["serve", "--port", str(port)], api_env, tmp_path)
                )
            for i in range(2):
                processes.append(Process(f"worker{i}", ["worker"], env, tmp_path))
            for api, proc in zip(apis, processes, strict=False):
                ok = wait_until(lambda api=api: _ready(api), timeout=60)
                assert ok, f"{proc.name} did not become ready:\n{proc.log}"
            for proc in processes[2:]:
                ok = wait_until(lambda proc=proc: "started" in proc.log, timeout=60)
                assert ok, f"{proc.name} did not start:\n{proc.log}"
            yield {
                "database_url": database_url,
                "apis": apis,
                "fake": fake,
                "processes": processes,
            }
        finally:
            codes = {proc.name: proc.stop() for proc in processes}
            crashed = [
                f"{proc.name} exited {codes[proc.name]}:\n{proc.log}"
                for proc in processes
                if codes[proc.name] not in (0, -15)
            ]
            assert not crashed, "\n".join(crashed)


def _ready(base: str) -> bool:
    try:
        return httpx.get(base + "/readyz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def test_an_incident_through_two_api_processes_and_two_workers(layout: dict[str, Any]) -> None:
    apis: list[str] = layout["apis"]
    fake: FakeTwilio = layout["fake"]
    engine = make_engine(layout["database_url"])
    next_api = itertools.cycle(apis).__next__
    clients = {api: httpx.Client(base_url=api, timeout=30) for api in apis}
    client: Callable[[], httpx.Client] = lambda: clients[next_api()]  # noqa: E731
    sids = itertools.count(1)

    def sms_reply(phone: str, body: str) -> None:
        params = {
            "MessageSid": f"SM{next(sids):032d}",
            "AccountSid": fake.account_sid,
            "From": phone,
            "To": LONG_CODE,
            "Body": body,
        }
        # Both processes are behind the one public URL Twilio signs for (the load balancer).
        signature = RequestValidator(fake.auth_token).compute_signature(
            apis[0] + "/webhooks/twilio/sms", params
        )
        answer = client().post(
            "/webhooks/twilio/sms", data=params, headers={"X-Twilio-Signature": signature}
        )
        assert answer.status_code == 200, answer.text

    def last_sms(phone: str, pattern: str) -> re.Match[str] | None:
        for message in reversed(fake.sent_to(phone)):
            found = re.search(pattern, message.body)
            if found:
                return found
        return None

    # Staff: a coordinator of VR09 with an API token (accounts are made with the CLI in real
    # life; TOTP enrolment is a browser step, so the token is issued directly).
    with Session(engine) as session:
        coordinator = make_user(session, role=Role.REGIONAL_COORDINATOR, vr_codes=("VR09",))
        token, _ = make_token(session, coordinator, hours=2)
    staff = {"Authorization": f"Bearer {token}"}

    # Sign-up and verification, alternating between the API processes.
    phones = [f"+3161{n:07d}" for n in range(1, VOLUNTEERS + 1)]
    for n, phone in enumerate(phones):
        answer = client().post(
            "/api/v1/volunteers",
            json={
                "name": f"Vrijwilliger {n}",
                "phone": "06" + phone[4:],
                "postcode": f"{POSTCODES[n % len(POSTCODES)]} AB",
                "house_number": str(n + 1),
                "skills": [{"code": "boodschappen"}],
                "availability": ALL_WEEK,
                "max_distance_km": 15,
                "preferred_channel": "sms",
                "adult_confirmed": True,
                "consent": True,
            },
        )
        assert answer.status_code == 202, answer.text
    for phone in phones:
        assert wait_until(lambda phone=phone: last_sms(phone, r"code is (\d+)"), 30), phone
        code = last_sms(phone, r"code is (\d+)")
        assert code is not None
        answer = client().post(
            "/api/v1/volunteers/verify", json={"phone": phone, "code": code.group(1)}
        )
        assert answer.status_code == 200, answer.text
    # The coordinator works through the vetting queue: an identity document seen gives level 1.
    answer = client().get("/api/v1/vetting/queue", headers=staff)
    assert answer.status_code == 200, answer.text
    queue = {entry["name"]: entry["volunteer_id"] for entry in answer.json()["items"]}
    assert len(queue) == VOLUNTEERS
    ids = {phone: queue[f"Vrijwilliger {n}"] for n, phone in enumerate(phones)}
    for volunteer_id in ids.values():
        answer = client().post(
            f"/api/v1/vetting/volunteers/{volunteer_id}/identity",
            json={"document": "identity_card"},
            headers=staff,
        )
        assert answer.status_code in (200, 201), answer.text

    # The incident and its tasks.
    answer = client().post(
        "/api/v1/incidents",
        json={"name": "Griepgolf Utrecht", "vr_code": "VR09", "level": 1},
        headers=staff,
    )
    assert answer.status_code == 201, answer.text
    incident_id = answer.json()["id"]
    start = datetime.now(UTC) + timedelta(hours=2)
    task_ids = []
    for n in range(TASKS):
        answer = client().post(
            f"/api/v1/incidents/{incident_id}/tasks",
            json={
                "type_code": "boodschappen",
                "postcode": "3512 JK",
                "house_number": str(10 + n),
                "street": "Oudegracht",
                "city": "Utrecht",
                "window_start": start.isoformat(),
                "window_end": (start + timedelta(hours=3)).isoformat(),
                "duration_minutes": 60,
                "description": f"Boodschappen voor mevrouw {n}",
            },
            headers=staff,
        )
        assert answer.status_code == 201, answer.text
        task_ids.append(answer.json()["id"])

    # The workers dispatch; volunteers answer each offer with its code. The first offer of all
    # gets a NEE (its task goes to someone else); every other offer a JA (a volunteer offered
    # two tasks at the same time gets only the first: the second JA is refused kindly).
    declined: list[str] = []
    answered: set[tuple[str, str]] = set()
    arrived: set[tuple[str, str]] = set()
    finished: set[tuple[str, str]] = set()

    def codes(phone: str, pattern: str) -> list[str]:
        return [c for m in fake.sent_to(phone) for c in re.findall(pattern, m.body)]

    def step() -> bool:
        for phone in ids:
            for code in codes(phone, r"Stuur JA (\S+) of NEE"):
                if (phone, code) in answered:
                    continue
                answered.add((phone, code))
                if not declined:
                    declined.append(phone)
                    sms_reply(phone, f"nee {code}")
                else:
                    sms_reply(phone, f"ja {code}")
            for code in codes(phone, r"Stuur AANGEKOMEN (\S+) bij"):
                if (phone, code) not in arrived:
                    arrived.add((phone, code))
                    sms_reply(phone, f"AANGEKOMEN {code}")
            for code in codes(phone, r"Fijn dat je er bent! Stuur KLAAR (\S+) "):
                if (phone, code) not in finished:
                    finished.add((phone, code))
                    sms_reply(phone, f"KLAAR {code}")
        with Session(engine) as session:
            states = list(session.exec(select(CareTask.state)))
        return len(states) == TASKS and all(s is TaskState.DONE for s in states)

    deadline = time.monotonic() + 180
    while not step():
        assert time.monotonic() < deadline, _state(engine)
        time.sleep(0.3)

    # Stand down and close.
    answer = client().post(
        f"/api/v1/incidents/{incident_id}/stand-down",
        json={"reason": "Piek voorbij"},
        headers=staff,
    )
    assert answer.status_code == 200, answer.text
    answer = client().post(f"/api/v1/incidents/{incident_id}/close", headers=staff)
    assert answer.status_code == 200, answer.text
    assert answer.json()["state"] == "closed"

    # Let the last messages go out, then check what the workers did.
    assert wait_until(lambda: _outbox_settled(engine), 60), _state(engine)
    with Session(engine) as session:
        assignments = list(session.exec(select(Assignment)))
        offers = list(session.exec(select(Offer)))
        messages = list(session.exec(select(OutboxMessage)))
        workers = session.exec(
            select(func.count(func.distinct(OutboxMessage.claimed_by))).where(
                col(OutboxMessage.sent_at).is_not(None)
            )
        ).one()
    # Every task done by exactly one volunteer; nobody booked twice.
    assert sorted(a.task_id for a in assignments) == sorted(task_ids)
    # The tasks overlap in time: nobody holds two at once. A volunteer who finished one task
    # (KLAAR) may take the next.
    held: dict[int, list[Assignment]] = {}
    for a in sorted(assignments, key=lambda a: a.assigned_at):
        held.setdefault(a.volunteer_id, []).append(a)
    for runs in held.values():
        for earlier, later in itertools.pairwise(runs):
            assert earlier.finished_at is not None, "a volunteer was booked twice at once"
            assert earlier.finished_at <= later.assigned_at, "a volunteer was booked twice at once"
    # Nobody was offered the same task twice; the decliner's task went to someone else.
    pairs = [(o.task_id, o.volunteer_id) for o in offers]
    assert len(pairs) == len(set(pairs))
    assert any(o.state is OfferState.DECLINED for o in offers)
    # Nothing lost, nothing sent twice: every message went out once, as the fake saw it.
    assert all(m.state in (MessageState.SENT, MessageState.DELIVERED) for m in messages)
    sids_seen = [m.sid for m in fake.messages]
    assert len(sids_seen) == len(messages) == len({m.provider_sid for m in messages})
    received = [m.outbox_id for m in fake.messages]
    assert None not in received and len(received) == len(set(received)), "a message went twice"
    assert duplicates(engine) == []
    assert workers == 2, "both workers should have sent messages"
    engine.dispose()
    for c in clients.values():
        c.close()


def _outbox_settled(engine: Any) -> bool:
    with Session(engine) as session:
        waiting = session.exec(
            select(func.count())
            .select_from(OutboxMessage)
            .where(col(OutboxMessage.state).not_in([MessageState.SENT, MessageState.DELIVERED]))
        ).one()
    return waiting == 0


def _state(engine: Any) -> str:
    with Session(engine) as session:
        tasks = [(t.id, t.state.value) for t in session.exec(select(CareTask))]
        offers = [(o.task_id, o.volunteer_id, o.state.value) for o in session.exec(select(Offer))]
        outbox = [(m.id, m.state.value, m.claimed_by) for m in session.exec(select(OutboxMessage))]
    return f"tasks={tasks}\noffers={offers}\noutbox={outbox}"
