"""Test fixtures: the same suite runs on SQLite and on PostgreSQL (``ZB_TEST_DB``).

- ``session``: a transaction per test, rolled back afterwards (ordinary tests).
- ``client``: the FastAPI app on that same session (the request boundary commits a savepoint).
- ``fresh_database``: a throwaway migrated database with committed data, for tests that need
  several connections or processes (workers, races, the browser).

The schema always comes from ``alembic upgrade head``.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, text
from sqlmodel import Session

from brigades import clock as clock_module
from brigades import migrate
from brigades.app import create_app
from brigades.conversation.inbound import record_inbound_rows
from brigades.db import make_engine
from brigades.deps import Transaction, get_session, get_transaction
from brigades.errors import DomainError
from brigades.settings import Settings
from brigades.webhooks.recorder import recorder_for

TEST_DB = os.environ.get("ZB_TEST_DB", "sqlite")
if TEST_DB not in ("sqlite", "postgresql"):
    raise SystemExit(f"ZB_TEST_DB must be 'sqlite' or 'postgresql', not {TEST_DB!r}")
PG_SERVER = os.environ.get("ZB_TEST_PG_SERVER", "postgresql+psycopg://postgres@127.0.0.1:5432/")
TEST_SECRET = "test-secret-key-that-is-long-enough-0123456789"


class Databases:
    """Creates migrated databases for one test run and removes them afterwards."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.prefix = f"zb_test_{os.getpid()}_{secrets.token_hex(3)}"
        self.created: list[str] = []
        self.template: str | None = None
        self._admin: Engine | None = None

    @property
    def is_postgres(self) -> bool:
        return TEST_DB == "postgresql"

    def admin(self) -> Engine:
        if self._admin is None:
            self._admin = create_engine(PG_SERVER + "postgres", isolation_level="AUTOCOMMIT")
        return self._admin

    def _url(self, name: str) -> str:
        if self.is_postgres:
            return PG_SERVER + name
        return f"sqlite:///{self.workdir / (name + '.db')}"

    def _template(self) -> str:
        if self.template is None:
            name = self.prefix + "_template"
            if self.is_postgres:
                with self.admin().connect() as conn:
                    conn.execute(text(f'CREATE DATABASE "{name}"'))
                self.created.append(name)
            engine = make_engine(self._url(name))
            migrate.upgrade(engine)
            engine.dispose()
            self.template = name
        return self.template

    def new(self) -> str:
        """A new migrated database (a copy of the migrated template); returns its URL."""
        template = self._template()
        name = f"{self.prefix}_{len(self.created)}"
        if self.is_postgres:
            with self.admin().connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
        else:
            shutil.copy(self.workdir / f"{template}.db", self.workdir / f"{name}.db")
        # Counted on SQLite too: otherwise every new() reuses (and overwrites) the same file.
        self.created.append(name)
        return self._url(name)

    def empty(self) -> str:
        """A new database without any schema (for migration tests)."""
        name = f"{self.prefix}_{len(self.created)}_empty"
        if self.is_postgres:
            with self.admin().connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
        self.created.append(name)
        return self._url(name)

    def drop_all(self) -> None:
        if not self.is_postgres:
            return
        with self.admin().connect() as conn:
            for name in reversed(self.created):
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self.admin().dispose()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Soak tests run for half an hour, the long API fuzz run for many minutes, the audit needs
    # PyPI: only when asked for by marker (``-m soak``, ``-m fuzz``, ``-m audit``).
    markexpr = config.getoption("markexpr", "") or ""
    soak_asked = "soak" in markexpr
    fuzz_asked = "fuzz" in markexpr
    audit_asked = "audit" in markexpr
    skip_soak = pytest.mark.skip(reason="soak test: run with -m soak (length: ZB_SOAK_SECONDS)")
    skip_fuzz = pytest.mark.skip(reason="long fuzz run: run with -m fuzz (ZB_FUZZ_EXAMPLES)")
    skip_audit = pytest.mark.skip(reason="needs PyPI: run with -m audit (or make audit)")
    skip_pg = pytest.mark.skip(reason="runs on PostgreSQL only (ZB_TEST_DB=postgresql)")
    for item in items:
        if "soak" in item.keywords and not soak_asked:
            item.add_marker(skip_soak)
        # By marker, not keyword: "audit" is also the name of a test package (tests/audit).
        if item.get_closest_marker("fuzz") and not fuzz_asked:
            item.add_marker(skip_fuzz)
        if item.get_closest_marker("audit") and not audit_asked:
            item.add_marker(skip_audit)
        if TEST_DB != "postgresql" and "postgres_only" in item.keywords:
            item.add_marker(skip_pg)


@pytest.fixture(scope="session")
def databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Databases]:
    dbs = Databases(tmp_path_factory.mktemp("db"))
    yield dbs
    dbs.drop_all()


@pytest.fixture(scope="session")
def database_url(databases: Databases) -> str:
    return databases.new()


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    eng = make_engine(database_url, pool_size=5)
    yield eng
    eng.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session inside a transaction that is rolled back after the test."""
    connection = engine.connect()
    transaction = connection.begin()
    sess = Session(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    try:
        yield sess
    finally:
        sess.close()
        transaction.rollback()
        connection.close()


@pytest.fixture
def clock() -> Iterator[clock_module.ManualClock]:
    """A controllable clock, installed for the test (Monday 23 Nov 2026, 10:00 in Amsterdam)."""
    manual = clock_module.ManualClock(datetime(2026, 11, 23, 9, 0, tzinfo=UTC))
    with clock_module.using(manual):
        yield manual


def make_settings(database_url: str, **overrides: object) -> Settings:
    """Settings for a test app (no background worker unless asked for)."""
    values: dict[str, object] = {
        "env": "test",
        "database_url": database_url,
        "secret_key": TEST_SECRET,
        "worker_in_process": False,
        "public_url": "http://testserver",
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(database_url)


@pytest.fixture
def app(settings: Settings, engine: Engine, session: Session) -> FastAPI:
    """The application, with every request running on the test's rolled-back session."""
    application = create_app(settings, engine=engine)

    def _session_override() -> Iterator[Session]:
        try:
            yield session
        except DomainError as exc:
            if exc.keep_changes:
                session.commit()
            else:
                session.rollback()
            raise
        except BaseException:
            session.rollback()
            raise
        else:
            session.commit()

    application.dependency_overrides[get_session] = _session_override
    application.dependency_overrides[get_transaction] = lambda: Transaction(
        lambda: session, close=False
    )
    application.dependency_overrides[recorder_for] = lambda: SessionRecorder(session)
    return application


class SessionRecorder:
    """Inbound SMS recorded on the test's rolled-back session (the app batches on its engine)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    async def record(self, row: Mapping[str, object]) -> int | None:
        return record_inbound_rows(self.session.connection(), [row])[0]


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, base_url="http://testserver", follow_redirects=False) as c:
        yield c


@pytest.fixture
def fresh_database(databases: Databases) -> Iterator[str]:
    """URL of a throwaway migrated database whose data is really committed."""
    yield databases.new()
