"""A full disk under SQLite: a clear Dutch "Opslag vol" (507), never a 500, never half a write.

The disk is filled the portable way: SQLite's ``PRAGMA max_page_count`` caps the database file at
the size it has, so a write that needs one page more fails with SQLITE_FULL ("database or disk is
full"), exactly as on a full disk. Raising the cap again is the operator making room.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event, text

from brigades.app import create_app
from brigades.db import make_engine, session_scope
from tests.conftest import TEST_DB, make_settings
from tests.faults.conftest import payload, phone, rows_for
from tests.volunteers.factories import make_support_point
from tests.volunteers.test_pages import csrf_of, form_data

pytestmark = pytest.mark.skipif(TEST_DB != "sqlite", reason="SQLite's full disk")

SIGN_UP = "/api/v1/volunteers"
SIGN_UP_PAGE = "/aanmelden?postcode=3584+CS"


@dataclass
class Disk:
    """The database file's cap, in pages (None: no cap)."""

    max_pages: int | None = None

    def fill_up(self, engine: Engine) -> None:
        """No room beyond what the file holds now."""
        with engine.connect() as conn:
            self.max_pages = int(conn.execute(text("PRAGMA page_count")).scalar_one())

    def make_room(self) -> None:
        self.max_pages = None


@pytest.fixture
def disk() -> Disk:
    return Disk()


@pytest.fixture
def engine_on_disk(fresh_database: str, disk: Disk) -> Iterator[Engine]:
    engine = make_engine(fresh_database)

    @event.listens_for(engine, "connect")
    def _cap(dbapi_connection: Any, _record: Any) -> None:
        pages = disk.max_pages if disk.max_pages is not None else 1_073_741_823
        dbapi_connection.execute(f"PRAGMA max_page_count = {pages}")

    with session_scope(engine) as session:
        make_support_point(session, name="Buurtsteunpunt Uithof", postcode="3584 CS")
    yield engine
    engine.dispose()


@pytest.fixture
def full_client(fresh_database: str, engine_on_disk: Engine) -> Iterator[TestClient]:
    settings = make_settings(fresh_database, signup_limit_per_client=(100_000, 3600))
    app = create_app(settings, engine=engine_on_disk)
    with TestClient(app, raise_server_exceptions=False, follow_redirects=False) as client:
        yield client


def assert_storage_full(response: Any) -> None:
    assert response.status_code == 507, response.text
    body = response.json()
    assert body["code"] == "storage_full"
    assert body["detail"].startswith("Opslag vol")
    assert "niets bewaard" in body["detail"]


def test_a_full_disk_refuses_sign_ups_clearly_and_keeps_every_earlier_one_whole(
    full_client: TestClient, engine_on_disk: Engine, disk: Disk
) -> None:
    disk.fill_up(engine_on_disk)
    accepted = []
    for n in range(1, 300):
        response = full_client.post(SIGN_UP, json=payload(n))
        if response.status_code != 202:
            break
        accepted.append(n)
    else:
        raise AssertionError("the disk never filled up")
    assert_storage_full(response)
    refused = n
    assert rows_for(engine_on_disk, phone(refused)[1]).absent
    for n in accepted:
        assert rows_for(engine_on_disk, phone(n)[1]).complete, n

    # Reading still works on a full disk; the sign-up form (a page) says the same in Dutch.
    page = full_client.get(SIGN_UP_PAGE)
    assert page.status_code == 200
    posted = full_client.post("/aanmelden", data=form_data(csrf_of(page.text), phone=phone(500)[0]))
    assert posted.status_code == 507
    assert posted.headers["content-type"].startswith("text/html")
    assert "Opslag vol" in posted.text
    assert rows_for(engine_on_disk, phone(500)[1]).absent

    disk.make_room()
    assert full_client.post(SIGN_UP, json=payload(refused)).status_code == 202
    assert rows_for(engine_on_disk, phone(refused)[1]).complete
