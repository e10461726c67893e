"""Ten simultaneous sign-ups of one new number: one volunteer, no server error."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func
from sqlmodel import Session, select

from brigades.app import create_app
from brigades.db import make_engine, session_scope
from brigades.volunteers.models import Volunteer
from notifications.models import OutboxMessage
from tests.conftest import make_settings
from tests.volunteers.factories import PHONE_E164, make_support_point, sign_up_payload

ATTEMPTS = 10


@pytest.fixture
def race_engine(fresh_database: str) -> Iterator[Engine]:
    eng = make_engine(fresh_database, pool_size=ATTEMPTS)
    with session_scope(eng) as session:
        make_support_point(session)
    yield eng
    eng.dispose()


@pytest.mark.postgres_only
def test_simultaneous_sign_ups_of_one_number_make_one_volunteer(
    fresh_database: str, race_engine: Engine
) -> None:
    settings = make_settings(fresh_database, signup_limit_per_number=(100, 3600))
    app = create_app(settings, engine=race_engine)
    barrier = threading.Barrier(ATTEMPTS)
    statuses: list[int] = []
    lock = threading.Lock()

    def sign_up(n: int) -> None:
        client = TestClient(app, raise_server_exceptions=False)
        payload = sign_up_payload(name=f"Gelijktijdig {n}")
        barrier.wait()
        response = client.post("/api/v1/volunteers", json=payload)
        with lock:
            statuses.append(response.status_code)

    threads = [threading.Thread(target=sign_up, args=(n,)) for n in range(ATTEMPTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    assert statuses == [202] * ATTEMPTS
    with Session(race_engine) as session:
        assert session.exec(select(func.count()).select_from(Volunteer)).one() == 1
        texts = session.exec(
            select(OutboxMessage.body).where(OutboxMessage.recipient == PHONE_E164)
        ).all()
    # Every request sent an SMS (the first a code, the rest a fresh code for the pending number).
    assert len(texts) == ATTEMPTS
    assert all("je code is" in t for t in texts)
