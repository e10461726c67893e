"""The database restarting under load: 503 with a Dutch message, recovery, nothing half-written.

PostgreSQL is reached through a TCP proxy on loopback that can drop every connection and refuse
new ones (as while the server restarts), and restore them, without restarting the application.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy import Engine, make_url
from sqlmodel import Session, select

from brigades import db
from brigades.app import create_app
from brigades.db import make_engine, session_scope
from brigades.volunteers.models import Volunteer
from tests.conftest import make_settings
from tests.faults.conftest import payload, phone, rows_for
from tests.support.fake_twilio import ThreadedServer
from tests.support.tcp_proxy import TcpProxy
from tests.volunteers.factories import make_support_point

pytestmark = pytest.mark.postgres_only

SIGN_UP = "/api/v1/volunteers"
SIGN_UP_PAGE = "/aanmelden?postcode=3584+CS&house_number=12"


@dataclass
class Stack:
    proxy: TcpProxy
    base_url: str
    direct: Engine  # straight to PostgreSQL, for the test's own checks


@pytest.fixture
def stack(fresh_database: str) -> Iterator[Stack]:
    """The application on a live port, talking to PostgreSQL only through the proxy."""
    url = make_url(fresh_database)
    direct = make_engine(fresh_database, pool_size=2)
    with session_scope(direct) as session:
        make_support_point(session, name="Buurtsteunpunt Uithof", postcode="3584 CS")
    with TcpProxy(url.host or "127.0.0.1", url.port or 5432) as proxy:
        proxied = url.set(host=proxy.host, port=proxy.port).render_as_string(hide_password=False)
        engine = make_engine(proxied, pool_size=4)
        settings = make_settings(proxied, signup_limit_per_client=(100_000, 3600))
        with ThreadedServer(create_app(settings, engine=engine)) as server:
            yield Stack(proxy, server.base_url, direct)
        engine.dispose()
    direct.dispose()


def assert_unavailable_json(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    body = response.json()
    assert body["code"] == "database_unavailable"
    assert "database is even niet bereikbaar" in body["detail"]
    assert "niets opgeslagen" in body["detail"]
    assert int(response.headers["retry-after"]) > 0


def test_while_the_database_is_down_requests_get_503_and_recover(stack: Stack) -> None:
    with httpx.Client(base_url=stack.base_url, timeout=30) as client:
        assert client.post(SIGN_UP, json=payload(1)).status_code == 202
        assert client.get(SIGN_UP_PAGE).status_code == 200
        assert client.get("/readyz").status_code == 200

        dropped = stack.proxy.cut()
        assert dropped > 0  # the pool's connections were open: they die mid-life

        assert_unavailable_json(client.post(SIGN_UP, json=payload(2)))
        page = client.get(SIGN_UP_PAGE)
        assert page.status_code == 503
        assert page.headers["content-type"].startswith("text/html")
        assert "De database is even niet bereikbaar" in page.text
        assert "retry-after" in page.headers
        # Asked for JSON, an API client gets JSON wherever it calls.
        assert_unavailable_json(client.get(SIGN_UP_PAGE, headers={"accept": "application/json"}))
        assert client.get("/readyz").status_code == 503
        assert client.get("/healthz").status_code == 200  # the process itself is alive

        stack.proxy.restore()
        assert client.post(SIGN_UP, json=payload(2)).status_code == 202
        assert client.get(SIGN_UP_PAGE).status_code == 200
        assert client.get("/readyz").status_code == 200

    assert rows_for(stack.direct, phone(1)[1]).complete
    assert rows_for(stack.direct, phone(2)[1]).complete


def test_a_sign_up_cut_off_at_its_commit_leaves_nothing_behind(stack: Stack) -> None:
    e164 = phone(7)[1]
    with httpx.Client(base_url=stack.base_url, timeout=30) as client:
        # Every row of the sign-up reaches the server; the COMMIT never does.
        stack.proxy.cut_on(b"COMMIT")
        assert_unavailable_json(client.post(SIGN_UP, json=payload(7)))
        assert stack.proxy.triggered.is_set()
        assert rows_for(stack.direct, e164).absent

        stack.proxy.restore()
        assert client.post(SIGN_UP, json=payload(7)).status_code == 202
    assert rows_for(stack.direct, e164).complete


def test_restarts_under_load_answer_503_never_500_and_write_nothing_half(stack: Stack) -> None:
    statuses: Counter[int] = Counter()
    accepted: list[int] = []
    lock = threading.Lock()
    stop = threading.Event()
    numbers = iter(range(100, 100_000))

    def sign_up_steadily() -> None:
        with httpx.Client(base_url=stack.base_url, timeout=30) as client:
            while not stop.is_set():
                with lock:
                    n = next(numbers)
                response = client.post(SIGN_UP, json=payload(n))
                with lock:
                    statuses[response.status_code] += 1
                    if response.status_code == 202:
                        accepted.append(n)
                if response.status_code == 503:
                    time.sleep(0.05)

    threads = [threading.Thread(target=sign_up_steadily) for _ in range(4)]
    for thread in threads:
        thread.start()
    try:
        for _ in range(3):  # three restarts, each down for a moment
            time.sleep(0.6)
            stack.proxy.cut()
            time.sleep(0.4)
            stack.proxy.restore()
        time.sleep(0.6)
    finally:
        stop.set()
        for thread in threads:
            thread.join(30)

    assert set(statuses) <= {202, 503}, statuses
    assert statuses[503] > 0 and statuses[202] > 0, statuses
    # Every sign-up the client was told about is there, whole.
    for n in accepted:
        assert rows_for(stack.direct, phone(n)[1]).complete, n
    # And whatever else is there (a commit whose answer was lost) is whole too, never a part.
    with Session(stack.direct) as session:
        stored = list(session.exec(select(Volunteer.phone)))
    for e164 in stored:
        assert rows_for(stack.direct, e164).complete, e164
    # Nothing is left that the client was not told about, except a lost answer per restart.
    assert len(stored) - len(accepted) <= 3 * len(threads)


def test_after_a_restart_while_quiet_the_first_request_succeeds(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Busy connections are not pinged (a round trip per request); idle ones are, so a database
    # that restarted while nobody was signing up costs nobody a 503.
    monkeypatch.setattr(db, "IDLE_PING_SECONDS", 0.2)
    with httpx.Client(base_url=stack.base_url, timeout=30) as client:
        assert client.post(SIGN_UP, json=payload(11)).status_code == 202
        assert stack.proxy.cut() > 0  # the pooled connection dies while idle
        stack.proxy.restore()
        time.sleep(0.3)
        assert client.post(SIGN_UP, json=payload(12)).status_code == 202
        assert client.get(SIGN_UP_PAGE).status_code == 200
    assert rows_for(stack.direct, phone(12)[1]).complete
