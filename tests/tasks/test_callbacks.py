"""Care organisations are told of every change of their tasks: a callback row with the change,
sent signed over real HTTP to a receiver on loopback, retried with backoff."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from brigades import clock
from brigades.accounts.models import CareOrganisation, Role
from brigades.accounts.scope import AccessScope
from brigades.clock import ManualClock
from brigades.db import make_engine, session_scope
from brigades.organisations.service import signing_secret
from brigades.settings import Settings
from brigades.tasks import jobs
from brigades.tasks.models import CallbackState, CareTask, TaskCallback, TaskState
from brigades.tasks.transitions import transition
from tests.conftest import make_settings
from tests.incidents.factories import ACTOR, make_incident
from tests.tasks.factories import make_task


@dataclass
class Receiver:
    """An HTTP server on loopback that records callbacks and answers with given statuses."""

    url: str
    statuses: list[int] = field(default_factory=list)
    received: list[dict[str, Any]] = field(default_factory=list)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state.received.append({"headers": dict(self.headers), "body": body, "path": self.path})
            status = state.statuses.pop(0) if state.statuses else 200
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/zorgbrigade/terugmelding"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def engine(fresh_database: str) -> Iterator[Engine]:
    eng = make_engine(fresh_database)
    yield eng
    eng.dispose()


@pytest.fixture
def job_settings(fresh_database: str) -> Settings:
    return make_settings(fresh_database)


def _organisation_task(engine: Engine, url: str | None) -> tuple[int, int]:
    """An organisation (with a callback URL) and one of its tasks; returns their ids."""
    with session_scope(engine) as session:
        organisation = CareOrganisation(
            name="Thuiszorg Stichtse Vecht",
            vr_code="VR09",
            callback_url=url,
            created_at=clock.now(),
        )
        session.add(organisation)
        session.flush()
        scope = AccessScope(
            Role.CARE_ORGANISATION, None, frozenset({"VR09"}), frozenset(), organisation.id, False
        )
        task = make_task(session, make_incident(session), scope=scope)
        assert organisation.id is not None and task.id is not None
        return organisation.id, task.id


def _move(engine: Engine, task_id: int, *states: TaskState) -> None:
    with session_scope(engine) as session:
        task = session.get(CareTask, task_id)
        assert task is not None
        for state in states:
            transition(session, task, state, actor=ACTOR, now=clock.now())


def _callbacks(engine: Engine) -> list[TaskCallback]:
    with Session(engine) as session:
        return list(session.exec(select(TaskCallback).order_by(col(TaskCallback.id))).all())


def test_a_change_is_sent_signed(
    engine: Engine, job_settings: Settings, receiver: Receiver, clock: ManualClock
) -> None:
    organisation_id, task_id = _organisation_task(engine, receiver.url)
    _move(engine, task_id, TaskState.OFFERING)

    report = jobs.deliver_callbacks(engine, job_settings)

    assert report == jobs.DeliveryReport(delivered=1)
    [call] = receiver.received
    assert call["path"] == "/zorgbrigade/terugmelding"
    body = json.loads(call["body"])
    assert body["event"] == "task.state_changed" and body["task_id"] == task_id
    assert body["state"] == "offering" and body["previous_state"] == "open"
    assert "Oudegracht" not in call["body"].decode()  # never the address
    with Session(engine) as session:
        organisation = session.get(CareOrganisation, organisation_id)
        assert organisation is not None
        secret = signing_secret(job_settings, organisation)
    headers = call["headers"]
    assert headers[jobs.TIMESTAMP_HEADER] == str(int(clock.now().timestamp()))
    assert jobs.verify(
        secret, headers[jobs.TIMESTAMP_HEADER], call["body"], headers[jobs.SIGNATURE_HEADER]
    )
    assert not jobs.verify(
        "another-key", headers[jobs.TIMESTAMP_HEADER], call["body"], headers[jobs.SIGNATURE_HEADER]
    )
    [callback] = _callbacks(engine)
    assert callback.state is CallbackState.DELIVERED and callback.last_status_code == 200
    assert jobs.deliver_callbacks(engine, job_settings) == jobs.DeliveryReport()  # sent once


def test_failures_are_retried_with_backoff(
    engine: Engine, job_settings: Settings, receiver: Receiver, clock: ManualClock
) -> None:
    _, task_id = _organisation_task(engine, receiver.url)
    _move(engine, task_id, TaskState.OFFERING)
    receiver.statuses = [500, 503]

    assert jobs.deliver_callbacks(engine, job_settings).retried == 1
    [callback] = _callbacks(engine)
    assert callback.state is CallbackState.PENDING and callback.last_error == "HTTP 500"
    assert callback.next_attempt_at == clock.now() + timedelta(seconds=30)

    clock.advance(29)
    assert jobs.deliver_callbacks(engine, job_settings) == jobs.DeliveryReport()  # not yet due
    clock.advance(1)
    assert jobs.deliver_callbacks(engine, job_settings).retried == 1
    assert _callbacks(engine)[0].next_attempt_at == clock.now() + timedelta(seconds=60)
    clock.advance(60)
    assert jobs.deliver_callbacks(engine, job_settings).delivered == 1
    assert [json.loads(c["body"])["attempt"] for c in receiver.received] == [1, 2, 3]
    assert _callbacks(engine)[0].state is CallbackState.DELIVERED


def test_an_unreachable_receiver_fails_for_good_after_the_last_attempt(
    engine: Engine, job_settings: Settings, clock: ManualClock
) -> None:
    # Nothing listens on this port: every attempt is a connection error.
    _, task_id = _organisation_task(engine, "http://127.0.0.1:9/dicht")
    _move(engine, task_id, TaskState.CANCELLED)
    for _ in range(jobs.MAX_ATTEMPTS):
        jobs.deliver_callbacks(engine, job_settings)
        clock.advance(jobs.LONGEST_RETRY)
    [callback] = _callbacks(engine)
    assert callback.state is CallbackState.FAILED and callback.attempts == jobs.MAX_ATTEMPTS
    assert callback.last_error == "ConnectError"


def test_callbacks_of_one_task_go_out_in_order(
    engine: Engine, job_settings: Settings, receiver: Receiver, clock: ManualClock
) -> None:
    _, task_id = _organisation_task(engine, receiver.url)
    _move(engine, task_id, TaskState.OFFERING, TaskState.FILLED)
    receiver.statuses = [500]

    jobs.deliver_callbacks(engine, job_settings)  # the first fails; the second waits for it
    assert [json.loads(c["body"])["state"] for c in receiver.received] == ["offering"]
    clock.advance(30)
    jobs.deliver_callbacks(engine, job_settings)  # the first gets through
    jobs.deliver_callbacks(engine, job_settings)  # then the second (the next round, at once)
    states = [json.loads(c["body"])["state"] for c in receiver.received]
    assert states == ["offering", "offering", "filled"]


def test_no_callback_without_a_url_or_for_staff_tasks(
    engine: Engine, job_settings: Settings, clock: ManualClock
) -> None:
    _, task_id = _organisation_task(engine, None)
    _move(engine, task_id, TaskState.OFFERING)
    with session_scope(engine) as session:
        staff_task = make_task(session, make_incident(session, gm_codes=["GM0344"]))
        transition(session, staff_task, TaskState.CANCELLED, actor=ACTOR, now=clock.now())
    assert _callbacks(engine) == []


def test_a_rolled_back_change_sends_nothing(
    engine: Engine, job_settings: Settings, receiver: Receiver, clock: ManualClock
) -> None:
    _, task_id = _organisation_task(engine, receiver.url)
    with pytest.raises(RuntimeError), session_scope(engine) as session:
        task = session.get(CareTask, task_id)
        assert task is not None
        transition(session, task, TaskState.OFFERING, actor=ACTOR, now=clock.now())
        raise RuntimeError("the request failed after the change")
    assert _callbacks(engine) == []
    assert jobs.deliver_callbacks(engine, job_settings) == jobs.DeliveryReport()
    assert receiver.received == []


def test_backoff_doubles_up_to_six_hours() -> None:
    assert [jobs.backoff(n).total_seconds() for n in (1, 2, 3, 4)] == [30, 60, 120, 240]
    assert jobs.backoff(20) == timedelta(hours=6)


def test_tasks_whose_window_passed_expire_and_their_organisation_is_told(
    engine: Engine, job_settings: Settings, receiver: Receiver, clock: ManualClock
) -> None:
    _, waiting = _organisation_task(engine, receiver.url)
    with session_scope(engine) as session:
        incident = make_incident(session, gm_codes=["GM0344"])
        offering = make_task(session, incident)
        filled = make_task(session, incident)
        transition(session, offering, TaskState.OFFERING, actor=ACTOR, now=clock.now())
        for state in (TaskState.OFFERING, TaskState.FILLED):
            transition(session, filled, state, actor=ACTOR, now=clock.now())
        ids = offering.id, filled.id

    assert jobs.expire_due_tasks(engine) == 0  # the windows are still ahead
    clock.advance(timedelta(hours=4))
    assert jobs.expire_due_tasks(engine) == 2
    with Session(engine) as session:
        states = {t.id: t.state for t in session.exec(select(CareTask)).all()}
    assert states == {
        waiting: TaskState.EXPIRED,
        ids[0]: TaskState.EXPIRED,
        ids[1]: TaskState.FILLED,  # someone is coming: not for the expiry job
    }
    assert jobs.deliver_due_callbacks(engine, job_settings) == 1
    assert json.loads(receiver.received[0]["body"])["state"] == "expired"
